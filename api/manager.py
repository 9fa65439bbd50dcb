"""Manager pages and routes: canned responses, the audit log, customers' VIP status.

Every route here needs the manager role (or admin), checked on the server.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from api.problems import SQLITE_INTEGER_MAX
from api.security import Manager
from escalation import Desk

router = APIRouter(prefix="/api/manager", tags=["managers"])
CannedId = Annotated[int, Path(ge=1, le=SQLITE_INTEGER_MAX)]


class CannedResponse(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    language: Literal["ru", "en"]
    text: str = Field(min_length=1, max_length=4000)


class CustomerChange(BaseModel):
    vip: bool


def _desk(request: Request) -> Desk:
    return request.app.state.desk


@router.get("/canned")
async def list_canned(request: Request, manager: Manager) -> list[dict]:
    return _desk(request).casework.canned()


@router.post("/canned", status_code=201)
async def add_canned(request: Request, manager: Manager, body: CannedResponse) -> dict:
    saved = _desk(request).casework.save_canned(manager.id, body.title, body.language, body.text)
    _desk(request).agents.audit(manager.id, "canned_added", str(saved["id"]), title=body.title)
    return saved


@router.put("/canned/{canned_id}")
async def edit_canned(
    request: Request, manager: Manager, canned_id: CannedId, body: CannedResponse
) -> dict:
    casework = _desk(request).casework
    saved = casework.save_canned(manager.id, body.title, body.language, body.text, canned_id)
    _desk(request).agents.audit(manager.id, "canned_edited", str(canned_id), title=body.title)
    return saved


@router.delete("/canned/{canned_id}", status_code=204)
async def delete_canned(request: Request, manager: Manager, canned_id: CannedId) -> None:
    _desk(request).casework.delete_canned(canned_id)
    _desk(request).agents.audit(manager.id, "canned_deleted", str(canned_id))


@router.get("/audit")
async def audit(
    request: Request, manager: Manager, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[dict]:
    return _desk(request).agents.audit_log(limit)


@router.put("/customers/{customer_id}")
async def change_customer(
    request: Request, manager: Manager, customer_id: str, body: CustomerChange
) -> dict:
    """VIP customers are served first (see docs/queue.md)."""
    customer = _desk(request).store.update_customer(customer_id, {"vip": body.vip})
    _desk(request).agents.audit(manager.id, "customer_vip", customer_id, vip=body.vip)
    return customer
