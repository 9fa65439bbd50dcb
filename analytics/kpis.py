"""Support KPIs, exactly as docs/kpis.md defines them, computed from the stored history.

Two queries do the work, each reading its rows once and grouping in SQL: the conversations
created in the window (with their feedback, one row each; and each resolved one's next
contact, a lookup by customer), and the bot's answers given in it (``bot_outcome`` events).
They run side by side, each on a read-only connection of its own. The facts a KPI needs are
kept on the conversation's row as they happen (``queued_at``, ``first_assigned_at``,
``reopens``..., see escalation/schema.py), so no history is replayed here. Durations come
back as lists; their percentiles are computed here.

Timestamps are stored as ISO 8601 text in UTC (``+00:00``), so they compare as text and the
window can use the ``created_at`` indexes. Local dates (the window, day and week buckets) are
in ``settings.timezone``: SQL adds the UTC offset in force at each instant, so buckets stay
exact across daylight-saving changes.
"""

import json
import statistics
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from escalation.database import Database
from escalation.dialect import SQLITE, Dialect
from helpdesk.settings import Settings

BREAKDOWNS = ("channel", "language", "handled_by", "agent", "day", "week")
# What a report may be narrowed to: SQL over a conversation ``c``, compared with the value.
FILTERS = {
    "channel": "c.channel",
    "language": "coalesce(c.language, c.locale)",
    "handled_by": "case when c.queued_at is null then 'bot' else 'human' end",
    "agent": "c.assignee_id",
}
Offsets = list[tuple[datetime, int]]  # (from, UTC offset in seconds): the window's stretches
Grouping = tuple[str, str]  # SQL for a row's group key, and for whether it is in any group


@dataclass
class Tally:
    """Counts and durations of one group, as the queries return them; groups add up."""

    counts: Counter[str] = field(default_factory=Counter)
    durations: dict[str, list[float]] = field(default_factory=dict)

    def add(self, other: "Tally") -> None:
        self.counts.update(other.counts)
        for name, values in other.durations.items():
            self.durations.setdefault(name, []).extend(values)


