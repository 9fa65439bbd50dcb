"""The manager dashboard's data: the support KPIs of docs/kpis.md over a range of days, as JSON
or as a CSV file, and the knowledge-base gaps of the same days (docs/dashboard.md).

Every route needs the manager role (or admin), checked on the server. The reports read the
whole window's history, which takes up to about a second on a busy desk (docs/benchmarks.md),
so they run in the thread pool rather than holding up the event loop and every chat with it.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from analytics.gaps import knowledge_gaps
from analytics.kpis import BREAKDOWNS, compute
from api.security import Manager
from knowledge import KnowledgeBase

router = APIRouter(prefix="/api/manager", tags=["managers: dashboard"])
DEFAULT_DAYS = 30
MAX_DAYS = 366
# A spreadsheet runs a cell starting with one of these as a formula: an agent named
# "=HYPERLINK(...)" must stay a name (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Window:
    """Local dates in ``settings.timezone``; ``end`` is the day after the last one counted."""

    start: date
    end: date


@dataclass(frozen=True)
class KpiQuery:
    window: Window
    by: str | None
    filters: dict[str, str]


def asked_window(
    request: Request,
    start: Annotated[date | None, Query(alias="from", description="the first day")] = None,
    end: Annotated[
        date | None, Query(alias="to", description="the day after the last one counted")
    ] = None,
    days: Annotated[
        int | None, Query(ge=1, le=MAX_DAYS, description="the last this many days, today too")
    ] = None,
) -> Window:
    """``from`` and ``to``, or the last ``days`` (by default 30) up to today in the desk's
    time zone: a bookmarked "last 7 days" moves on with the calendar."""
    if start is None and end is None:
        today = datetime.now(ZoneInfo(request.app.state.settings.timezone)).date()
        end = today + timedelta(days=1)
        return Window(end - timedelta(days=days or DEFAULT_DAYS), end)
    if days is not None or start is None or end is None:
        raise HTTPException(422, "give 'from' and 'to' together, or 'days' alone")
    if end <= start:
        raise HTTPException(422, "'to' must be after 'from' (it is the day after the last one)")
    if (end - start).days > MAX_DAYS:
        raise HTTPException(422, f"the range is {(end - start).days} days; at most {MAX_DAYS}")
    return Window(start, end)


Breakdown = Literal[BREAKDOWNS]  # type: ignore[valid-type]
Text = Annotated[str | None, Query(min_length=1, max_length=100)]


def kpi_query(
    period: Annotated[Window, Depends(asked_window)],
    by: Annotated[Breakdown | None, Query(description="one group per value of this")] = None,
    channel: Text = None,
    language: Text = None,
    handled_by: Annotated[Literal["bot", "human"] | None, Query()] = None,
    agent: Annotated[str | None, Query(min_length=1, max_length=100, description="an id")] = None,
) -> KpiQuery:
    """The window, the breakdown and the filters (``analytics.kpis.FILTERS``) asked for."""
    given = {"channel": channel, "language": language, "handled_by": handled_by, "agent": agent}
    return KpiQuery(period, by, {name: value for name, value in given.items() if value is not None})


async def _report(request: Request, query: KpiQuery) -> dict[str, Any]:
    state = request.app.state
    return await run_in_threadpool(
        compute, state.conversations.database, query.window.start, query.window.end,
        state.settings, by=query.by, filters=query.filters,
    )  # fmt: skip


@router.get("/kpis")
async def kpis(
    request: Request, manager: Manager, query: Annotated[KpiQuery, Depends(kpi_query)]
) -> dict:
    """Every KPI of docs/kpis.md for the conversations created in the window, overall and per
    group of ``by``, as ``analytics.kpis.compute`` reports them."""
    return await _report(request, query)


@router.get("/kpis.csv", response_class=Response)
async def kpis_csv(
    request: Request, manager: Manager, query: Annotated[KpiQuery, Depends(kpi_query)]
) -> Response:
    """One row per group of ``by`` (without ``by``: one row, all conversations), each KPI's
    parts in columns of their own. UTF-8 with a byte-order mark, for Excel's sake."""
    report = await _report(request, query)
    return Response(
        "\ufeff" + kpi_table(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(query)}"'},
    )


def kpi_table(report: dict[str, Any]) -> str:
    """CSV: ``group`` (the key), ``label``, then each KPI's figures as ``kpi.part`` columns
    (``csat.share_4_5.value``); an empty cell where a figure is ``null``. One row per group,
    or, without a breakdown, one for all conversations."""
    overall = {"key": None, "label": "(all)", "kpis": report["overall"]}
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(["group", "label", *(name for name, _ in _flat(report["overall"]))])
    for group in report["groups"] if report["by"] else [overall]:
        cells = [group["key"], group["label"], *(value for _, value in _flat(group["kpis"]))]
        writer.writerow(["" if cell is None else _inert(cell) for cell in cells])
    return output.getvalue()


def _flat(figures: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs = []
    for name, value in figures.items():
        if isinstance(value, dict):
            pairs += _flat(value, f"{prefix}{name}.")
        else:
            pairs.append((f"{prefix}{name}", value))
    return pairs


def _inert(cell: Any) -> Any:
    """Text that a spreadsheet would run as a formula, quoted so it stays text."""
    return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_START) else cell


def _filename(query: KpiQuery) -> str:
    parts = ["kpis", query.window.start.isoformat(), query.window.end.isoformat()]
    if query.by:
        parts.append(f"by-{query.by}")
    parts += [f"{name}-{value}" for name, value in query.filters.items()]
    return re.sub(r"[^A-Za-z0-9._-]", "", "_".join(parts))[:150] + ".csv"


@router.get("/gaps")
async def gaps(
    request: Request, manager: Manager, period: Annotated[Window, Depends(asked_window)]
) -> dict:
    """The questions of the window that the knowledge base failed, grouped by meaning
    (``analytics.gaps``), each wrongly offered article with its question."""
    state = request.app.state
    zone = ZoneInfo(state.settings.timezone)
    start, end = (
        datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
        for day in (period.start, period.end)
    )
    found = await run_in_threadpool(
        knowledge_gaps, state.conversations.database, state.knowledge, start, end
    )
    return {
        "window": {"from": period.start.isoformat(), "to": period.end.isoformat(),
                   "timezone": state.settings.timezone},
        "gaps": [_gap_json(gap.to_json(), state.knowledge) for gap in found],
    }  # fmt: skip


def _gap_json(gap: dict[str, Any], knowledge: KnowledgeBase) -> dict[str, Any]:
    offered = []
    for item in gap["offered"]:
        article = knowledge.article(item["article_id"])
        offered.append({**item, "question": article["question"] if article else None})
    return {**gap, "offered": offered}


@router.get("/agents")
async def agents(request: Request, manager: Manager) -> list[dict]:
    """Every agent, disabled ones too: their past conversations are still in the reports."""
    return [agent.to_json() for agent in request.app.state.agents.all()]
