"""How the API says no, and the numbers it takes.

A refusal is ``{"detail": ...}``: a sentence, or, for a request that does not fit its schema,
FastAPI's list of field errors; some refusals add fields of their own (``retry_after``,
``attempts_left``). The OpenAPI schema declares that shape for 422, so that clients (and the
generated-request tests) can rely on it. Integers the API stores must fit SQLite's.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

SQLITE_INTEGER_MAX = 2**63 - 1


class FieldError(BaseModel):
    model_config = ConfigDict(extra="allow")  # FastAPI adds "input", "ctx"; editors "limit"

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    model_config = ConfigDict(extra="allow")

    detail: str | list[FieldError]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "refused: a sentence, or the fields at fault"}
}