def compute(
    database: Database,
    start: date,
    end: date,
    settings: Settings,
    by: str | None = None,
    now: datetime | None = None,
    filters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Every KPI of docs/kpis.md for the conversations created in ``[start, end)`` (local
    dates), overall and, with ``by`` (one of ``BREAKDOWNS``), per group.

    ``now`` is the moment of computing (default: now): a deadline counts as missed only once
    it has passed. Everything else is as stored at the time of the call. ``filters`` (keys
    of ``FILTERS``) keep only the conversations of one channel, language, agent, or of the
    bot or people: "overall" is then the filtered whole.
    """
    statements, params = queries(start, end, settings, by, now, filters, database.dialect)
    with ThreadPoolExecutor(len(statements)) as pool:  # one core each while SQLite works
        results = pool.map(lambda sql: _run(database, sql, params), statements.values())
        rows = [row for result in results for row in result]
    names = _agent_names(database) if by == "agent" else {}
    overall = Tally()
    groups: dict[Any, Tally] = {}
    for (key, included), tally in rows:
        overall.add(tally)
        if included:
            groups.setdefault(_key(by, key), Tally()).add(tally)
    return {
        "window": {
            "from": start.isoformat(), "to": end.isoformat(), "timezone": settings.timezone,
            "start_utc": params["start"], "end_utc": params["end"], "now": params["now"],
            "deflection_hours": settings.kpi_deflection_hours,
            "fcr_hours": settings.kpi_fcr_hours,
        },
        "by": by,
        "filters": filters or {},
        "overall": kpis(overall),
        "groups": [
            {"key": key, "label": _label(by, key, names), "kpis": kpis(tally)}
            for key, tally in _ordered(by, groups, start, end, names)
        ],
    }  # fmt: skip


# -- the queries ---------------------------------------------------------------------------
# docs/kpis.md's terms, in SQL over a row ``c`` of conversations.
QUEUED = "c.queued_at is not null"
BY_AGENT = "c.resolution_code in ('solved', 'not_solved', 'duplicate')"
BY_BOT = "(c.resolution_code is not distinct from 'bot' and c.queued_at is null)"
RESOLVED = f"({BY_AGENT} or {BY_BOT})"
# Until when a queued customer waited for a person: the resolution, leaving, or still (now).
WAITED_UNTIL = "coalesce(c.resolved_at, :now)"
# The customer's next conversation on any channel after the resolution (spam is no contact).
NEXT_CONTACT = (
    "(select min(n.created_at) from conversations n where n.customer_id = c.customer_id "
    "and n.created_at > c.resolved_at and n.resolution_code is distinct from 'spam')"
)


def _no_contact_within(days: str, dialect: Dialect) -> str:
    """SQL: no other conversation within ``:days`` of the resolution (none at all counts).
    Each mention is a lookup that reads the index alone (on conversations(customer_id,
    created_at, resolution_code)), so each comes after the conditions that rule most
    conversations out: SQLite stops at the first false one. About a third of the time of a
    KPI query goes here (docs/benchmarks.md, "KPI queries")."""
    return f"coalesce({dialect.seconds(NEXT_CONTACT, 'c.resolved_at')} > :{days} * 86400, true)"


def _durations(name: str, of: str, later: str, earlier: str, dialect: Dialect) -> str:
    """SQL: the group's durations ``later - earlier`` of the conversations ``of``, as a JSON
    array of whole milliseconds (integers are quicker than reals to write and to read)."""
    milliseconds = f"cast(round({dialect.seconds(f'c.{later}', f'c.{earlier}')} * 1000) as bigint)"
    where = f"{of} and c.{later} is not null and c.{earlier} is not null"
    return f"{dialect.json_array_of(milliseconds, where)} as {name}_ms"


def _conversations_sql(key: str, included: str, narrowed: str, dialect: Dialect) -> str:
    """One row per group of C (the conversations created in the window, spam excluded, each
    with its feedback): every count of docs/kpis.md, and the durations."""
    return f"""
select {key} as grp, {included} as included,
    count(*) as contacts,
    count(*) filter (where {QUEUED}) as queued,
    count(*) filter (where {BY_BOT} and {_no_contact_within("deflection_days", dialect)})
        as self_service,
    count(*) filter (where {RESOLVED}) as resolved,
    count(*) filter (where {RESOLVED} and c.reopens = 0
        and {_no_contact_within("fcr_days", dialect)})
        as first_contact_resolved,
    count(*) filter (where {QUEUED} and c.resolution_code = 'abandoned') as abandoned,
    count(f.csat) as csat_rated,
    count(*) filter (where f.csat >= 4) as csat_4_5,
    coalesce(sum(f.csat), 0) as csat_sum,
    count(f.csat) filter (where {RESOLVED}) as csat_responses,
    count(f.ces) as ces_rated,
    count(*) filter (where f.ces >= 4) as ces_4_5,
    coalesce(sum(f.ces), 0) as ces_sum,
    count(*) filter (where {QUEUED} and c.first_response_at <= c.first_response_due)
        as first_response_in_time,
    count(*) filter (where {QUEUED} and (c.first_response_at is not null
        or c.first_response_due < {WAITED_UNTIL}) and c.first_response_due is not null)
        as first_response_due,
    count(*) filter (where {QUEUED} and {BY_AGENT} and c.resolved_at <= c.resolution_due)
        as resolution_in_time,
    count(*) filter (where {QUEUED} and ({BY_AGENT}
        or c.resolution_due < {WAITED_UNTIL}) and c.resolution_due is not null)
        as resolution_due,
    {_durations("first_response", QUEUED, "first_response_at", "queued_at", dialect)},
    {_durations("queue_wait", QUEUED, "first_assigned_at", "queued_at", dialect)},
    {_durations("resolution", BY_AGENT, "resolved_at", "queued_at", dialect)},
    {_durations("bot_resolution", BY_BOT, "resolved_at", "created_at", dialect)}
from conversations c left join feedback f on f.conversation_id = c.id
where c.created_at >= :start and c.created_at < :end
    and c.resolution_code is distinct from 'spam'
    {narrowed}
group by grp, included
"""


def _answers_sql(key: str, included: str, narrowed: str, by_conversation: bool) -> str:
    """One row per group: the bot's answers given in the window (by the answer's time) that
    the customer reacted to, and how many of them helped. Each answer's conversation is
    looked up only when the groups or the filters need it (``by_conversation``); otherwise
    the few spam conversations are set aside once, which halves the query on a busy desk.
    The outcome's fields are the events' indexed columns (escalation/schema.py, m008), not
    read from each event's JSON."""
    if by_conversation:
        source = "events e join conversations c on c.id = e.conversation_id"
        not_spam = "c.resolution_code is distinct from 'spam'"
    else:
        source = "events e"
        not_spam = (
            "e.conversation_id not in (select id from conversations where resolution_code = 'spam')"
        )
    return f"""
select {key} as grp, {included} as included,
    count(*) filter (where e.outcome_reaction = 'helped') as answers_helped,
    count(*) as answers_reacted
from {source}
where e.type = 'bot_outcome' and e.created_at >= :start and e.created_at < :end
    and e.outcome_decision = 'answer'
    and e.outcome_reaction in ('helped', 'did_not_help')
    and {not_spam} {narrowed}
group by grp, included
"""


