"""The FastAPI application: the customer chat, the agent console and the knowledge base."""

import asyncio
import contextlib
import gc
import html
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import admin, agent, articles, auth, chat, dashboard, health, kb, manager, sms, widget
from api.headers import SecurityHeaders
from api.problems import ERROR_RESPONSES
from api.rate_limits import RateLimited, RateLimits, answer_rate_limited
from api.security import RANK, SESSION_COOKIE, CsrfProtection, secret_key
from api.widget import WidgetCors
from channels.phone_link import PhoneLinks
from channels.sms import SmsChannel
from channels.sms_outbox import SmsOutbox
from channels.sms_store import SqlSmsStore
from channels.twilio import TwilioClient
from escalation import (
    ClaimRefused,
    Desk,
    InvalidTransition,
    LiveEvents,
    NotAllowed,
    NotFound,
    RedisLiveEvents,
    Role,
    SqlAgents,
    SqlCasework,
    SqlConversationStore,
)
from escalation.bot import RasaClient
from escalation.database import open_database
from escalation.service import ConversationService
from helpdesk.settings import Settings, get_settings
from knowledge import KnowledgeBase
from privacy import Privacy

STATIC = Path(__file__).parent / "static"
MANAGER_PAGES = {
    "/console/manager": "manager.html",
    "/console/dashboard": "dashboard.html",
    "/console/gaps": "gaps.html",
}
QUIET_SWEEP_S = 60  # how often bot conversations gone quiet after an answer are resolved
RETENTION_EVERY_S = 24 * 3600
RETENTION_FIRST_S = 600  # after start: Rasa has loaded by then, so its trackers are emptied too
log = logging.getLogger(__name__)
ERRORS = {
    NotFound: 404,
    ClaimRefused: 409,
    InvalidTransition: 409,
    NotAllowed: 403,
    ValueError: 422,
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    bot = RasaClient(settings.rasa_servers, settings.rasa_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with (
            app.state.desk.live.running(),
            _sms_delivery(app.state.sms),
            _every(QUIET_SWEEP_S, app.state.desk.resolve_quiet),
            _retention(app.state.privacy, settings),
        ):
            yield
        await bot.close()

    app = FastAPI(title="Helpdesk", version="0.1.0", lifespan=lifespan)
    app.add_middleware(
        CsrfProtection,
        secret=secret_key(settings.secret_key, settings.db),
        secure=settings.cookie_secure,
    )
    app.add_middleware(WidgetCors, origins=settings.widget_origins)
    app.add_middleware(GZipMiddleware, minimum_size=1024)  # the widget's script, mostly
    docs = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(SecurityHeaders, secure=settings.cookie_secure, exempt=docs)
    if settings.trusted_proxies:  # outermost: every part after it sees the client it names
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    database = open_database(settings)
    store = SqlConversationStore(database)
    live = (
        RedisLiveEvents(settings.redis_url, settings.redis_prefix)
        if settings.redis_url
        else LiveEvents()
    )
    desk = Desk(store, SqlAgents(database), SqlCasework(database), live, settings)
    app.state.settings = settings
    app.state.rate_limits = RateLimits(settings)
    app.state.knowledge = KnowledgeBase.open(settings.db, settings)
    app.state.conversations = store
    app.state.agents = desk.agents
    app.state.desk = desk
    app.state.service = ConversationService(bot, desk)
    app.state.sms = SmsChannel(
        app.state.service, SqlSmsStore(database), app.state.knowledge, settings
    )
    app.state.phone_links = PhoneLinks(app.state.sms, desk)
    app.state.privacy = Privacy.open(database, settings)
    routers = (
        kb.router, chat.router, sms.router, widget.router, auth.router, agent.router,
        manager.router, dashboard.router, articles.router, health.router, admin.router,
    )  # fmt: skip
    for router in routers:
        app.include_router(router, responses=ERROR_RESPONSES)
    for error, status in ERRORS.items():
        app.add_exception_handler(error, _answer_with(status))
    app.add_exception_handler(RateLimited, answer_rate_limited)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _pages(app)
    # What start-up loaded (models, the knowledge base) lives as long as the process: keep it
    # out of the garbage collector's full passes, which otherwise stall every request for up
    # to 0.1-0.2 s (docs/benchmarks.md, agent path).
    gc.collect()
    gc.freeze()
    return app


def _retention(privacy: Privacy, settings: Settings):
    """Retention (docs/privacy.md), when a period is set: soon after start, then daily."""
    if settings.retention_days is None:
        return contextlib.nullcontext()
    return _every(RETENTION_EVERY_S, privacy.retention, RETENTION_FIRST_S, in_thread=True)


@asynccontextmanager
async def _every(
    seconds: float,
    job: Callable[[], object],
    first_after: float | None = None,
    in_thread: bool = False,
):
    """Run ``job`` every ``seconds`` (first after ``first_after``, by default ``seconds``)
    while the app runs; ``in_thread`` for a long job, so that requests are served meanwhile.
    A failing run is logged, not fatal."""

    async def loop() -> None:
        delay = seconds if first_after is None else first_after
        while True:
            await asyncio.sleep(delay)
            delay = seconds
            try:
                if in_thread:
                    await asyncio.to_thread(job)
                else:
                    job()
            except Exception:
                log.exception("periodic %s failed", getattr(job, "__name__", job))

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@asynccontextmanager
async def _sms_delivery(channel: SmsChannel):
    """The SMS delivery worker, while the app runs (when SMS is configured)."""
    settings = channel.settings
    if not settings.sms_enabled:
        yield
        return
    client = TwilioClient(
        settings.twilio_account_sid, settings.twilio_auth_token,
        from_number=settings.twilio_from_number,
        messaging_service_sid=None if settings.twilio_from_number
        else settings.twilio_messaging_service_sid,
        base_url=settings.twilio_api_base,
    )  # fmt: skip
    worker = asyncio.create_task(SmsOutbox(channel, client).run())
    try:
        yield
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        await client.close()


def _answer_with(status: int):
    async def handler(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status)

    return handler


def _pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def home() -> FileResponse:
        """A demo company site, embedding the chat widget the way a customer's site would."""
        return FileResponse(STATIC / "demo.html")

    @app.get("/help/{article_id}", include_in_schema=False)
    async def help_article(request: Request, article_id: str) -> HTMLResponse:
        """A knowledge-base article as a page: the link at the end of a shortened SMS answer."""
        article = request.app.state.knowledge.article(article_id)
        if article is None or not article.get("published", True):
            return HTMLResponse("<!doctype html><title>404</title><h1>404</h1>", 404)
        return HTMLResponse(_article_page(article))

    @app.get("/console", include_in_schema=False)
    async def console() -> FileResponse:
        """The agent console; it asks to sign in when there is no session."""
        return FileResponse(STATIC / "console.html")

    for path, page in MANAGER_PAGES.items():
        app.add_api_route(path, _for_managers(page), include_in_schema=False)


def _for_managers(page: str) -> Callable:
    async def serve(request: Request) -> Response:
        """Served only to managers and admins: the role is checked here, not in the page."""
        cookie = request.cookies.get(SESSION_COOKIE)
        signed_in = request.app.state.agents.session_agent(cookie, "cookie") if cookie else None
        if signed_in is None:
            return RedirectResponse("/console")
        if RANK[signed_in.role] < RANK[Role.MANAGER]:
            return JSONResponse({"detail": "this page needs the manager role"}, status_code=403)
        return FileResponse(STATIC / page)

    return serve


def _article_page(article: dict) -> str:
    """The article's question and answer, escaped: article text is never markup here."""
    paragraphs = "".join(
        f"<p>{html.escape(block)}</p>"
        for block in article["answer"].replace("**", "").split("\n\n")
    )
    return (
        f'<!doctype html><html lang="{html.escape(article["lang"])}"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(article['question'])}</title>"
        '<link rel="stylesheet" href="/static/article.css">'  # no inline style: the CSP
        f"<body><h1>{html.escape(article['question'])}</h1>{paragraphs}</body></html>"
    )
