"""The ``helpdesk`` command."""

import atexit
import json
from datetime import datetime, timedelta
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
users_app = typer.Typer(help="Agent accounts: add, list, disable.", no_args_is_help=True)
app.add_typer(users_app, name="users")
dev_app = typer.Typer(help="Try the service by hand.", no_args_is_help=True)
app.add_typer(dev_app, name="dev")
privacy_app = typer.Typer(
    help="Customers' personal data: export, erasure, retention.", no_args_is_help=True
)
app.add_typer(privacy_app, name="privacy")

# How much demo history a first start seeds (devtools.history; `helpdesk dev history`).
DAYS, CONVERSATIONS = 56, 1000
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
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="API processes on the port [env HELPDESK_API_WORKERS]"),
    ] = None,
) -> None:
    """Run the API, the Rasa server and the action server; an empty database gets the demo base."""
    chosen = {"api_host": host, "api_port": port, "api_workers": workers}
    settings = get_settings().model_copy(update={k: v for k, v in chosen.items() if v is not None})
    if settings.api_workers > 1 and not settings.redis_url:
        _fail(
            f"{settings.api_workers} API workers need Redis to pass live events between them: "
            "set HELPDESK_REDIS_URL (e.g. redis://127.0.0.1:6379/0; docs/deploy.md)"
        )
    from helpdesk.supervisor import serve as supervise

    knowledge = _demo_knowledge_base(None)
    agents = _agents(None)
    if _demo_accounts(agents) and settings.demo_history:  # a first start on an empty database
        _seed_history(knowledge, agents, DAYS, CONVERSATIONS, seed=None)
        typer.echo("(HELPDESK_DEMO_HISTORY=false starts without it)")
    supervise(settings)


def _demo_knowledge_base(db: Path | None):
    """The knowledge base, with the demo one imported if it is empty."""
    knowledge = _knowledge_base(db)
    if knowledge.import_demo_if_empty():
        typer.echo(f"Imported the demo knowledge base into {knowledge.path}")
    return knowledge


def _demo_accounts(agents) -> bool:
    """The demo accounts, made (and their passwords shown) if there are no accounts yet."""
    from helpdesk.demo import create_demo_accounts

    created = create_demo_accounts(agents, get_settings())
    for username, role, password in created:
        typer.echo(f"Created the demo {role} account: {username} / {password} (shown only once)")
    return bool(created)


def _seed_history(knowledge, agents, days: float, conversations: int, seed: int | None) -> None:
    from devtools.history import seed_history

    seeded = seed_history(agents.database, knowledge, get_settings(), days, conversations, seed)
    replaced = f", in place of {seeded.replaced:,} earlier" if seeded.replaced else ""
    typer.echo(
        f"Seeded a demo history: {seeded.conversations:,} conversations{replaced} of "
        f"{seeded.customers:,} customers, {seeded.messages:,} messages, from "
        f"{seeded.start:%Y-%m-%d} to now (seed {seeded.seed})"
    )


@app.command("rasa-endpoints")
def rasa_endpoints(
    path: Annotated[
        Path, typer.Argument(help="where to write it, e.g. /etc/helpdesk/endpoints.yml")
    ],
) -> None:
    """Write the Rasa server's endpoints file for these settings: with HELPDESK_REDIS_URL, its
    tracker and lock stores are in Redis, so several `rasa run` servers share conversations
    (docs/deploy.md). `helpdesk serve` writes its own beside the database."""
    from helpdesk.rasa_endpoints import write_endpoints

    typer.echo(f"Wrote {write_endpoints(get_settings(), path)}")


def _database(db: Path | None, existing: bool = False):
    """The conversation database: PostgreSQL at HELPDESK_DATABASE_URL if set, else the SQLite
    file (--db, else HELPDESK_DB). ``existing``: an error if there is none yet."""
    from escalation.database import open_database

    settings = get_settings()
    if db is not None:
        settings = settings.model_copy(update={"db": db})
    if existing and not settings.database_url and not settings.db.exists():
        _fail(f"no database at {settings.db}", code=1)
    database = open_database(settings)
    atexit.register(database.close)  # PostgreSQL's connections are closed, not collected
    return database


