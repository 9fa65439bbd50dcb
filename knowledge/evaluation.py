"""Answer-quality figures for a labelled set of customer messages (``helpdesk kb eval``).

A hit counts as right when it is the expected article or a translation of it (same group): the
customer asked in their language and got the answer in it.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from knowledge.search import SearchResult


@dataclass
class Tally:
    in_scope: int = 0
    top1: int = 0
    top3: int = 0
    answered: int = 0
    out_of_scope: int = 0
    rejected: int = 0
    answered_wrong: int = 0  # answerable, answered with the wrong article
    confidently_wrong: int = 0  # that, plus unanswerable questions answered anyway

    @property
    def total(self) -> int:
        return self.in_scope + self.out_of_scope

    def figures(self) -> dict[str, float | int | None]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "queries": self.total,
            "in_scope": self.in_scope,
            "top1": ratio(self.top1, self.in_scope),
            "top3": ratio(self.top3, self.in_scope),
            "answered": ratio(self.answered, self.in_scope),
            "answered_wrong": ratio(self.answered_wrong, self.in_scope),
            "confidently_wrong": ratio(self.confidently_wrong, self.total),
            "out_of_scope": self.out_of_scope,
            "oos_rejected": ratio(self.rejected, self.out_of_scope),
        }


@dataclass
class Evaluation:
    by_lang: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def add(self, result: SearchResult, expected: str | None, group_of: dict[str, str]) -> None:
        for tally in (self.by_lang["all"], self.by_lang[result.lang]):
            _count(tally, result, expected, group_of)

    def figures(self) -> dict[str, dict]:
        order = ["all", *sorted(k for k in self.by_lang if k != "all")]
        return {lang: self.by_lang[lang].figures() for lang in order}


def _count(
    tally: Tally, result: SearchResult, expected: str | None, group_of: dict[str, str]
) -> None:
    answered = result.decision == "answer"
    if expected is None:
        tally.out_of_scope += 1
        tally.rejected += not answered
        tally.confidently_wrong += answered
        return
    target = group_of.get(expected, expected)
    ranked = [group_of.get(h.id, h.id) for h in result.hits]
    tally.in_scope += 1
    tally.top1 += ranked[:1] == [target]
    tally.top3 += target in ranked[:3]
    tally.answered += answered
    tally.answered_wrong += answered and ranked[:1] != [target]
    tally.confidently_wrong += answered and ranked[:1] != [target]


COLUMNS = [
    "queries",
    "top1",
    "top3",
    "answered",
    "answered_wrong",
    "confidently_wrong",
    "oos_rejected",
]


def format_table(figures: dict[str, dict]) -> str:
    """The figures of ``Evaluation.figures`` as a fixed-width table, one row per language."""
    lines = [f"{'lang':<8}" + "".join(f"{c:>18}" for c in COLUMNS)]
    for lang, row in figures.items():
        lines.append(
            f"{lang:<8}" + "".join(f"{'-' if row[c] is None else row[c]:>18}" for c in COLUMNS)
        )
    return "\n".join(lines)
