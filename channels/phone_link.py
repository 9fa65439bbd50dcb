"""Moving a web chat to SMS: a code is texted to the number the customer gives, and typing it
in the chat proves the number is theirs. Then the phone becomes the customer's identity, the
same conversation continues by SMS, and the chat keeps the whole thread.

A code is six random digits, stored as a hash, valid for ``sms_code_ttl_s``. Texts cost money
and can be used to pester a stranger, so codes are rate-limited per conversation and per number
(``sms_codes_per_hour``, and 30 seconds between two), and ``sms_code_tries`` wrong codes block
the attempt: the customer must ask for a new code, which the rate limit counts.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from channels.sms import SmsChannel
from channels.sms_text import mask_phone, normalise_phone
from escalation import Desk, now

RESEND_AFTER_S = 30


class LinkRefused(Exception):
    """The request cannot be done; ``status`` is the HTTP status that says why."""

    status = 422

    def __init__(self, message: str, **details: object):
        super().__init__(message)
        self.details = details


class Unavailable(LinkRefused):
    """SMS is not configured here: nothing the customer can wait for (as the webhooks, 404)."""

    status = 404


class TooManyCodes(LinkRefused):
    status = 429


class CodeGone(LinkRefused):
    """Expired, used, or blocked after too many wrong tries: a new code is needed."""

    status = 410


def _hash(conversation_id: str, code: str) -> str:
    return hashlib.sha256(f"{conversation_id}:{code}".encode()).hexdigest()


class PhoneLinks:
    def __init__(self, channel: SmsChannel, desk: Desk):
        self.channel = channel
        self.desk = desk
        self.sms = channel.sms
        self.settings = channel.settings

    def send_code(self, conversation_id: str, typed_phone: str) -> dict:
        """Text a code to the number; ``{"phone": masked, "expires_in_s"}``."""
        if not self.settings.sms_enabled:
            raise Unavailable("SMS is not available here")
        phone = normalise_phone(typed_phone)
        if phone is None:
            raise LinkRefused("this is not a phone number we can text (e.g. +7 999 123-45-67)")
        if self.sms.opted_out(phone):
            raise LinkRefused("this number has unsubscribed from our texts: text START to it")
        self._check_rate(conversation_id, phone)
        code = f"{secrets.randbelow(10**6):06d}"
        ttl = self.settings.sms_code_ttl_s
        self.sms.new_code(conversation_id, phone, _hash(conversation_id, code), ttl)
        conversation = self.desk.store.get(conversation_id)
        language = conversation.language or conversation.locale
        self.channel.text_code(phone, code, language, ttl)
        return {"phone": mask_phone(phone), "expires_in_s": round(ttl)}

    def _check_rate(self, conversation_id: str, phone: str) -> None:
        hour_ago = now() - timedelta(hours=1)
        recent = self.sms.codes_since(hour_ago, conversation_id, phone)
        limit = self.settings.sms_codes_per_hour
        if len(recent) >= limit:
            wait = (recent[-limit] + timedelta(hours=1) - now()).total_seconds()
            raise TooManyCodes(f"at most {limit} codes an hour", retry_after=max(1, round(wait)))
        if recent and (now() - recent[-1]).total_seconds() < RESEND_AFTER_S:
            wait = RESEND_AFTER_S - (now() - recent[-1]).total_seconds()
            raise TooManyCodes("a code was just sent", retry_after=max(1, round(wait)))

    def verify(self, conversation_id: str, code: str) -> dict:
        """Check the code; if right, continue the conversation by SMS. ``{"phone": masked}``."""
        latest = self.sms.latest_code(conversation_id)
        if latest is None or latest.state != "open":
            raise CodeGone("no code is waiting: ask for a new one")
        if now() > latest.expires_at:
            raise CodeGone("the code has expired: ask for a new one")
        right = hmac.compare_digest(latest.code_hash, _hash(conversation_id, code.strip()))
        tried = self.sms.code_tried(latest.id, right, self.settings.sms_code_tries)
        if not right:
            if tried.state == "blocked":
                raise CodeGone("too many wrong codes: ask for a new one")
            left = self.settings.sms_code_tries - tried.wrong
            raise LinkRefused("the code is not right", attempts_left=left)
        conversation = self.desk.store.get(conversation_id)
        self.desk.store.link_phone(conversation.customer_id, latest.phone)
        masked = mask_phone(latest.phone)
        self.desk.move_to(conversation_id, "sms", masked)
        return {"phone": masked}
