"""The support KPIs (docs/kpis.md) on a real SQLite file: two days of a help desk in Moscow,
seeded with exact times, and every figure worked out by hand from the definitions."""

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from analytics.kpis import compute, percentile
from escalation.database import Database
from helpdesk import cli
from helpdesk.settings import Settings
from tests.databases import database_env, open_database_at

# The contract of the stores: every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("each_engine")


MOSCOW = ZoneInfo("Europe/Moscow")  # UTC+3 all year
SETTINGS = Settings(timezone="Europe/Moscow")  # deflection window 24 h, FCR window 72 h
NOV_23, NOV_25 = date(2026, 11, 23), date(2026, 11, 25)  # Monday and Tuesday


def at(moment: str, zone: ZoneInfo = MOSCOW) -> str:
    """'11-23 10:05' (or '11-23 10:05:30') local time in 2026, as stored: ISO 8601 in UTC."""
    fmt = "%Y-%m-%d %H:%M:%S" if moment.count(":") == 2 else "%Y-%m-%d %H:%M"
    local = datetime.strptime(f"2026-{moment}", fmt).replace(tzinfo=zone)
    return local.astimezone(UTC).isoformat()


NOW = datetime.fromisoformat(at("11-25 01:00"))


class Story:
    """A help desk's history written row by row with explicit times, through the real schema:
    each step sets what the desk would have set at that moment."""

    def __init__(self, database: Database, zone: ZoneInfo = MOSCOW):
        self.database, self.zone = database, zone

    def _run(self, sql: str, *params) -> None:
        with self.database.write() as conn:
            conn.execute(sql, params)

    def _set(self, conversation: str, moment: str | None, state: str, **columns) -> None:
        assignments = ", ".join(f"{name} = ?" for name in ["state", *columns])
        with self.database.write() as conn:
            (before,) = conn.execute(
                "select state from conversations where id = ?", [conversation]
            ).fetchone()
            conn.execute(
                f"update conversations set {assignments} where id = ?",
                [state, *columns.values(), conversation],
            )
            if moment is not None:
                self._event(conn, conversation, "state", {"from": before, "to": state}, moment)

    def _event(self, conn, conversation: str, type: str, data: dict, moment: str) -> None:
        conn.execute(
            "insert into events (conversation_id, type, data, created_at) values (?, ?, ?, ?)",
            [conversation, type, json.dumps(data), at(moment, self.zone)],
        )

    def agent(self, id: str, name: str) -> None:
        self._run(
            "insert into agents (id, username, display_name, role, password_hash, created_at) "
            "values (?, ?, ?, 'agent', 'x', ?)",
            id, id, name, at("11-01 09:00"),
        )  # fmt: skip

    def writes(self, id: str, customer: str, moment: str, channel="web", locale="en") -> None:
        """A customer starts a conversation with the bot."""
        with self.database.write() as conn:
            conn.execute(
                "insert into customers (id, created_at, metadata) values (?, ?, '{}') "
                "on conflict do nothing",
                [customer, at(moment, self.zone)],
            )
            conn.execute(
                "insert into conversations (id, customer_id, channel, locale, state, created_at, "
                "updated_at, metadata) values (?, ?, ?, ?, 'bot', ?, ?, '{}')",
                [id, customer, channel, locale, at(moment, self.zone), at(moment, self.zone)],
            )

    def bot_answers(self, id: str, moment: str, reaction: str | None, decision="answer") -> None:
        outcome = {"query": "?", "decision": decision, "article_id": "a1", "reaction": reaction}
        with self.database.write() as conn:
            self._event(conn, id, "bot_outcome", outcome, moment)

    def handed_over(self, id: str, moment: str, language: str | None = None) -> None:
        """Queued, with the default targets of a normal conversation: 5 min and 4 h."""
        queued = datetime.fromisoformat(at(moment, self.zone))
        with self.database.read() as conn:
            (locale,) = conn.execute(
                "select locale from conversations where id = ?", [id]
            ).fetchone()
        self._set(
            id, moment, "queued", queued_at=queued.isoformat(), language=language or locale,
            first_response_due=(queued + timedelta(minutes=5)).isoformat(),
            resolution_due=(queued + timedelta(hours=4)).isoformat(),
        )  # fmt: skip

    def picked_up(self, id: str, moment: str, by: str) -> None:
        with self.database.read() as conn:
            (first,) = conn.execute(
                "select first_assigned_at from conversations where id = ?", [id]
            ).fetchone()
        self._set(
            id, moment, "assigned", assignee_id=by, first_assigned_at=first or at(moment, self.zone)
        )

    def answered(self, id: str, moment: str) -> None:
        self._set(id, None, "assigned", first_response_at=at(moment, self.zone))

    def resolved(self, id: str, moment: str, code: str) -> None:
        self._set(id, moment, "resolved", resolved_at=at(moment, self.zone), resolution_code=code)

    def left(self, id: str, moment: str) -> None:
        """The customer ended the chat while waiting."""
        self.resolved(id, moment, "abandoned")

    def reopened(self, id: str, moment: str, to: str = "assigned") -> None:
        with self.database.read() as conn:
            (reopens,) = conn.execute(
                "select reopens from conversations where id = ?", [id]
            ).fetchone()
        self._set(id, moment, to, resolved_at=None, resolution_code=None, reopens=reopens + 1)

    def rated(self, id: str, moment: str, csat: int, ces: int) -> None:
        self._run(
            "insert into feedback (conversation_id, csat, ces, created_at) values (?, ?, ?, ?)",
            id, csat, ces, at(moment, self.zone),
        )  # fmt: skip


