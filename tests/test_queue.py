"""The queue on a real SQLite file: priority, ageing, capacity, SLA deadlines, atomic claims,
assignment, and what waiting customers are told."""

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from escalation import (
    Agent,
    ClaimRefused,
    Desk,
    InvalidTransition,
    LiveEvents,
    Presence,
    Priority,
    Role,
    Sender,
    SqlAgents,
    SqlCasework,
    SqlConversationStore,
    State,
)
from escalation import desk as desk_module
from escalation.queue import QueuePolicy, priority, worth_texting
from helpdesk.settings import Settings
from tests import databases
from tests.databases import open_database_at

# The contract of the stores: every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("each_engine")


T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


class Clock:
    """The desk's clock, moved by the test: waiting and deadlines without sleeping."""

    def __init__(self, monkeypatch):
        self.now = T0
        monkeypatch.setattr(desk_module, "now", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_desk(path, **settings) -> Desk:
    database = open_database_at(path)
    return Desk(
        SqlConversationStore(database),
        SqlAgents(database),
        SqlCasework(database),
        LiveEvents(),
        Settings(db=path, **settings),
    )


@pytest.fixture
def desk(tmp_path) -> Desk:
    return make_desk(tmp_path / "helpdesk.db")


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


def waiting(desk: Desk, reason: str = "customer_asked", vip: bool = False, language="en"):
    """A conversation the bot has just handed over."""
    conversation, _ = desk.store.create_conversation("web", language)
    if vip:
        desk.store.update_customer(conversation.customer_id, {"vip": True})
    desk.store.add_message(conversation.id, Sender.CUSTOMER, f"help ({reason})")
    handoff = {"reason": reason, "language": language, "articles": []}
    desk.enqueue(desk.store.get(conversation.id), handoff, "queued")
    return desk.store.get(conversation.id)


def order(desk: Desk) -> list[str]:
    return [c.id for c in desk.store.in_state(State.QUEUED)]


def test_priority_comes_from_vip_status_and_anger():
    assert priority(vip=False, angry=False) == Priority.NORMAL
    assert priority(vip=True, angry=False) == Priority.HIGH
    assert priority(vip=False, angry=True) == Priority.HIGH
    assert priority(vip=True, angry=True) == Priority.URGENT


def test_the_queue_is_served_by_priority_then_arrival(desk, clock):
    normal = waiting(desk)
    clock.advance(10)
    angry = waiting(desk, reason="angry")
    clock.advance(10)
    angry_vip = waiting(desk, reason="angry", vip=True)
    clock.advance(10)
    later_normal = waiting(desk)
    assert [angry.priority, angry_vip.priority] == [Priority.HIGH, Priority.URGENT]
    assert order(desk) == [angry_vip.id, angry.id, normal.id, later_normal.id]
    assert [desk.store.queue_position(c.id) for c in (angry_vip, angry, normal)] == [1, 2, 3]


def test_waiting_ages_so_nothing_starves(desk, clock):
    """A high conversation's head start is 300 s of waiting: one that arrives later than that
    queues behind a normal one that was already waiting."""
    normal = waiting(desk)
    clock.advance(200)
    early_high = waiting(desk, reason="angry")
    clock.advance(200)  # now 400 s after the normal one
    late_high = waiting(desk, reason="angry")
    assert order(desk) == [early_high.id, normal.id, late_high.id]


def test_sla_deadlines_are_stored_per_priority(desk, clock):
    normal = waiting(desk)
    urgent = waiting(desk, reason="angry", vip=True)
    targets = desk.settings
    assert normal.first_response_due == T0 + timedelta(
        seconds=targets.sla_first_response_s["normal"]
    )
    assert normal.resolution_due == T0 + timedelta(seconds=targets.sla_resolution_s["normal"])
    assert urgent.first_response_due == T0 + timedelta(
        seconds=targets.sla_first_response_s["urgent"]
    )
    assert urgent.first_response_due < normal.first_response_due


def test_the_first_agent_reply_stops_the_first_response_clock(desk, clock):
    agent = desk.agents.add("anna", "password-1")
    conversation = waiting(desk)
    desk.claim(agent, conversation.id)
    clock.advance(30)
    desk.reply(agent, conversation.id, "Hello!", None)
    desk.reply(agent, conversation.id, "Let me check.", None)
    answered = desk.store.get(conversation.id)
    assert answered.first_response_at is not None
    assert answered.first_response_at == desk.store.messages(conversation.id)[-2].created_at


def test_an_agent_at_capacity_cannot_claim_more(desk):
    agent = desk.agents.add("anna", "password-1", capacity=2)
    conversations = [waiting(desk) for _ in range(3)]
    desk.claim(agent, conversations[0].id)
    desk.claim(agent, conversations[1].id)
    with pytest.raises(ClaimRefused, match="capacity"):
        desk.claim(agent, conversations[2].id)
    desk.resolve(agent, conversations[0].id, "solved")
    desk.claim(agent, conversations[2].id)  # room again
    assert desk.agents.get(agent.id).load == 2


def test_a_second_claim_is_refused_and_names_the_holder(desk):
    anna = desk.agents.add("anna", "password-1", display_name="Anna")
    bob = desk.agents.add("bob", "password-2")
    conversation = waiting(desk)
    desk.claim(anna, conversation.id)
    with pytest.raises(ClaimRefused, match="Anna"):
        desk.claim(bob, conversation.id)
    assert desk.claim(anna, conversation.id).assignee_id == anna.id  # repeating changes nothing


def test_many_concurrent_claims_have_exactly_one_winner_each(desk):
    agents = [desk.agents.add(f"agent{i}", "password-1", capacity=50) for i in range(8)]
    conversations = [waiting(desk) for _ in range(20)]

    def claim(pair):
        agent, conversation = pair
        try:
            desk.claim(agent, conversation.id)
            return conversation.id, agent.id
        except ClaimRefused:
            return conversation.id, None

    attempts = [(a, c) for c in conversations for a in agents]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(claim, attempts))
    for conversation in conversations:
        winners = [agent for cid, agent in results if cid == conversation.id and agent]
        assert len(winners) == 1
        assert desk.store.get(conversation.id).assignee_id == winners[0]
        claims = [
            e for e in desk.store.events(conversation.id, "state") if e.data["to"] == "assigned"
        ]
        assert len(claims) == 1


