"""A Twilio stand-in on loopback: the SMS parts of Twilio's wire format, for tests and demos.

Why: the SMS channel must be tried end to end (sending with retries, signed status callbacks,
signed inbound webhooks, repeated deliveries) without a Twilio account or the internet. This
speaks the same wire format as Twilio, signs with ``channels.twilio.signature`` and counts
segments with ``channels.twilio.segments``, so only the base URL differs from production.

    python -m devtools.twilio_standin --port 8010 --account-sid AC... --auth-token T \\
        --webhook-url http://127.0.0.1:8000/sms/inbound --status-url http://127.0.0.1:8000/sms/status

Twilio's side:
    POST /2010-04-01/Accounts/{AccountSid}/Messages.json   send (Basic auth, form fields)
Test knobs and views:
    GET  /_standin/messages    every accepted message, with its latest status
    GET  /_standin/requests    every send request: its To and the HTTP status it was answered
    POST /_standin/faults      {"status": 503, "count": 2, "retry_after": null}: the next sends fail
    POST /_standin/inbound     {"from": "+7999...", "body": "...", "message_sid": null}: post a
                               signed inbound SMS to the webhook URL (repeat a MessageSid to test
                               idempotency) and return what the webhook answered

Status callbacks (to the send's ``StatusCallback``, else ``--status-url``) go queued, sent,
delivered; a ``To`` ending in ``--undelivered-suffix`` ends ``undelivered`` with ErrorCode 30003,
one ending in ``--out-of-order-suffix`` gets ``delivered`` before ``sent``, as Twilio may.
"""

import argparse
import asyncio
import base64
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.client import responses as status_phrases
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from channels.twilio import MAX_BODY, segments, signature

API_VERSION = "2010-04-01"
E164 = re.compile(r"\+[1-9]\d{1,14}")
USER_AGENT = "TwilioProxy/1.1"  # what Twilio's webhook requests say they are
# A rough country by calling code, for FromCountry/ToCountry; longest prefix first.
COUNTRIES = {"+44": "GB", "+49": "DE", "+1": "US", "+7": "RU"}
# How far along each status is: a late callback never moves the outbox's status back.
PROGRESS = {"accepted": 0, "queued": 1, "sent": 2, "delivered": 3, "undelivered": 3}

log = logging.getLogger(__name__)
router = APIRouter()


@dataclass(frozen=True)
class StandinConfig:
    account_sid: str
    auth_token: str
    webhook_url: str | None = None  # the number's "a message comes in" URL
    status_url: str | None = None  # the messaging service's status callback URL
    phone_number: str = "+15005550006"  # the stand-in's own number (a Twilio test number)
    undelivered_suffix: str = "9999"
    out_of_order_suffix: str = "8888"
    callback_delay: float = 0.05  # seconds between one status callback and the next


class Faults(BaseModel):
    status: int = Field(ge=400, le=599, description="what the next sends are answered")
    count: int = Field(1, ge=0, description="how many sends; 0 clears the faults")
    retry_after: int | None = Field(None, ge=0, description="a Retry-After header, in seconds")


class Inbound(BaseModel):
    sender: str = Field(alias="from", pattern=E164.pattern)
    body: str = Field("", max_length=MAX_BODY)
    message_sid: str | None = Field(
        None, pattern=r"^SM[0-9a-f]{32}$", description="repeat an earlier delivery's MessageSid"
    )


@dataclass
class Standin:
    """What the stand-in remembers: its settings, what it sent and what it was asked."""

    config: StandinConfig
    outbox: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: Faults | None = None

    def take_fault(self) -> JSONResponse | None:
        """The planned failure for this send, if any are left."""
        if not self.faults or self.faults.count == 0:
            return None
        self.faults.count -= 1
        status = self.faults.status
        response = twilio_error(status, 20000 + status, status_phrases.get(status, "Error"))
        if self.faults.retry_after is not None:
            response.headers["Retry-After"] = str(self.faults.retry_after)
        return response