def two_days(story: Story) -> None:
    """Monday 23 and Tuesday 24 November 2026 in Moscow; Anna and Boris on duty."""
    s = story
    s.agent("anna", "Anna Petrova")
    s.agent("boris", "Boris")

    # Solved at first contact by Anna, rated 5/4 (the bot's answer had not helped).
    s.writes("solved", "A", "11-23 10:00")
    s.bot_answers("solved", "11-23 10:01", "did_not_help")
    s.handed_over("solved", "11-23 10:02")
    s.picked_up("solved", "11-23 10:03", by="anna")
    s.answered("solved", "11-23 10:05")
    s.resolved("solved", "11-23 10:20", "solved")
    s.rated("solved", "11-23 10:21", csat=5, ces=4)

    # Reopened: a late first answer, solved, reopened, solved again at 13:01; rated 2/2.
    s.writes("reopened", "B", "11-23 11:00", channel="sms", locale="ru")
    s.bot_answers("reopened", "11-23 11:00:30", "did_not_help")
    s.handed_over("reopened", "11-23 11:01")
    s.picked_up("reopened", "11-23 11:11", by="boris")
    s.answered("reopened", "11-23 11:12")
    s.resolved("reopened", "11-23 11:30", "solved")
    s.reopened("reopened", "11-23 11:40")
    s.resolved("reopened", "11-23 13:01", "solved")
    s.rated("reopened", "11-23 13:02", csat=2, ces=2)

    # Abandoned: the customer left at 12:10, after the first-response target (12:06), before
    # the resolution target (16:01). The bot had found nothing (a fallback: not an answer).
    s.writes("abandoned", "C", "11-23 12:00", locale="ru")
    s.bot_answers("abandoned", "11-23 12:00:30", None, decision="fallback")
    s.handed_over("abandoned", "11-23 12:01")
    s.left("abandoned", "11-23 12:10")

    # Not solved, and the survey never answered.
    s.writes("unrated", "D", "11-23 14:00")
    s.handed_over("unrated", "11-23 14:01")
    s.picked_up("unrated", "11-23 14:02", by="anna")
    s.answered("unrated", "11-23 14:04")
    s.resolved("unrated", "11-23 14:31", "not_solved")

    # The bot resolved it (rated 4/5), and the customer was back by SMS 11 h later: not
    # self-service. The new conversation is still with the bot; its answer got no reaction.
    s.writes("bot-then-back", "E", "11-23 09:00")
    s.bot_answers("bot-then-back", "11-23 09:01", "helped")
    s.resolved("bot-then-back", "11-23 09:02", "bot")
    s.rated("bot-then-back", "11-23 09:03", csat=4, ces=5)
    s.writes("back-soon", "E", "11-23 20:00", channel="sms")
    s.bot_answers("back-soon", "11-23 20:01", None)

    # The bot resolved it, and the customer came back 30 h later: self-service (24 h), but
    # not resolved at first contact (72 h). The bot resolved the second one too.
    s.writes("self-service", "F", "11-23 08:00", channel="sms", locale="ru")
    s.bot_answers("self-service", "11-23 08:01", "helped")
    s.resolved("self-service", "11-23 08:05", "bot")
    s.writes("back-after-30h", "F", "11-24 14:05", channel="sms", locale="ru")
    s.bot_answers("back-after-30h", "11-24 14:09", "helped")
    s.resolved("back-after-30h", "11-24 14:10", "bot")

    # The bot resolved it; an hour later the same customer sent spam, which is no contact.
    s.writes("bot-then-spam", "H", "11-24 08:50")
    s.bot_answers("bot-then-spam", "11-24 08:55", "helped")
    s.resolved("bot-then-spam", "11-24 09:00", "bot")
    s.writes("spam", "H", "11-24 10:00")
    s.bot_answers("spam", "11-24 10:00:30", "helped")
    s.handed_over("spam", "11-24 10:01")
    s.picked_up("spam", "11-24 10:01", by="anna")
    s.answered("spam", "11-24 10:02")
    s.resolved("spam", "11-24 10:03", "spam")
    s.rated("spam", "11-24 10:04", csat=1, ces=1)

    # Still waiting at 01:00, both targets (18:07, 22:02) missed; a Russian widget, handed
    # over in English. The bot's choice of articles was turned down: that is not an answer.
    s.writes("breach-waiting", "I", "11-24 18:00", channel="sms", locale="ru")
    s.bot_answers("breach-waiting", "11-24 18:01", "did_not_help", decision="clarify")
    s.handed_over("breach-waiting", "11-24 18:02", language="en")

    # Created on Tuesday, queued after midnight, first response due at 01:02: not yet due.
    s.writes("waiting-not-due", "J", "11-24 23:50", locale="ru")
    s.handed_over("waiting-not-due", "11-25 00:57")

    # Rated 3/4 after its resolution, then reopened: now with Boris again, past its target.
    s.writes("rated-reopened", "P", "11-24 12:00")
    s.handed_over("rated-reopened", "11-24 12:01")
    s.picked_up("rated-reopened", "11-24 12:02", by="boris")
    s.answered("rated-reopened", "11-24 12:03")
    s.resolved("rated-reopened", "11-24 12:10", "solved")
    s.rated("rated-reopened", "11-24 12:11", csat=3, ces=4)
    s.reopened("rated-reopened", "11-24 12:20")

    # Monday 00:30 in Moscow is Sunday 21:30 UTC: Monday's.
    s.writes("after-midnight", "M", "11-23 00:30")
    s.bot_answers("after-midnight", "11-23 00:35", "helped")
    s.resolved("after-midnight", "11-23 00:40", "bot")

    # Outside the window: Sunday 23:50 and Wednesday 00:30. The Sunday conversation's answer
    # at Monday 00:05 counts, by the answer's time; its answer at 23:52 does not.
    s.writes("sunday", "K", "11-22 23:50")
    s.bot_answers("sunday", "11-22 23:52", "did_not_help")
    s.bot_answers("sunday", "11-23 00:05", "helped")
    s.resolved("sunday", "11-23 00:10", "bot")
    s.writes("wednesday", "N", "11-25 00:30")
    s.bot_answers("wednesday", "11-25 00:35", "helped")


