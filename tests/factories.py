"""Small builders of test data."""

import json
from pathlib import Path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def article(id: str, lang: str = "en", **fields) -> dict:
    record = {"id": id, "lang": lang, "question": f"Question {id}?", "answer": f"Answer {id}."}
    return record | fields
