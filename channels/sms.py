"""The SMS channel: texts in, through the conversation, and replies out as texts.

In: Twilio posts each inbound text to a webhook (``api.sms``). ``SmsChannel.receive`` stores
it in the texter's conversation (a phone number is a customer identity, so a returning texter
finds their history) and returns it for the bot or the desk to answer after the webhook has
been acknowledged: Twilio gives a webhook 15 seconds, a bot may take longer, and replies go
out through the REST API anyway. Carrier keywords (STOP, START, HELP and their Russian
counterparts) are the channel's own business and never reach the conversation.

Out: a reply on a conversation whose customer last wrote by SMS is stored with channel "sms"
(``Conversation.route``); ``channels.sms_outbox`` finds it there and texts it, rendered for
SMS by ``render``. Delivery statuses arrive by callback and are shown to agents live.
"""

import logging
import re

from channels.sms_store import Delivery, SqlSmsStore
from channels.sms_text import (
    choice,
    gsm_friendly,
    keyword,
    plain,
    shorten,
    split,
    with_options,
)
from escalation import Conversation, ConversationStore, LiveEvents, Message, Sender
from escalation.service import Accepted, ConversationService
from helpdesk.settings import Settings
from knowledge import KnowledgeBase, detect_language

SMS = "sms"
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
log = logging.getLogger(__name__)

TEXTS = {
    "help": {
        "ru": "{company}: поддержка по SMS. Просто напишите свой вопрос. СТОП — отписаться, "
        "СТАРТ — подписаться снова.",
        "en": "{company} support by SMS. Just text your question. Reply STOP to unsubscribe, "
        "START to subscribe again.",
    },
    "stopped": {
        "ru": "{company}: вы отписались и больше не получите от нас SMS. СТАРТ — подписаться "
        "снова.",
        "en": "{company}: you have unsubscribed and will get no more texts from us. Reply "
        "START to subscribe again.",
    },
    "started": {
        "ru": "{company}: вы снова подписаны на SMS. Напишите свой вопрос.",
        "en": "{company}: you are subscribed to texts again. Text us your question.",
    },
    "code": {
        "ru": "{company}: код {code} — введите его в чате, чтобы продолжить по SMS. Он "
        "действует {minutes} мин.",
        "en": "{company}: your code is {code}. Enter it in the chat to continue by SMS. It is "
        "valid for {minutes} min.",
    },
}


def render_sms(
    message: Message, language: str, knowledge: KnowledgeBase, settings: Settings
) -> list[str]:
    """What a message says as SMS: an article's own SMS answer (or the answer shortened,
    with a link to the whole article), quick replies as numbered options, and a long
    message as several texts. A function of its own: a generated history records what its
    texts said (``devtools.history``)."""
    article_id = message.metadata.get("article_id")
    if article_id:
        article = knowledge.article(article_id) or {}
        budget = settings.sms_answer_segments
        if article.get("sms_answer"):
            return [shorten(plain(article["sms_answer"]), None, budget, language)]
        link = f"{settings.public_base}/help/{article_id}"
        return [shorten(plain(message.text), link, budget, language)]
    text = plain(message.text)
    if message.quick_replies:
        text = with_options(text, [plain(r["title"]) for r in message.quick_replies], language)
    return split(text)


def sms_text(key: str, language: str | None, **values: object) -> str:
    variants = TEXTS[key]
    return variants.get(language or "en", variants["en"]).format(**values)