@pytest.fixture
def database(tmp_path) -> Database:
    database = open_database_at(tmp_path / "helpdesk.db")
    two_days(Story(database))
    return database


def rate(numerator: int, denominator: int) -> dict:
    value = numerator / denominator if denominator else None
    return {"value": value, "numerator": numerator, "denominator": denominator}


def duration(median: float, p90: float, mean: float, count: int) -> dict:
    return {"median_s": median, "p90_s": p90, "mean_s": mean, "count": count}


NO_DURATION = {"median_s": None, "p90_s": None, "mean_s": None, "count": 0}

# C: solved, reopened, abandoned, unrated, bot-then-back, back-soon, self-service,
# back-after-30h, bot-then-spam, breach-waiting, waiting-not-due, rated-reopened,
# after-midnight. Queued: solved, reopened, abandoned, unrated, breach-waiting,
# waiting-not-due, rated-reopened. Resolved by an agent: solved, reopened, unrated; by the bot:
# bot-then-back, self-service, back-after-30h, bot-then-spam, after-midnight.
OVERALL = {
    "contacts": 13,
    # self-service, back-after-30h, bot-then-spam, after-midnight (not bot-then-back)
    "self_service_rate": rate(4, 13),
    "escalation_rate": rate(7, 13),
    # solved 3 min, reopened 11 min, unrated 3 min, rated-reopened 2 min
    "first_response_time": duration(180.0, 516.0, 285.0, 4),  # p90: 180 + 0.7 * 480
    # 1, 10, 1 and 1 min
    "queue_wait": duration(60.0, 438.0, 195.0, 4),
    # solved 18 min, reopened 2 h (its latest resolution), unrated 30 min
    "resolution_time": duration(1800.0, 6120.0, 3360.0, 3),
    # 2, 5, 5, 10 and 10 min
    "bot_resolution_time": duration(300.0, 600.0, 384.0, 5),
    # 5, 2, 4, 3 (rated-reopened is rated, though open again; spam's 1 is not counted)
    "csat": {"share_4_5": rate(2, 4), "mean": 3.5, "count": 4, "response_rate": rate(3, 8)},
    "ces": {"share_4_5": rate(3, 4), "mean": 3.75, "count": 4},
    # solved, unrated, back-after-30h, bot-then-spam, after-midnight of the 8 resolved
    "first_contact_resolution": rate(5, 8),
    # in time: solved, unrated, rated-reopened; late: reopened; missed while waiting:
    # abandoned (left after the target), breach-waiting; waiting-not-due in neither part
    "sla_first_response": rate(3, 6),
    # in time: solved, reopened, unrated; missed: breach-waiting, rated-reopened;
    # abandoned (left before the target) and waiting-not-due in neither part
    "sla_resolution": rate(3, 5),
    "abandonment_rate": rate(1, 7),
    # helped: bot-then-back, self-service, back-after-30h, bot-then-spam, sunday's at 00:05,
    # after-midnight; did not help: solved, reopened
    "bot_answer_acceptance": rate(6, 8),
}


