"""The SMS delivery worker: finds replies to texting customers and texts them through Twilio.

It works from the database, not from events in memory: a reply is committed with channel
"sms" first, and the worker finds it there (``ConversationStore.outbound``), so a reply stored
just before a crash is still sent after the restart. Each text is leased while it is being
sent, so several API workers can run this loop over one database without texting twice.

Retries come in two layers. ``TwilioClient`` retries a failed request a few times within
seconds (429, 5xx, no connection); a text that still fails is tried again later, with a
growing delay, up to ``sms_send_attempts`` times, then recorded as failed with Twilio's error
and shown to agents. A request that went out but got no answer is not retried: Twilio may
have taken it, and a second try could text the customer twice. Delivery is at least once in
one case only: a worker that dies between Twilio accepting a text and recording it.
"""

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta

from channels.sms import SMS, SmsChannel
from channels.sms_store import Delivery
from channels.twilio import TwilioClient, TwilioError
from escalation import now

log = logging.getLogger(__name__)

POLL_S = 0.2  # how often the worker looks for new replies and texts due for another try
LEASE_S = 120  # a text being sent is not taken by another worker for this long
BATCH = 100
UNSUBSCRIBED = 21610  # Twilio: the recipient texted STOP (Twilio's own opt-out list)


class SmsOutbox:
    def __init__(self, channel: SmsChannel, client: TwilioClient):
        self.channel = channel
        self.store = channel.store
        self.sms = channel.sms
        self.client = client
        self.max_attempts = channel.settings.sms_send_attempts
        self.status_callback = f"{channel.settings.public_base}/webhooks/twilio/status"
        self._after_id = self.sms.last_message_id()

    async def run(self) -> None:
        """Deliver until cancelled; a failing round is logged and the next one tried."""
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("SMS delivery round failed")
            await asyncio.sleep(POLL_S)

    async def deliver_due(self) -> None:
        """One round: queue new replies as texts, then send what is due: each number's next
        text (``take_due`` keeps a number's texts in order), different numbers at once."""
        self._queue_new_replies()
        by_phone: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in self.sms.take_due(LEASE_S):
            by_phone[delivery.phone].append(delivery)
        await asyncio.gather(*(self._send_in_order(texts) for texts in by_phone.values()))

    def _queue_new_replies(self) -> None:
        for message in self.store.outbound(SMS, self._after_id, BATCH):
            self._after_id = message.id
            conversation = self.store.get(message.conversation_id)
            phone = self.store.customer(conversation.customer_id).get("phone")
            if phone is None:  # cannot happen through the API: SMS routes need a number
                log.error("message %s is routed to SMS but its customer has no number", message.id)
                continue
            language = conversation.language or conversation.locale
            bodies = self.channel.render(message, language)
            self.sms.add(phone, bodies, message_id=message.id, conversation_id=conversation.id)

    async def _send_in_order(self, texts: list[Delivery]) -> None:
        for delivery in texts:
            await self._send(delivery)

    async def _send(self, delivery: Delivery) -> None:
        if delivery.reply_to is None and self.sms.opted_out(delivery.phone):
            reason = "not sent: the customer texted STOP (opted out of SMS)"
            self.channel.announce(self.sms.give_up(delivery.id, "blocked", None, reason))
            return
        try:
            sent = await self.client.send(delivery.phone, delivery.body, self.status_callback)
        except TwilioError as error:
            self._failed(delivery, error)
            return
        except ValueError as error:  # too long: cannot happen, ``render`` splits long texts
            self.channel.announce(self.sms.give_up(delivery.id, "failed", None, str(error)))
            return
        self.channel.announce(
            self.sms.accepted(delivery.id, sent.sid, sent.status, sent.num_segments)
        )

    def _failed(self, delivery: Delivery, error: TwilioError) -> None:
        if error.transient and delivery.attempts < self.max_attempts:
            delay = min(600.0, 5.0 * 2 ** (delivery.attempts - 1))
            self.sms.retry_at(delivery.id, now() + timedelta(seconds=delay), error.message)
            log.warning("SMS %s: %s; trying again in %.0f s", delivery.id, error, delay)
            return
        status = "blocked" if error.code == UNSUBSCRIBED else "failed"
        log.error("SMS %s not sent after %s attempts: %s", delivery.id, delivery.attempts, error)
        self.channel.announce(self.sms.give_up(delivery.id, status, error.code, error.message))