def queries(
    start: date,
    end: date,
    settings: Settings,
    by: str | None = None,
    now: datetime | None = None,
    filters: dict[str, str] | None = None,
    dialect: Dialect = SQLITE,
) -> tuple[dict[str, str], dict[str, Any]]:
    """The two statements ``compute`` runs (``conversations``, ``answers``) and their
    parameters: the window in UTC, the moment of computing, the follow-up windows in days,
    the filters' values."""
    if by is not None and by not in BREAKDOWNS:
        raise ValueError(f"by must be one of {', '.join(BREAKDOWNS)}, not {by!r}")
    filters = filters or {}
    if unknown := set(filters) - set(FILTERS):
        raise ValueError(f"filters must be among {', '.join(FILTERS)}, not {sorted(unknown)}")
    if end <= start:
        raise ValueError(f"the window is empty: {start} to {end}")
    zone = ZoneInfo(settings.timezone)
    start_utc, end_utc = _utc_midnight(start, zone), _utc_midnight(end, zone)
    offsets = _offsets(zone, start_utc, end_utc)
    conversations, answers = (
        _grouping(by, column, offsets, dialect) for column in ("c.created_at", "e.created_at")
    )
    narrowed = "".join(f" and {FILTERS[name]} = :filter_{name}" for name in filters)
    statements = {
        "conversations": _conversations_sql(*conversations, narrowed, dialect),
        "answers": _answers_sql(*answers, narrowed, by in FILTERS or bool(filters)),
    }
    params = {
        "start": start_utc.isoformat(),
        "end": end_utc.isoformat(),
        "now": (now or datetime.now(UTC)).astimezone(UTC).isoformat(),
        "deflection_days": settings.kpi_deflection_hours / 24,
        "fcr_days": settings.kpi_fcr_hours / 24,
        **{f"filter_{name}": value for name, value in filters.items()},
    }
    return statements, params


def _run(
    database: Database, sql: str, params: dict[str, Any]
) -> list[tuple[tuple[Any, int], Tally]]:
    with database.report() as conn:
        return _tallies(conn.execute(sql, params))


def _tallies(cursor: Any) -> list[tuple[tuple[Any, int], Tally]]:
    """Rows of ``grp, included, counts..., durations..._ms`` (JSON arrays) as tallies."""
    names = [column[0] for column in cursor.description]
    result = []
    for row in cursor:
        tally = Tally()
        for name, value in zip(names[2:], row[2:], strict=True):
            if name.endswith("_ms"):
                tally.durations[name.removesuffix("_ms")] = [ms / 1000 for ms in json.loads(value)]
            else:
                tally.counts[name] = value
        result.append(((row[0], row[1]), tally))
    return result


def _agent_names(database: Database) -> dict[str, str]:
    with database.report() as conn:
        return dict(conn.execute("select id, coalesce(display_name, username) from agents"))


