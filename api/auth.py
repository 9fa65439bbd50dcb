"""Signing agents in and out, and personal API tokens for scripts."""

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from api.rate_limits import per_client, rate_limits
from api.security import SESSION_COOKIE, AnyAgent
from escalation import Presence, SqlAgents

router = APIRouter(prefix="/api/auth", tags=["agents: sign-in"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


def _agents(request: Request) -> SqlAgents:
    return request.app.state.agents


def _lifetime(request: Request) -> timedelta:
    return timedelta(hours=request.app.state.settings.session_hours)


@router.post("/login", dependencies=[per_client("login")])
async def login(request: Request, response: Response, body: Credentials) -> dict:
    """Wrong passwords are counted per username too (``rate_limit_login_failures``): guessing
    one agent's password from many addresses is slowed down as well. Only failures count, so
    the agent can still sign in while nobody is guessing."""
    agents = _agents(request)
    username = body.username.casefold()
    await rate_limits(request).check("login_failures", username)
    agent = agents.authenticate(body.username, body.password)
    if agent is None:
        agents.audit(None, "login_failed", body.username)
        await rate_limits(request).hit("login_failures", username)
        raise HTTPException(401, "wrong username or password")
    token = agents.open_session(agent.id, "cookie", _lifetime(request))
    response.set_cookie(
        SESSION_COOKIE, token, max_age=int(_lifetime(request).total_seconds()), httponly=True,
        secure=request.app.state.settings.cookie_secure, samesite="strict", path="/",
    )  # fmt: skip
    agents.audit(agent.id, "login", agent.username)
    return {"agent": agent.to_json()}


@router.post("/logout")
async def logout(request: Request, response: Response, agent: AnyAgent) -> dict:
    if cookie := request.cookies.get(SESSION_COOKIE):
        _agents(request).close_session(cookie)
    response.delete_cookie(SESSION_COOKIE, path="/")
    _agents(request).audit(agent.id, "logout", agent.username)
    request.app.state.desk.set_presence(agent, Presence.OFFLINE)  # no new work after leaving
    return {"ok": True}


@router.get("/me")
async def me(agent: AnyAgent) -> dict:
    return agent.to_json()


@router.post("/tokens", status_code=201)
async def new_token(request: Request, agent: AnyAgent) -> dict:
    """A personal token for scripts (``Authorization: Bearer``), shown once."""
    token = _agents(request).open_session(agent.id, "token", _lifetime(request) * 60)
    _agents(request).audit(agent.id, "token_created", agent.username)
    return {"token": token}