def test_every_kpi_of_the_window_as_defined(database):
    report = compute(database, NOV_23, NOV_25, SETTINGS, now=NOW)
    assert report["overall"] == OVERALL
    assert report["by"] is None and report["groups"] == []
    assert report["window"] == {
        "from": "2026-11-23", "to": "2026-11-25", "timezone": "Europe/Moscow",
        "start_utc": "2026-11-22T21:00:00+00:00", "end_utc": "2026-11-24T21:00:00+00:00",
        "now": "2026-11-24T22:00:00+00:00", "deflection_hours": 24, "fcr_hours": 72,
    }  # fmt: skip
    json.dumps(report)  # JSON as it is


def test_deadlines_count_as_missed_only_once_passed(database):
    earlier = datetime.fromisoformat(at("11-24 18:05"))  # breach-waiting's 18:07 is not due
    figures = compute(database, NOV_23, NOV_25, SETTINGS, now=earlier)["overall"]
    assert figures["sla_first_response"] == rate(3, 5)
    assert figures["sla_resolution"] == rate(3, 4)  # rated-reopened's 16:01 had passed


def test_the_windows_are_settings(database):
    longer = Settings(timezone="Europe/Moscow", kpi_deflection_hours=36, kpi_fcr_hours=24)
    figures = compute(database, NOV_23, NOV_25, longer, now=NOW)["overall"]
    assert figures["self_service_rate"] == rate(3, 13)  # the return after 30 h now cancels
    # bot-then-back's return after 11 h still cancels; self-service's after 30 h no longer
    assert figures["first_contact_resolution"] == rate(6, 8)


