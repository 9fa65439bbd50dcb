"""The FastAPI application: the customer chat, the agent console and the knowledge base."""

import gc
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api import agent, auth, chat, kb, manager
from api.security import RANK, SESSION_COOKIE, CsrfProtection, secret_key
from escalation import (
    ClaimRefused,
    Desk,
    InvalidTransition,
    LiveEvents,
    NotAllowed,
    NotFound,
    Role,
    SqliteAgents,
    SqliteCasework,
    SqliteConversationStore,
    SqliteDatabase,
)
from escalation.bot import RasaClient
from escalation.service import ConversationService
from helpdesk.settings import Settings, get_settings
from knowledge import KnowledgeBase

STATIC = Path(__file__).parent / "static"
ERRORS = {
    NotFound: 404,
    ClaimRefused: 409,
    InvalidTransition: 409,
    NotAllowed: 403,
    ValueError: 422,
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    bot = RasaClient(settings.rasa_url, settings.rasa_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await bot.close()

    app = FastAPI(title="Helpdesk", version="0.1.0", lifespan=lifespan)
    app.add_middleware(
        CsrfProtection,
        secret=secret_key(settings.secret_key, settings.db),
        secure=settings.cookie_secure,
    )
    database = SqliteDatabase(settings.db)
    store = SqliteConversationStore(database)
    desk = Desk(store, SqliteAgents(database), SqliteCasework(database), LiveEvents(), settings)
    app.state.settings = settings
    app.state.knowledge = KnowledgeBase.open(settings.db, settings)
    app.state.conversations = store
    app.state.agents = desk.agents
    app.state.desk = desk
    app.state.service = ConversationService(bot, desk)
    for router in (kb.router, chat.router, auth.router, agent.router, manager.router):
        app.include_router(router)
    for error, status in ERRORS.items():
        app.add_exception_handler(error, _answer_with(status))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _pages(app)
    # What start-up loaded (models, the knowledge base) lives as long as the process: keep it
    # out of the garbage collector's full passes, which otherwise stall every request for up
    # to 0.1-0.2 s (docs/benchmarks.md, agent path).
    gc.collect()
    gc.freeze()
    return app


def _answer_with(status: int):
    async def handler(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=status)

    return handler


def _pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def home() -> FileResponse:
        """A plain page to try the chat by hand (the embeddable widget is its own issue)."""
        return FileResponse(STATIC / "chat.html")

    @app.get("/console", include_in_schema=False)
    async def console() -> FileResponse:
        """The agent console; it asks to sign in when there is no session."""
        return FileResponse(STATIC / "console.html")

    @app.get("/console/manager", include_in_schema=False)
    async def manager_page(request: Request) -> Response:
        """Served only to managers and admins: the role is checked here, not in the page."""
        cookie = request.cookies.get(SESSION_COOKIE)
        signed_in = request.app.state.agents.session_agent(cookie, "cookie") if cookie else None
        if signed_in is None:
            return RedirectResponse("/console")
        if RANK[signed_in.role] < RANK[Role.MANAGER]:
            return JSONResponse({"detail": "this page needs the manager role"}, status_code=403)
        return FileResponse(STATIC / "manager.html")
