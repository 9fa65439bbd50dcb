"""The FastAPI application."""

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse

from api import chat, kb
from escalation import SqliteConversationStore
from escalation.bot import RasaClient
from escalation.live import LiveEvents
from escalation.service import ConversationService
from helpdesk.settings import Settings, get_settings
from knowledge import KnowledgeBase

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    bot = RasaClient(settings.rasa_url, settings.rasa_timeout)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await bot.close()

    app = FastAPI(title="Helpdesk", version="0.1.0", lifespan=lifespan)
    app.state.knowledge = KnowledgeBase.open(settings.db, settings)
    app.state.conversations = SqliteConversationStore(settings.db)
    app.state.service = ConversationService(app.state.conversations, bot, LiveEvents())
    app.include_router(kb.router)
    app.include_router(chat.router)

    @app.get("/", include_in_schema=False)
    async def home() -> FileResponse:
        """A plain page to try the chat by hand (the embeddable widget is its own issue)."""
        return FileResponse(STATIC / "chat.html")

    return app