def group(report: dict, key) -> dict:
    [found] = [g for g in report["groups"] if g["key"] == key]
    return found


def test_days_are_local_days(database):
    report = compute(database, NOV_23, NOV_25, SETTINGS, by="day", now=NOW)
    assert [(g["key"], g["kpis"]["contacts"]) for g in report["groups"]] == [
        ("2026-11-23", 8),  # after-midnight (Sunday 21:30 UTC) included
        ("2026-11-24", 5),  # waiting-not-due, queued on Wednesday, included
    ]
    monday, tuesday = (g["kpis"] for g in report["groups"])
    assert monday["self_service_rate"] == rate(2, 8)
    assert monday["first_contact_resolution"] == rate(3, 6)
    assert monday["sla_first_response"] == rate(2, 4)
    assert monday["sla_resolution"] == rate(3, 3)
    assert monday["abandonment_rate"] == rate(1, 4)
    assert monday["csat"]["share_4_5"] == rate(2, 3) and monday["csat"]["mean"] == 11 / 3
    assert monday["bot_answer_acceptance"] == rate(4, 6)  # sunday's answer at 00:05 included
    assert tuesday["escalation_rate"] == rate(3, 5)
    assert tuesday["sla_resolution"] == rate(0, 2)  # 0, not null: two were due
    assert tuesday["csat"]["response_rate"] == rate(0, 2)
    assert tuesday["bot_answer_acceptance"] == rate(2, 2)
    assert tuesday["resolution_time"] == NO_DURATION  # not 0: nothing was measured


def test_weeks_are_iso_weeks_in_local_time(database):
    report = compute(database, date(2026, 11, 22), date(2026, 11, 30), SETTINGS, by="week")
    assert [(g["key"], g["kpis"]["contacts"]) for g in report["groups"]] == [
        ("2026-W47", 1),  # sunday, 23:50
        ("2026-W48", 14),  # after-midnight, Sunday 21:30 UTC, is Monday's; and wednesday
    ]
    assert group(report, "2026-W47")["kpis"]["bot_answer_acceptance"] == rate(0, 1)
    assert group(report, "2026-W48")["kpis"]["bot_answer_acceptance"] == rate(7, 9)


def test_by_channel(database):
    report = compute(database, NOV_23, NOV_25, SETTINGS, by="channel", now=NOW)
    assert [g["key"] for g in report["groups"]] == ["sms", "web"]
    assert group(report, "web")["kpis"] == {
        "contacts": 8,
        "self_service_rate": rate(2, 8),
        "escalation_rate": rate(5, 8),
        "first_response_time": duration(180.0, 180.0, 160.0, 3),
        "queue_wait": duration(60.0, 60.0, 60.0, 3),
        "resolution_time": duration(1440.0, 1728.0, 1440.0, 2),
        "bot_resolution_time": duration(600.0, 600.0, 440.0, 3),
        "csat": {"share_4_5": rate(2, 3), "mean": 4.0, "count": 3, "response_rate": rate(2, 5)},
        "ces": {"share_4_5": rate(3, 3), "mean": 13 / 3, "count": 3},
        "first_contact_resolution": rate(4, 5),
        "sla_first_response": rate(3, 4),
        "sla_resolution": rate(2, 3),
        "abandonment_rate": rate(1, 5),
        "bot_answer_acceptance": rate(4, 5),
    }
    assert group(report, "sms")["kpis"] == {
        "contacts": 5,
        "self_service_rate": rate(2, 5),
        "escalation_rate": rate(2, 5),
        "first_response_time": duration(660.0, 660.0, 660.0, 1),
        "queue_wait": duration(600.0, 600.0, 600.0, 1),
        "resolution_time": duration(7200.0, 7200.0, 7200.0, 1),
        "bot_resolution_time": duration(300.0, 300.0, 300.0, 2),
        "csat": {"share_4_5": rate(0, 1), "mean": 2.0, "count": 1, "response_rate": rate(1, 3)},
        "ces": {"share_4_5": rate(0, 1), "mean": 2.0, "count": 1},
        "first_contact_resolution": rate(1, 3),
        "sla_first_response": rate(0, 2),
        "sla_resolution": rate(1, 2),
        "abandonment_rate": rate(0, 2),
        "bot_answer_acceptance": rate(2, 3),
    }
    assert report["overall"] == OVERALL