class SmsChannel:
    def __init__(
        self,
        service: ConversationService,
        sms: SqlSmsStore,
        knowledge: KnowledgeBase,
        settings: Settings,
    ):
        self.service = service
        self.store: ConversationStore = service.store
        self.live: LiveEvents = service.live
        self.sms = sms
        self.knowledge = knowledge
        self.settings = settings

    # -- texts in ----------------------------------------------------------------------------
    def receive(self, sid: str, phone: str, body: str) -> Accepted | None:
        """Store an inbound text (committed when this returns) and return it for the service
        to answer; None when there is nothing to answer: a repeated delivery of a text already
        stored, or a carrier keyword (answered here)."""
        if self.store.by_client_message_id(sid, SMS) is not None:
            return None  # Twilio retried a webhook it thought had failed
        if self._keyword(sid, phone, body):
            return None
        customer_id = self.store.customer_by_phone(phone, create=True)
        conversation = self._conversation(customer_id, phone, body)
        payload = self._chosen(conversation, body)
        return self.service.accept(conversation.id, body, sid, payload, channel=SMS)

    def _keyword(self, sid: str, phone: str, body: str) -> bool:
        """Opt-out, opt-in and help, as carriers require; True if ``body`` was one.

        YES opts back in only a number that had opted out: otherwise it answers a question.
        """
        word = keyword(body)
        if word is None:
            return False
        if self.sms.answered(sid):  # Twilio repeated a keyword handled before, maybe after a
            return True  # later one ("STOP", "START", then this STOP again): nothing changes
        if word == "start" and choice(body, ["yes"]) == 0 and not self.sms.opted_out(phone):
            return False
        language = self._keyword_language(phone, body)
        if word == "stop":
            self.sms.opt_out(phone)
            answer = "stopped"
        elif word == "start":
            self.sms.opt_in(phone)
            answer = "started"
        else:
            answer = "help"
        text = sms_text(answer, language, company=self.settings.company_name)
        self.sms.add(phone, [gsm_friendly(text)], reply_to=sid)
        return True

    def _keyword_language(self, phone: str, body: str) -> str:
        """Russian for a Cyrillic keyword; otherwise the language the texter last wrote in."""
        if CYRILLIC.search(body):
            return "ru"
        customer_id = self.store.customer_by_phone(phone)
        conversations = self.store.of_customer(customer_id) if customer_id else []
        if conversations:
            return conversations[0].language or conversations[0].locale
        return "en"

    def _conversation(self, customer_id: str, phone: str, body: str) -> Conversation:
        """The texter's latest conversation (the service starts a new one if it is over), or a
        first one, in the language of this text."""
        conversations = self.store.of_customer(customer_id)
        if conversations:
            return conversations[0]
        detected = detect_language(body).lang
        locale = detected if detected in ("ru", "en") else "ru" if phone[:2] == "+7" else "en"
        conversation, _ = self.store.create_conversation(SMS, locale, customer_id)
        return conversation

    def _chosen(self, conversation: Conversation, body: str) -> str | None:
        """A numbered option answered ("2"): the payload of the quick reply it stands for."""
        for message in reversed(self.store.messages(conversation.id)):
            if message.sender == Sender.CUSTOMER:
                continue
            options = message.quick_replies
            picked = choice(body, [plain(o["title"]) for o in options]) if options else None
            return options[picked]["payload"] if picked is not None else None
        return None

    # -- texts out ---------------------------------------------------------------------------
    def render(self, message: Message, language: str) -> list[str]:
        return render_sms(message, language, self.knowledge, self.settings)

    def text_code(self, phone: str, code: str, language: str, ttl_s: float) -> None:
        body = sms_text("code", language, company=self.settings.company_name, code=code,
                        minutes=round(ttl_s / 60))  # fmt: skip
        self.sms.add(phone, [gsm_friendly(body)])

    # -- delivery statuses -------------------------------------------------------------------
    def status_reported(self, sid: str, status: str, error_code: int | None) -> None:
        """A status callback; a late or repeated one changes nothing."""
        changed = self.sms.status_reported(sid, status, error_code)
        if changed is not None:
            self.announce(changed)

    def announce(self, delivery: Delivery) -> None:
        """Consoles showing the conversation update the message's delivery status."""
        if delivery.message_id is None or delivery.conversation_id is None:
            return
        event = {"type": "delivery", "message_id": delivery.message_id,
                 "delivery": self.sms.of_message(delivery.message_id)}  # fmt: skip
        self.live.conversation(delivery.conversation_id, event, staff_only=True)

    def deliveries(self, conversation_id: str) -> dict[int, dict]:
        """How each message texted in this conversation fared: ``{message_id: delivery}``."""
        return self.sms.of_conversation(conversation_id)

    def opted_out(self, phone: str) -> bool:
        return self.sms.opted_out(phone)