def twilio_error(status: int, code: int, message: str, **extra: str) -> JSONResponse:
    """An error the way Twilio's REST API answers one."""
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    body = {"code": code, "message": message, "more_info": more_info, "status": status, **extra}
    return JSONResponse(body, status_code=status)


def _standin(request: Request) -> Standin:
    return request.app.state.standin


@router.post("/2010-04-01/Accounts/{account_sid}/Messages.json")
async def create_message(account_sid: str, request: Request) -> JSONResponse:
    standin = _standin(request)
    form = _form(await request.body())
    credentials = _basic_credentials(request.headers.get("Authorization"))
    response = (
        _unauthorised(standin.config, account_sid, credentials)
        or standin.take_fault()
        or _rejection(form)
    )
    if response is None:
        message = _new_message(standin.config, form)
        standin.outbox.append(message)
        callback_url = form.get("StatusCallback") or standin.config.status_url
        task = BackgroundTask(_report_statuses, standin.config, message, callback_url)
        response = JSONResponse(message, status_code=201, background=task)
    standin.requests.append({"to": form.get("To"), "status": response.status_code})
    return response


@router.get("/_standin/messages")
async def list_messages(request: Request) -> list[dict[str, Any]]:
    return _standin(request).outbox


@router.get("/_standin/requests")
async def list_requests(request: Request) -> list[dict[str, Any]]:
    return _standin(request).requests


@router.post("/_standin/faults")
async def set_faults(faults: Faults, request: Request) -> Faults:
    _standin(request).faults = faults
    return faults


@router.post("/_standin/inbound")
async def inbound(message: Inbound, request: Request) -> JSONResponse:
    config = _standin(request).config
    if not config.webhook_url:
        return JSONResponse({"detail": "start the stand-in with --webhook-url"}, 409)
    sid = message.message_sid or _new_sid()
    payload = _inbound_payload(config, message.sender, message.body, sid)
    try:
        answer = await _post_signed(config, config.webhook_url, payload, timeout=15)
    except httpx.HTTPError as error:  # Twilio would log error 11200 and retry later
        return JSONResponse({"message_sid": sid, "detail": repr(error)}, 502)
    return JSONResponse({"message_sid": sid, "status": answer.status_code, "body": answer.text})