def _claim_all(path, agent_id, conversation_ids, results, engine):
    databases.ENGINE = engine  # a process of its own: the engine of the test that started it
    desk = make_desk(path)
    agent = desk.agents.get(agent_id)
    for conversation_id in conversation_ids:
        try:
            desk.claim(agent, conversation_id)
            results.put((conversation_id, agent_id))
        except ClaimRefused:
            pass


def test_claims_from_several_processes_have_exactly_one_winner_each(tmp_path, each_engine):
    path = tmp_path / "helpdesk.db"
    desk = make_desk(path)
    agents = [desk.agents.add(f"agent{i}", "password-1", capacity=50) for i in range(4)]
    ids = [waiting(desk).id for _ in range(30)]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_claim_all, args=(path, a.id, ids, results, each_engine))
        for a in agents
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    won = [results.get(timeout=5) for _ in range(len(ids))]
    assert results.empty()
    assert sorted(cid for cid, _ in won) == sorted(ids)
    for conversation_id, agent_id in won:
        assert desk.store.get(conversation_id).assignee_id == agent_id


def test_auto_assignment_picks_the_least_loaded_eligible_online_agent(desk):
    busy = desk.agents.add("busy", "password-1", languages=["en"], capacity=3)
    idle = desk.agents.add("idle", "password-1", languages=["en"], capacity=3)
    russian_only = desk.agents.add("ivan", "password-1", languages=["ru"], capacity=3)
    away = desk.agents.add("away", "password-1", languages=["en"], capacity=3)
    desk.claim(busy, waiting(desk).id)
    for agent in (busy, idle, russian_only):
        desk.agents.update(agent.id, presence=Presence.ONLINE)
    desk.agents.update(away.id, presence=Presence.AWAY)
    english = waiting(desk, language="en")
    assert english.state == State.ASSIGNED and english.assignee_id == idle.id
    russian = waiting(desk, language="ru")
    assert russian.assignee_id == russian_only.id


def test_topic_tags_prefer_the_agent_who_knows_the_topic(desk):
    desk.agents.add("generalist", "password-1")
    expert = desk.agents.add("expert", "password-1", tags=["warranty"])
    for agent in desk.agents.all():
        desk.agents.update(agent.id, presence=Presence.ONLINE)
    conversation, _ = desk.store.create_conversation("web", "en")
    handoff = {"reason": "bot_could_not_help", "language": "en",
               "articles": [{"article_id": "warranty-en", "tags": ["warranty"]}]}  # fmt: skip
    desk.enqueue(conversation, handoff, "queued")
    assert desk.store.get(conversation.id).assignee_id == expert.id