def test_by_language_uses_the_locale_before_a_handoff(database):
    report = compute(database, NOV_23, NOV_25, SETTINGS, by="language", now=NOW)
    assert [(g["key"], g["kpis"]["contacts"]) for g in report["groups"]] == [("en", 8), ("ru", 5)]
    assert group(report, "en")["kpis"]["escalation_rate"] == rate(4, 8)  # breach-waiting too


def test_by_handled_by(database):
    report = compute(database, NOV_23, NOV_25, SETTINGS, by="handled_by", now=NOW)
    bot, human = group(report, "bot")["kpis"], group(report, "human")["kpis"]
    assert (bot["contacts"], human["contacts"]) == (6, 7)
    assert bot["self_service_rate"] == rate(4, 6) and human["self_service_rate"] == rate(0, 7)
    assert human["escalation_rate"] == rate(7, 7)
    assert bot["bot_answer_acceptance"] == rate(6, 6)  # sunday's answer at 00:05 included
    assert human["bot_answer_acceptance"] == rate(0, 2)


def test_by_agent_covers_human_conversations_by_who_holds_them(database):
    report = compute(database, NOV_23, NOV_25, SETTINGS, by="agent", now=NOW)
    assert [(g["key"], g["label"], g["kpis"]["contacts"]) for g in report["groups"]] == [
        ("anna", "Anna Petrova", 2),  # spam excluded
        ("boris", "Boris", 2),
        (None, "(unassigned)", 3),  # abandoned, breach-waiting, waiting-not-due
    ]
    anna, boris, nobody = (g["kpis"] for g in report["groups"])
    assert anna["resolution_time"] == duration(1440.0, 1728.0, 1440.0, 2)
    assert anna["csat"]["response_rate"] == rate(1, 2)
    assert boris["first_response_time"] == duration(390.0, 606.0, 390.0, 2)
    assert boris["first_contact_resolution"] == rate(0, 1)
    assert boris["csat"]["share_4_5"] == rate(0, 2) and boris["csat"]["mean"] == 2.5
    assert (boris["sla_first_response"], boris["sla_resolution"]) == (rate(1, 2), rate(1, 2))
    assert nobody["abandonment_rate"] == rate(1, 3)
    assert nobody["first_contact_resolution"] == rate(0, 0)  # null, not 0
    assert nobody["first_contact_resolution"]["value"] is None
    assert report["overall"] == OVERALL  # bot conversations still count overall


def test_a_filter_gives_that_group_as_the_whole(database):
    by_channel = compute(database, NOV_23, NOV_25, SETTINGS, by="channel", now=NOW)
    sms = compute(database, NOV_23, NOV_25, SETTINGS, now=NOW, filters={"channel": "sms"})
    assert sms["overall"] == group(by_channel, "sms")["kpis"]
    assert sms["filters"] == {"channel": "sms"}
    boris_days = compute(
        database, NOV_23, NOV_25, SETTINGS, by="day", now=NOW, filters={"agent": "boris"}
    )
    assert boris_days["overall"]["contacts"] == 2
    assert sum(g["kpis"]["contacts"] for g in boris_days["groups"]) == 2
    bot = compute(database, NOV_23, NOV_25, SETTINGS, now=NOW, filters={"handled_by": "bot"})
    assert bot["overall"]["bot_answer_acceptance"] == rate(6, 6)
    nobody = compute(database, NOV_23, NOV_25, SETTINGS, now=NOW, filters={"language": "de"})
    assert nobody["overall"]["contacts"] == 0


