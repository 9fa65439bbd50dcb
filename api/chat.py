"""The web chat: start a conversation, send messages, read the history.

Each conversation has its own customer token (``Authorization: Bearer``), given once at creation
and stored only as a hash: it opens that conversation and nothing else.
"""

import asyncio
from typing import Annotated, Literal

from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Query,
    Request,
    WebSocket,
    WebSocketDisconnect,
)
from pydantic import BaseModel, Field

from api.problems import SQLITE_INTEGER_MAX
from api.rate_limits import (
    RateLimited,
    client_address,
    per_client,
    rate_limits,
    too_many_requests,
)
from channels.sms_text import mask_phone
from escalation import Conversation, ConversationStore, Desk, NotFound, Sender, State
from escalation.live import FellBehind, customer_topic
from escalation.service import ConversationService

router = APIRouter(prefix="/api/conversations", tags=["chat"])
MAX_TEXT = 4000


class NewConversation(BaseModel):
    channel: Literal["web"] = "web"
    locale: Literal["ru", "en"] = "en"


class CustomerMessage(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    client_message_id: str | None = Field(None, min_length=1, max_length=100)
    payload: str | None = Field(None, max_length=500, description="a quick reply's payload")


def _store(request: Request) -> ConversationStore:
    return request.app.state.conversations


def _service(request: Request) -> ConversationService:
    return request.app.state.service


async def authorised(
    request: Request, conversation_id: str, authorization: Annotated[str | None, Header()] = None
) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(
            401, "a customer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    if not _store(request).token_matches(conversation_id, authorization.removeprefix("Bearer ")):
        raise HTTPException(403, "this token does not open this conversation")
    return conversation_id


Authorised = Annotated[str, Depends(authorised)]


async def within_message_budget(request: Request, conversation_id: Authorised) -> str:
    """Counted per conversation only once its token is checked: a stranger cannot spend a
    customer's budget."""
    await rate_limits(request).hit("messages", conversation_id)
    return conversation_id


def _desk(request: Request) -> Desk:
    return request.app.state.desk


def conversation_json(desk: Desk, conversation: Conversation) -> dict:
    """What the customer may know: the state, their place in the queue, who is answering."""
    result = {
        "id": conversation.id,
        "state": conversation.state.value,
        "channel": conversation.channel,
        "locale": conversation.locale,
    }
    if conversation.state == State.QUEUED:
        result["queue"] = desk.position(conversation)
    if conversation.state in (State.RESOLVED, State.CLOSED):
        result["resolution_code"] = conversation.resolution_code  # "abandoned": they left
    if conversation.state == State.ASSIGNED and conversation.assignee_id:
        result["agent"] = desk.agents.get(conversation.assignee_id).display_name
    result["feedback"] = desk.store.feedback(conversation.id)
    phone = desk.store.customer(conversation.customer_id).get("phone")
    result["sms"] = {"available": desk.settings.sms_enabled,
                     "phone": mask_phone(phone) if phone else None}  # fmt: skip
    return result


@router.post("", status_code=201, dependencies=[per_client("conversations")])
async def start(request: Request, body: NewConversation) -> dict:
    conversation, token = _store(request).create_conversation(body.channel, body.locale)
    return {"conversation_id": conversation.id, "customer_token": token}


@router.post("/{conversation_id}/messages", dependencies=[per_client("messages_ip")])
async def send(
    request: Request,
    conversation_id: Annotated[str, Depends(within_message_budget)],
    body: CustomerMessage,
) -> dict:
    if not body.text.strip():
        raise HTTPException(422, "the message is empty")
    try:
        outcome = await _service(request).receive(
            conversation_id, body.text, body.client_message_id, body.payload
        )
    except NotFound as error:
        raise HTTPException(404, "no such conversation") from error
    result = {
        "messages": [m.to_json() for m in outcome.messages],
        "conversation": conversation_json(_desk(request), outcome.conversation),
    }
    if outcome.new_token:  # the old conversation was over: this message started a new one
        result["continued_in"] = {
            "conversation_id": outcome.conversation.id,
            "customer_token": outcome.new_token,
        }
    return result


class Feedback(BaseModel):
    csat: int = Field(ge=1, le=5, description="how satisfied: 1 (very unhappy) to 5 (very happy)")
    ces: int | None = Field(None, ge=1, le=5, description="how easy to get help: 1 to 5")
    comment: str | None = Field(None, max_length=2000)


@router.post("/{conversation_id}/feedback", status_code=201, dependencies=[per_client("feedback")])
async def rate(request: Request, conversation_id: Authorised, body: Feedback) -> dict:
    """Once the conversation is resolved, once (409 before that, or a second time)."""
    comment = body.comment.strip() if body.comment and body.comment.strip() else None
    return _store(request).add_feedback(conversation_id, body.csat, body.ces, comment)


@router.post("/{conversation_id}/leave")
async def leave(request: Request, conversation_id: Authorised) -> dict:
    """The customer ends the chat while waiting for a person (409 unless waiting)."""
    desk = _desk(request)
    left = desk.customer_left(desk.store.get(conversation_id))
    return conversation_json(desk, left)


@router.get("/{conversation_id}", dependencies=[per_client("reads")])
async def read(request: Request, conversation_id: Authorised) -> dict:
    return conversation_json(_desk(request), _store(request).get(conversation_id))


@router.get("/{conversation_id}/messages", dependencies=[per_client("reads")])
async def history(
    request: Request,
    conversation_id: Authorised,
    after: Annotated[
        int, Query(ge=0, le=SQLITE_INTEGER_MAX, description="the last message seq already seen")
    ] = 0,
) -> dict:
    return {"messages": [m.to_json() for m in _store(request).messages(conversation_id, after)]}


@router.websocket("/{conversation_id}/stream")
async def stream(websocket: WebSocket, conversation_id: str, token: str = "") -> None:
    """Live events: ``message``, ``typing``, ``state`` and ``queue``. After (re)connecting, read
    the history with ``?after=<last seq>`` to catch up on anything sent meanwhile. The page sends
    ``{"type": "typing", "typing": true|false}`` while the customer types."""
    try:
        await rate_limits(websocket).hit("streams", client_address(websocket))
    except RateLimited as error:  # a 429 to the handshake; the widget backs off and tries again
        await websocket.send_denial_response(too_many_requests(error))
        return
    store: ConversationStore = websocket.app.state.conversations
    if not store.token_matches(conversation_id, token):
        await websocket.close(code=1008, reason="this token does not open this conversation")
        return
    await websocket.accept()
    desk: Desk = websocket.app.state.desk
    async with desk.live.listen(customer_topic(conversation_id)) as listener:

        async def forward() -> None:
            try:
                while True:
                    await websocket.send_json(await listener.next())
            except FellBehind:  # the page reconnects and reads what it missed
                await websocket.close(code=1013, reason="fell behind; reconnect")

        sender = asyncio.create_task(forward())
        try:
            while True:
                event = await websocket.receive_json()
                if isinstance(event, dict) and event.get("type") == "typing":
                    desk.typing(conversation_id, Sender.CUSTOMER, bool(event.get("typing")))
        except (WebSocketDisconnect, ValueError):
            pass
        finally:
            sender.cancel()
