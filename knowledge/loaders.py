"""Read articles from JSON Lines, CSV and Markdown files (formats: docs/knowledge-base.md).

Every problem is reported as ``file:line: what is wrong`` so that an author can fix the source
without guessing. All problems are collected before anything is reported, so one run
lists every fix needed.
"""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from knowledge.articles import Article, InvalidArticle, parse_article

SUFFIXES = (".jsonl", ".csv", ".md")
CSV_LIST_SEPARATOR = "|"


@dataclass(frozen=True)
class Located:
    """A raw record and where it came from."""

    path: Path
    line: int
    record: dict[str, Any] | None
    problem: str | None = None


class ImportProblems(Exception):
    """Raised with every problem found; nothing is written when it is."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def load_articles(paths: list[Path]) -> list[Article]:
    """Parse and validate every record under ``paths``; raise ``ImportProblems`` on any fault."""
    articles: list[Article] = []
    problems: list[str] = []
    first_seen: dict[str, str] = {}
    for item in _records(paths):
        where = f"{item.path}:{item.line}"
        if item.problem:
            problems.append(f"{where}: {item.problem}")
            continue
        try:
            article = parse_article(item.record)
        except InvalidArticle as error:
            problems.append(f"{where}: {error}")
            continue
        if article.id in first_seen:
            problems.append(
                f"{where}: duplicate id {article.id!r} (first at {first_seen[article.id]})"
            )
            continue
        first_seen[article.id] = where
        articles.append(article)
    if problems:
        raise ImportProblems(problems)
    if not articles:
        raise ImportProblems([f"{', '.join(map(str, paths))}: no articles found"])
    return articles


def _records(paths: list[Path]) -> Iterator[Located]:
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        elif path.is_file():
            files = [path]
        else:
            yield Located(path, 0, None, "no such file or folder")
            continue
        for file in files:
            reader = {".jsonl": _jsonl, ".csv": _csv, ".md": _markdown}.get(file.suffix)
            if reader is None:
                yield Located(file, 0, None, f"unknown format (expected {', '.join(SUFFIXES)})")
            else:
                yield from reader(file)


def _jsonl(path: Path) -> Iterator[Located]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                yield Located(path, number, None, f"not valid JSON ({error.msg})")
                continue
            if not isinstance(record, dict):
                yield Located(path, number, None, "expected a JSON object")
            else:
                yield Located(path, number, record)


def _csv(path: Path) -> Iterator[Located]:
    """Columns are the article's fields; ``phrasings`` and ``tags`` are ``|``-separated."""
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        for row in reader:
            if None in row:
                yield Located(path, reader.line_num, None, "more cells than header columns")
                continue
            record: dict[str, Any] = {k: v for k, v in row.items() if v not in ("", None)}
            for key in ("phrasings", "tags"):
                if key in record:
                    record[key] = [p for p in record[key].split(CSV_LIST_SEPARATOR) if p.strip()]
            yield Located(path, reader.line_num, record)


def _markdown(path: Path) -> Iterator[Located]:
    """YAML front matter holds the fields; the body is the answer."""
    try:
        post = frontmatter.load(path)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        yield Located(path, 1, None, f"front matter is not valid YAML ({error})")
        return
    record = dict(post.metadata)
    if post.content.strip():
        record["answer"] = post.content.strip()
    yield Located(path, 1, record)
