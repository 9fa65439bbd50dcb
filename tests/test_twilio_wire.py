"""Twilio's wire format: signatures against the official vectors, segment counts, and the client
against the real stand-in on loopback, with a real server receiving its callbacks and webhooks."""

import asyncio
import base64
import hashlib
import hmac
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from channels.twilio import (
    SentMessage,
    TwilioClient,
    TwilioError,
    encoding,
    is_valid_signature,
    segments,
    signature,
)
from tests.servers import BIN, free_port, wait_until_up

ROOT = Path(__file__).parents[1]
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "stand-in-auth-token"
OUR_NUMBER = "+15005550006"
SID = re.compile(r"SM[0-9a-f]{32}")
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Got it</Message></Response>'

# --- Signatures ---------------------------------------------------------------------------

VECTOR_TOKEN = "12345"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
VECTORS = {
    "https://mycompany.com/myapp.php?foo=1&bar=2": "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
    "https://mycompany.com:443/myapp.php?foo=1&bar=2": "kvajT1Ptam85bY51eRf/AJRuM3w=",
    "http://mycompany.com:80/myapp.php?foo=1&bar=2": "0ZXoZLH/DfblKGATFgpif+LLRf4=",
    "http://mycompany.com:1234/myapp.php?foo=1&bar=2": "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
}


@pytest.mark.parametrize(("url", "expected"), VECTORS.items())
def test_official_signature_vectors(url, expected):
    assert signature(VECTOR_TOKEN, url, VECTOR_PARAMS) == expected
    assert is_valid_signature(VECTOR_TOKEN, url, VECTOR_PARAMS, expected)


def test_the_default_port_may_be_present_or_not_but_another_port_is_part_of_the_url():
    https, https_443, http_80, http_1234 = VECTORS
    assert is_valid_signature(VECTOR_TOKEN, https, VECTOR_PARAMS, VECTORS[https_443])
    assert is_valid_signature(VECTOR_TOKEN, https_443, VECTOR_PARAMS, VECTORS[https])
    assert is_valid_signature(
        VECTOR_TOKEN, http_80.replace(":80", ""), VECTOR_PARAMS, VECTORS[http_80]
    )
    assert not is_valid_signature(
        VECTOR_TOKEN, http_1234.replace(":1234", ""), VECTOR_PARAMS, VECTORS[http_1234]
    )


def test_a_wrong_token_url_parameter_or_signature_fails():
    url, good = next(iter(VECTORS.items()))
    assert not is_valid_signature("54321", url, VECTOR_PARAMS, good)
    assert not is_valid_signature(VECTOR_TOKEN, url.replace("foo=1", "foo=2"), VECTOR_PARAMS, good)
    assert not is_valid_signature(VECTOR_TOKEN, url, VECTOR_PARAMS | {"Digits": "1235"}, good)
    assert not is_valid_signature(VECTOR_TOKEN, url, VECTOR_PARAMS | {"Body": ""}, good)
    assert not is_valid_signature(VECTOR_TOKEN, url, VECTOR_PARAMS, good.lower())
    assert not is_valid_signature(VECTOR_TOKEN, url, VECTOR_PARAMS, "")
    assert not is_valid_signature(VECTOR_TOKEN, url, VECTOR_PARAMS, None)


def test_a_repeated_field_signs_its_distinct_values_sorted():
    url = "https://example.com/sms"
    expected = base64.b64encode(
        hmac.new(b"token", f"{url}A1MediaUrlaMediaUrlbZ".encode(), hashlib.sha1).digest()
    ).decode()
    params = {"Z": "", "MediaUrl": ["b", "a", "b"], "A": "1"}
    assert signature("token", url, params) == expected
    assert is_valid_signature("token", url, {"A": ["1"], "MediaUrl": ["a", "b"], "Z": ""}, expected)


# --- Segments -----------------------------------------------------------------------------

RUSSIAN_ANSWER = (
    "Ваш заказ передан в службу доставки и приедет в течение двух рабочих дней. " * 6
)[:400]


