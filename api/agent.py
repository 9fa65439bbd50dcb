"""The agent console's API: the queue, one conversation, and what an agent does with it.

Customer text goes out as JSON strings only; the console puts it on the page as text.
"""

import asyncio
import contextlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, model_validator

from api.chat import MAX_TEXT
from api.security import AnyAgent, websocket_agent
from escalation import (
    RESOLUTION_CODES,
    Agent,
    Conversation,
    ConversationStore,
    Desk,
    Presence,
    Sender,
    State,
    now,
)
from escalation.live import QUEUE_TOPIC, FellBehind, Listener, staff_topic

router = APIRouter(prefix="/api/agent", tags=["agents: console"])
SUMMARY_CHARS = 140


class PresenceChange(BaseModel):
    presence: Presence


class Reply(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    client_message_id: str | None = Field(None, min_length=1, max_length=100)


class Note(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class Release(BaseModel):
    note: str | None = Field(None, max_length=MAX_TEXT)


class Transfer(BaseModel):
    agent_id: str | None = None
    team: str | None = Field(None, min_length=1, max_length=100)
    note: str = Field("", max_length=MAX_TEXT)

    @model_validator(mode="after")
    def _one_target(self) -> "Transfer":
        if (self.agent_id is None) == (self.team is None):
            raise ValueError("transfer to an agent_id or to a team, not both")
        return self


class Resolution(BaseModel):
    code: Literal[RESOLUTION_CODES]  # type: ignore[valid-type]


class VoucherRequest(BaseModel):
    type: str = Field(min_length=1, max_length=50)
    amount: float = Field(gt=0)


def _desk(connection: Request | WebSocket) -> Desk:
    return connection.app.state.desk


def _store(connection: Request | WebSocket) -> ConversationStore:
    return connection.app.state.conversations


# -- JSON --------------------------------------------------------------------------------------
def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _seconds_left(due: datetime | None, done: datetime | None) -> float | None:
    return None if due is None or done is not None else round((due - now()).total_seconds())


def conversation_json(conversation: Conversation, names: dict[str, str]) -> dict[str, Any]:
    assignee = conversation.assignee_id
    return {
        "id": conversation.id, "state": conversation.state.value,
        "channel": conversation.channel, "locale": conversation.locale,
        "language": conversation.language or conversation.locale,
        "priority": conversation.priority.value, "vip": bool(conversation.metadata.get("vip")),
        "created_at": _iso(conversation.created_at),
        "queued_at": _iso(conversation.queued_at),
        "first_response_due": _iso(conversation.first_response_due),
        "first_response_left_s": _seconds_left(
            conversation.first_response_due, conversation.first_response_at
        ),
        "resolution_due": _iso(conversation.resolution_due), "reason": conversation.reason,
        "team": conversation.team, "tags": conversation.tags,
        "assignee": {"id": assignee, "display_name": names.get(assignee)} if assignee else None,
        "resolution_code": conversation.resolution_code, "reply_later": conversation.reply_later,
    }  # fmt: skip


def item_json(
    store: ConversationStore, conversation: Conversation, names: dict[str, str], position: int
) -> dict[str, Any]:
    """One line of the queue: the conversation, and the customer's last words as its summary."""
    last = store.last_message(conversation.id, Sender.CUSTOMER)
    waited = (now() - conversation.queued_at).total_seconds() if conversation.queued_at else 0
    return {
        **conversation_json(conversation, names),
        "position": position if conversation.state == State.QUEUED else None,
        "waiting_s": round(waited),
        "summary": last.text[:SUMMARY_CHARS] if last else "",
        "last_message_at": _iso(last.created_at) if last else None,
    }


def queue_json(request: Request | WebSocket, agent: Agent) -> dict[str, Any]:
    store = _store(request)
    agents = _desk(request).agents.all()
    names = {a.id: a.display_name for a in agents}
    queued = store.in_state(State.QUEUED)
    return {
        "queued": [item_json(store, c, names, i) for i, c in enumerate(queued, start=1)],
        "mine": [item_json(store, c, names, 0) for c in store.held_by(agent.id)],
        "agents": [
            {"id": a.id, "display_name": a.display_name, "presence": a.presence.value,
             "load": a.load, "capacity": a.capacity, "team": a.team}
            for a in agents if not a.disabled
        ],
    }  # fmt: skip


def _names(request: Request | WebSocket) -> dict[str, str]:
    return {a.id: a.display_name for a in _desk(request).agents.all()}


def _handoff(store: ConversationStore, conversation_id: str) -> dict[str, Any] | None:
    changes = store.events(conversation_id, "state")
    return next((e.data["handoff"] for e in reversed(changes) if "handoff" in e.data), None)


def _customer_json(request: Request, conversation: Conversation, names: dict) -> dict[str, Any]:
    store = _store(request)
    customer = store.customer(conversation.customer_id)
    earlier = []
    for other in store.of_customer(conversation.customer_id):
        if other.id == conversation.id:
            continue
        first = next((m for m in store.messages(other.id) if m.sender == Sender.CUSTOMER), None)
        earlier.append({
            "id": other.id, "created_at": _iso(other.created_at), "channel": other.channel,
            "state": other.state.value, "resolution_code": other.resolution_code,
            "first_message": first.text[:SUMMARY_CHARS] if first else "",
            "agent": names.get(other.assignee_id),
        })  # fmt: skip
    phone = customer.get("phone")
    return {"id": customer["id"], "vip": bool(customer.get("vip")),
            "name": customer.get("name"), "phone": phone,
            "sms_opted_out": bool(phone) and request.app.state.sms.opted_out(phone),
            "earlier": earlier}  # fmt: skip


def _messages_json(request: Request, conversation_id: str) -> list[dict[str, Any]]:
    """Everything said, each text to the customer with how its delivery went."""
    deliveries = request.app.state.sms.deliveries(conversation_id)
    messages = []
    for message in _store(request).messages(conversation_id):
        item = message.to_json()
        if message.id in deliveries:
            item["delivery"] = deliveries[message.id]
        messages.append(item)
    return messages


# -- routes ------------------------------------------------------------------------------------
@router.put("/presence")
async def presence(request: Request, agent: AnyAgent, body: PresenceChange) -> dict:
    return _desk(request).set_presence(agent, body.presence).to_json()


@router.get("/queue")
async def queue(request: Request, agent: AnyAgent) -> dict:
    return queue_json(request, agent)


@router.get("/conversations/{conversation_id}")
async def conversation(request: Request, agent: AnyAgent, conversation_id: str) -> dict:
    """Opens with the handoff record, then the customer, then everything said."""
    store = _store(request)
    found = store.get(conversation_id)
    names = _names(request)
    casework = _desk(request).casework
    return {
        "conversation": conversation_json(found, names),
        "handoff": _handoff(store, conversation_id),
        "customer": _customer_json(request, found, names),
        "messages": _messages_json(request, conversation_id),
        "notes": casework.notes(conversation_id),
        "vouchers": casework.vouchers(conversation_id),
    }


@router.post("/conversations/{conversation_id}/claim")
async def claim(request: Request, agent: AnyAgent, conversation_id: str) -> dict:
    return conversation_json(_desk(request).claim(agent, conversation_id), _names(request))


@router.post("/conversations/{conversation_id}/release")
async def release(request: Request, agent: AnyAgent, conversation_id: str, body: Release) -> dict:
    released = _desk(request).release(agent, conversation_id, body.note)
    return conversation_json(released, _names(request))


@router.post("/conversations/{conversation_id}/transfer")
async def transfer(request: Request, agent: AnyAgent, conversation_id: str, body: Transfer) -> dict:
    moved = _desk(request).transfer(agent, conversation_id, body.note, body.agent_id, body.team)
    return conversation_json(moved, _names(request))


@router.post("/conversations/{conversation_id}/resolve")
async def resolve(
    request: Request, agent: AnyAgent, conversation_id: str, body: Resolution
) -> dict:
    resolved = _desk(request).resolve(agent, conversation_id, body.code)
    return conversation_json(resolved, _names(request))


@router.post("/conversations/{conversation_id}/messages", status_code=201)
async def reply(request: Request, agent: AnyAgent, conversation_id: str, body: Reply) -> dict:
    if not body.text.strip():
        raise ValueError("the message is empty")
    message = _desk(request).reply(agent, conversation_id, body.text, body.client_message_id)
    return message.to_json()


@router.post("/conversations/{conversation_id}/notes", status_code=201)
async def note(request: Request, agent: AnyAgent, conversation_id: str, body: Note) -> dict:
    return _desk(request).note(agent, conversation_id, body.text)


@router.post("/conversations/{conversation_id}/vouchers", status_code=201)
async def voucher(
    request: Request, agent: AnyAgent, conversation_id: str, body: VoucherRequest
) -> dict:
    return _desk(request).grant_voucher(agent, conversation_id, body.type, body.amount)


@router.get("/voucher-types")
async def voucher_types(request: Request, agent: AnyAgent) -> list[dict]:
    return _desk(request).voucher_types(agent)


@router.get("/canned")
async def canned(
    request: Request, agent: AnyAgent, conversation_id: Annotated[str | None, Query()] = None
) -> list[dict]:
    """Canned responses with their placeholders filled in for this conversation."""
    return _desk(request).canned_for(agent, conversation_id)


# -- live --------------------------------------------------------------------------------------
@router.websocket("/stream")
async def stream(websocket: WebSocket) -> None:
    agent = websocket_agent(websocket)
    if agent is None:
        await websocket.close(code=1008, reason="sign in first")
        return
    await websocket.accept()
    async with _desk(websocket).live.listen(QUEUE_TOPIC) as listener:
        watching: list[str | None] = [None]
        sender = asyncio.create_task(_forward(websocket, agent, listener, watching))
        try:
            while True:
                _handle(websocket, agent, listener, watching, await websocket.receive_json())
        except (WebSocketDisconnect, LookupError, ValueError, TypeError):
            pass
        finally:
            sender.cancel()


async def _forward(
    websocket: WebSocket, agent: Agent, listener: Listener, watching: list[str | None]
) -> None:
    """Queue snapshots (one per burst of changes) and the events of followed conversations."""
    try:
        await _relay(websocket, agent, listener, watching)
    except FellBehind:  # the console reconnects and reloads what it shows
        await websocket.close(code=1013, reason="fell behind; reconnect")


async def _relay(
    websocket: WebSocket, agent: Agent, listener: Listener, watching: list[str | None]
) -> None:
    await _send_queue(websocket, agent, listener, watching)
    while True:
        event = await listener.next()
        if event["type"] != "queue_changed":
            await websocket.send_json(_complete(websocket, event))
            continue
        while (pending := listener.next_nowait()) is not None:  # a burst: one snapshot
            if pending["type"] != "queue_changed":
                await websocket.send_json(_complete(websocket, pending))
        await _send_queue(websocket, agent, listener, watching)


def _complete(websocket: WebSocket, event: dict[str, Any]) -> dict[str, Any]:
    """A ``conversation`` event only says which one changed: send its state as it is now."""
    if event["type"] != "conversation":
        return event
    conversation = _store(websocket).get(event["conversation_id"])
    return {**event, "conversation": conversation_json(conversation, _names(websocket))}


async def _send_queue(
    websocket: WebSocket, agent: Agent, listener: Listener, watching: list[str | None]
) -> None:
    snapshot = queue_json(websocket, agent)
    wanted = {staff_topic(item["id"]) for item in snapshot["mine"]}
    if watching[0]:
        wanted.add(staff_topic(watching[0]))
    for topic in listener.topics - wanted - {QUEUE_TOPIC}:
        listener.unfollow(topic)
    for topic in wanted - listener.topics:
        listener.follow(topic)
    await websocket.send_json({"type": "queue", **snapshot})


def _handle(
    websocket: WebSocket,
    agent: Agent,
    listener: Listener,
    watching: list[str | None],
    message: dict[str, Any],
) -> None:
    """``watch`` a conversation (one at a time), or say the agent is ``typing`` in one."""
    conversation_id = str(message["conversation_id"])
    store = _store(websocket)
    if message["type"] == "watch":
        store.get(conversation_id)  # must exist
        held = {c.id for c in store.held_by(agent.id)}
        if watching[0] and watching[0] not in held:
            listener.unfollow(staff_topic(watching[0]))
        watching[0] = conversation_id
        listener.follow(staff_topic(conversation_id))
    elif message["type"] == "typing":
        with contextlib.suppress(LookupError):
            if store.get(conversation_id).assignee_id == agent.id:
                _desk(websocket).typing(conversation_id, Sender.AGENT, bool(message["typing"]))
