"""Hybrid search: what the customer asked -> ranked article groups, a confidence and a decision.

Signals, per candidate article group:

* semantic: the best cosine similarity between the query and any phrasing of the group, in any
  language (the embeddings are multilingual);
* learned: the probability the phrasing classifier gives the group (small and medium bases);
* lexical: the best typo-tolerant rapidfuzz match against the group's phrasings written in the
  query's script, and FTS5 full-text matches, which also bring in candidates the embeddings miss.

They are fused into one confidence in [0, 1]; thresholds on it (settings) decide between
answering, offering a choice and admitting that the base has no answer.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from helpdesk.settings import Settings
from knowledge.embeddings import Encoder
from knowledge.index import PhrasingIndex
from knowledge.language import detect
from knowledge.model import SearchModel
from knowledge.store import KnowledgeStore

CANDIDATES = 10
_FTS_TOKEN = re.compile(r"[^\W_]{3,}")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


class QueryError(ValueError):
    """The query cannot be searched: empty or too long."""


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    question: str
    lang: str


@dataclass(frozen=True)
class SearchResult:
    text: str
    lang: str
    decision: str  # "answer" | "clarify" | "fallback"
    hits: list[Hit] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict:
        result = {
            "text": self.text,
            "lang": self.lang,
            "decision": self.decision,
            "hits": [
                {"id": h.id, "score": round(h.score, 4), "question": h.question, "lang": h.lang}
                for h in self.hits
            ],
        }
        if self.error:
            result["error"] = self.error
        return result


@dataclass(frozen=True)
class _Group:
    """One article group: its language variants and the rows of its phrasings."""

    name: str
    variants: dict[str, dict]  # lang -> article fields
    rows: np.ndarray  # indices into the phrasing matrix


class Searcher:
    def __init__(self, store: KnowledgeStore, encoder: Encoder, settings: Settings):
        self.store = store
        self.encoder = encoder
        self.settings = settings
        self.revision = store.revision
        rows = store.phrasing_rows(encoder.dimension)
        articles = store.articles_by_id()
        self.texts = rows.texts
        self.row_scripts = np.array([_script(t) for t in rows.texts])
        names = sorted(set(rows.groups))
        number = {name: i for i, name in enumerate(names)}
        row_groups = np.array([number[g] for g in rows.groups], dtype=np.int64)
        variants: dict[str, dict[str, dict]] = defaultdict(dict)
        for article in articles.values():
            variants[article["group"]].setdefault(article["lang"], article)
        self.groups = [
            _Group(name, variants[name], np.flatnonzero(row_groups == i))
            for i, name in enumerate(names)
        ]
        self.group_of_article = {
            a["id"]: number[a["group"]] for a in articles.values() if a["group"] in number
        }
        self.index = PhrasingIndex(rows.vectors, row_groups)
        blob = store.search_model()
        self.model = SearchModel.from_bytes(blob) if blob else None
        self.model_columns = (
            np.array([number[g] for g in self.model.groups])
            if self.model
            else np.array([], dtype=np.int64)
        )

    @classmethod
    def load(cls, store: KnowledgeStore, encoder: Encoder, settings: Settings) -> "Searcher":
        return cls(store, encoder, settings)

    # -- public --------------------------------------------------------------------------
    def search(self, text: str) -> SearchResult:
        self._validate(text)
        return self._search_valid([text])[0]

    def search_many(self, texts: list[str]) -> list[SearchResult]:
        results: list[SearchResult | None] = [None] * len(texts)
        valid = []
        for i, text in enumerate(texts):
            try:
                self._validate(text)
                valid.append(i)
            except QueryError as error:
                results[i] = SearchResult(text, "unknown", "fallback", [], str(error))
        for start in range(0, len(valid), 256):
            chunk = valid[start : start + 256]
            for i, result in zip(chunk, self._search_valid([texts[i] for i in chunk]), strict=True):
                results[i] = result
        return results  # type: ignore[return-value]

    # -- steps ---------------------------------------------------------------------------
    def _validate(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise QueryError("the question is empty")
        if len(text) > self.settings.max_query_chars:
            raise QueryError(
                f"the question is {len(text)} characters long; the limit is {self.settings.max_query_chars}"
            )

    def _search_valid(self, texts: list[str]) -> list[SearchResult]:
        detected = [detect(t.strip()) for t in texts]
        vectors = self.encoder.encode([d.text for d in detected])
        semantic = self.index.nearest_groups(vectors, CANDIDATES)
        probabilities = self.model.probabilities(vectors) if self.model else None
        results = []
        for i, (text, language) in enumerate(zip(texts, detected, strict=True)):
            candidates = set(semantic[i]) | self._full_text_groups(language.text)
            if probabilities is not None:
                top = np.argsort(-probabilities[i])[:CANDIDATES]
                candidates |= {int(self.model_columns[j]) for j in top}
            scored = self._score(vectors[i], language.text, candidates, probabilities, i)
            results.append(self._decide(text, language.lang, scored))
        return results

    def _full_text_groups(self, text: str) -> set[int]:
        tokens = [t.lower() for t in _FTS_TOKEN.findall(text)]
        if not tokens:
            return set()
        match = " OR ".join(f'"{t[: max(4, len(t) - 2)]}"*' for t in dict.fromkeys(tokens))
        hits = self.store.fts_matches(match, CANDIDATES)
        return {self.group_of_article[a] for a, _ in hits if a in self.group_of_article}

    def _score(
        self, vector: np.ndarray, text: str, candidates: set[int], probabilities, row: int
    ) -> list[tuple[float, int]]:
        script = _script(text)
        lowered = text.lower()
        model_position = {int(g): j for j, g in enumerate(self.model_columns)}
        scored = []
        for g in candidates:
            rows = self.groups[g].rows
            cosine = float((self.index.vectors[rows] @ vector).max())
            same_script = rows[self.row_scripts[rows] == script]
            lexical = max(
                (fuzz.token_set_ratio(lowered, self.texts[r].lower()) / 100 for r in same_script),
                default=0.0,
            )
            learned = (
                float(probabilities[row, model_position[g]]) if probabilities is not None else None
            )
            scored.append((_fuse(cosine, lexical, learned), g))
        scored.sort(reverse=True)
        return scored

    def _decide(self, text: str, lang: str, scored: list[tuple[float, int]]) -> SearchResult:
        hits = [self._hit(score, g, lang) for score, g in scored[: self.settings.search_hits]]
        top = hits[0].score if hits else 0.0
        if top >= self.settings.answer_threshold:
            decision = "answer"
        elif top >= self.settings.clarify_threshold and len(hits) >= 2:
            decision = "clarify"
        else:
            decision = "fallback"
        return SearchResult(text, lang, decision, hits)

    def _hit(self, score: float, g: int, lang: str) -> Hit:
        variants = self.groups[g].variants
        article = variants.get(lang) or next(iter(variants.values()))
        return Hit(article["id"], score, article["question"], article["lang"])


def _script(text: str) -> str:
    return "cyrillic" if _CYRILLIC.search(text) else "latin"


def _fuse(cosine: float, lexical: float, learned: float | None) -> float:
    semantic = min(max((cosine - 0.3) / 0.5, 0.0), 1.0)
    if learned is None:
        return 0.75 * semantic + 0.25 * lexical
    return 0.6 * learned + 0.25 * semantic + 0.15 * lexical