def test_no_one_gets_more_than_their_capacity_automatically(desk):
    agent = desk.agents.add("anna", "password-1", capacity=2)
    desk.set_presence(agent, Presence.ONLINE)
    conversations = [waiting(desk) for _ in range(3)]
    assert [c.state for c in conversations] == [State.ASSIGNED, State.ASSIGNED, State.QUEUED]
    desk.resolve(agent, conversations[0].id, "solved")  # room: the waiting one is given at once
    assert desk.store.get(conversations[2].id).assignee_id == agent.id


def test_an_agent_coming_online_is_given_waiting_work(desk):
    conversation = waiting(desk)
    agent = desk.agents.add("anna", "password-1")
    assert desk.store.get(conversation.id).state == State.QUEUED
    desk.set_presence(agent, Presence.ONLINE)
    assert desk.store.get(conversation.id).assignee_id == agent.id


def test_release_requeues_keeping_its_place_and_not_back_to_the_releaser(desk, clock):
    anna = desk.agents.add("anna", "password-1")
    first = waiting(desk)
    clock.advance(60)
    second = waiting(desk)
    desk.claim(anna, first.id)
    desk.set_presence(anna, Presence.ONLINE)  # gets the second one automatically
    assert desk.store.get(second.id).assignee_id == anna.id
    desk.release(anna, first.id, "needs a billing specialist")
    released = desk.store.get(first.id)
    assert released.state == State.QUEUED and released.assignee_id is None
    assert released.queued_at == first.queued_at  # it keeps its place
    assert [n["text"] for n in desk.casework.notes(first.id)] == ["needs a billing specialist"]


def test_transfer_to_an_agent_or_to_a_team(desk):
    anna = desk.agents.add("anna", "password-1")
    bob = desk.agents.add("bob", "password-1", display_name="Bob")
    carol = desk.agents.add("carol", "password-1", team="billing")
    desk.agents.add("dave", "password-1", team="repairs")
    conversation = waiting(desk)
    desk.claim(anna, conversation.id)
    moved = desk.transfer(anna, conversation.id, "warranty case", to_agent=bob.id)
    assert moved.assignee_id == bob.id
    assert "Bob has joined" in desk.store.messages(conversation.id)[-1].text
    with pytest.raises(ClaimRefused):  # anna no longer holds it
        desk.reply(anna, conversation.id, "hi", None)
    for agent in desk.agents.all():
        desk.agents.update(agent.id, presence=Presence.ONLINE)
    to_team = desk.transfer(desk.agents.get(bob.id), conversation.id, "billing", team="billing")
    assert to_team.team == "billing" and to_team.assignee_id == carol.id


def test_only_the_holder_sends_but_a_manager_may_resolve(desk):
    anna = desk.agents.add("anna", "password-1")
    bob = desk.agents.add("bob", "password-1")
    manager = desk.agents.add("mia", "password-1", Role.MANAGER)
    conversation = waiting(desk)
    desk.claim(anna, conversation.id)
    with pytest.raises(ClaimRefused):
        desk.reply(bob, conversation.id, "hello", None)
    with pytest.raises(ClaimRefused):
        desk.resolve(bob, conversation.id, "solved")
    assert desk.resolve(manager, conversation.id, "solved").state == State.RESOLVED


def test_vouchers_are_limited_by_role(desk):
    anna = desk.agents.add("anna", "password-1")
    manager = desk.agents.add("mia", "password-1", Role.MANAGER)
    conversation = waiting(desk)
    desk.claim(anna, conversation.id)
    with pytest.raises(PermissionError, match="at most 500"):
        desk.grant_voucher(anna, conversation.id, "discount", 501)
    voucher = desk.grant_voucher(anna, conversation.id, "discount", 500)
    assert voucher["code"] in desk.store.messages(conversation.id)[-1].text
    assert desk.grant_voucher(manager, conversation.id, "discount", 3000)["amount"] == 3000
    with pytest.raises(ValueError, match="no voucher type"):
        desk.grant_voucher(anna, conversation.id, "cash", 10)


