"""Import articles: validate everything, embed only what is new, write in one transaction.

A bad record anywhere stops the import before anything is written. Re-importing the same files
writes nothing but a new revision; a changed article is rewritten, and only phrasings whose text
is new are embedded (embeddings are keyed by the text's hash).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from knowledge.embeddings import Encoder
from knowledge.loaders import load_articles
from knowledge.model import train_search_model
from knowledge.store import KnowledgeStore, text_hash

EMBED_CHUNK = 256


@dataclass(frozen=True)
class ImportReport:
    read: int
    changed: int
    embedded: int


def import_paths(
    store: KnowledgeStore, encoder: Encoder, paths: list[Path], progress: bool = True
) -> ImportReport:
    articles = load_articles(paths)
    known = store.content_hashes()
    changed = [a for a in articles if known.get(a.id) != a.content_hash()]
    if store.get_meta("embedding_model") not in (None, encoder.name):
        wanted = {text_hash(t): t for a in articles for t in a.texts}
        missing = set(wanted)
    else:
        wanted = {text_hash(t): t for a in changed for t in a.texts}
        missing = store.missing_embeddings(wanted)
    new_embeddings = _embed({h: wanted[h] for h in sorted(missing)}, encoder, progress)
    with store.transaction():
        store.write_import(changed, new_embeddings, encoder.name)
        if changed or new_embeddings:
            model = train_search_model(store.phrasing_rows(encoder.dimension))
            store.set_search_model(model.to_bytes() if model else b"")
    return ImportReport(read=len(articles), changed=len(changed), embedded=len(new_embeddings))


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