def _agents(db: Path | None):
    from escalation import SqlAgents

    return SqlAgents(_database(db))


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="the name to sign in with")],
    role: Annotated[str, typer.Option(help="agent, manager or admin")] = "agent",
    name: Annotated[str | None, typer.Option(help="shown to customers [default: username]")] = None,
    capacity: Annotated[int, typer.Option(min=1, max=50, help="conversations at once")] = 3,
    languages: Annotated[str, typer.Option(help="comma-separated languages served")] = "ru,en",
    tags: Annotated[str, typer.Option(help="comma-separated topics (knowledge-base tags)")] = "",
    team: Annotated[str | None, typer.Option()] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
    db: DbOption = None,
) -> None:
    """Add an account; the password is asked for (and stored only as an Argon2 hash)."""
    from escalation import Role, UsernameTaken

    if role not in {r.value for r in Role}:
        _fail(f"role must be one of: {', '.join(r.value for r in Role)}")
    if len(password) < 8:
        _fail("the password needs at least 8 characters")
    agents = _agents(db)
    try:
        agent = agents.add(
            username, password, Role(role), display_name=name, capacity=capacity,
            languages=_items(languages), tags=_items(tags), team=team,
        )  # fmt: skip
    except UsernameTaken:
        _fail(f"there is already an account {username!r}", code=1)
    agents.audit(None, "user_added", username, role=role, by="cli")
    typer.echo(f"Added {agent.role.value} {agent.username}")


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    db: DbOption = None,
) -> None:
    """Every account with its role, presence, load and skills."""
    for agent in _agents(db).all():
        if as_json:
            typer.echo(json.dumps(agent.to_json(), ensure_ascii=False))
            continue
        state = "disabled" if agent.disabled else agent.presence.value
        skills = ",".join(agent.languages + agent.tags)
        typer.echo(
            f"{agent.username:<20} {agent.role.value:<8} {state:<8} "
            f"{agent.load}/{agent.capacity}  {agent.team or '-':<10} {skills}"
        )


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument()],
    db: DbOption = None,
) -> None:
    """Sign the account out everywhere and stop it signing in or getting work."""
    from escalation import NotFound

    agents = _agents(db)
    try:
        agent = agents.disable(agents.by_username(username).id)
    except NotFound:
        _fail(f"no account {username!r}", code=1)
    agents.audit(None, "user_disabled", username, by="cli")
    typer.echo(f"Disabled {agent.username}")


@dev_app.command("sms")
def dev_sms(
    phone: Annotated[str, typer.Argument(help="the texter's number, E.164: +79991234567")],
    text: Annotated[str, typer.Argument(help="what they text")],
    wait: Annotated[float, typer.Option(help="seconds to wait for replies")] = 30,
) -> None:
    """Text the bot through the local Twilio stand-in (make run starts it) and print the
    replies as the texter's phone would get them."""
    import time

    import httpx

    standin = f"http://127.0.0.1:{get_settings().sms_standin_port}"
    try:
        before = len(httpx.get(f"{standin}/_standin/messages").json())
        sent = httpx.post(f"{standin}/_standin/inbound", json={"from": phone, "body": text})
    except httpx.TransportError:
        _fail(f"no Twilio stand-in at {standin}: start the service with `make run`", code=1)
    if sent.status_code != 200 or sent.json().get("status") != 200:
        _fail(f"the text was not accepted: {sent.text}", code=1)
    deadline, quiet_since, seen = time.monotonic() + wait, None, before
    while time.monotonic() < deadline:
        replies = httpx.get(f"{standin}/_standin/messages").json()
        for reply in replies[seen:]:
            if reply["to"] == phone:
                parts = int(reply["num_segments"])
                typer.echo(f"\n<- {reply['body']}\n   ({parts} segment{'s' * (parts > 1)})")
                quiet_since = time.monotonic()
        seen = len(replies)
        if quiet_since and time.monotonic() - quiet_since > 3:
            return  # the conversation has gone quiet: the bot (or the desk) has answered
        time.sleep(0.3)
    if quiet_since is None:
        typer.echo("(no reply yet: an agent may answer later; run again to text more)")


@dev_app.command("history")
def dev_history(
    days: Annotated[float, typer.Option(min=1, max=3650, help="how far back it goes")] = DAYS,
    conversations: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="about how many")
    ] = CONVERSATIONS,
    seed: Annotated[int | None, typer.Option(help="the same seed, the same history")] = None,
    db: DbOption = None,
) -> None:
    """Made-up conversations up to now for the manager dashboard, in place of the earlier
    ones (conversations that really happened stay); a first `helpdesk serve` seeds them."""
    knowledge = _demo_knowledge_base(db)
    agents = _agents(db)
    _demo_accounts(agents)
    _seed_history(knowledge, agents, days, conversations, seed)


@app.command()
def kpi(
    start: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="first day [default: 6 days ago]"),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option(
            "--to", formats=["%Y-%m-%d"], help="the day after the last [default: tomorrow]"
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="channel, language, handled_by, agent, day or week")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    db: DbOption = None,
) -> None:
    """Support KPIs (docs/kpis.md) of the conversations created from --from up to, not
    including, --to (local dates, HELPDESK_TIMEZONE); by default the last 7 days with today."""
    from zoneinfo import ZoneInfo

    from analytics.kpis import BREAKDOWNS, compute, format_table

    settings = get_settings()
    if by is not None and by not in BREAKDOWNS:
        _fail(f"--by must be one of: {', '.join(BREAKDOWNS)}")
    database = _database(db, existing=True)
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    first = start.date() if start else today - timedelta(days=6)
    after = end.date() if end else today + timedelta(days=1)
    if after <= first:
        _fail("--to must be after --from (it is the day after the last one counted)")
    report = compute(database, first, after, settings, by=by)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    typer.echo(format_table(report))


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _privacy(db: Path | None):
    from privacy import Privacy

    return Privacy.open(_database(db, existing=True), get_settings())


