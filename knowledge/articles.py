"""What an article is, and the checks every imported record must pass."""

import hashlib
import json
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Language = Literal["ru", "en"]


class Article(BaseModel):
    """One answer in one language.

    Articles sharing a ``group`` are translations of one another: search scores the group and
    then shows the variant in the customer's language.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200, pattern=r"^[^\s]+$")
    lang: Language
    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(min_length=1)
    sms_answer: str | None = None
    phrasings: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    group: str | None = Field(None, min_length=1, max_length=200)
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    published: bool = True

    @field_validator("phrasings", "tags")
    @classmethod
    def _no_blank_items(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("must not contain empty strings")
        return list(dict.fromkeys(cleaned))  # drop repeats, keep order

    @model_validator(mode="after")
    def _default_group(self) -> "Article":
        if self.group is None:
            self.group = self.id
        return self

    @property
    def texts(self) -> list[str]:
        """Every way of asking this article's question: what search matches against."""
        return list(dict.fromkeys([self.question, *self.phrasings]))

    def content_hash(self) -> str:
        """Changes whenever anything a customer could see or search for changes."""
        payload = self.model_dump(mode="json", exclude={"updated_at"})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