def test_the_expected_wait_follows_agents_online_and_handling_times():
    policy = QueuePolicy.from_settings(Settings(default_handling_s=600, pickup_s=30))
    assert policy.expected_wait_s(1, [], []) is None  # no one online: no estimate

    def agent(capacity, load):
        return Agent(id=str(capacity), username="a", display_name="A", role=Role.AGENT,
                     presence=Presence.ONLINE, capacity=capacity, languages=["en"], tags=[],
                     team=None, disabled=False, load=load)  # fmt: skip

    two_busy = [agent(2, 2), agent(2, 2)]
    assert policy.expected_wait_s(1, two_busy, []) == 30 + 1 * 600 / 4
    assert policy.expected_wait_s(3, two_busy, []) == 30 + 3 * 600 / 4
    one_free = [agent(2, 1), agent(2, 2)]
    assert policy.expected_wait_s(1, one_free, []) == 30  # picked up at once
    recent = [120.0] * 10  # agents have been quick lately: the estimate follows
    assert policy.expected_wait_s(3, two_busy, recent) == 30 + 3 * 120 / 4


def test_waiting_customers_are_told_their_place_and_when_it_changes(desk):
    anna = desk.agents.add("anna", "password-1", capacity=1)
    desk.set_presence(anna, Presence.ONLINE)
    first = waiting(desk)  # given to anna at once
    second = waiting(desk, language="ru")
    notice = desk.store.messages(second.id)[-1].text
    assert "1-й в очереди" in notice and "ожидание" in notice
    assert desk.position(second)["position"] == 1
    third = waiting(desk)
    assert "number 2 in the queue" in desk.store.messages(third.id)[-1].text
    desk.resolve(anna, first.id, "solved")  # second goes to anna; third moves up
    assert desk.position(desk.store.get(third.id))["position"] == 1


def test_with_no_one_online_the_customer_is_told_and_may_ask_for_a_later_reply(desk):
    conversation = waiting(desk)
    notice = desk.store.messages(conversation.id)[-1]
    assert "No one from the team is available" in notice.text
    assert [r["payload"] for r in notice.quick_replies] == ["/reply_later", "/wait"]
    desk.reply_later(desk.store.get(conversation.id))
    assert desk.store.get(conversation.id).reply_later
    assert [e.type for e in desk.store.events(conversation.id)][-1] == "reply_later"


def test_outside_business_hours_the_customer_is_told_the_hours(tmp_path, clock):
    desk = make_desk(tmp_path / "h.db", business_hours="mon-fri 14:00-18:00", timezone="UTC")
    late = waiting(desk, language="ru")  # 10:00 UTC on a Monday: closed
    notice = desk.store.messages(late.id)[-1]
    assert "нерабочее время" in notice.text and "пн-пт 14:00-18:00" in notice.text
    assert notice.quick_replies
    clock.advance(5 * 3600)  # 15:00: open, but no one is online
    assert "No one from the team" in desk.position(waiting(desk))["text"]


def test_handling_times_run_from_the_first_claim_to_resolution(desk):
    anna = desk.agents.add("anna", "password-1", capacity=10)
    resolved = [waiting(desk) for _ in range(3)]
    for conversation in resolved:
        desk.claim(anna, conversation.id)
        desk.resolve(anna, conversation.id, "solved")
    desk.claim(anna, waiting(desk).id)  # still open: not a handling time yet
    times = desk.store.handling_times(50)
    assert len(times) == 3 and all(0 <= t < 5 for t in times)
    assert len(desk.store.handling_times(2)) == 2  # the latest ones only


@pytest.mark.parametrize(
    ("before", "after", "texted"),
    [
        ((5, 900), (4, 840), False),  # one place closer: the chat updates, a text would nag
        ((5, 900), (2, 300), True),  # more than half the way there
        ((3, 600), (1, 30), True),  # next in line
        ((1, 30), (1, 20), False),  # still next
        ((8, 1200), (7, 2400), True),  # the estimate grew by 20 minutes (an agent went away)
        ((4, None), (4, 300), True),  # someone came online
        ((4, 300), (4, None), True),  # no one is left
        ((4, None), (3, None), False),
    ],
)
def test_a_texting_customer_is_told_of_a_new_place_only_when_it_matters(before, after, texted):
    assert worth_texting(before, after) is texted


