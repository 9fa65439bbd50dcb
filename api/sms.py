"""SMS routes: Twilio's webhooks (inbound texts, delivery statuses), and moving a web chat to
SMS with a texted code.

Twilio's requests are trusted only with a valid ``X-Twilio-Signature``, computed over the
public URL Twilio called (``public_url``: behind a proxy, not the URL this process sees).
"""

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.chat import Authorised
from api.problems import SQLITE_INTEGER_MAX
from api.rate_limits import per_client
from channels.phone_link import LinkRefused, PhoneLinks, TooManyCodes
from channels.sms import SmsChannel
from channels.twilio import is_valid_signature
from helpdesk.settings import Settings

router = APIRouter(tags=["SMS"])
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_FORM_BYTES = 64 * 1024  # Twilio's payloads are a few KB
SID = r"^(SM|MM)[0-9a-fA-F]{32}$"
E164 = r"^\+[1-9]\d{1,14}$"


class InboundText(BaseModel):
    """The fields of Twilio's inbound webhook used here (the rest are signed, then ignored)."""

    MessageSid: str = Field(pattern=SID)
    From: str = Field(pattern=E164)
    Body: str = Field("", max_length=1600)


class StatusReport(BaseModel):
    MessageSid: str = Field(pattern=SID)
    MessageStatus: str = Field(min_length=1, max_length=40)
    ErrorCode: int | None = Field(None, ge=0, le=SQLITE_INTEGER_MAX)


async def signed_form(request: Request) -> dict[str, str]:
    """The posted form, if Twilio signed it; a field posted twice keeps its first value."""
    settings: Settings = request.app.state.settings
    if not settings.sms_enabled:
        raise HTTPException(404, "SMS is not configured here")
    if request.headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
        raise HTTPException(415, "Twilio posts application/x-www-form-urlencoded")
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise HTTPException(413, "the form is too large")
    try:
        fields = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=bool(raw))
    except (UnicodeDecodeError, ValueError) as error:
        raise HTTPException(400, "the body is not a form") from error
    url = settings.public_base + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature")
    if not is_valid_signature(settings.twilio_auth_token or "", url, fields, signature):
        raise HTTPException(403, "the X-Twilio-Signature is missing or wrong")
    return {name: values[0] for name, values in fields.items()}


SignedForm = Annotated[dict[str, str], Depends(signed_form)]


def _channel(request: Request) -> SmsChannel:
    return request.app.state.sms


@router.post("/webhooks/twilio/sms", include_in_schema=False, dependencies=[per_client("webhooks")])
async def inbound(request: Request, form: SignedForm, background: BackgroundTasks) -> Response:
    """Stored before the 200; answered afterwards through the REST API (``<Response/>``)."""
    text = InboundText.model_validate(form)
    if text.Body.strip():
        accepted = _channel(request).receive(text.MessageSid, text.From, text.Body)
        if accepted is not None:
            background.add_task(request.app.state.service.respond, accepted)
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post(
    "/webhooks/twilio/status", include_in_schema=False, dependencies=[per_client("webhooks")]
)
async def status(request: Request, form: SignedForm) -> Response:
    report = StatusReport.model_validate(form)
    _channel(request).status_reported(report.MessageSid, report.MessageStatus, report.ErrorCode)
    return Response(EMPTY_TWIML, media_type="application/xml")


class PhoneNumber(BaseModel):
    phone: str = Field(min_length=3, max_length=40, description="as the customer typed it")


class Code(BaseModel):
    code: str = Field(min_length=6, max_length=12, description="the six digits texted")


def _links(request: Request) -> PhoneLinks:
    return request.app.state.phone_links


def _refused(error: LinkRefused) -> JSONResponse:
    headers = {}
    if isinstance(error, TooManyCodes):
        headers["Retry-After"] = str(error.details["retry_after"])
    return JSONResponse({"detail": str(error), **error.details}, error.status, headers)


@router.post("/api/conversations/{conversation_id}/sms", status_code=202, tags=["chat"])
async def send_code(request: Request, conversation_id: Authorised, body: PhoneNumber):
    """Text a one-time code to the number the customer gave, to continue by SMS."""
    try:
        return _links(request).send_code(conversation_id, body.phone)
    except LinkRefused as error:
        return _refused(error)


@router.post("/api/conversations/{conversation_id}/sms/verify", tags=["chat"])
async def verify_code(request: Request, conversation_id: Authorised, body: Code):
    """The texted code, typed in the chat: the conversation continues by SMS."""
    try:
        return _links(request).verify(conversation_id, body.code)
    except LinkRefused as error:
        return _refused(error)
