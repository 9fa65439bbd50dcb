"""Twilio's SMS wire format: request signatures, segment counts, and sending a message.

Twilio is reached only over HTTP, and three details must be exact or things fail quietly: a
signature computed slightly differently rejects every genuine webhook, a wrong segment count
misstates what a reply costs, and a send that gives up on a brief outage loses the reply.

Where each rule comes from (twilio-python's ``RequestValidator`` and Twilio's API reference,
summarised with official test vectors in the project's notes on Twilio SMS):

- ``X-Twilio-Signature``: base64(HMAC-SHA1(auth token, URL + name + value ...)), the URL exactly
  as Twilio requested it, then every posted field: names sorted, and for each name its distinct
  values sorted. Validators accept the URL with and without the scheme's default port (:443 or
  :80), since Twilio may sign either. Any other port is part of the URL: we do not strip it (the
  official validator does), because a non-default port names a different endpoint.
- Segments: text that fits the GSM-7 alphabet is 160 septets in one segment, 153 per part when
  split, a character of the extension table (``^{}\\[~]|€`` and form feed) taking two septets
  and never being split across parts; anything else is UCS-2, counted in UTF-16 code units: 70
  in one segment, 67 per part, a surrogate pair (most emoji) never split. Empty text counts as
  one segment: Twilio reports ``NumSegments=1`` for an empty body (see an MMS with no text).
  Twilio's optional "smart encoding" (replacing curly quotes and the like by GSM-7 look-alikes)
  is a messaging-service setting and is not modelled.
- Sending: ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded, HTTP
  Basic ``AccountSid:AuthToken``, ``Body`` at most 1600 characters. A 201 answers with JSON where
  ``num_segments`` is a string; errors answer JSON ``{code, message, more_info, status}``.
  429 and 5xx are worth retrying; other 4xx are permanent.
"""

import asyncio
import base64
import hashlib
import hmac
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import httpx

API_BASE = "https://api.twilio.com"
MAX_BODY = 1600  # characters; Twilio rejects longer bodies with error 21617

Params = Mapping[str, str | Sequence[str]]

# --- X-Twilio-Signature -------------------------------------------------------------------

_DEFAULT_PORTS = {"https": 443, "http": 80}


def signature(auth_token: str, url: str, params: Params) -> str:
    """The ``X-Twilio-Signature`` Twilio sends with a request to ``url`` posting ``params``.

    ``params`` maps each form field to its value, or to all its values when a field repeats.
    """
    message = url + "".join(
        name + value for name in sorted(params) for value in sorted(set(_values(params[name])))
    )
    digest = hmac.new(auth_token.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


_sign = signature  # ``is_valid_signature`` names its argument after Twilio's header


def is_valid_signature(auth_token: str, url: str, params: Params, signature: str | None) -> bool:
    """Whether ``signature`` (the header's value) is Twilio's for this request.

    ``url`` is the public URL Twilio called (behind a proxy, not the one the app sees).
    """
    if not signature:
        return False
    received = signature.encode()
    return any(
        hmac.compare_digest(_sign(auth_token, candidate, params).encode(), received)
        for candidate in _url_variants(url)
    )


def _values(value: str | Sequence[str]) -> Sequence[str]:
    return [value] if isinstance(value, str) else value


def _url_variants(url: str) -> set[str]:
    """The URL with and without its scheme's default port; other URLs as they are."""
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    if default is None or parts.port not in (None, default):
        return {url}
    host = parts.netloc.rpartition(":")[0] if parts.port else parts.netloc
    # Only the authority changes: the rest stays verbatim, as Twilio signed it.
    return {url.replace(parts.netloc, netloc, 1) for netloc in (host, f"{host}:{default}")}


# --- Segments -----------------------------------------------------------------------------

# GSM 03.38: the basic character set (without the escape code) and the extension table.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
# encoding -> (units in a single segment, units per part of a split message)
_CAPACITY = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


def encoding(text: str) -> Literal["GSM-7", "UCS-2"]:
    """GSM-7 when every character is in the GSM alphabet; otherwise UCS-2 (all Cyrillic)."""
    gsm = all(char in _GSM_BASIC or char in _GSM_EXTENSION for char in text)
    return "GSM-7" if gsm else "UCS-2"


def segments(text: str) -> int:
    """How many SMS segments ``text`` is sent (and billed) as; at least 1."""
    kind = encoding(text)
    if kind == "GSM-7":
        sizes = [2 if char in _GSM_EXTENSION else 1 for char in text]
    else:
        sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]  # UTF-16 surrogate pairs
    single, per_part = _CAPACITY[kind]
    if sum(sizes) <= single:
        return 1
    parts, used = 1, 0
    for size in sizes:  # a character is never split across parts
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


# --- Sending ------------------------------------------------------------------------------


# What Twilio's most common delivery error codes mean (twilio.com/docs/api/errors), for agents.
ERROR_TEXTS = {
    21211: "not a valid phone number",
    21610: "the recipient has unsubscribed (texted STOP)",
    21614: "not a mobile number",
    30001: "too many messages queued for the sender",
    30003: "unreachable handset (switched off or out of coverage)",
    30004: "blocked by the recipient or the carrier",
    30005: "unknown number",
    30006: "a landline, or a carrier that cannot take SMS",
    30007: "filtered by the carrier as spam",
    30008: "unknown error at the carrier",
}