# -- groups --------------------------------------------------------------------------------
def _grouping(by: str | None, time_column: str, offsets: Offsets, dialect: Dialect) -> Grouping:
    """A row's group key in SQL, and whether it belongs in a group at all: the agent
    breakdown covers human conversations only. Every row counts in the overall figures."""
    day = _local_date_sql(time_column, offsets, dialect)
    return {
        None: ("null", "0"),  # no breakdown: the overall figures only
        "channel": (FILTERS["channel"], "1"),
        "language": (FILTERS["language"], "1"),
        "handled_by": (FILTERS["handled_by"], "1"),
        "agent": (FILTERS["agent"], "c.queued_at is not null"),
        "day": (day, "1"),
        "week": (dialect.monday(day), "1"),
    }[by]


def _local_date_sql(column: str, offsets: Offsets, dialect: Dialect) -> str:
    """SQL for the local date of a UTC timestamp: the date after adding the offset in force
    at that instant (a ``case`` over the window's offset changes, if it has any)."""
    *earlier, (_, last) = offsets
    if not earlier:
        return dialect.shifted_date(column, last)
    bounds = [change for change, _ in offsets[1:]]
    cases = " ".join(
        f"when {column} < '{bound.isoformat()}' then {dialect.shifted_date(column, offset)}"
        for bound, (_, offset) in zip(bounds, earlier, strict=True)
    )
    return f"case {cases} else {dialect.shifted_date(column, last)} end"


def _utc_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _offsets(zone: ZoneInfo, start: datetime, end: datetime) -> Offsets:
    """The UTC offsets in force over ``[start, end)``: checked hour by hour, each change then
    found to the second (offsets change on whole seconds)."""

    def offset(second: int) -> int:
        at = datetime.fromtimestamp(second, UTC).astimezone(zone)
        return int(at.utcoffset().total_seconds())

    first, last = int(start.timestamp()), int(end.timestamp())
    result = [(start, offset(first))]
    for hour in range(first, last, 3600):
        low, high = hour, min(hour + 3600, last)
        if offset(high) == result[-1][1]:
            continue
        while high - low > 1:  # offset(low) is the old one, offset(high) the new
            middle = (low + high) // 2
            low, high = (middle, high) if offset(middle) == result[-1][1] else (low, middle)
        result.append((datetime.fromtimestamp(high, UTC), offset(high)))
    return result


def _key(by: str | None, key: Any) -> Any:
    """A week is named as ISO 8601 does (2026-W48); SQL gives its Monday."""
    if by == "week" and key is not None:
        year, week, _ = date.fromisoformat(key).isocalendar()
        return f"{year}-W{week:02d}"
    return key


def _ordered(
    by: str | None, groups: dict[Any, Tally], start: date, end: date, names: dict[str, str]
) -> list[tuple[Any, Tally]]:
    """Days and weeks in order, each one present even with nothing in it; other groups by
    key (agents by name), the group without a key last."""
    if by in ("day", "week"):
        days = [start + timedelta(days=n) for n in range((end - start).days)]
        keys = dict.fromkeys(_key(by, day.isoformat()) for day in days)
        return [(key, groups.get(key, Tally())) for key in keys]
    return sorted(groups.items(), key=lambda item: (item[0] is None, _label(by, item[0], names)))


def _label(by: str | None, key: Any, names: dict[str, str]) -> str:
    if key is None:
        return "(unassigned)" if by == "agent" else "(unknown)"
    return names.get(key, key) if by == "agent" else str(key)


# -- the figures ---------------------------------------------------------------------------
def kpis(tally: Tally) -> dict[str, Any]:
    """The KPIs of one group, in docs/kpis.md's order."""
    n, durations = tally.counts, tally.durations
    return {
        "contacts": n["contacts"],
        "self_service_rate": _rate(n["self_service"], n["contacts"]),
        "escalation_rate": _rate(n["queued"], n["contacts"]),
        "first_response_time": _duration(durations.get("first_response", [])),
        "queue_wait": _duration(durations.get("queue_wait", [])),
        "resolution_time": _duration(durations.get("resolution", [])),
        "bot_resolution_time": _duration(durations.get("bot_resolution", [])),
        "csat": {
            **_rating(n["csat_4_5"], n["csat_sum"], n["csat_rated"]),
            "response_rate": _rate(n["csat_responses"], n["resolved"]),
        },
        "ces": _rating(n["ces_4_5"], n["ces_sum"], n["ces_rated"]),
        "first_contact_resolution": _rate(n["first_contact_resolved"], n["resolved"]),
        "sla_first_response": _rate(n["first_response_in_time"], n["first_response_due"]),
        "sla_resolution": _rate(n["resolution_in_time"], n["resolution_due"]),
        "abandonment_rate": _rate(n["abandoned"], n["queued"]),
        "bot_answer_acceptance": _rate(n["answers_helped"], n["answers_reacted"]),
    }