def test_daylight_saving_changes_keep_local_days(tmp_path):
    berlin = ZoneInfo("Europe/Berlin")  # summer time ends on 25 October 2026 at 03:00
    story = Story(open_database_at(tmp_path / "berlin.db"), zone=berlin)
    story.writes("saturday-night", "X", "10-25 00:30")  # 22:30 UTC on the 24th, UTC+2
    story.writes("sunday-night", "Y", "10-25 23:30")  # 22:30 UTC on the 25th, UTC+1
    story.writes("monday-early", "Z", "10-26 00:30")  # 23:30 UTC on the 25th
    settings = Settings(timezone="Europe/Berlin")
    report = compute(story.database, date(2026, 10, 25), date(2026, 10, 27), settings, by="day")
    assert [(g["key"], g["kpis"]["contacts"]) for g in report["groups"]] == [
        ("2026-10-25", 2),
        ("2026-10-26", 1),
    ]
    assert report["window"]["start_utc"] == "2026-10-24T22:00:00+00:00"
    assert report["window"]["end_utc"] == "2026-10-26T23:00:00+00:00"


def test_an_empty_window_has_no_rates(database):
    figures = compute(database, date(2026, 1, 1), date(2026, 1, 2), SETTINGS)["overall"]
    assert figures["contacts"] == 0
    assert figures["self_service_rate"] == rate(0, 0)
    assert figures["csat"] == {"share_4_5": rate(0, 0), "mean": None, "count": 0,
                               "response_rate": rate(0, 0)}  # fmt: skip
    assert figures["queue_wait"] == NO_DURATION


def test_bad_requests_are_refused(database):
    with pytest.raises(ValueError, match="filters"):
        compute(database, NOV_23, NOV_25, SETTINGS, filters={"state": "open"})
    with pytest.raises(ValueError, match="by must be one of"):
        compute(database, NOV_23, NOV_25, SETTINGS, by="customer")
    with pytest.raises(ValueError, match="empty"):
        compute(database, NOV_25, NOV_23, SETTINGS)


def test_percentiles_interpolate_between_ranks():
    assert percentile([1.0], 0.9) == 1.0
    assert percentile([10.0, 20.0], 0.5) == 15.0
    assert (
        percentile([0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0], 0.9) == 90.0
    )


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.setenv("HELPDESK_TIMEZONE", "Europe/Moscow")
    cli.get_settings.cache_clear()
    yield CliRunner()
    cli.get_settings.cache_clear()


def test_the_command_prints_the_same_figures(database, runner, tmp_path):
    args = [
        "kpi",
        "--json",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-25",
    ]
    result = runner.invoke(cli.app, args, env=database_env(tmp_path / "helpdesk.db"))
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    expected = compute(database, NOV_23, NOV_25, SETTINGS)  # at the same moment, near enough
    assert printed["window"].pop("now") <= expected["window"].pop("now")
    assert printed == expected
    assert printed["overall"]["contacts"] == 13
    assert printed["overall"]["first_contact_resolution"] == rate(5, 8)


def test_the_command_prints_a_table(database, runner, tmp_path):
    args = ["kpi", "--from", "2026-11-23", "--to", "2026-11-25"]
    env = database_env(tmp_path / "helpdesk.db")
    result = runner.invoke(cli.app, [*args, "--by", "agent"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "All conversations, 2026-11-23 to 2026-11-25 (exclusive), Europe/Moscow"
    assert next(line.split()[:3] for line in lines if line.startswith("self-service")) == [
        "self-service", "rate", "30.8%",
    ]  # fmt: skip
    assert any(line.rstrip().endswith("4/13") for line in lines)
    assert "agent: Anna Petrova" in lines
    assert "first response time" in result.output and "median 3m 00s" in result.output
    refused = runner.invoke(cli.app, [*args, "--by", "customer"], env=env)
    assert refused.exit_code == 2 and "--by must be one of" in refused.output


def test_the_command_defaults_to_the_last_seven_days(database, runner, tmp_path):
    result = runner.invoke(cli.app, ["kpi", "--json"], env=database_env(tmp_path / "helpdesk.db"))
    assert result.exit_code == 0, result.output
    window = json.loads(result.output)["window"]
    today = datetime.now(MOSCOW).date()
    assert (window["from"], window["to"]) == (
        (today - timedelta(days=6)).isoformat(),
        (today + timedelta(days=1)).isoformat(),
    )
