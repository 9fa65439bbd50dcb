"""Write articles, from files or from the console's editor: validate everything, embed only what
is new, retrain the search model, write in one short transaction.

A bad record anywhere stops the import before anything is written. Re-importing the same files
writes nothing but a new revision; a changed article is rewritten, and only phrasings whose text
is new are embedded (embeddings are keyed by the text's hash).

The search model is trained before the transaction, on the phrasings as they will be after it:
the database file is shared with the live conversations, whose writes would otherwise wait
behind the seconds that training takes. Should another writer commit meanwhile (a second editor,
an import from the command line), the revision has moved and the work is redone on its result.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from knowledge.articles import Article, ArticleExists, ArticleNotFound
from knowledge.embeddings import Encoder
from knowledge.loaders import load_articles
from knowledge.model import train_search_model
from knowledge.store import KnowledgeStore, PhrasingRows, text_hash

EMBED_CHUNK = 256


@dataclass(frozen=True)
class ImportReport:
    read: int
    changed: int
    embedded: int


@dataclass(frozen=True)
class _Plan:
    """What one write will do, worked out before its transaction."""

    changed: list[Article]
    embeddings: dict[str, np.ndarray]
    search_model: bytes | None  # None: keep the stored one (nothing searchable changed)


def import_paths(
    store: KnowledgeStore, encoder: Encoder, paths: list[Path], progress: bool = True
) -> ImportReport:
    return write_articles(store, encoder, load_articles(paths), progress)


def write_articles(
    store: KnowledgeStore,
    encoder: Encoder,
    articles: list[Article],
    progress: bool = False,
    exist: bool | None = None,
) -> ImportReport:
    """Write validated ``articles``. ``exist``: None creates or replaces (an import); True
    requires every article to be stored already (an edit), False none of them (a new one),
    checked inside the transaction so that two managers cannot both create one id."""
    while True:
        revision = store.revision
        plan = _plan(store, encoder, articles, progress)
        with store.transaction():
            if store.revision != revision:
                continue  # another writer came first: what changed may have changed
            _check_existence(store, articles, exist)
            store.write(plan.changed, plan.embeddings, encoder.name, plan.search_model)
        return ImportReport(
            read=len(articles), changed=len(plan.changed), embedded=len(plan.embeddings)
        )


def _plan(
    store: KnowledgeStore, encoder: Encoder, articles: list[Article], progress: bool
) -> _Plan:
    known = store.content_hashes()
    changed = [a for a in articles if known.get(a.id) != a.content_hash()]
    model_changed = store.get_meta("embedding_model") not in (None, encoder.name)
    # after a change of model every text of these articles is embedded again
    embedded_anew = articles if model_changed else changed
    wanted = {text_hash(t): t for a in embedded_anew for t in a.texts}
    missing = set(wanted) if model_changed else store.missing_embeddings(wanted)
    new_embeddings = _embed({h: wanted[h] for h in sorted(missing)}, encoder, progress)
    if not changed and not new_embeddings:
        return _Plan(changed, new_embeddings, None)
    if model_changed:  # the stored vectors are another model's: only these articles' rows count
        current = PhrasingRows([], [], [], np.zeros((0, encoder.dimension), np.float32))
    else:
        current = store.phrasing_rows(encoder.dimension)
    replaced = {a.id for a in changed}
    kept = [i for i, a in enumerate(current.articles) if a not in replaced]
    rows = _rows_after(store, current, kept, embedded_anew, new_embeddings)
    model = train_search_model(rows)
    return _Plan(changed, new_embeddings, model.to_bytes() if model else b"")


def _rows_after(
    store: KnowledgeStore,
    current: PhrasingRows,
    kept: list[int],
    written: list[Article],
    new_embeddings: dict[str, np.ndarray],
) -> PhrasingRows:
    """The phrasings search will have after the write: the ``kept`` rows of ``current`` and
    those of the published ``written`` articles."""
    added = [(a, t) for a in written if a.published for t in a.texts]
    hashes = [text_hash(t) for _, t in added]
    stored = store.vectors(set(hashes) - new_embeddings.keys())
    vectors = [new_embeddings.get(h, stored.get(h)) for h in hashes]
    return PhrasingRows(
        articles=[current.articles[i] for i in kept] + [a.id for a, _ in added],
        groups=[current.groups[i] for i in kept] + [a.group for a, _ in added],  # type: ignore[misc]
        texts=[current.texts[i] for i in kept] + [t for _, t in added],
        vectors=np.vstack([current.vectors[kept], *vectors]).astype(np.float32),
    )


def _check_existence(store: KnowledgeStore, articles: list[Article], exist: bool | None) -> None:
    if exist is None:
        return
    for article in articles:
        if store.has_article(article.id) != exist:
            raise (ArticleNotFound if exist else ArticleExists)(article.id)


def _embed(texts: dict[str, str], encoder: Encoder, progress: bool) -> dict[str, np.ndarray]:
    hashes = list(texts)
    vectors: dict[str, np.ndarray] = {}
    with tqdm(total=len(hashes), unit="phrasing", desc="embedding", disable=not progress) as bar:
        for start in range(0, len(hashes), EMBED_CHUNK):
            chunk = hashes[start : start + EMBED_CHUNK]
            for h, vector in zip(chunk, encoder.encode([texts[h] for h in chunk]), strict=True):
                vectors[h] = vector
            bar.update(len(chunk))
    return vectors