def _rate(numerator: int, denominator: int) -> dict[str, Any]:
    """An empty denominator gives ``None``, never 0 or 100 %."""
    value = numerator / denominator if denominator else None
    return {"value": value, "numerator": numerator, "denominator": denominator}


def _rating(high: int, total: int, count: int) -> dict[str, Any]:
    return {"share_4_5": _rate(high, count), "mean": total / count if count else None,
            "count": count}  # fmt: skip


def _duration(values: list[float]) -> dict[str, Any]:
    """Median, 90th percentile and mean over the conversations measured (none: ``None``)."""
    if not values:
        return {"median_s": None, "p90_s": None, "mean_s": None, "count": 0}
    values = sorted(values)
    return {
        "median_s": round(statistics.median(values), 3),
        "p90_s": round(percentile(values, 0.9), 3),
        "mean_s": round(statistics.fmean(values), 3),
        "count": len(values),
    }


def percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the nearest ranks (numpy's default, Excel's PERCENTILE):
    of 4 values, the 90th percentile lies 70 % of the way from the 3rd to the 4th."""
    position = (len(ordered) - 1) * q
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


# -- the table -----------------------------------------------------------------------------
def format_table(report: dict[str, Any]) -> str:
    """``compute``'s report as text: KPI, value, n; one block per group after the overall."""
    window = report["window"]
    title = f"{window['from']} to {window['to']} (exclusive), {window['timezone']}"
    blocks = [_block(f"All conversations, {title}", report["overall"])]
    blocks += [_block(f"{report['by']}: {g['label']}", g["kpis"]) for g in report["groups"]]
    return "\n\n".join(blocks)


def _block(title: str, figures: dict[str, Any]) -> str:
    rows = [("KPI", "value", "n"), *_rows(figures)]
    width = max(len(row[1]) for row in rows)
    lines = [f"{kpi:<28} {value:<{width}}  {n:>7}" for kpi, value, n in rows]
    return "\n".join([title, *lines])


def _rows(figures: dict[str, Any]) -> list[tuple[str, str, str]]:
    def rate(name: str, figure: dict) -> tuple[str, str, str]:
        value = "-" if figure["value"] is None else f"{figure['value']:.1%}"
        return name, value, f"{figure['numerator']}/{figure['denominator']}"

    def duration(name: str, figure: dict) -> tuple[str, str, str]:
        if not figure["count"]:
            return name, "-", "0"
        parts = (f"{part} {_span(figure[f'{part}_s'])}" for part in ("median", "p90", "mean"))
        return name, ", ".join(parts), str(figure["count"])

    def rating(name: str, figure: dict) -> tuple[str, str, str]:
        _, share, n = rate(name, figure["share_4_5"])
        mean = "-" if figure["mean"] is None else f"{figure['mean']:.2f}"
        return name, f"{share} rated 4-5, mean {mean}", n

    f = figures
    return [
        ("contacts", str(f["contacts"]), ""),
        rate("self-service rate", f["self_service_rate"]),
        rate("escalation rate", f["escalation_rate"]),
        duration("first response time", f["first_response_time"]),
        duration("queue wait", f["queue_wait"]),
        duration("resolution time", f["resolution_time"]),
        duration("bot resolution time", f["bot_resolution_time"]),
        rating("CSAT", f["csat"]),
        rate("CSAT response rate", f["csat"]["response_rate"]),
        rating("CES", f["ces"]),
        rate("first-contact resolution", f["first_contact_resolution"]),
        rate("SLA first response", f["sla_first_response"]),
        rate("SLA resolution", f["sla_resolution"]),
        rate("abandonment rate", f["abandonment_rate"]),
        rate("bot answer acceptance", f["bot_answer_acceptance"]),
    ]


def _span(seconds: float) -> str:
    """3m 05s, 2h 10m, 1d 04h: as precise as a dashboard needs."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600:02d}h"
