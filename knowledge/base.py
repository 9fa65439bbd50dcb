"""``KnowledgeBase``: the one object the rest of the system uses."""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from helpdesk.settings import Settings
from knowledge.articles import free_id, parse_article
from knowledge.confidence import Features
from knowledge.embeddings import Encoder, load_encoder
from knowledge.evaluation import Evaluation
from knowledge.importer import ImportReport, import_paths, write_articles
from knowledge.search import Searcher, SearchResult
from knowledge.store import KnowledgeStore

DEMO = Path(__file__).parent / "demo"


@dataclass(frozen=True)
class ArticlePage:
    """One page of a filtered list of articles, and how many matched in all."""

    total: int
    articles: list[dict[str, Any]]


class KnowledgeBase:
    def __init__(self, store: KnowledgeStore, encoder: Encoder, settings: Settings):
        self.store = store
        self.encoder = encoder
        self.settings = settings
        self._lock = threading.Lock()  # one search model rebuild at a time
        self._searcher: Searcher | None = None

    @classmethod
    def open(cls, path: Path, settings: Settings) -> "KnowledgeBase":
        return cls(KnowledgeStore(path), load_encoder(settings.embedding_model), settings)

    @property
    def path(self) -> Path:
        return self.store.path

    def count(self) -> int:
        return self.store.count_articles()

    def import_paths(self, paths: list[Path], progress: bool = True) -> ImportReport:
        return import_paths(self.store, self.encoder, paths, progress=progress)

    def import_demo_if_empty(self) -> ImportReport | None:
        return self.import_paths([DEMO]) if self.count() == 0 else None

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts`` in the search's own multilingual space (a Russian and an
        English question meaning the same land close), for grouping questions by meaning."""
        return self.encoder.encode(texts)

    def article(self, article_id: str) -> dict | None:
        return self.store.get_article(article_id)

    def articles(self, text: str = "", offset: int = 0, limit: int = 50) -> ArticlePage:
        """Articles containing ``text`` anywhere (any case), the latest changed first."""
        total, page = self.store.list_articles(text, offset, limit)
        return ArticlePage(total, page)

    def create_article(self, record: dict[str, Any]) -> dict:
        """Save a new article, searchable as soon as this returns, here and in every process
        that searches this base. Without an ``id``, one is made from the question. Raises
        ``InvalidArticle`` (what to fix, by field) or ``ArticleExists``."""
        record = dict(record)
        question, lang = record.get("question"), record.get("lang")
        if not record.get("id") and isinstance(question, str) and isinstance(lang, str):
            record["id"] = free_id(question.strip(), lang, self.store.has_article)
        return self._save(record, exist=False)

    def update_article(self, article_id: str, record: dict[str, Any]) -> dict:
        """Replace an article's fields (its id stays); its old phrasings stop matching at once.
        Raises ``InvalidArticle`` or ``ArticleNotFound``."""
        return self._save({**record, "id": article_id}, exist=True)

    def _save(self, record: dict[str, Any], exist: bool) -> dict:
        """The same checks, embedding and write as an import, for one article."""
        article = parse_article({**record, "updated_at": datetime.now(UTC)})
        write_articles(self.store, self.encoder, [article], exist=exist)
        # Load the new search here and now, so that the bot's next question (whose action
        # waits 5 s at most) does not pay for it.
        self._current_searcher()
        return self.article(article.id)  # type: ignore[return-value]  # just written

    def search(self, text: str) -> SearchResult:
        return self._current_searcher().search(text)

    def search_many(self, texts: list[str]) -> list[SearchResult]:
        """One result per text, in order; an invalid text gets a fallback result with its error."""
        return self._current_searcher().search_many(texts)

    def ranking_features(self, texts: list[str]) -> list[tuple[str | None, Features | None]]:
        """The top group and the calibration features of each text (``benchmarks/calibrate``)."""
        searcher = self._current_searcher()
        return [
            (searcher.group_names[r.groups[0]], r.features) if r else (None, None)
            for _, r in searcher.rank(texts)
        ]

    def evaluate(self, cases: list[tuple[str, str | None]]) -> dict[str, dict]:
        results = self.search_many([text for text, _ in cases])
        group_of = self.store.groups_by_article()
        evaluation = Evaluation()
        for result, (_, expected) in zip(results, cases, strict=True):
            evaluation.add(result, expected, group_of)
        return evaluation.figures()

    def _current_searcher(self) -> Searcher:
        """Rebuilt when a write (from any process) has changed the revision."""
        with self._lock:
            revision = self.store.revision
            if self._searcher is None or self._searcher.revision != revision:
                self._searcher = Searcher(self.store, self.encoder, self.settings)
            return self._searcher
