"""The ``helpdesk`` command."""

import json
from pathlib import Path
from typing import Annotated

import typer

from helpdesk.settings import get_settings

app = typer.Typer(
    help="Helpdesk: a self-hosted customer-support assistant.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="The FAQ knowledge base: import, search, evaluate.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="database file [env HELPDESK_DB, default data/helpdesk.db]"),
]


def _knowledge_base(db: Path | None):
    from knowledge import KnowledgeBase

    settings = get_settings()
    return KnowledgeBase.open(db or settings.db, settings)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@kb_app.command("import")
def kb_import(
    paths: Annotated[list[Path], typer.Argument(help="JSON Lines, CSV, Markdown files or folders")],
    db: DbOption = None,
) -> None:
    """Import articles. All or nothing; re-importing updates only what changed."""
    from knowledge import ImportProblems

    kb = _knowledge_base(db)
    try:
        report = kb.import_paths(paths)
    except ImportProblems as problems:
        for line in problems.problems:
            typer.echo(line, err=True)
        _fail(f"{len(problems.problems)} problem(s); nothing was imported", code=1)
    typer.echo(
        f"{report.read} articles read, {report.changed} new or changed, "
        f"{report.embedded} phrasings embedded; {kb.count()} articles in {kb.path}"
    )


@kb_app.command("search")
def kb_search(
    text: Annotated[str | None, typer.Argument(help="the customer's question")] = None,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help='JSON Lines file of {"text": ...}; one result line each'),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    db: DbOption = None,
) -> None:
    """Search: hits with their confidence, and a decision (answer, clarify or fallback)."""
    from knowledge import QueryError

    if (text is None) == (batch is None):
        _fail("give either a question or --batch FILE")
    kb = _knowledge_base(db)
    if batch is not None:
        texts = _read_batch(batch)
        for result in kb.search_many(texts):
            typer.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    try:
        result = kb.search(text)
    except QueryError as error:
        _fail(str(error))
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"{result.decision} (language: {result.lang})")
    for hit in result.hits:
        typer.echo(f"  {hit.score:.3f}  {hit.id}  {hit.question}")


def _read_batch(path: Path) -> list[str]:
    texts = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                texts.append(record["text"])
            except (json.JSONDecodeError, KeyError, TypeError):
                _fail(f'{path}:{number}: expected a JSON object with a "text" string')
            if not isinstance(texts[-1], str):
                _fail(f'{path}:{number}: "text" must be a string')
    return texts


@kb_app.command("eval")
def kb_eval(
    file: Annotated[
        Path, typer.Argument(help='JSON Lines of {"text": ..., "expected": id or null}')
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    db: DbOption = None,
) -> None:
    """Top-1, top-3, answered, confidently-wrong and out-of-scope rejection rates, per language."""
    from knowledge.evaluation import format_table

    kb = _knowledge_base(db)
    cases = []
    with file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    record = json.loads(line)
                    cases.append((record["text"], record.get("expected")))
                except (json.JSONDecodeError, KeyError, TypeError):
                    _fail(f'{file}:{number}: expected {{"text": ..., "expected": id or null}}')
    figures = kb.evaluate(cases)
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    typer.echo(format_table(figures))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="[env HELPDESK_API_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="[env HELPDESK_API_PORT]")] = None,
) -> None:
    """Run the API, the Rasa server and the action server; an empty database gets the demo base."""
    from helpdesk.supervisor import serve as supervise

    settings = get_settings().model_copy(
        update={k: v for k, v in {"api_host": host, "api_port": port}.items() if v is not None}
    )
    if _knowledge_base(None).import_demo_if_empty():
        typer.echo(f"Imported the demo knowledge base into {settings.db}")
    supervise(settings)


if __name__ == "__main__":
    app()
