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
    Request,
    WebSocket,
    WebSocketDisconnect,
)
from pydantic import BaseModel, Field

from escalation import Conversation, NotFound
from escalation.service import ConversationService
from escalation.store import ConversationStore

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


def authorised(
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


def conversation_json(store: ConversationStore, conversation: Conversation) -> dict:
    result = {
        "id": conversation.id,
        "state": conversation.state.value,
        "channel": conversation.channel,
        "locale": conversation.locale,
    }
    position = store.queue_position(conversation.id)
    if position is not None:
        result["queue"] = {"position": position}
    return result


@router.post("", status_code=201)
async def start(request: Request, body: NewConversation) -> dict:
    conversation, token = _store(request).create_conversation(body.channel, body.locale)
    return {"conversation_id": conversation.id, "customer_token": token}


@router.post("/{conversation_id}/messages")
async def send(request: Request, conversation_id: Authorised, body: CustomerMessage) -> dict:
    if not body.text.strip():
        raise HTTPException(422, "the message is empty")
    try:
        outcome = await _service(request).receive(
            conversation_id, body.text, body.client_message_id, body.payload
        )
    except NotFound as error:
        raise HTTPException(404, "no such conversation") from error
    return {
        "messages": [m.to_json() for m in outcome.messages],
        "conversation": conversation_json(_store(request), outcome.conversation),
    }


@router.get("/{conversation_id}")
async def read(request: Request, conversation_id: Authorised) -> dict:
    store = _store(request)
    return conversation_json(store, store.get(conversation_id))


@router.get("/{conversation_id}/messages")
async def history(request: Request, conversation_id: Authorised, after: int = 0) -> dict:
    return {"messages": [m.to_json() for m in _store(request).messages(conversation_id, after)]}


@router.websocket("/{conversation_id}/stream")
async def stream(websocket: WebSocket, conversation_id: str, token: str = "") -> None:
    """Live events: ``message``, ``typing`` and ``state``. After (re)connecting, read the history
    with ``?after=<last seq>`` to catch up on anything sent meanwhile."""
    store: ConversationStore = websocket.app.state.conversations
    if not store.token_matches(conversation_id, token):
        await websocket.close(code=1008, reason="this token does not open this conversation")
        return
    await websocket.accept()
    async with websocket.app.state.service.live.watch(conversation_id) as events:

        async def forward() -> None:
            while True:
                await websocket.send_json(await events.get())

        sender = asyncio.create_task(forward())
        try:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass  # the customer's own typing indicator will be read here (agent console)
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
