"""The website chat widget: its script, and the settings it starts from.

The widget runs on the company's own site, so the customer API it calls (``/api/conversations``,
``/api/kb``, ``/api/widget``) answers cross-origin requests from ``widget_origins``. Those routes
are authorised by bearer tokens only, never cookies, so allowing other origins exposes nothing
of the agents' cookie-authenticated API, which stays same-origin.
"""

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

STATIC = Path(__file__).parent / "static"
WIDGET_ROUTES = re.compile(r"^/api/(conversations|kb|widget)(/|$)")

router = APIRouter(tags=["widget"])


@router.get("/widget.js", include_in_schema=False)
async def script() -> FileResponse:
    """Cached briefly by browsers, so a new version reaches every site within minutes."""
    headers = {"Cache-Control": "public, max-age=300"}
    return FileResponse(STATIC / "widget.js", media_type="application/javascript", headers=headers)


@router.get("/api/widget/config")
async def config(request: Request) -> dict:
    """Colour, greeting and whether SMS is offered; the script tag may override the first two."""
    settings = request.app.state.settings
    return {
        "company": settings.company_name,
        "color": settings.widget_color,
        "greeting": settings.widget_greeting,
        "sms": {"available": settings.sms_enabled},
    }


class WidgetCors:
    """CORS for the routes the widget calls, and for nothing else."""

    def __init__(self, app: ASGIApp, origins: list[str]):
        self.app = app
        self.cors = CORSMiddleware(
            app, allow_origins=origins, allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"], expose_headers=["Retry-After"],
            max_age=600,
        )  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and WIDGET_ROUTES.match(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
