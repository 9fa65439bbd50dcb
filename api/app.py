"""The FastAPI application."""

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from api import kb
from helpdesk.settings import Settings, get_settings
from knowledge import KnowledgeBase


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Helpdesk", version="0.1.0")
    app.state.knowledge = KnowledgeBase.open(settings.db, settings)
    app.include_router(kb.router)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        """Until the chat page exists, the front door is the API's own documentation."""
        return RedirectResponse("/docs")

    return app