def _cli_actor():
    """The audit log names the system, and the operating-system user who ran the command."""
    import getpass

    from privacy import Actor

    return Actor(None, "cli", getpass.getuser())


CustomerArgument = Annotated[
    str, typer.Argument(help="customer id, one of their conversation ids, or phone number")
]


@privacy_app.command("export")
def privacy_export(
    customer: CustomerArgument,
    out: Annotated[Path | None, typer.Option(help="write to this file [default: print]")] = None,
    db: DbOption = None,
) -> None:
    """Everything held about one customer, as JSON (docs/privacy.md); recorded in the audit
    log. The file is readable by its owner only."""
    from escalation import NotFound

    privacy, actor = _privacy(db), _cli_actor()
    try:
        customer_id = privacy.find(customer, actor)["id"]
        document = privacy.export(customer_id, actor)
    except NotFound as error:
        _fail(str(error), code=1)
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
        return
    out.touch(mode=0o600)
    out.chmod(0o600)  # a file that was there keeps no wider permissions
    out.write_text(text + "\n", encoding="utf-8")
    typer.echo(f"{out}: {len(document['conversations'])} conversation(s) of {customer_id}")


@privacy_app.command("erase")
def privacy_erase(
    customer: CustomerArgument,
    reason: Annotated[
        str, typer.Option(help="why, for the audit log: the request's ticket number, not a name")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask to confirm")] = False,
    force: Annotated[
        bool, typer.Option(help="even while a person has one of their conversations")
    ] = False,
    db: DbOption = None,
) -> None:
    """Delete everything about one customer, for good; recorded in the audit log."""
    from channels.sms_text import mask_phone
    from escalation import NotFound
    from privacy import ActiveConversations

    if len(reason.strip()) < 3:
        _fail("--reason must say why (the request's ticket number, say)")
    privacy, actor = _privacy(db), _cli_actor()
    try:
        found = privacy.find(customer, actor)
    except NotFound as error:
        _fail(str(error), code=1)
    phones = ", ".join(map(mask_phone, found["phones"])) or "none"
    typer.echo(
        f"Customer {found['id']}: {len(found['conversations'])} conversation(s), "
        f"phone numbers: {phones}"
    )
    if not yes and not typer.confirm("Erase everything about this customer? It cannot be undone"):
        _fail("nothing was erased", code=1)
    try:
        result = privacy.erase(found["id"], reason.strip(), actor, force)
    except ActiveConversations as refused:
        _fail(f"{refused} (--force)", code=1)
    typer.echo(
        f"Erased {result['conversations']} conversation(s), {result['messages']} "
        f"message(s), {result['sms_texts']} text(s)."
    )
    _after_removal(result)


@privacy_app.command("retention")
def privacy_retention(
    dry_run: Annotated[bool, typer.Option(help="count what is due, change nothing")] = False,
    db: DbOption = None,
) -> None:
    """Apply HELPDESK_RETENTION_DAYS now (the API does it daily); recorded in the audit log."""
    from privacy import RetentionOff

    try:
        result = _privacy(db).retention(_cli_actor(), dry_run)
    except RetentionOff as off:
        _fail(str(off))
    window = f"last activity before {result['cutoff']} ({result['days']} days)"
    if dry_run:
        typer.echo(
            f"Due, to {result['mode']}: {result['conversations']} conversation(s), "
            f"{result['sms_texts']} text(s); {window}."
        )
        return
    done = {"anonymise": "Anonymised", "delete": "Deleted"}[result["mode"]]
    typer.echo(
        f"{done} {result['conversations']} conversation(s) and {result['sms_texts']} "
        f"text(s); {result['customers']} customer(s) with nothing else left; {window}."
    )
    _after_removal(result)


def _after_removal(result: dict) -> None:
    """What did not go all the way, said plainly."""
    if result["bot_trackers"]["unreachable"]:
        typer.echo(
            "warning: Rasa did not answer, so the bot's trackers of these conversations "
            "were not emptied (an in-memory store is emptied when Rasa restarts)",
            err=True,
        )
    if not result["checkpointed"]:
        typer.echo(
            "warning: a reader held the write-ahead log; removed pages leave it at "
            "SQLite's next checkpoint",
            err=True,
        )


if __name__ == "__main__":
    app()