def answered_by_bot(desk: Desk, customer_last: bool = False):
    """A conversation where the bot answered from the knowledge base (then, maybe, the customer
    wrote again)."""
    conversation, _ = desk.store.create_conversation("web", "en")
    desk.store.add_message(conversation.id, Sender.CUSTOMER, "where is my order?")
    metadata = {"article_id": "order-status-en"}
    desk.store.add_message(conversation.id, Sender.BOT, "In your account.", metadata=metadata)
    desk.store.add_message(conversation.id, Sender.BOT, "Did this help?")
    if customer_last:
        desk.store.add_message(conversation.id, Sender.CUSTOMER, "hmm, let me think")
    return conversation


def test_a_customer_quiet_after_a_bot_answer_is_resolved_by_the_bot(desk, clock):
    quiet = answered_by_bot(desk)
    still_talking = answered_by_bot(desk, customer_last=True)
    clock.now = datetime.now(UTC) + timedelta(minutes=10)
    assert desk.resolve_quiet() == 0  # not quiet long enough
    clock.now = datetime.now(UTC) + timedelta(minutes=31)
    assert desk.resolve_quiet() == 1
    resolved = desk.store.get(quiet.id)
    assert (resolved.state, resolved.resolution_code) == (State.RESOLVED, "bot")
    assert desk.store.get(still_talking.id).state == State.BOT  # their question is unanswered
    assert desk.resolve_quiet() == 0  # once
    [change] = [e for e in desk.store.events(quiet.id, "state") if e.data["to"] == "resolved"]
    assert change.data == {"from": "bot", "to": "resolved", "by": "bot", "how": "quiet"}


def test_writing_again_after_the_bot_resolved_goes_back_to_the_bot(desk):
    conversation = answered_by_bot(desk)
    desk.resolved_by_bot(desk.store.get(conversation.id), "confirmed")
    reopened = desk.back_to_bot(desk.store.get(conversation.id))
    assert reopened.state == State.BOT
    assert reopened.resolved_at is None and reopened.resolution_code is None
    assert desk.store.handling_times(50) == []  # the bot's resolutions are not agents' work


def test_the_facts_kpis_need_are_kept_as_they_happen(desk):
    anna = desk.agents.add("anna", "password-1")
    conversation = waiting(desk)
    desk.claim(anna, conversation.id)
    desk.release(anna, conversation.id, None)
    desk.claim(anna, conversation.id)  # released and declined by her: a claim by hand is fine
    with desk.store.database.read() as conn:
        first_assigned = conn.execute(
            "select first_assigned_at, reopens from conversations where id = ?", [conversation.id]
        ).fetchone()
    desk.resolve(anna, conversation.id, "solved")
    desk.reopen(desk.store.get(conversation.id))
    with desk.store.database.read() as conn:
        facts = conn.execute(
            "select first_assigned_at, reopens from conversations where id = ?", [conversation.id]
        ).fetchone()
    assert first_assigned[0] is not None and facts == (first_assigned[0], 1)  # the first claim


def test_a_customer_leaving_the_queue_abandons_the_conversation(desk):
    left, stays = waiting(desk), waiting(desk)
    ended = desk.customer_left(desk.store.get(left.id))
    assert (ended.state, ended.resolution_code) == (State.RESOLVED, "abandoned")
    assert order(desk) == [stays.id]
    with pytest.raises(InvalidTransition):
        desk.customer_left(ended)  # only while waiting


def test_api_workers_on_one_database_tell_each_change_of_place_once(tmp_path):
    first, second = make_desk(tmp_path / "helpdesk.db"), make_desk(tmp_path / "helpdesk.db")
    told = []

    def telling(worker: Desk):
        def conversation(conversation_id: str, event: dict, **_) -> None:
            if event["type"] == "queue":
                told.append((worker, conversation_id, event["position"]))

        return conversation

    for worker in (first, second):  # each worker's own hub: what each one tells
        worker.live.conversation = telling(worker)
    anna = first.agents.add("anna", "password-1")
    a = waiting(first)
    b = waiting(second)
    assert told == [(first, a.id, 1), (second, b.id, 2)]  # a's place did not change: not again
    second.set_presence(second.agents.get(anna.id), Presence.AWAY)  # a change, but not of places
    assert len(told) == 2
    first.claim(anna, a.id)
    assert told[2:] == [(first, b.id, 1)]
    second.set_presence(second.agents.get(anna.id), Presence.ONLINE)
    assert told[3:] == []
    first.release(anna, a.id, None)  # a back in the queue; b goes to anna, online again
    assert first.store.get(b.id).assignee_id == anna.id
    assert told[3:] == [(first, a.id, 1)]  # told again, though its place was 1 before
