"""Small builders of test data."""

import json
import sqlite3
from contextlib import closing
from pathlib import Path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def article(id: str, lang: str = "en", **fields) -> dict:
    record = {"id": id, "lang": lang, "question": f"Question {id}?", "answer": f"Answer {id}."}
    return record | fields


def copy_database(source: Path, target: Path) -> Path:
    """A copy of a SQLite file taken through SQLite (write-ahead log included), to change freely:
    much faster than importing and embedding a knowledge base again."""
    with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(target)) as writing:
        reading.backup(writing)
    return target