@pytest.mark.parametrize(
    ("text", "kind", "count"),
    [
        ("", "GSM-7", 1),  # Twilio bills an empty body as one segment
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("é" * 160, "GSM-7", 1),  # in the GSM basic set
        ("{" * 80, "GSM-7", 1),  # extension characters take two septets
        ("a" * 159 + "€", "GSM-7", 2),
        ("a" * 152 + "[" + "a" * 152, "GSM-7", 3),  # 306 septets, but "[" cannot be split
        ("a" * 159 + "ç", "UCS-2", 3),  # only the capital Ç is GSM-7
        ("я" * 70, "UCS-2", 1),
        ("я" * 71, "UCS-2", 2),
        ("я" * 134, "UCS-2", 2),
        ("я" * 135, "UCS-2", 3),
        (RUSSIAN_ANSWER, "UCS-2", 6),
        ("😀" * 35, "UCS-2", 1),  # two UTF-16 code units each
        ("😀" * 36, "UCS-2", 2),
        ("a" * 66 + "😀" + "a" * 66, "UCS-2", 3),  # 134 units, but the emoji is not split
    ],
)
def test_segments_and_encoding(text, kind, count):
    assert encoding(text) == kind
    assert segments(text) == count


def test_the_russian_answer_is_400_characters():
    assert len(RUSSIAN_ANSWER) == 400


# --- A real server that receives the stand-in's webhooks ----------------------------------


@dataclass(frozen=True)
class Received:
    url: str  # as our app would rebuild it from its public base URL
    signature: str | None
    params: dict[str, list[str]]

    def value(self, name: str) -> str:
        (value,) = self.params[name]
        return value


