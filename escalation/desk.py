"""The help desk at work: the queue assigning conversations, and what agents do with them.

Every change here is stored first, then announced: to the customer on their channel (in their
language), to consoles through ``LiveEvents``, and to the audit log when an agent made it.
"""

import re
from datetime import timedelta
from typing import Any

from escalation.agents import SqlAgents
from escalation.casework import SqlCasework
from escalation.live import QUEUE_TOPIC, LiveEvents
from escalation.models import (
    Agent,
    ClaimRefused,
    Conversation,
    InvalidTransition,
    Message,
    NotAllowed,
    Presence,
    Role,
    Sender,
    State,
    now,
)
from escalation.queue import (
    HANDLING_SAMPLE,
    QueuePolicy,
    QueueStanding,
    best_agent,
    priority,
    worth_texting,
)
from escalation.store import ConversationStore
from escalation.texts import text, wait_text
from helpdesk.settings import Settings

RESOLUTION_CODES = ("solved", "not_solved", "duplicate", "spam")


RATING = re.compile(r"\s*#?([1-5])\s*[.!)]?\s*")  # "5", "5!", "#4": a survey answer by text
PLACEHOLDER = re.compile(r"\{(customer_name|agent_name|company)\}")  # others stay as typed


def _tidy(text: str) -> str:
    """No gap left by an empty placeholder: "Hello {customer_name}," -> "Hello,"."""
    return re.sub(r"[ \t]+([,.!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text))


class Desk:
    def __init__(
        self,
        store: ConversationStore,
        agents: SqlAgents,
        casework: SqlCasework,
        live: LiveEvents,
        settings: Settings,
    ):
        self.store = store
        self.agents = agents
        self.casework = casework
        self.live = live
        self.settings = settings
        self.policy = QueuePolicy.from_settings(settings)

    # -- the queue -------------------------------------------------------------------------
    def enqueue(self, conversation: Conversation, handoff: dict[str, Any], notice: str) -> None:
        """The bot hands over: queue with priority and deadlines, tell the customer, assign."""
        vip = bool(self.store.customer(conversation.customer_id).get("vip"))
        angry = handoff.get("reason") == "angry" or handoff.get("priority") == "high"
        level = priority(vip, angry)
        queued_at = now()
        first_response_due, resolution_due = self.policy.deadlines(queued_at, level)
        language = handoff.get("language") or conversation.locale
        tags = sorted({tag for a in handoff.get("articles", []) for tag in a.get("tags", [])})
        columns = {
            "language": language, "priority": level, "reason": handoff.get("reason"),
            "tags": tags, "queued_at": queued_at,
            "queue_key": self.policy.queue_key(queued_at, level),
            "first_response_due": first_response_due, "resolution_due": resolution_due,
            "metadata": {**conversation.metadata, "vip": vip},
        }  # fmt: skip
        self.store.transition(conversation.id, State.QUEUED, {"handoff": handoff}, columns)
        state = {"type": "state", "conversation": {"state": State.QUEUED.value}}
        self.live.conversation(conversation.id, state)
        self._say(conversation.id, text(notice, language))
        self._after_queue_change(announce_to=conversation.id)

    def assign_waiting(self) -> None:
        """Give waiting conversations, best first, to eligible online agents with room."""
        if not self.settings.auto_assign:
            return
        agents = self.agents.all()
        for conversation in self.store.in_state(State.QUEUED):
            declined = set(conversation.metadata.get("declined_by", []))
            agent = best_agent(conversation, [a for a in agents if a.id not in declined])
            if agent is None:
                continue
            try:
                self.store.claim(conversation.id, agent.id, {"agent_id": agent.id, "by": "auto"})
            except ClaimRefused:
                continue  # taken by hand a moment ago, or the agent filled up meanwhile
            self.agents.audit(None, "assign", conversation.id, agent=agent.username)
            self._joined(conversation, agent)
            agents = self.agents.all()

    def position(self, conversation: Conversation) -> dict[str, Any] | None:
        """Where a queued conversation stands: ``{"position", "expected_wait_s", "text"}``."""
        position = self.store.queue_position(conversation.id)
        if position is None:
            return None
        wait = self.policy.expected_wait_s(
            position, self.agents.all(), self.store.handling_times(HANDLING_SAMPLE)
        )
        status, _ = self._status(conversation, position, wait)
        return {"position": position, "expected_wait_s": wait, "text": status}

    def _status(
        self, conversation: Conversation, position: int, wait: float | None
    ) -> tuple[str, bool]:
        """What to tell a waiting customer, and whether no one can answer now."""
        language = self._language(conversation)
        if not self.policy.hours.open_at(now()):
            return text("closed", language, hours=self.policy.hours.describe(language)), True
        if wait is None:
            return text("no_agents", language), True
        return text("position", language, position=position, wait=wait_text(wait, language)), False

    def _after_queue_change(self, announce_to: str | None = None) -> None:
        """Assign what can be, then tell consoles and every waiting customer what changed.

        ``announce_to``: a conversation just queued, whose customer is told in a message (and,
        if no one can answer now, offered a later reply); the others get a live update only
        when their place or estimate changed.
        """
        self.assign_waiting()
        self.live.publish(QUEUE_TOPIC, {"type": "queue_changed"})
        agents = self.agents.all()
        handling = self.store.handling_times(HANDLING_SAMPLE)
        queued = self.store.in_state(State.QUEUED)
        events, told = {}, {}
        for position, conversation in enumerate(queued, start=1):
            wait = self.policy.expected_wait_s(position, agents, handling)
            status, nobody = self._status(conversation, position, wait)
            if conversation.id == announce_to:
                self._announce(conversation, status, (position, wait), offer_later=nobody)
            elif conversation.route == "sms":
                self._text_if_news(conversation, status, (position, wait))
            told[conversation.id] = [position, None if wait is None else round(wait / 60)]
            events[conversation.id] = {"type": "queue", "position": position,
                                       "expected_wait_s": wait, "text": status}  # fmt: skip
        news = self.store.tell_queue(told)
        for conversation_id in (c for c in told if c in news):  # in the queue's order
            self.live.conversation(conversation_id, events[conversation_id])

    def _announce(
        self, conversation: Conversation, status: str, standing: QueueStanding, offer_later: bool
    ) -> None:
        """The place in the queue, said once on entry; with no one to answer, the customer may
        ask for a later reply (or, from the web chat, to continue by SMS)."""
        language = self._language(conversation)
        replies = []
        if offer_later and not conversation.reply_later:
            replies = [{"title": text("reply_later", language), "payload": "/reply_later"},
                       {"title": text("wait", language), "payload": "/wait"}]  # fmt: skip
            if self.settings.sms_enabled and conversation.route != "sms":
                replies.append({"title": text("continue_by_sms", language), "payload": "/sms"})
        self._say(conversation.id, status, replies, {"queue": list(standing)})

    def _text_if_news(
        self, conversation: Conversation, status: str, standing: QueueStanding
    ) -> None:
        """A texting customer hears of a new place only when it is worth a message."""
        last = next(
            (m.metadata["queue"] for m in reversed(self.store.messages(conversation.id))
             if m.sender == Sender.SYSTEM and "queue" in m.metadata),
            None,
        )  # fmt: skip
        if last is None or worth_texting(tuple(last), standing):
            self._say(conversation.id, status, metadata={"queue": list(standing)})

    # -- the customer, while waiting or after resolution ------------------------------------
    def reply_later(self, conversation: Conversation) -> None:
        """Recorded for the agent; the answer reaches the customer where they wrote from."""
        self.store.annotate(conversation.id, {"reply_later": True}, "reply_later", {})
        self._changed(conversation.id)
        noted = "reply_later_noted_sms" if conversation.route == "sms" else "reply_later_noted"
        self._say(conversation.id, text(noted, self._language(conversation)))
        self.live.publish(QUEUE_TOPIC, {"type": "queue_changed"})

    def customer_left(self, conversation: Conversation) -> Conversation:
        """The customer ended the chat while waiting: abandoned, and no longer in the queue."""
        if conversation.state != State.QUEUED:
            raise InvalidTransition(
                f"only a waiting conversation can be left, not {conversation.state}"
            )
        left = self.store.transition(
            conversation.id, State.RESOLVED, {"by": "customer", "how": "left"},
            {"resolved_at": now(), "resolution_code": "abandoned"},
        )  # fmt: skip
        self._changed(conversation.id)
        self._after_queue_change()
        return left

    def keep_waiting(self, conversation: Conversation) -> None:
        position = self.store.queue_position(conversation.id) or 1
        language = self._language(conversation)
        self._say(conversation.id, text("waiting_noted", language, position=position))

    def move_to(self, conversation_id: str, channel: str, address: str) -> None:
        """The customer asked to continue on another channel (SMS at ``address``, masked):
        replies go there from now on, until they write from somewhere else."""
        self.store.annotate(conversation_id, {"reply_channel": channel}, "channel", {"to": channel})
        self._changed(conversation_id)
        language = self._language(self.store.get(conversation_id))
        self._say(conversation_id, text(f"moved_to_{channel}", language, phone=address))

    def reopen(self, conversation: Conversation) -> None:
        """The customer wrote again soon after resolution: back to the same agent."""
        self.store.transition(
            conversation.id,
            State.ASSIGNED,
            {"by": "customer", "agent_id": conversation.assignee_id},
            {"resolved_at": None, "resolution_code": None},
        )
        agent = self.agents.get(conversation.assignee_id)
        state = {"state": State.ASSIGNED.value, "agent": agent.display_name}
        self.live.conversation(conversation.id, {"type": "state", "conversation": state})
        self._changed(conversation.id)
        self._after_queue_change()

    # -- the bot's own resolutions -----------------------------------------------------------
    def resolved_by_bot(self, conversation: Conversation, how: str) -> None:
        """Self-service: the customer confirmed an answer helped (``how="confirmed"``), or
        went quiet after one (``"quiet"``)."""
        self.store.transition(
            conversation.id, State.RESOLVED, {"by": "bot", "how": how},
            {"resolved_at": now(), "resolution_code": "bot"},
        )  # fmt: skip
        self._ask_rating(self.store.get(conversation.id))

    def back_to_bot(self, conversation: Conversation) -> Conversation:
        """The customer wrote again soon after the bot resolved it: the bot goes on."""
        reopened = self.store.transition(
            conversation.id, State.BOT, {"by": "customer"},
            {"resolved_at": None, "resolution_code": None},
        )  # fmt: skip
        state = {"type": "state", "conversation": {"state": State.BOT.value}}
        self.live.conversation(conversation.id, state)
        return reopened

    def resolve_quiet(self) -> int:
        """Resolve bot conversations whose customer went quiet after an answer (no reply in
        ``bot_quiet_minutes``); how many. Run periodically; safe in several processes."""
        cutoff = now() - timedelta(minutes=self.settings.bot_quiet_minutes)
        resolved = 0
        for conversation in self.store.quiet_after_answer(cutoff):
            try:
                self.resolved_by_bot(conversation, "quiet")
                resolved += 1
            except InvalidTransition:  # the customer wrote, or another process got there first
                pass
        return resolved

    # -- asking for a rating ----------------------------------------------------------------
    def _ask_rating(self, conversation: Conversation) -> None:
        """Once resolved, the customer is asked to rate it, on their channel: the chat shows its
        rating form on the ``resolved`` state; by SMS the questions come one at a time."""
        state = {"type": "state", "conversation": {"state": State.RESOLVED.value}}
        self.live.conversation(conversation.id, state)
        if conversation.route == "sms" and self.store.feedback(conversation.id) is None:
            self._say(conversation.id, text("rate_csat", self._language(conversation)),
                      metadata={"survey": "csat"})  # fmt: skip

    def rating_answer(self, conversation: Conversation, message: Message) -> bool:
        """Whether ``message`` answers the survey question just asked (a digit 1-5); if so
        it is recorded and the next question (or thanks) is sent."""
        asked = self.store.last_message(conversation.id, Sender.SYSTEM)
        just_asked = asked is not None and asked.seq == message.seq - 1
        question = asked.metadata.get("survey") if just_asked else None
        rating = RATING.fullmatch(message.text)
        if question is None or rating is None:
            return False
        self.store.add_rating(conversation.id, question, int(rating[1]))
        language = self._language(conversation)
        if question == "csat":
            self._say(conversation.id, text("rate_ces", language), metadata={"survey": "ces"})
        else:
            self._say(conversation.id, text("rated", language))
        return True

    # -- agents ----------------------------------------------------------------------------
    def set_presence(self, agent: Agent, presence: Presence) -> Agent:
        """Online agents are given waiting conversations at once."""
        updated = self.agents.update(agent.id, presence=presence)
        self.agents.audit(agent.id, "presence", agent.username, presence=presence.value)
        self._after_queue_change()
        return self.agents.get(updated.id)

    def canned_for(self, agent: Agent, conversation_id: str | None) -> list[dict[str, Any]]:
        """Canned responses with ``{customer_name}``, ``{agent_name}`` and ``{company}`` filled
        in for the conversation (its language's responses first)."""
        responses = self.casework.canned()
        if conversation_id is None:
            return responses
        conversation = self.store.get(conversation_id)
        language = self._language(conversation)
        name = self.store.customer(conversation.customer_id).get("name") or ""
        values = {"customer_name": name, "agent_name": agent.display_name,
                  "company": self.settings.company_name}  # fmt: skip
        filled = [
            {**r, "text": _tidy(PLACEHOLDER.sub(lambda m: values[m[1]], r["text"]))}
            for r in responses
        ]
        return sorted(filled, key=lambda r: r["language"] != language)

    def claim(self, agent: Agent, conversation_id: str) -> Conversation:
        before = self.store.get(conversation_id)
        claimed = self.store.claim(conversation_id, agent.id, {"agent_id": agent.id, "by": "claim"})
        if before.state == State.QUEUED:
            self.agents.audit(agent.id, "claim", conversation_id)
            self._joined(claimed, agent)
            self._after_queue_change()
        return claimed

    def release(self, agent: Agent, conversation_id: str, note: str | None) -> Conversation:
        conversation = self._held(agent, conversation_id)
        declined = sorted({*conversation.metadata.get("declined_by", []), agent.id})
        released = self.store.transition(
            conversation_id,
            State.QUEUED,
            {"agent_id": agent.id, "by": "release"},
            {"assignee_id": None, "metadata": {**conversation.metadata, "declined_by": declined}},
        )
        self._note_if_any(agent, conversation_id, note)
        self.agents.audit(agent.id, "release", conversation_id, note=note)
        self._changed(conversation_id)
        self._say(conversation_id, text("released", self._language(conversation)))
        self._after_queue_change()
        return self.store.get(released.id)

    def transfer(
        self,
        agent: Agent,
        conversation_id: str,
        note: str,
        to_agent: str | None = None,
        team: str | None = None,
    ) -> Conversation:
        conversation = self._held(agent, conversation_id)
        self._note_if_any(agent, conversation_id, note)
        if to_agent is not None:
            target = self.agents.get(to_agent)
            moved = self.store.hand_to(conversation_id, target.id, {"by": agent.id, "note": note})
            self.agents.audit(agent.id, "transfer", conversation_id, to=target.username, note=note)
            self._joined(moved, target)
        else:
            self.store.transition(
                conversation_id,
                State.QUEUED,
                {"agent_id": agent.id, "by": "transfer", "team": team},
                {"assignee_id": None, "team": team},
            )
            self.agents.audit(agent.id, "transfer", conversation_id, team=team, note=note)
            self._changed(conversation_id)
            self._say(conversation_id, text("released", self._language(conversation)))
        self._after_queue_change()
        return self.store.get(conversation_id)

    def resolve(self, agent: Agent, conversation_id: str, code: str) -> Conversation:
        if code not in RESOLUTION_CODES:
            raise ValueError(f"resolution code must be one of {', '.join(RESOLUTION_CODES)}")
        conversation = self._held(agent, conversation_id)
        resolved = self.store.transition(
            conversation_id,
            State.RESOLVED,
            {"agent_id": agent.id, "code": code},
            {"resolved_at": now(), "resolution_code": code},
        )
        self.agents.audit(agent.id, "resolve", conversation_id, code=code)
        self._changed(conversation_id)
        self._say(conversation_id, text("resolved", self._language(conversation)))
        self._ask_rating(self.store.get(conversation_id))
        self._after_queue_change()
        return resolved

    def reply(
        self, agent: Agent, conversation_id: str, body: str, client_message_id: str | None
    ) -> Message:
        """Sent on the customer's channel; only the holder may send."""
        first = self.store.get(conversation_id).first_response_at is None
        metadata = {"author": agent.display_name, "agent_id": agent.id}
        message, created = self.store.add_message(
            conversation_id, Sender.AGENT, body, client_message_id=client_message_id,
            metadata=metadata, holder=agent.id,
        )  # fmt: skip
        if created:
            self.live.conversation(
                conversation_id, {"type": "message", "message": message.to_json()}
            )
            if first:  # the SLA clock for the first response stops
                self.live.publish(QUEUE_TOPIC, {"type": "queue_changed"})
        return message

    def note(self, agent: Agent, conversation_id: str, body: str) -> dict[str, Any]:
        """Internal: for colleagues, never sent to the customer."""
        self.store.get(conversation_id)
        note = self.casework.add_note(conversation_id, agent.id, body)
        self.live.conversation(conversation_id, {"type": "note", "note": note}, staff_only=True)
        return note

    def voucher_types(self, agent: Agent) -> list[dict[str, Any]]:
        limit = self.settings.voucher_limits.get(agent.role.value, 0)
        return [
            {"type": kind, "currency": currency, "limit": limit}
            for kind, currency in self.settings.voucher_types.items()
        ]

    def grant_voucher(
        self, agent: Agent, conversation_id: str, kind: str, amount: float
    ) -> dict[str, Any]:
        """Goodwill compensation, within the agent's role limit; recorded and sent."""
        currency = self.settings.voucher_types.get(kind)
        if currency is None:
            raise ValueError(f"no voucher type {kind!r}")
        limit = self.settings.voucher_limits.get(agent.role.value, 0)
        if amount > limit:
            raise NotAllowed(f"the {agent.role.value} role may grant at most {limit:g} {currency}")
        conversation = self._held(agent, conversation_id)
        voucher = self.casework.grant_voucher(conversation_id, agent.id, kind, amount, currency)
        self.agents.audit(agent.id, "voucher", conversation_id, type=kind, amount=amount,
                          code=voucher["code"])  # fmt: skip
        self._say(conversation_id, text("voucher", self._language(conversation),
                                        amount=f"{amount:g}", currency=currency,
                                        code=voucher["code"]))  # fmt: skip
        return voucher

    def typing(self, conversation_id: str, sender: Sender, typing: bool) -> None:
        """An agent's typing reaches the customer; the customer's reaches staff only."""
        event = {"type": "typing", "sender": sender.value, "typing": typing}
        self.live.conversation(conversation_id, event, staff_only=sender == Sender.CUSTOMER)

    def _held(self, agent: Agent, conversation_id: str) -> Conversation:
        """The conversation, if this agent holds it (managers and admins may act on any)."""
        conversation = self.store.get(conversation_id)
        if conversation.state != State.ASSIGNED:
            raise ClaimRefused(f"not held by anyone (it is {conversation.state})")
        if conversation.assignee_id != agent.id and agent.role == Role.AGENT:
            holder = self.agents.get(conversation.assignee_id).display_name
            raise ClaimRefused(f"held by {holder}")
        return conversation

    def _note_if_any(self, agent: Agent, conversation_id: str, note: str | None) -> None:
        if note and note.strip():
            self.note(agent, conversation_id, note.strip())

    def _changed(self, conversation_id: str) -> None:
        """Consoles showing this conversation refresh its state and holder."""
        self.live.conversation(conversation_id, {"type": "conversation"}, staff_only=True)

    # -- telling the customer --------------------------------------------------------------
    def _joined(self, conversation: Conversation, agent: Agent) -> None:
        language = self._language(conversation)
        self._say(conversation.id, text("joined", language, agent=agent.display_name))
        state = {"state": State.ASSIGNED.value, "agent": agent.display_name}
        self.live.conversation(conversation.id, {"type": "state", "conversation": state})
        self._changed(conversation.id)

    def _say(
        self,
        conversation_id: str,
        body: str,
        quick_replies: list | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        message, _ = self.store.add_message(
            conversation_id, Sender.SYSTEM, body, quick_replies=quick_replies, metadata=metadata
        )
        self.live.conversation(conversation_id, {"type": "message", "message": message.to_json()})
        return message

    def _language(self, conversation: Conversation) -> str:
        return conversation.language or conversation.locale
