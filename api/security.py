"""Who is calling: agents sign in with a session cookie (CSRF-protected) or a bearer token.

Roles are checked here, on the server, for every route and page that needs one.
"""

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette_csrf import CSRFMiddleware

from escalation import Agent, Role

SESSION_COOKIE = "helpdesk_session"
CSRF_COOKIE = "helpdesk_csrf"
CSRF_HEADER = "x-csrf-token"
# The customer chat authenticates with a bearer token, never the cookie: nothing to forge there
# (and an agent trying the chat widget in the browser they work in must not be refused).
CUSTOMER_ROUTES = re.compile(r"^/api/conversations(/|$)")
RANK = {Role.AGENT: 0, Role.MANAGER: 1, Role.ADMIN: 2}


def secret_key(configured: str | None, db: Path) -> str:
    """The configured key, or one made on first start and kept beside the database, so that
    CSRF tokens stay valid across restarts. API workers starting at once agree on one key: it
    is written aside and linked into place, which only the first of them manages."""
    if configured:
        return configured
    path = db.parent / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"secret.key.{os.getpid()}")
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()


class CsrfProtection(CSRFMiddleware):
    """Double-submit CSRF check for requests that carry the session cookie. WebSockets check
    their ``Origin`` instead (``websocket_agent``): the middleware cannot read their method.
    The customer chat is left out altogether: it is authorised by bearer tokens only."""

    def __init__(self, app: ASGIApp, secret: str, secure: bool):
        super().__init__(
            app, secret, sensitive_cookies={SESSION_COOKIE}, cookie_name=CSRF_COOKIE,
            header_name=CSRF_HEADER, cookie_secure=secure, cookie_samesite="strict",
        )  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not CUSTOMER_ROUTES.match(scope["path"]):
            await super().__call__(scope, receive, send)
        else:  # no cookie, no token to sign: a sizeable share of each customer message's cost
            await self.app(scope, receive, send)


def _agents(connection: Request | WebSocket):
    return connection.app.state.agents


def signed_in(request: Request) -> Agent:
    """The agent behind the session cookie or the ``Authorization: Bearer`` token."""
    agent = None
    authorization = request.headers.get("authorization", "")
    if authorization.startswith("Bearer "):
        agent = _agents(request).session_agent(authorization.removeprefix("Bearer "), "token")
    elif cookie := request.cookies.get(SESSION_COOKIE):
        agent = _agents(request).session_agent(cookie, "cookie")
    if agent is None:
        raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
    return agent


def requires(role: Role):
    """A dependency admitting agents of ``role`` or a higher one."""

    def check(agent: Annotated[Agent, Depends(signed_in)]) -> Agent:
        if RANK[agent.role] < RANK[role]:
            raise HTTPException(403, f"this needs the {role.value} role")
        return agent

    return check


AnyAgent = Annotated[Agent, Depends(requires(Role.AGENT))]
Manager = Annotated[Agent, Depends(requires(Role.MANAGER))]
Admin = Annotated[Agent, Depends(requires(Role.ADMIN))]


def websocket_agent(websocket: WebSocket) -> Agent | None:
    """The agent behind a console WebSocket, if its cookie is valid and it comes from our own
    pages (a cross-site page could otherwise open it with the agent's cookie)."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if origin is not None and origin.split("://", 1)[-1] != host:
        return None
    cookie = websocket.cookies.get(SESSION_COOKIE)
    return _agents(websocket).session_agent(cookie, "cookie") if cookie else None
