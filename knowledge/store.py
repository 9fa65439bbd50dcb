"""The knowledge base on disk: one SQLite file, through sqlite-utils.

Tables: ``articles``; ``phrasings`` (every way of asking each article's question, with an FTS5
index); ``embeddings`` (float32 blobs keyed by the hash of the text they embed, so an unchanged
phrasing is never embedded twice); ``meta`` (the embedding model, the revision, the trained
search model). ``revision`` increases on every write (an import, an article saved in the
console), as the write's last step, so running servers know to reload and never reload halfway.
"""

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from knowledge.articles import Article

LOOKUP_CHUNK = 500  # hashes per "in (...)" query, well below SQLite's parameter limit
SUMMARY_COLUMNS = "id, lang, group_id, question, tags, published, updated_at"


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PhrasingRows:
    """Every published phrasing with what search needs in memory, aligned row by row."""

    articles: list[str]
    groups: list[str]
    texts: list[str]
    vectors: np.ndarray


class KnowledgeStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # One connection shared by the server's threads; ``lock`` serialises its use.
        self.db = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
        self.lock = threading.RLock()
        self.db.enable_wal()
        self.db.conn.create_function("casefold", 1, _casefold, deterministic=True)
        self._create_schema()

    def _create_schema(self) -> None:
        db = self.db
        db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db["articles"].create(
            {
                "id": str,
                "lang": str,
                "group_id": str,
                "question": str,
                "answer": str,
                "sms_answer": str,
                "tags": str,
                "updated_at": str,
                "published": int,
                "content_hash": str,
            },
            pk="id",
            if_not_exists=True,
        )
        db["phrasings"].create(
            {"id": int, "article_id": str, "text": str, "text_hash": str},
            pk="id",
            foreign_keys=[("article_id", "articles", "id")],
            if_not_exists=True,
        )
        db["phrasings"].create_index(["article_id"], if_not_exists=True)
        db["embeddings"].create(
            {"text_hash": str, "vector": bytes}, pk="text_hash", if_not_exists=True
        )
        if not db["phrasings_fts"].exists():
            db["phrasings"].enable_fts(
                ["text"], create_triggers=True, tokenize="unicode61 remove_diacritics 2"
            )

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | bytes | None:
        row = self.db.execute("select value from meta where key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str | bytes) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    @property
    def revision(self) -> int:
        with self.lock:
            return int(self.get_meta("revision") or 0)  # type: ignore[arg-type]

    # -- articles --------------------------------------------------------------------------
    def content_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("select id, content_hash from articles").fetchall())

    def count_articles(self) -> int:
        with self.lock:
            return self.db["articles"].count

    def get_article(self, article_id: str) -> dict | None:
        with self.lock:
            return self._get_article(article_id)

    def _get_article(self, article_id: str) -> dict | None:
        rows = list(self.db["articles"].rows_where("id = ?", [article_id]))
        if not rows:
            return None
        row = rows[0]
        phrasings = [
            r["text"]
            for r in self.db["phrasings"].rows_where("article_id = ?", [article_id], order_by="id")
        ]
        return {
            "id": row["id"],
            "lang": row["lang"],
            "group": row["group_id"],
            "question": row["question"],
            "answer": row["answer"],
            "sms_answer": row["sms_answer"],
            "phrasings": [p for p in phrasings if p != row["question"]],
            "tags": json.loads(row["tags"]),
            "updated_at": row["updated_at"],
            "published": bool(row["published"]),
        }

    def articles_by_id(self) -> dict[str, dict]:
        """Published articles' fields that search results show."""
        rows = self.db.execute(
            "select id, lang, group_id, question, tags from articles where published = 1"
        ).fetchall()
        return {
            r[0]: {
                "id": r[0],
                "lang": r[1],
                "group": r[2],
                "question": r[3],
                "tags": json.loads(r[4]),
            }
            for r in rows
        }

    def groups_by_article(self) -> dict[str, str]:
        return dict(self.db.execute("select id, group_id from articles").fetchall())

    def has_article(self, article_id: str) -> bool:
        with self.lock:
            return bool(
                self.db.execute("select 1 from articles where id = ?", [article_id]).fetchone()
            )

    def list_articles(self, text: str, offset: int, limit: int) -> tuple[int, list[dict]]:
        """How many articles contain ``text`` (in any field or phrasing, ignoring case; every
        article when it is empty), and a page of them, the latest changed first."""
        where = """? = '' or instr(casefold(
                       id || ' ' || group_id || ' ' || question || ' ' || answer || ' ' ||
                       coalesce(sms_answer, '') || ' ' || tags), ?) > 0
                   or exists (select 1 from phrasings p where p.article_id = articles.id
                              and instr(casefold(p.text), ?) > 0)"""
        needle = _casefold(text.strip())
        with self.lock:
            [total] = self.db.execute(
                f"select count(*) from articles where {where}", [needle] * 3
            ).fetchone()
            rows = self.db.execute(
                f"select {SUMMARY_COLUMNS} from articles where {where} "
                "order by updated_at desc, id limit ? offset ?",
                [needle] * 3 + [limit, offset],
            ).fetchall()
        return total, [_summary(row) for row in rows]

    # -- embeddings ------------------------------------------------------------------------
    def missing_embeddings(self, hashes: Iterable[str]) -> set[str]:
        wanted = set(hashes)
        known = {r[0] for r in self.db.execute("select text_hash from embeddings")}
        return wanted - known

    def vectors(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored embeddings of these text hashes (those that have one)."""
        wanted = list(hashes)
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            rows = self.db.execute(
                "select text_hash, vector from embeddings "
                f"where text_hash in ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows)
        return found

    def phrasing_rows(self, dimension: int) -> PhrasingRows:
        rows = self.db.execute(
            """select p.article_id, a.group_id, p.text, e.vector from phrasings p
               join articles a on a.id = p.article_id
               join embeddings e on e.text_hash = p.text_hash
               where a.published = 1 order by p.id"""
        ).fetchall()
        vectors = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32)
        return PhrasingRows(
            articles=[r[0] for r in rows],
            groups=[r[1] for r in rows],
            texts=[r[2] for r in rows],
            vectors=vectors.reshape(len(rows), dimension),
        )

    def term_document_counts(self) -> dict[str, int]:
        """How many phrasings contain each full-text term (to search by the rare ones only)."""
        with self.lock:
            self.db.execute(
                "create virtual table if not exists temp.phrasings_terms "
                "using fts5vocab(main, phrasings_fts, 'row')"
            )
            return dict(self.db.execute("select term, doc from temp.phrasings_terms").fetchall())

    def fts_matches(self, match_query: str, limit: int) -> list[tuple[str, float]]:
        """(article id, bm25 rank) for the best full-text matches; lower rank is better."""
        with self.lock:
            return self._fts(match_query, limit)

    def _fts(self, match_query: str, limit: int) -> list[tuple[str, float]]:
        return self.db.execute(
            """select p.article_id, min(m.rank) as best from (
                   select rowid, bm25(phrasings_fts) as rank from phrasings_fts
                   where phrasings_fts match ? order by rank limit ?
               ) m join phrasings p on p.id = m.rowid
               group by p.article_id order by best limit ?""",
            [match_query, limit * 5, limit],
        ).fetchall()

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside happen together or not at all.

        It holds this connection's lock, as the server's threads share the connection and must
        not read a half-done write; and it takes the file's write lock at once (``begin
        immediate``), so that what it reads first (the revision) is still true when it commits.
        """
        with self.lock:
            self.db.execute("begin immediate")
            try:
                yield
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.execute("rollback")
                raise
            self.db.execute("commit")

    def search_model(self) -> bytes | None:
        return self.get_meta("search_model")  # type: ignore[return-value]  # stored as a blob

    def write(
        self,
        changed: list[Article],
        new_embeddings: dict[str, np.ndarray],
        model_name: str,
        search_model: bytes | None,
    ) -> None:
        """Inside ``transaction()``. ``search_model``: the retrained model (b"" for none), or
        None to keep the stored one. The revision changes last."""
        if self.get_meta("embedding_model") not in (None, model_name):
            self.db.execute("delete from embeddings")
        self.set_meta("embedding_model", model_name)
        self.db["embeddings"].upsert_all(
            (
                {"text_hash": h, "vector": v.astype(np.float32).tobytes()}
                for h, v in new_embeddings.items()
            ),
            pk="text_hash",
        )
        self._write_articles(changed)
        if search_model is not None:
            self.set_meta("search_model", search_model)
        self.set_meta("revision", str(self.revision + 1))

    def _write_articles(self, articles: list[Article]) -> None:
        """In bulk: row-at-a-time writes would cost more than embedding the texts."""
        self.db["articles"].upsert_all(
            (
                {
                    "id": article.id,
                    "lang": article.lang,
                    "group_id": article.group,
                    "question": article.question,
                    "answer": article.answer,
                    "sms_answer": article.sms_answer,
                    "tags": json.dumps(article.tags, ensure_ascii=False),
                    "updated_at": article.updated_at.isoformat(),
                    "published": int(article.published),
                    "content_hash": article.content_hash(),
                }
                for article in articles
            ),
            pk="id",
        )
        self.db.conn.executemany(
            "delete from phrasings where article_id = ?", [(a.id,) for a in articles]
        )
        self.db["phrasings"].insert_all(
            {"article_id": a.id, "text": t, "text_hash": text_hash(t)}
            for a in articles
            for t in a.texts
        )


def _casefold(text: str | None) -> str:
    """Case-insensitive matching in every script (SQLite's own ``lower`` knows only ASCII)."""
    return (text or "").casefold()


def _summary(row: tuple) -> dict:
    """An article as a list shows it."""
    article_id, lang, group, question, tags, published, updated_at = row
    return {
        "id": article_id, "lang": lang, "group": group, "question": question,
        "tags": json.loads(tags), "published": bool(published), "updated_at": updated_at,
    }  # fmt: skip
