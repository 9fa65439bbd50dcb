"""Health, for load balancers, process managers and monitoring."""

import os

from fastapi import APIRouter, Request

from escalation import State

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(request: Request) -> dict:
    """Answers while this worker serves and can read its database (an error otherwise).

    ``live_events`` is false while events from the other workers cannot reach this one (Redis
    unreachable). It is reported, not failed: the worker still takes messages, and its clients
    catch up from the history once Redis is back; failing it would take every worker out of a
    load balancer at once. ``worker`` is the process answering.
    """
    queued = request.app.state.conversations.in_state(State.QUEUED)
    return {
        "status": "ok",
        "worker": os.getpid(),
        "live_events": request.app.state.desk.live.delivering,
        "queued": len(queued),
    }
