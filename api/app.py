"""The FastAPI application."""

from fastapi import FastAPI

from api import kb
from helpdesk.settings import Settings, get_settings
from knowledge import KnowledgeBase


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="Helpdesk", version="0.1.0")
    app.state.knowledge = KnowledgeBase.open(settings.db, settings)
    app.include_router(kb.router)
    return app
