"""All configuration in one place.

Every value has a default that works on one machine with no configuration; each can be set in
the environment (prefix ``HELPDESK_``) or in a ``.env`` file (see ``.env.example``).
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal

import limits
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# What has a budget of its own: ``rate_limit_<kind>`` holds it (api/rate_limits.py).
RATE_LIMITED = (
    "conversations", "messages", "messages_ip", "reads", "streams", "kb", "feedback", "login",
    "login_failures", "webhooks",
)  # fmt: skip


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HELPDESK_", env_file=".env", extra="ignore")

    db: Path = Field(
        Path("data/helpdesk.db"),
        description="SQLite database file: the knowledge base, and conversations unless "
        "database_url is set",
    )
    database_url: str | None = Field(
        None,
        description="postgresql://user@host:port/database to keep conversations, agents and "
        "SMS records in PostgreSQL (docs/deploy.md); empty: in the SQLite file",
    )
    demo_history: bool = Field(
        True,
        description="the first start on an empty database also seeds 8 weeks of made-up "
        "conversations, so the manager dashboard has something to show; false for real use",
    )

    # Knowledge base search
    embedding_model: str = Field(
        "use-multilingual",
        description="'use-multilingual' (bundled ONNX), 'minilm-en' (bundled, English only), "
        "or a sentence-transformers model folder or hub name",
    )
    # Chosen on validation data (python -m benchmarks.calibrate; docs/benchmarks.md).
    answer_threshold: float = Field(0.5, ge=0, le=1, description="confidence to answer at once")
    clarify_threshold: float = Field(0.25, ge=0, le=1, description="confidence to offer a choice")
    clarify_max_options: int = Field(3, ge=2, le=5)
    max_query_chars: int = Field(2000, ge=1)
    search_hits: int = Field(5, ge=1, le=50, description="hits returned by a search")

    # HTTP API
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    api_workers: int = Field(
        1, ge=1, le=64, description="API worker processes on one port (more than one: redis_url)"
    )

    # Redis: live events between API workers, and the Rasa servers' shared conversations
    redis_url: str = Field(
        "",
        pattern=r"^$|^rediss?://",
        description="e.g. redis://127.0.0.1:6379/0; empty: one API process, events in memory",
    )
    redis_prefix: str = Field(
        "helpdesk",
        pattern=r"^[A-Za-z0-9]+$",
        description="names this deployment's Redis channel and keys (Rasa allows only letters "
        "and digits), so several deployments can share one Redis",
    )

    # Rasa: its server and its action server run as separate processes (their own environment)
    rasa_host: str = "127.0.0.1"
    rasa_port: int = Field(5005, ge=1, le=65535)
    actions_port: int = Field(5055, ge=1, le=65535)
    rasa_timeout: float = Field(10.0, gt=0, description="seconds to wait for the bot's reply")
    rasa_token: str | None = Field(
        None,
        description="the token Rasa's HTTP API asks for (rasa run --auth-token): the trackers "
        "it reads and empties hold what customers said; helpdesk serve makes one when empty",
    )
    rasa_urls: list[str] = Field(
        [],
        description="Rasa servers sharing one Redis, each message to the next in turn "
        "(docs/deploy.md); empty: the one at rasa_host:rasa_port",
    )

    # Agents: sign-in
    secret_key: str | None = Field(
        None, description="signs CSRF tokens; by default made once and kept beside the database"
    )
    cookie_secure: bool = Field(True, description="send the session cookie over HTTPS only")
    session_hours: float = Field(12, gt=0, description="how long a console sign-in lasts")

    # The queue. Priorities: urgent (an angry VIP), high (angry, or a VIP), normal.
    auto_assign: bool = Field(True, description="give waiting conversations to online agents")
    head_start_s: dict[str, float] = Field(
        {"urgent": 600, "high": 300, "normal": 0},
        description="a priority's lead in the queue, in seconds of waiting: it ages, so a "
        "normal conversation that has waited this long is served before a new high one",
    )
    sla_first_response_s: dict[str, float] = Field(
        {"urgent": 60, "high": 120, "normal": 300}, description="first-response targets"
    )
    sla_resolution_s: dict[str, float] = Field(
        {"urgent": 1800, "high": 3600, "normal": 14400}, description="resolution targets"
    )
    default_handling_s: float = Field(
        480, gt=0, description="handling time assumed until enough conversations are resolved"
    )
    pickup_s: float = Field(30, ge=0, description="time for a free agent to pick a chat up")
    bot_quiet_minutes: float = Field(
        30, gt=0, description="a customer silent this long after a bot answer: resolved by the bot"
    )
    kpi_deflection_hours: float = Field(
        24, gt=0, description="a new contact this soon after a bot resolution: not self-service"
    )
    kpi_fcr_hours: float = Field(
        72,
        gt=0,
        description="a new contact this soon after a resolution: not a first-contact resolution",
    )
    reopen_window_minutes: float = Field(
        60, ge=0, description="a customer writing this soon after resolution reopens it"
    )
    business_hours: str = Field(
        "", description="e.g. 'mon-fri 09:00-18:00; sat 10:00-14:00'; empty: always open"
    )
    timezone: str = "Europe/Moscow"

    # Replies
    company_name: str = Field("Volt Service", description="the {company} placeholder")
    voucher_types: dict[str, str] = Field(
        {"discount": "RUB"}, description="goodwill vouchers agents may grant: type -> currency"
    )
    voucher_limits: dict[str, float] = Field(
        {"agent": 500, "manager": 3000, "admin": 10000},
        description="the largest voucher each role may grant",
    )

    # The website chat widget (docs/widget.md); the script tag's data-attributes override these
    widget_color: str = Field("#2563eb", pattern=r"^#[0-9a-fA-F]{6}$")
    widget_greeting: dict[str, str] = Field(
        {
            "ru": "Здравствуйте! Задайте вопрос — отвечу сразу или позову сотрудника.",
            "en": "Hello! Ask a question: I'll answer at once or bring in a person.",
        }
    )
    widget_origins: list[str] = Field(
        ["*"], description="sites that may embed the widget (CORS on the customer API)"
    )

    # SMS through Twilio (or anything speaking its wire format). Without an account,
    # `helpdesk serve` runs the local stand-in (devtools.twilio_standin) so SMS can be tried.
    public_url: str | None = Field(
        None,
        description="the base URL Twilio and customers reach this service at (behind a proxy, "
        "the proxy's); webhook signatures are checked against it. Default: the API's address",
    )
    twilio_account_sid: str | None = Field(None, pattern=r"^AC[0-9a-zA-Z]{32}$")
    twilio_auth_token: str | None = Field(None, min_length=1, description="signs webhooks")
    twilio_from_number: str | None = Field(None, pattern=r"^\+[1-9]\d{1,14}$")
    twilio_messaging_service_sid: str | None = Field(None, pattern=r"^MG[0-9a-zA-Z]{32}$")
    twilio_api_base: str = "https://api.twilio.com"
    sms_demo: bool = Field(True, description="no Twilio account: serve runs the local stand-in")
    sms_standin_port: int = Field(8010, ge=1, le=65535)
    sms_answer_segments: int = Field(
        3, ge=1, le=10, description="a bot answer longer than this is shortened, with a link"
    )
    sms_send_attempts: int = Field(
        8, ge=1, description="tries (each with the client's own retries) before a send fails"
    )
    sms_code_ttl_s: float = Field(600, gt=0, description="how long a texted code is valid")
    sms_code_tries: int = Field(5, ge=1, description="wrong codes before the attempt is blocked")
    sms_codes_per_hour: int = Field(3, ge=1, description="codes texted per conversation or number")

    # Personal data (docs/privacy.md). No retention period by default: how long conversations
    # are kept is the operator's decision, written in their privacy policy, and its effect
    # cannot be undone: a guessed default would delete history someone still needs, or keep
    # it longer than the policy promises.
    retention_days: int | None = Field(
        None,
        ge=1,
        description="conversations over (resolved or closed) with nothing new for this many "
        "days are anonymised or deleted, daily (first 10 minutes after start); empty: kept "
        "until erased",
    )
    retention_mode: Literal["anonymise", "delete"] = Field(
        "anonymise",
        description="anonymise: words, numbers and names go, the facts the KPIs read stay; "
        "delete: the conversations go, and the KPIs of their days change",
    )

    # Rate limits on the public endpoints (docs/security.md), counted in this process or, with
    # redis_url, in Redis: one budget for every API worker. A budget is written as the `limits`
    # library reads it: "20/minute;200/hour" holds only while every part holds.
    trusted_proxies: list[str] = Field(
        [],
        description="reverse proxies (addresses or networks) whose X-Forwarded-For names the "
        "client; from anyone else the header is ignored",
    )
    rate_limit_conversations: str = Field(
        "20/minute;200/hour", description="new chats per client address"
    )
    rate_limit_messages: str = Field("20/minute", description="customer messages per conversation")
    rate_limit_messages_ip: str = Field("120/minute", description="customer messages per address")
    rate_limit_reads: str = Field(
        "300/minute",
        description="reads of a conversation and its messages per address: the widget reads "
        "after each reconnection, and an office shares one address",
    )
    rate_limit_streams: str = Field(
        "60/minute",
        description="live-event connections (the chat's WebSocket) opened per address: an open "
        "one costs nothing more, and the widget reconnects with a back-off",
    )
    rate_limit_kb: str = Field(
        "300/minute",
        description="knowledge-base searches and articles per address: the widget searches as "
        "the customer types (a pause of 250 ms is enough), and an office shares one address",
    )
    rate_limit_feedback: str = Field("10/minute", description="ratings sent per address")
    rate_limit_login: str = Field("30/minute", description="sign-in attempts per address")
    rate_limit_login_failures: str = Field(
        "5/minute;20/hour", description="wrong passwords per username, before it is refused"
    )
    rate_limit_webhooks: str = Field(
        "600/minute", description="Twilio webhook calls per address (signed, so generous)"
    )

    @field_validator(*(f"rate_limit_{kind}" for kind in RATE_LIMITED))
    @classmethod
    def _readable_budget(cls, value: str) -> str:
        """A budget the rate limiter cannot read is refused at start-up, not on first use."""
        limits.parse_many(value)  # ValueError: "couldn't parse rate limit string ..."
        return value

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def rasa_servers(self) -> list[str]:
        """Where the API sends customers' messages to the bot."""
        return self.rasa_urls or [self.rasa_url]

    @property
    def public_base(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def sms_enabled(self) -> bool:
        sender = self.twilio_from_number or self.twilio_messaging_service_sid
        return bool(self.twilio_account_sid and self.twilio_auth_token and sender)


@lru_cache
def get_settings() -> Settings:
    return Settings()
