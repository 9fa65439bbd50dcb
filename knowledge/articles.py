"""What an article is, and the checks every record must pass, whether imported from a file or
saved from the console's editor."""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import cyrtranslit
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

Language = Literal["ru", "en"]
# Limits that keep an article something a person wrote: a phrasing is a question, an SMS answer
# fits Twilio's 1,600-character message, an answer is a page rather than a book.
Phrasing = Annotated[str, StringConstraints(max_length=1000)]
Tag = Annotated[str, StringConstraints(max_length=100)]
ID_WORDS = re.compile(r"[^a-z0-9]+")
ID_STEM_CHARS = 60


class Article(BaseModel):
    """One answer in one language.

    Articles sharing a ``group`` are translations of one another: search scores the group and
    then shows the variant in the customer's language.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    lang: Language
    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(min_length=1, max_length=20_000)
    sms_answer: str | None = Field(None, max_length=1600)
    phrasings: list[Phrasing] = Field(default_factory=list, max_length=500)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    group: str | None = Field(None, min_length=1, max_length=200)
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    published: bool = True

    @field_validator("id")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        if any(c.isspace() for c in value):
            raise PydanticCustomError("spaces", "must not contain spaces")
        return value

    @field_validator("phrasings", "tags")
    @classmethod
    def _no_blank_items(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise PydanticCustomError("blank_item", "must not contain empty strings")
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


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field: in words, and as a kind and a limit that a user interface
    can put in its own language."""

    path: tuple[str | int, ...]  # ("question",), ("phrasings", 2); () for the whole record
    message: str
    kind: str  # pydantic's error type: "missing", "string_too_long", "blank_item"...
    limit: int | None = None  # the length or count exceeded or not reached, where there is one

    @property
    def field(self) -> str:
        return ".".join(map(str, self.path)) or "record"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidArticle(ValueError):
    """A record that is not a valid article; ``problems`` says what to fix, field by field."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


class ArticleExists(ValueError):
    """A new article was given an id that another article already has."""


class ArticleNotFound(LookupError):
    """An edit named an article the base does not have."""


def parse_article(record: dict[str, Any]) -> Article:
    """The article ``record`` describes, or ``InvalidArticle`` listing every problem."""
    try:
        return Article.model_validate(record)
    except ValidationError as error:
        raise InvalidArticle([_problem(detail) for detail in error.errors()]) from error


def _problem(detail: ErrorDetails) -> Problem:
    context = detail.get("ctx") or {}
    limit = context.get("max_length", context.get("min_length"))
    return Problem(
        path=tuple(detail["loc"]),
        message=detail["msg"],
        kind=detail["type"],
        limit=limit if isinstance(limit, int) else None,
    )


def free_id(question: str, lang: str, taken: Callable[[str], bool]) -> str:
    """An id made from the question, in Latin letters (ids end up in the links of SMS answers,
    where percent-encoded Cyrillic would cost a message's worth of characters), ending in the
    language and unique: ``how-do-i-pay-by-card-en``, ``kak-oplatit-kartoj-ru-2``."""
    latin = cyrtranslit.to_latin(question, "ru")
    stem = ID_WORDS.sub("-", latin.lower()).strip("-")[:ID_STEM_CHARS].rstrip("-") or "article"
    candidate = f"{stem}-{lang}"
    number = 1
    while taken(candidate):
        number += 1
        candidate = f"{stem}-{lang}-{number}"
    return candidate
