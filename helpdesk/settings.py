"""All configuration in one place.

Every value has a default that works on one machine with no configuration; each can be set in
the environment (prefix ``HELPDESK_``) or in a ``.env`` file (see ``.env.example``).
"""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HELPDESK_", env_file=".env", extra="ignore")

    db: Path = Field(Path("data/helpdesk.db"), description="SQLite database file")

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

    # Rasa: its server and its action server run as separate processes (their own environment)
    rasa_host: str = "127.0.0.1"
    rasa_port: int = Field(5005, ge=1, le=65535)
    actions_port: int = Field(5055, ge=1, le=65535)
    rasa_timeout: float = Field(10.0, gt=0, description="seconds to wait for the bot's reply")

    @property
    def rasa_url(self) -> str:
        return f"http://{self.rasa_host}:{self.rasa_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
