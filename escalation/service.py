"""One customer message's path: stored -> the bot, or the person who holds the conversation
-> the replies stored -> returned for delivery on the customer's channel.

The message is committed before anything else happens (``accept``), so an acknowledged message
is never lost; a repeated ``client_message_id`` returns what the first delivery produced and
does not reach the bot twice. The web chat waits for the answer (``receive``); a channel with a
webhook deadline acknowledges after ``accept`` and calls ``respond`` afterwards. When the bot
hands over, or cannot be reached, the desk queues the conversation with the bot's handoff
record. A message soon after resolution reopens it to the same agent; a later one starts a new
conversation with the bot, linked to the old.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from escalation.bot import BotUnavailable, RasaClient
from escalation.desk import Desk
from escalation.live import LiveEvents
from escalation.models import Conversation, Message, Sender, State, now
from escalation.store import ConversationStore
from knowledge import detect_language

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    messages: list[Message]  # the replies this customer message produced
    conversation: Conversation
    new_token: str | None = None  # set when the message started a new conversation


@dataclass(frozen=True)
class Accepted:
    """A customer message, stored: what ``respond`` needs to answer it."""

    message: Message
    created: bool  # False: a repeat of a message stored before, answered already
    conversation: Conversation  # as it was when the message arrived
    payload: str | None = None
    new_token: str | None = None


class ConversationService:
    def __init__(self, bot: RasaClient, desk: Desk):
        self.bot = bot
        self.desk = desk
        self.store: ConversationStore = desk.store
        self.live: LiveEvents = desk.live
        self.reopen_window = timedelta(minutes=desk.settings.reopen_window_minutes)
        self._answering: set[int] = set()  # customer messages whose answer this worker awaits

    async def receive(
        self,
        conversation_id: str,
        text: str,
        client_message_id: str | None = None,
        payload: str | None = None,
        channel: str = "web",
    ) -> Outcome:
        """Store the message, then answer it. ``payload``: what a pressed quick reply means;
        ``text`` is what it said."""
        accepted = self.accept(conversation_id, text, client_message_id, payload, channel)
        return await self.respond(accepted)

    def accept(
        self,
        conversation_id: str,
        text: str,
        client_message_id: str | None = None,
        payload: str | None = None,
        channel: str = "web",
    ) -> Accepted:
        """Store the message (committed when this returns), in a new conversation if this one
        is over. A channel with a webhook deadline (SMS) acknowledges here and responds later."""
        conversation = self.store.get(conversation_id)
        new_token = None
        if self._over(conversation):
            conversation, new_token = self._follow_on(conversation, channel)
        language = self._language(text, conversation)
        message, created = self.store.add_message(
            conversation.id, Sender.CUSTOMER, text, client_message_id=client_message_id,
            metadata={"language": language}, channel=channel,
        )  # fmt: skip
        if created:
            self._published(message)
        return Accepted(message, created, conversation, payload, new_token)

    async def respond(self, accepted: Accepted) -> Outcome:
        """The bot's answer, or the desk's move; nothing when a person has the conversation.
        A repeated message gets what the first delivery produced; if that delivery ended
        before the bot's reply was stored (its API worker died), the bot is asked now."""
        message = accepted.message
        if not accepted.created:
            replies = self._replies_to(message)
            if replies or not self._left_unanswered(accepted.conversation, message):
                return self._outcome(accepted, replies)
            log.warning("message %s was left unanswered: asking the bot again", message.id)
        self._answering.add(message.id)
        try:
            return await self._answer(accepted)
        finally:
            self._answering.discard(message.id)

    def _left_unanswered(self, conversation: Conversation, message: Message) -> bool:
        """With the bot, the last word the customer's, and no worker here answering it. A
        worker elsewhere may still be (a client that lost its connection retries at once): the
        bot then answers twice, rarely; an answer lost for good is worse."""
        return (
            conversation.state == State.BOT
            and message.id not in self._answering
            and not self.store.messages(conversation.id, after=message.seq)
        )

    async def _answer(self, accepted: Accepted) -> Outcome:
        message, conversation, payload = accepted.message, accepted.conversation, accepted.payload
        if conversation.state == State.RESOLVED and self.desk.rating_answer(conversation, message):
            return self._outcome(accepted, self._replies_to(message))
        if conversation.state == State.BOT:
            language = message.metadata["language"]
            await self._ask_bot(conversation, payload or message.text, language)
        elif conversation.state == State.RESOLVED and conversation.assignee_id is None:
            reopened = self.desk.back_to_bot(conversation)
            await self._ask_bot(reopened, payload or message.text, message.metadata["language"])
        elif conversation.state == State.RESOLVED:
            self.desk.reopen(conversation)
        elif conversation.state == State.QUEUED and payload == "/reply_later":
            self.desk.reply_later(conversation)
        elif conversation.state == State.QUEUED and payload == "/wait":
            self.desk.keep_waiting(conversation)
        else:  # a person has it, or will: the bot stays silent and nothing changed here
            return self._outcome(accepted, [])
        return self._outcome(accepted, self._replies_to(message))

    def _outcome(self, accepted: Accepted, replies: list[Message]) -> Outcome:
        conversation = self.store.get(accepted.conversation.id)
        return Outcome(replies, conversation, accepted.new_token)

    def _over(self, conversation: Conversation) -> bool:
        """Closed, or resolved longer ago than the reopen window: the next message is new."""
        if conversation.state == State.CLOSED:
            return True
        return (
            conversation.state == State.RESOLVED
            and conversation.resolved_at is not None
            and now() - conversation.resolved_at > self.reopen_window
        )

    def _follow_on(self, old: Conversation, channel: str) -> tuple[Conversation, str]:
        """A new conversation with the bot for the same customer, linked to the old one, and
        its token. A retried message finds the one it started (with a fresh token: the first
        was lost)."""
        if old.state == State.RESOLVED:
            self.store.transition(old.id, State.CLOSED, {"by": "new_message"})
        successor = self.store.successor(old.id)
        if successor is not None:
            return successor, self.store.rotate_token(successor.id)
        return self.store.create_conversation(
            channel, old.language or old.locale, old.customer_id, previous_id=old.id
        )

    def _published(self, message: Message) -> Message:
        self.live.conversation(
            message.conversation_id, {"type": "message", "message": message.to_json()}
        )
        return message

    def _typing(self, conversation_id: str, typing: bool) -> None:
        event = {"type": "typing", "sender": "bot", "typing": typing}
        self.live.conversation(conversation_id, event)

    async def _ask_bot(self, conversation: Conversation, text: str, language: str) -> None:
        metadata = {
            "channel": conversation.route,
            "language": language,
            "customer": conversation.customer_id,
        }
        self._typing(conversation.id, True)
        try:
            answers = await self.bot.send(conversation.id, text, metadata)
            if not answers:  # the bot always says something; silence means an action failed
                raise BotUnavailable("no reply (the action server may be failing)")
        except BotUnavailable as error:
            log.error("bot unavailable for conversation %s: %s", conversation.id, error)
            handoff = {"reason": "bot_unavailable", "language": language}
            self.desk.enqueue(conversation, handoff, "bot_unavailable")
            return
        finally:
            self._typing(conversation.id, False)
        helped = False
        for answer in answers:
            custom = answer.get("custom") or {}
            if "handoff" in custom:
                self.desk.enqueue(conversation, custom["handoff"], "queued")
            elif "outcome" in custom:  # how an attempt ended: for the KPIs, never shown
                self.store.annotate(conversation.id, {}, "bot_outcome", custom["outcome"])
                helped = custom["outcome"].get("reaction") == "helped"
            elif "answer" in custom:  # an article: its id is kept for the agent and the KPIs
                article = custom["answer"]
                metadata = {"article_id": article["article_id"]}
                self._bot_message(conversation.id, article["text"], [], metadata)
            elif answer.get("text"):
                buttons = [
                    {"title": b["title"], "payload": b["payload"]}
                    for b in answer.get("buttons") or []
                ]
                self._bot_message(conversation.id, answer["text"], buttons, {})
        if helped:  # self-service: the customer confirmed the answer solved it
            self.desk.resolved_by_bot(self.store.get(conversation.id), "confirmed")

    def _bot_message(
        self, conversation_id: str, text: str, quick_replies: list, metadata: dict
    ) -> Message:
        message, _ = self.store.add_message(
            conversation_id, Sender.BOT, text, quick_replies=quick_replies, metadata=metadata
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