def _form(raw: bytes) -> dict[str, str]:
    """A form body; a field sent twice keeps its last value, as Twilio's API does."""
    fields = parse_qs(raw.decode(errors="replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic`` header; None if there is none."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:  # bad base64 or bad UTF-8
        return None
    return user, password


def _unauthorised(
    config: StandinConfig, account_sid: str, credentials: tuple[str, str] | None
) -> JSONResponse | None:
    """Twilio's 401 unless the URL's account and the Basic credentials are the configured ones."""
    if credentials is not None:
        given = (account_sid, *credentials)
        wanted = (config.account_sid, config.account_sid, config.auth_token)
        pairs = zip(given, wanted, strict=True)
        if all(secrets.compare_digest(a.encode(), b.encode()) for a, b in pairs):
            return None
    detail = "Your AccountSid or AuthToken was incorrect."
    response = twilio_error(401, 20003, "Authenticate", detail=detail)
    response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def _rejection(form: dict[str, str]) -> JSONResponse | None:
    """Twilio's answer to a send it refuses, checked in Twilio's order; None if acceptable."""
    to, body = form.get("To", ""), form.get("Body", "")
    if not to:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not E164.fullmatch(to):
        return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not (form.get("From") or form.get("MessagingServiceSid")):
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if not body:  # the stand-in does not take media, so a body is required
        return twilio_error(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY:
        message = f"The concatenated message body exceeds the {MAX_BODY} character limit."
        return twilio_error(400, 21617, message)
    return None


def _new_sid() -> str:
    return "SM" + secrets.token_hex(16)


def _new_message(config: StandinConfig, form: dict[str, str]) -> dict[str, Any]:
    """The 201 answer to an accepted send, as Twilio shapes it (numbers as strings)."""
    sid, now = _new_sid(), format_datetime(datetime.now(UTC))
    uri = f"/{API_VERSION}/Accounts/{config.account_sid}/Messages/{sid}"
    service_only = "From" not in form  # a messaging service picks the sender later
    return {
        "account_sid": config.account_sid,
        "api_version": API_VERSION,
        "body": form["Body"],
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": None if service_only else form["From"],
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": str(segments(form["Body"])),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "accepted" if service_only else "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": form["To"],
        "uri": f"{uri}.json",
    }


def _status_plan(config: StandinConfig, to: str) -> list[tuple[str, str | None]]:
    """The (status, error code) callbacks for a message, in the order they are posted."""
    if to.endswith(config.undelivered_suffix):
        return [("queued", None), ("sent", None), ("undelivered", "30003")]
    if to.endswith(config.out_of_order_suffix):
        return [("queued", None), ("delivered", None), ("sent", None)]
    return [("queued", None), ("sent", None), ("delivered", None)]


async def _report_statuses(config: StandinConfig, message: dict[str, Any], url: str | None) -> None:
    """Move the message through its statuses, posting a signed callback for each."""
    for status, error in _status_plan(config, message["to"]):
        await asyncio.sleep(config.callback_delay)
        if PROGRESS[status] > PROGRESS[message["status"]]:
            message.update(status=status, error_code=int(error) if error else None)
        if url:
            await _post_status(config, message, url, status, error)


async def _post_status(
    config: StandinConfig, message: dict[str, Any], url: str, status: str, error: str | None
) -> None:
    """One signed status callback, as Twilio posts it; a failure is logged, not retried."""
    payload = {
        "SmsSid": message["sid"],
        "SmsStatus": status,
        "MessageStatus": status,
        "To": message["to"],
        "MessageSid": message["sid"],
        "AccountSid": config.account_sid,
        "From": message["from"] or config.phone_number,
        "ApiVersion": API_VERSION,
    } | ({"ErrorCode": error} if error else {})
    try:
        await _post_signed(config, url, payload, timeout=5)
    except httpx.HTTPError as failure:  # Twilio does not retry status callbacks either
        log.warning("status callback to %s failed: %r", url, failure)


async def _post_signed(
    config: StandinConfig, url: str, payload: dict[str, str], timeout: float
) -> httpx.Response:
    headers = {
        "X-Twilio-Signature": signature(config.auth_token, url, payload),
        "User-Agent": USER_AGENT,
    }
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await client.post(url, data=payload, headers=headers)


def _inbound_payload(config: StandinConfig, sender: str, body: str, sid: str) -> dict[str, str]:
    """An inbound SMS's fields, as in real captured payloads (location fields left empty)."""
    return {
        "ToCountry": _country(config.phone_number),
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(sender),
        "To": config.phone_number,
        "ToZip": "",
        "NumSegments": str(segments(body)),
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": config.account_sid,
        "From": sender,
        "ApiVersion": API_VERSION,
    }


def _country(number: str) -> str:
    return next((code for prefix, code in COUNTRIES.items() if number.startswith(prefix)), "")


def create_app(config: StandinConfig) -> FastAPI:
    app = FastAPI(title="Twilio stand-in", docs_url="/_standin/docs", openapi_url=None)
    app.state.standin = Standin(config)
    app.include_router(router)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.twilio_standin", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--webhook-url", help="where inbound SMS are posted")
    parser.add_argument("--status-url", help="status callbacks for sends that name none")
    parser.add_argument("--phone-number", default=StandinConfig.phone_number)
    parser.add_argument("--undelivered-suffix", default=StandinConfig.undelivered_suffix)
    parser.add_argument("--out-of-order-suffix", default=StandinConfig.out_of_order_suffix)
    args = parser.parse_args(argv)
    config = StandinConfig(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        webhook_url=args.webhook_url,
        status_url=args.status_url,
        phone_number=args.phone_number,
        undelivered_suffix=args.undelivered_suffix,
        out_of_order_suffix=args.out_of_order_suffix,
    )
    uvicorn.run(create_app(config), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
