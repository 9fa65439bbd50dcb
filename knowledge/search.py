"""Hybrid search: what the customer asked -> ranked article groups, a confidence and a decision.

Signals, for every candidate article group:

* semantic: the best cosine similarity between the query and any phrasing of the group, in any
  language (the embeddings are multilingual, so Russian finds English and back);
* learned: the phrasing classifier's score for the group (bases up to a few hundred groups);
* lexical: the best typo-tolerant rapidfuzz ratio against the group's phrasings written in the
  query's script (none across scripts, so cross-language queries are not penalised for it);
* full text: FTS5 matches bring in candidates that the embeddings missed (large bases).

Each signal is standardised across the candidates and summed into a ranking score; a softmax of
it, the nearest-phrasing cosine and the lexical match feed a logistic calibration (fitted on
validation data, see ``knowledge/confidence.py``) that says how likely the top group is right.
Thresholds on that probability (settings) choose between answering, offering a choice and
admitting that the base has no answer.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process, utils

from helpdesk.settings import Settings
from knowledge.confidence import Features, calibrated_confidence
from knowledge.embeddings import Encoder
from knowledge.index import PhrasingIndex
from knowledge.language import detect, is_cyrillic
from knowledge.model import SearchModel
from knowledge.store import KnowledgeStore

CANDIDATES = 20
LEXICAL_WEIGHT = 0.3
TEMPERATURE = 0.7
_FTS_TOKEN = re.compile(r"[^\W_]{3,}")
FULL_TEXT_MAX_DOCUMENTS = 1000  # commoner terms cost more to rank than they tell
FULL_TEXT_TERMS = 4


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
class Ranking:
    """Candidate groups best first, with the features of the top one."""

    groups: np.ndarray
    shares: np.ndarray  # softmax share of each candidate, same order
    features: Features


class Searcher:
    """An in-memory snapshot of one revision of the base; rebuilt when the revision changes."""

    def __init__(self, store: KnowledgeStore, encoder: Encoder, settings: Settings):
        self.store = store
        self.encoder = encoder
        self.settings = settings
        self.revision = store.revision
        rows = store.phrasing_rows(encoder.dimension)
        self.group_names = sorted(set(rows.groups))
        number = {name: i for i, name in enumerate(self.group_names)}
        row_groups = np.array([number[g] for g in rows.groups], dtype=np.int64)
        order = np.argsort(row_groups, kind="stable")
        self.texts = [utils.default_process(rows.texts[i]) for i in order]
        self.cyrillic_rows = np.array([is_cyrillic(t) for t in self.texts])
        self.index = PhrasingIndex(rows.vectors[order], row_groups[order], len(self.group_names))
        self.variants: dict[int, dict[str, dict]] = defaultdict(dict)
        self.group_of_article: dict[str, int] = {}
        for article in store.articles_by_id().values():
            if article["group"] in number:
                self.variants[number[article["group"]]].setdefault(article["lang"], article)
                self.group_of_article[article["id"]] = number[article["group"]]
        blob = store.search_model()
        model = SearchModel.from_bytes(blob) if blob else None
        # trained at import on these same rows, so its classes are our groups, in our order
        self.model = model if model and model.groups == self.group_names else None
        # full text only proposes candidates when there are too many groups to score them all
        self.term_documents = {} if self.index.exhaustive else store.term_document_counts()

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

    def rank(self, texts: list[str]) -> list[tuple[str, Ranking | None]]:
        """The detected language and the ranking of each text (also ``benchmarks/calibrate.py``)."""
        detected = [detect(t.strip()) for t in texts]
        vectors = self.encoder.encode([d.text for d in detected])
        logits = self.model.logits(vectors) if self.model else None
        return [
            (d.lang, self._rank(vectors[i], d.text, None if logits is None else logits[i]))
            for i, d in enumerate(detected)
        ]

    # -- steps ---------------------------------------------------------------------------
    def _validate(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise QueryError("the question is empty")
        if len(text) > self.settings.max_query_chars:
            raise QueryError(
                f"the question is {len(text)} characters long; "
                f"the limit is {self.settings.max_query_chars}"
            )

    def _search_valid(self, texts: list[str]) -> list[SearchResult]:
        return [
            self._decide(text, lang, ranking)
            for text, (lang, ranking) in zip(texts, self.rank(texts), strict=True)
        ]

    def _rank(self, vector: np.ndarray, text: str, logits: np.ndarray | None) -> Ranking | None:
        if not self.group_names:
            return None
        groups = self._candidates(vector, text)
        rows, starts = (
            (slice(None), self.index.starts) if groups is None else self.index.rows_of(groups)
        )
        semantic = np.maximum.reduceat(self.index.vectors[rows] @ vector, starts)
        score = _standardise(semantic)
        if logits is not None:
            score += _standardise(logits if groups is None else logits[groups])
        # the lexical pass costs most per row: only the leading candidates get it
        keep = (
            np.argpartition(-score, CANDIDATES)[:CANDIDATES]
            if len(score) > CANDIDATES
            else np.arange(len(score))
        )
        groups = keep if groups is None else groups[keep]
        semantic, score = semantic[keep], score[keep]
        rows, starts = self.index.rows_of(groups)
        lexical = np.maximum.reduceat(self._lexical(text, rows), starts)
        score = score + LEXICAL_WEIGHT * _standardise(lexical)
        order = np.argsort(-score)
        shares = np.exp((score[order] - score[order[0]]) / TEMPERATURE)
        shares /= shares.sum()
        top = order[0]
        features = Features(
            share=float(shares[0]),
            margin=float(shares[0] - (shares[1] if len(shares) > 1 else 0.0)),
            cosine=float(semantic[top]),
            lexical=float(lexical[top]),
            same_script=float(lexical.max() > 0),
        )
        return Ranking(groups[order], shares, features)

    def _candidates(self, vector: np.ndarray, text: str) -> np.ndarray | None:
        nearest = self.index.candidate_groups(vector, CANDIDATES)
        if nearest is None:
            return None
        return np.union1d(nearest, self._full_text_groups(text)).astype(np.int64)

    def _lexical(self, text: str, rows) -> np.ndarray:
        """rapidfuzz ratio in [0, 1] against each row, 0 where the row's script differs."""
        texts = [self.texts[r] for r in rows]
        ratios = process.cdist(
            [utils.default_process(text)], texts, scorer=fuzz.ratio, dtype=np.float32
        )[0]
        same_script = self.cyrillic_rows[rows] == is_cyrillic(text)
        return np.where(same_script, ratios / 100, 0.0)

    def _full_text_groups(self, text: str) -> np.ndarray:
        """Groups whose phrasings share the query's rarest words (codes, names, specific terms)."""
        terms = {t.lower() for t in _FTS_TOKEN.findall(text)}
        rare = sorted(
            (self.term_documents[t], t)
            for t in terms
            if 0 < self.term_documents.get(t, 0) <= FULL_TEXT_MAX_DOCUMENTS
        )
        if not rare:
            return np.array([], dtype=np.int64)
        match = " OR ".join(f'"{t}"' for _, t in rare[:FULL_TEXT_TERMS])
        hits = self.store.fts_matches(match, CANDIDATES)
        return np.array(
            [self.group_of_article[a] for a, _ in hits if a in self.group_of_article],
            dtype=np.int64,
        )

    def _decide(self, text: str, lang: str, ranking: Ranking | None) -> SearchResult:
        if ranking is None:
            return SearchResult(text, lang, "fallback", [])
        confidence = calibrated_confidence(ranking.features)
        count = self.settings.search_hits
        # the top hit carries the calibrated confidence; the others their share of it
        scores = confidence * ranking.shares[:count] / ranking.shares[0]
        hits = [
            self._hit(float(s), int(g), lang)
            for s, g in zip(scores, ranking.groups[:count], strict=True)
        ]
        if confidence >= self.settings.answer_threshold:
            decision = "answer"
        elif confidence >= self.settings.clarify_threshold and len(hits) >= 2:
            decision = "clarify"
        else:
            decision = "fallback"
        return SearchResult(text, lang, decision, hits)

    def _hit(self, score: float, group: int, lang: str) -> Hit:
        variants = self.variants[group]
        article = variants.get(lang) or next(iter(variants.values()))
        return Hit(article["id"], score, article["question"], article["lang"])


def _standardise(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 1e-6 else np.zeros_like(values)
