"""Knowledge-base gaps: what customers asked that the base failed, grouped by meaning.

A question failed when the base had no answer (the bot's ``fallback``), when the customer said
the answer did not help, or when the customer went to a person over a question the bot never
answered. The same need is asked in many words and two languages, so the failures are grouped
by meaning: embedded with the knowledge base's own multilingual model and clustered by cosine
distance (average linkage, so a group is held together as a whole rather than chained through
near neighbours). Each group comes with its count, examples (the most typical first), the
articles that were wrongly offered for it, and a draft article to start from.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from escalation.database import Database
from knowledge import KnowledgeBase, detect_language

MIN_SIMILARITY = 0.55  # questions at least this similar (cosine) can share a group
MAX_QUESTIONS = 5000  # the latest ones; clustering is quadratic in their number
EXAMPLES = 5
# What a customer says that is not a question for the knowledge base.
NOT_QUESTIONS = {"request_human", "complain", "greet", "goodbye", "thanks", "affirm", "deny"}


@dataclass(frozen=True)
class Failure:
    """One question the base failed, and how."""

    text: str
    kind: str  # fallback, did_not_help or escalated
    conversation_id: str
    offered: str | None = None  # the article that did not help


@dataclass
class Gap:
    count: int
    examples: list[str]
    kinds: dict[str, int]
    offered: list[dict[str, Any]]  # [{"article_id", "times"}]: answers that did not help
    language: str
    conversations: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count, "examples": self.examples, "kinds": self.kinds,
            "offered": self.offered, "language": self.language,
            "conversations": self.conversations[:20],
            "draft": {"lang": self.language, "question": self.examples[0],
                      "phrasings": self.examples[1:]},
        }  # fmt: skip


def knowledge_gaps(
    database: Database,
    knowledge: KnowledgeBase,
    start: datetime,
    end: datetime,
    min_similarity: float = MIN_SIMILARITY,
) -> list[Gap]:
    """The failed questions asked in ``[start, end)``, grouped by meaning, largest first."""
    failures = failed_questions(database, start, end)
    if not failures:
        return []
    vectors = knowledge.embed([f.text for f in failures])
    labels = _clusters(vectors, min_similarity)
    gaps = [
        _gap([failures[i] for i in members], vectors[members])
        for members in (np.flatnonzero(labels == label) for label in np.unique(labels))
    ]
    return sorted(gaps, key=lambda gap: (-gap.count, gap.examples[0]))


def failed_questions(database: Database, start: datetime, end: datetime) -> list[Failure]:
    """The bot's failed attempts, and the questions of customers who went to a person before
    the bot tried anything (a handoff with no attempts)."""
    window = [start.isoformat(), end.isoformat()]
    with database.read() as conn:
        outcomes = conn.execute(
            "select conversation_id, data from events where type = 'bot_outcome' "
            "and created_at >= ? and created_at < ? order by id desc limit ?",
            [*window, MAX_QUESTIONS],
        ).fetchall()
        handoff, to = (conn.dialect.json_text("data", key) for key in ("handoff", "to"))
        handoffs = conn.execute(
            f"select conversation_id, {handoff} from events where type = 'state' "
            f"and {to} = 'queued' and {handoff} is not null "
            "and created_at >= ? and created_at < ? order by id desc limit ?",
            [*window, MAX_QUESTIONS],
        ).fetchall()
    failures = [f for row in outcomes if (f := _from_outcome(*row))]
    failures += [f for row in handoffs for f in _from_handoff(*row)]
    return failures[:MAX_QUESTIONS]


def _from_outcome(conversation_id: str, data: str) -> Failure | None:
    outcome = json.loads(data)
    query = (outcome.get("query") or "").strip()
    if not query:
        return None
    if outcome.get("decision") == "fallback":
        return Failure(query, "fallback", conversation_id)
    if outcome.get("reaction") == "did_not_help":
        return Failure(query, "did_not_help", conversation_id, outcome.get("article_id"))
    return None


def _from_handoff(conversation_id: str, data: str) -> list[Failure]:
    handoff = json.loads(data)
    if handoff.get("articles") or handoff.get("reason") == "bot_unavailable":
        return []  # the bot tried (its outcomes say how), or never could
    return [
        Failure(turn["text"], "escalated", conversation_id)
        for turn in handoff.get("intents", [])
        if turn.get("text")
        and turn.get("intent") not in NOT_QUESTIONS
        and not turn["text"].startswith("/")
    ]


def _clusters(vectors: np.ndarray, min_similarity: float) -> np.ndarray:
    if len(vectors) == 1:
        return np.zeros(1, dtype=int)
    clustering = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average",
        distance_threshold=1 - min_similarity,
    )  # fmt: skip
    return clustering.fit_predict(vectors)


def _gap(failures: list[Failure], vectors: np.ndarray) -> Gap:
    """A group's examples, most typical first: nearest to the group's mean meaning."""
    centre = vectors.mean(axis=0)
    typical = np.argsort(-(vectors @ centre))
    examples = list(dict.fromkeys(failures[i].text for i in typical))[:EXAMPLES]
    offered = Counter(f.offered for f in failures if f.offered)
    languages = Counter(detect_language(f.text).lang for f in failures)
    return Gap(
        count=len(failures),
        examples=examples,
        kinds=dict(Counter(f.kind for f in failures)),
        offered=[{"article_id": a, "times": n} for a, n in offered.most_common()],
        language=next((lang for lang, _ in languages.most_common() if lang in ("ru", "en")), "en"),
        conversations=list(dict.fromkeys(f.conversation_id for f in failures)),
    )