class TwilioError(Exception):
    """Twilio refused the message, or could not be reached; ``code`` is Twilio's error code.

    ``code`` and ``status`` are None when no answer came back at all; ``maybe_sent`` then says
    whether the request went out (so that sending again could text the customer twice).
    """

    def __init__(self, code: int | None, message: str, status: int | None, maybe_sent=False):
        super().__init__(f"Twilio error {code} (HTTP {status}): {message}")
        self.code = code
        self.message = message
        self.status = status
        self.maybe_sent = maybe_sent

    @property
    def transient(self) -> bool:
        """Worth trying again later: Twilio was unreachable, busy (429) or failing (5xx)."""
        if self.status is None:
            return not self.maybe_sent
        return self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class SentMessage:
    """A message Twilio accepted: its id, first status and billed segments."""

    sid: str
    status: str  # "queued", or "accepted" when a messaging service picks the sender
    num_segments: int
    raw: dict[str, Any] = field(repr=False, compare=False)  # Twilio's whole answer


# Failures where the request cannot have reached Twilio, so sending again cannot duplicate it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class TwilioClient:
    """Sends SMS through Twilio's REST API (or anything that speaks it, like the stand-in).

    Retry policy: 429, 5xx and failures to connect are tried again, ``attempts`` times in all,
    after an exponential back-off (``backoff`` seconds doubled each time, at most ``max_delay``,
    times a random factor from 0.5 to 1 so that many senders do not retry in step). A
    ``Retry-After`` header replaces the back-off; one longer than ``max_delay`` ends the retries
    (the caller's queue should try later instead of holding this send). A request that was sent
    but got no answer (a read timeout) is not retried: Twilio may have accepted it, and a retry
    would text the customer twice.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        base_url: str = API_BASE,
        attempts: int = 4,
        backoff: float = 0.5,
        max_delay: float = 30.0,
        timeout: float = 15.0,
    ):
        if (from_number is None) == (messaging_service_sid is None):
            raise ValueError("give exactly one of from_number and messaging_service_sid")
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._sender = (
            {"From": from_number} if from_number else {"MessagingServiceSid": messaging_service_sid}
        )
        self._path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._attempts, self._backoff, self._max_delay = attempts, backoff, max_delay
        self._client = httpx.AsyncClient(
            base_url=base_url, auth=(account_sid, auth_token), timeout=timeout
        )

    async def send(self, to: str, body: str, status_callback: str | None = None) -> SentMessage:
        """Send one SMS; Twilio splits a long body into segments itself.

        Raises ValueError for a body over 1600 characters (before any request) and TwilioError
        when Twilio refuses or stays unreachable.
        """
        if len(body) > MAX_BODY:
            raise ValueError(f"an SMS body is at most {MAX_BODY} characters, not {len(body)}")
        form = {"To": to, **self._sender, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        response = await self._post(form)
        if not response.is_success:
            raise _error(response)
        raw = response.json()
        return SentMessage(raw["sid"], raw["status"], int(raw.get("num_segments") or 1), raw)

    async def close(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _post(self, form: dict[str, str]) -> httpx.Response:
        """Post the form, retrying as the class describes; the last answer is returned."""
        attempt = 1
        while True:
            last = attempt == self._attempts
            try:
                response = await self._client.post(self._path, data=form)
            except _NOT_SENT as error:
                if last:
                    raise TwilioError(None, f"cannot reach Twilio: {error!r}", None) from error
                await asyncio.sleep(self._backoff_delay(attempt))
            except httpx.TransportError as error:
                message = f"no answer from Twilio, the message may have been sent: {error!r}"
                raise TwilioError(None, message, None, maybe_sent=True) from error
            else:
                delay = self._retry_delay(attempt, response)
                if last or delay is None:
                    return response
                await asyncio.sleep(delay)
            attempt += 1

    def _retry_delay(self, attempt: int, response: httpx.Response) -> float | None:
        """Seconds to wait before trying again, or None when this answer is final."""
        if response.status_code != 429 and response.status_code < 500:
            return None
        retry_after = _seconds_until(response.headers.get("Retry-After"))
        if retry_after is None:
            return self._backoff_delay(attempt)
        return retry_after if retry_after <= self._max_delay else None

    def _backoff_delay(self, attempt: int) -> float:
        return min(self._max_delay, self._backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1)


def _seconds_until(retry_after: str | None) -> float | None:
    """A ``Retry-After`` value (seconds, or an HTTP date) in seconds; None if absent or bad."""
    if retry_after is None:
        return None
    if retry_after.strip().isdigit():
        return float(retry_after)
    try:
        when = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error(response: httpx.Response) -> TwilioError:
    """Twilio's error JSON as an exception; a body that is not Twilio's still gives the status."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    code = data.get("code")
    message = data.get("message") or response.reason_phrase
    return TwilioError(code if isinstance(code, int) else None, message, response.status_code)