class Receiver:
    """Our side of Twilio's webhooks, on loopback: records each POST, answers with TwiML."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.received.append(
                    Received(
                        receiver.url + self.path,
                        self.headers.get("X-Twilio-Signature"),
                        parse_qs(body, keep_blank_values=True),
                    )
                )
                reply = TWIML.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def callbacks(self, message_sid: str) -> list[Received]:
        return [r for r in self.received if r.params.get("MessageSid") == [message_sid]]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def standin(receiver, tmp_path_factory) -> Iterator[str]:
    """The stand-in as its own server process; its base URL."""
    port = free_port()
    command = [
        BIN / "python",
        "-m",
        "devtools.twilio_standin",
        *("--port", str(port), "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN),
        *("--webhook-url", f"{receiver.url}/sms/inbound"),
        *("--status-url", f"{receiver.url}/sms/status"),
    ]
    log = tmp_path_factory.mktemp("standin") / "standin.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_standin/messages", process, timeout=30)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def send(
    base_url: str,
    to: str,
    body: str = "Your order is on its way.",
    status_callback: str | None = None,
    auth_token: str = AUTH_TOKEN,
    **options: Any,
) -> SentMessage:
    async def scenario() -> SentMessage:
        async with TwilioClient(
            ACCOUNT_SID, auth_token, from_number=OUR_NUMBER, base_url=base_url, **options
        ) as client:
            return await client.send(to, body, status_callback)

    options.setdefault("backoff", 0.01)
    return asyncio.run(scenario())


def answered(standin: str, to: str) -> list[int]:
    """The HTTP statuses the stand-in answered each send to ``to`` with, in order."""
    requests = httpx.get(f"{standin}/_standin/requests").json()
    return [request["status"] for request in requests if request["to"] == to]


def wait_for(condition: Callable[[], Any], timeout: float = 5) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return result


def assert_signed(received: Received) -> None:
    assert is_valid_signature(AUTH_TOKEN, received.url, received.params, received.signature)
    assert not is_valid_signature(
        "another-token", received.url, received.params, received.signature
    )


# --- The client against the stand-in ------------------------------------------------------


def test_a_send_is_accepted_with_twilio_shaped_fields(standin):
    sent = send(standin, "+79990000001", RUSSIAN_ANSWER)
    assert SID.fullmatch(sent.sid)
    assert (sent.status, sent.num_segments) == ("queued", 6)
    raw = sent.raw
    assert raw["num_segments"] == "6" and raw["num_media"] == "0"
    assert (raw["to"], raw["from"], raw["body"]) == ("+79990000001", OUR_NUMBER, RUSSIAN_ANSWER)
    assert raw["direction"] == "outbound-api" and raw["account_sid"] == ACCOUNT_SID
    assert raw["error_code"] is None and raw["price"] is None
    assert raw["messaging_service_sid"] is None
    assert raw["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sent.sid}.json"
    assert parsedate_to_datetime(raw["date_created"]).tzinfo is not None
    outbox = httpx.get(f"{standin}/_standin/messages").json()
    assert sent.sid in [message["sid"] for message in outbox]


def test_the_longest_body_is_sent_and_a_longer_one_is_refused_before_any_request(standin):
    assert send(standin, "+79990000002", "a" * 1600).num_segments == 11
    with pytest.raises(ValueError, match="1600"):
        send(standin, "+79990000002", "a" * 1601)
    assert answered(standin, "+79990000002") == [201]


def test_outages_are_retried_until_the_send_succeeds(standin):
    httpx.post(f"{standin}/_standin/faults", json={"status": 503, "count": 2})
    assert SID.fullmatch(send(standin, "+79990000003").sid)
    assert answered(standin, "+79990000003") == [503, 503, 201]


def test_a_rate_limit_is_retried_after_its_retry_after(standin):
    httpx.post(f"{standin}/_standin/faults", json={"status": 429, "count": 1, "retry_after": 1})
    started = time.monotonic()
    send(standin, "+79990000004")
    assert time.monotonic() - started >= 1
    assert answered(standin, "+79990000004") == [429, 201]


def test_when_retries_run_out_the_last_error_is_raised(standin):
    httpx.post(f"{standin}/_standin/faults", json={"status": 503, "count": 3})
    with pytest.raises(TwilioError) as error:
        send(standin, "+79990000005", attempts=3)
    assert (error.value.code, error.value.status) == (20503, 503)
    assert answered(standin, "+79990000005") == [503, 503, 503]


def test_a_bad_number_is_a_permanent_error_and_is_not_retried(standin):
    with pytest.raises(TwilioError) as error:
        send(standin, "8 999 000-00-06")
    assert (error.value.code, error.value.status) == (21211, 400)
    assert "not a valid phone number" in error.value.message
    assert answered(standin, "8 999 000-00-06") == [400]


def test_wrong_credentials_are_refused_once(standin):
    with pytest.raises(TwilioError) as error:
        send(standin, "+79990000007", auth_token="wrong")
    assert (error.value.code, error.value.status) == (20003, 401)
    assert answered(standin, "+79990000007") == [401]


def test_an_unreachable_api_is_tried_again_then_reported():
    with pytest.raises(TwilioError) as error:
        send(f"http://127.0.0.1:{free_port()}", "+79990000008", attempts=2)
    assert (error.value.code, error.value.status) == (None, None)
    assert "cannot reach Twilio" in error.value.message


# --- Status callbacks and inbound webhooks ------------------------------------------------


def statuses(receiver: Receiver, message_sid: str, count: int) -> list[Received]:
    wait_for(lambda: len(receiver.callbacks(message_sid)) >= count)
    callbacks = receiver.callbacks(message_sid)
    assert len(callbacks) == count
    for callback in callbacks:
        assert_signed(callback)
    return callbacks


def test_status_callbacks_arrive_signed_in_order(standin, receiver):
    callback_url = f"{receiver.url}/sms/status?conversation=42"
    sent = send(standin, "+79990000009", status_callback=callback_url)
    callbacks = statuses(receiver, sent.sid, 3)
    assert [c.value("MessageStatus") for c in callbacks] == ["queued", "sent", "delivered"]
    first = callbacks[0]
    assert first.url == callback_url
    assert first.value("SmsSid") == sent.sid and first.value("SmsStatus") == "queued"
    assert (first.value("To"), first.value("From")) == ("+79990000009", OUR_NUMBER)
    assert (first.value("AccountSid"), first.value("ApiVersion")) == (ACCOUNT_SID, "2010-04-01")
    assert all("ErrorCode" not in c.params for c in callbacks)


def test_a_send_without_a_callback_reports_to_the_configured_status_url(standin, receiver):
    sent = send(standin, "+79990000010")
    callbacks = statuses(receiver, sent.sid, 3)
    assert {c.url for c in callbacks} == {f"{receiver.url}/sms/status"}


def test_an_undelivered_message_reports_its_error_code(standin, receiver):
    sent = send(standin, "+79990009999")
    callbacks = statuses(receiver, sent.sid, 3)
    assert callbacks[-1].value("MessageStatus") == "undelivered"
    assert callbacks[-1].value("ErrorCode") == "30003"
    outbox = httpx.get(f"{standin}/_standin/messages").json()
    (message,) = [m for m in outbox if m["sid"] == sent.sid]
    assert (message["status"], message["error_code"]) == ("undelivered", 30003)


def test_callbacks_can_arrive_out_of_order(standin, receiver):
    sent = send(standin, "+79990008888")
    callbacks = statuses(receiver, sent.sid, 3)
    assert [c.value("MessageStatus") for c in callbacks] == ["queued", "delivered", "sent"]
    outbox = httpx.get(f"{standin}/_standin/messages").json()
    assert [m["status"] for m in outbox if m["sid"] == sent.sid] == ["delivered"]


# The fields of a real inbound SMS (the captured payload with NumSegments and ReferralNumMedia).
INBOUND_FIELDS = {
    *("ToCountry", "ToState", "SmsMessageSid", "NumMedia", "ToCity", "FromZip", "SmsSid"),
    *("FromState", "SmsStatus", "FromCity", "Body", "FromCountry", "To", "ToZip"),
    *("NumSegments", "ReferralNumMedia", "MessageSid", "AccountSid", "From", "ApiVersion"),
}


def inbound(standin: str, **message: str) -> dict[str, Any]:
    response = httpx.post(f"{standin}/_standin/inbound", json=message, timeout=20)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_inbound_sms_is_posted_signed_with_the_full_field_set(standin, receiver):
    answer = inbound(standin, **{"from": "+79991234567", "body": "Где мой заказ?"})
    assert (answer["status"], answer["body"]) == (200, TWIML)
    (webhook,) = receiver.callbacks(answer["message_sid"])
    assert webhook.url == f"{receiver.url}/sms/inbound"
    assert_signed(webhook)
    assert set(webhook.params) == INBOUND_FIELDS
    sid = webhook.value("MessageSid")
    assert SID.fullmatch(sid) and webhook.value("SmsSid") == webhook.value("SmsMessageSid") == sid
    assert (webhook.value("From"), webhook.value("To")) == ("+79991234567", OUR_NUMBER)
    assert (webhook.value("Body"), webhook.value("NumSegments")) == ("Где мой заказ?", "1")
    assert (webhook.value("FromCountry"), webhook.value("ToCountry")) == ("RU", "US")
    assert (webhook.value("SmsStatus"), webhook.value("NumMedia")) == ("received", "0")
    assert webhook.value("AccountSid") == ACCOUNT_SID
    assert webhook.value("ApiVersion") == "2010-04-01"


def test_an_inbound_sms_can_be_delivered_again_with_the_same_sid(standin, receiver):
    first = inbound(standin, **{"from": "+79991234568", "body": "Hello"})
    again = inbound(
        standin, **{"from": "+79991234568", "body": "Hello", "message_sid": first["message_sid"]}
    )
    assert again["message_sid"] == first["message_sid"]
    deliveries = receiver.callbacks(first["message_sid"])
    assert len(deliveries) == 2 and deliveries[0].params == deliveries[1].params
