"""Admin routes for customers' personal data (docs/privacy.md): find a customer, export what is
held about them, erase them, apply retention now.

Every route needs the admin role, checked on the server; each is recorded in the audit log
with the admin, and never with the personal data itself. Erasure and retention run in a
thread: they wait for the bot's trackers and for the database file to be checkpointed.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from api.security import Admin
from escalation import Agent
from privacy import ActiveConversations, Actor, Privacy, RetentionOff

router = APIRouter(prefix="/api/admin", tags=["admins"])


class Erasure(BaseModel):
    reason: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=3, max_length=500),
        Field(description="why, for the audit log: the request's ticket number, not a name"),
    ]
    force: bool = Field(
        False, description="erase even while a person has one of their conversations"
    )


def _privacy(request: Request) -> Privacy:
    return request.app.state.privacy


def _actor(admin: Agent) -> Actor:
    return Actor(admin.id, "api")


@router.get("/customers")
async def find_customer(
    request: Request,
    admin: Admin,
    q: Annotated[
        str,
        Query(min_length=1, max_length=100, description="customer id, conversation id or phone"),
    ],
) -> dict:
    """Who the customer is, their phone numbers and conversations: what an export or an
    erasure would cover."""
    return _privacy(request).find(q, _actor(admin))


@router.get("/customers/{customer_id}/export")
async def export_customer(request: Request, admin: Admin, customer_id: str) -> JSONResponse:
    """Everything held about the customer, as a JSON file to hand over."""
    document = _privacy(request).export(customer_id, _actor(admin))
    filename = f"customer-{document['customer']['id']}.json"  # a stored id, safe in a header
    return JSONResponse(
        document, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.delete("/customers/{customer_id}")
async def erase_customer(request: Request, admin: Admin, customer_id: str, body: Erasure) -> dict:
    """Everything about the customer deleted, and their bot trackers emptied. 409 while a
    person has one of their conversations or it waits for one, unless ``force``."""
    erase = _privacy(request).erase
    try:
        return await asyncio.to_thread(erase, customer_id, body.reason, _actor(admin), body.force)
    except ActiveConversations as refused:
        raise HTTPException(409, str(refused)) from refused


@router.post("/retention/run")
async def run_retention(request: Request, admin: Admin, dry_run: bool = False) -> dict:
    """Retention now rather than at its daily time: counts of what was done (with
    ``dry_run``: of what would be)."""
    try:
        return await asyncio.to_thread(_privacy(request).retention, _actor(admin), dry_run)
    except RetentionOff as off:
        raise HTTPException(409, str(off)) from off
