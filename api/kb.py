"""Knowledge-base routes: search and read articles."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from api.rate_limits import per_client
from knowledge import KnowledgeBase, QueryError

# The widget searches as the customer types: one budget per address, generous (settings).
router = APIRouter(prefix="/api/kb", tags=["knowledge base"], dependencies=[per_client("kb")])


def _knowledge(request: Request) -> KnowledgeBase:
    return request.app.state.knowledge


@router.get("/search")
async def search(
    request: Request, q: Annotated[str, Query(description="the customer's question")]
) -> dict:
    """Hits with calibrated confidence, the detected language and a decision."""
    try:
        result = await run_in_threadpool(_knowledge(request).search, q)
    except QueryError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    return result.to_json()


@router.get("/articles/{article_id}")
async def article(request: Request, article_id: str) -> dict:
    found = _knowledge(request).article(article_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no article {article_id!r}")
    return found
