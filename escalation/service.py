"""One customer message's path: stored -> the bot (or, once a person is involved, nobody here)
-> the replies stored -> returned for delivery on the customer's channel.

The message is committed before anything else happens, so an acknowledged message is never
lost; a repeated ``client_message_id`` returns what the first delivery produced and does not
reach the bot twice. When the bot hands over, or cannot be reached, the conversation is queued
with the bot's handoff record and the customer is told what happens next in their language.
"""

import logging
from dataclasses import dataclass
from typing import Any

from escalation.bot import BotUnavailable, RasaClient
from escalation.live import LiveEvents
from escalation.models import Conversation, Message, Sender, State
from escalation.store import ConversationStore
from escalation.texts import text as system_text
from knowledge import detect_language

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    messages: list[Message]  # the replies this customer message produced
    conversation: Conversation


class ConversationService:
    def __init__(self, store: ConversationStore, bot: RasaClient, live: LiveEvents):
        self.store = store
        self.bot = bot
        self.live = live

    async def receive(
        self,
        conversation_id: str,
        text: str,
        client_message_id: str | None = None,
        payload: str | None = None,
    ) -> Outcome:
        """``payload``: what a pressed quick reply means to the bot; ``text`` is what it said."""
        conversation = self.store.get(conversation_id)
        language = self._language(text, conversation)
        message, created = self.store.add_message(
            conversation_id,
            Sender.CUSTOMER,
            text,
            client_message_id=client_message_id,
            metadata={"language": language},
        )
        if not created:
            return Outcome(self._replies_to(message), self.store.get(conversation_id))
        self._published(message)
        if conversation.state != State.BOT:  # a person has it, or will: the bot stays silent
            return Outcome([], conversation)
        self.live.publish(conversation_id, {"type": "typing", "sender": "bot", "typing": True})
        try:
            replies = await self._ask_bot(conversation, payload or text, language)
        finally:
            self.live.publish(conversation_id, {"type": "typing", "sender": "bot", "typing": False})
        return Outcome(replies, self.store.get(conversation_id))

    def _published(self, message: Message) -> Message:
        self.live.publish(
            message.conversation_id, {"type": "message", "message": message.to_json()}
        )
        return message

    async def _ask_bot(self, conversation: Conversation, text: str, language: str) -> list[Message]:
        metadata = {
            "channel": conversation.channel,
            "language": language,
            "customer": conversation.customer_id,
        }
        try:
            answers = await self.bot.send(conversation.id, text, metadata)
            if not answers:  # the bot always says something; silence means an action failed
                raise BotUnavailable("no reply (the action server may be failing)")
        except BotUnavailable as error:
            log.error("bot unavailable for conversation %s: %s", conversation.id, error)
            return [
                self._queue(
                    conversation,
                    {"reason": "bot_unavailable", "language": language},
                    "bot_unavailable",
                )
            ]
        replies = []
        for answer in answers:
            custom = answer.get("custom") or {}
            if "handoff" in custom:
                replies.append(self._queue(conversation, custom["handoff"], "queued"))
            elif "answer" in custom:  # an article: its id is kept for the agent and the KPIs
                article = custom["answer"]
                metadata = {"article_id": article["article_id"]}
                replies.append(self._bot_message(conversation.id, article["text"], [], metadata))
            elif answer.get("text"):
                buttons = [
                    {"title": b["title"], "payload": b["payload"]}
                    for b in answer.get("buttons") or []
                ]
                replies.append(self._bot_message(conversation.id, answer["text"], buttons, {}))
        return replies

    def _bot_message(
        self, conversation_id: str, text: str, quick_replies: list, metadata: dict
    ) -> Message:
        message, _ = self.store.add_message(
            conversation_id, Sender.BOT, text, quick_replies=quick_replies, metadata=metadata
        )
        return self._published(message)

    def _queue(self, conversation: Conversation, handoff: dict[str, Any], notice: str) -> Message:
        self.store.transition(conversation.id, State.QUEUED, {"handoff": handoff})
        position = self.store.queue_position(conversation.id)
        state = {"state": State.QUEUED.value, "queue": {"position": position}}
        self.live.publish(conversation.id, {"type": "state", "conversation": state})
        language = handoff.get("language") or conversation.locale
        message, _ = self.store.add_message(
            conversation.id, Sender.SYSTEM, system_text(notice, language, position=position)
        )
        return self._published(message)

    def _language(self, text: str, conversation: Conversation) -> str:
        """The language of this message; a word or two ("ok", "1") keeps the one before."""
        detected = detect_language(text)
        if detected.lang in ("ru", "en") and (len(text.split()) >= 3 or detected.lang == "ru"):
            return detected.lang
        earlier = self.store.last_message(conversation.id, Sender.CUSTOMER)
        return (
            earlier.metadata.get("language", conversation.locale)
            if earlier
            else conversation.locale
        )

    def _replies_to(self, message: Message) -> list[Message]:
        """What followed ``message`` up to the customer's next message."""
        replies = []
        for later in self.store.messages(message.conversation_id, after=message.seq):
            if later.sender == Sender.CUSTOMER:
                break
            replies.append(later)
        return replies
