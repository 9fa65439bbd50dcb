"""Rate limits on the public endpoints: budgets per client address, per conversation and per
username, from settings (``rate_limit_<kind>``, docs/security.md).

The counts live in the `limits` library's storage: this process's memory, or Redis when
``redis_url`` is set, so that several API workers spend one budget. Windows move
(a request counts for exactly its window, with no burst at a boundary), and a refused request
is not counted, so a client that keeps knocking gets in again as soon as its oldest request
ages out. If the storage cannot be reached the request goes through: a Redis outage must not
take the chat down with it, and it is logged.
"""

import ipaddress
import logging
import math
import time
from typing import Any

import limits
from fastapi import Depends, Request
from fastapi.requests import HTTPConnection
from fastapi.responses import JSONResponse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from helpdesk.settings import RATE_LIMITED, Settings

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """A budget is spent; ``retry_after``: whole seconds until a request fits again."""

    def __init__(self, budget: limits.RateLimitItem, retry_after: int):
        super().__init__(f"too many requests: at most {budget}; try again in {retry_after} s")
        self.retry_after = retry_after


class RateLimits:
    def __init__(self, settings: Settings):
        if settings.redis_url:
            storage = storage_from_string(
                f"async+{settings.redis_url}", implementation="redispy", wrap_exceptions=True
            )
        else:
            storage = storage_from_string("async+memory://")
        self.limiter = MovingWindowRateLimiter(storage)
        self.prefix = f"{settings.redis_prefix}:rate"
        self.budgets = {
            kind: limits.parse_many(getattr(settings, f"rate_limit_{kind}"))
            for kind in RATE_LIMITED
        }

    async def hit(self, kind: str, key: str) -> None:
        """Count one request against ``kind``'s budget for ``key``; RateLimited if it is
        spent (and then nothing is counted: a budget of several parts is checked first)."""
        if len(self.budgets[kind]) > 1:
            await self.check(kind, key)
        for budget in self.budgets[kind]:
            if not await self._storage_says(self.limiter.hit, budget, kind, key):
                raise RateLimited(budget, await self._retry_after(budget, kind, key))

    async def check(self, kind: str, key: str) -> None:
        """RateLimited if ``kind``'s budget for ``key`` is spent; counts nothing."""
        for budget in self.budgets[kind]:
            if not await self._storage_says(self.limiter.test, budget, kind, key):
                raise RateLimited(budget, await self._retry_after(budget, kind, key))

    async def _storage_says(self, ask, budget: limits.RateLimitItem, kind: str, key: str) -> bool:
        try:
            return await ask(budget, self.prefix, kind, key)
        except StorageError:
            log.exception("rate limit storage unavailable: %s let through", kind)
            return True

    async def _retry_after(self, budget: limits.RateLimitItem, kind: str, key: str) -> int:
        try:
            stats = await self.limiter.get_window_stats(budget, self.prefix, kind, key)
        except StorageError:  # gone since it refused: a whole window is a safe wait
            return budget.get_expiry()
        return max(1, math.ceil(stats.reset_time - time.time()))


def client_address(request: HTTPConnection) -> str:
    """Who is asking: the peer's address, or the client a trusted proxy names (``create_app``
    applies ``trusted_proxies``). An IPv6 client owns a whole /64, so that is what counts."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def rate_limits(request: HTTPConnection) -> RateLimits:
    return request.app.state.rate_limits


def per_client(kind: str) -> Any:
    """A route dependency counting each request against ``kind``'s budget per client address.
    Route dependencies run before the route's own (sign-in, signatures, customer tokens), so a
    flood is refused before it costs anything."""

    async def within_budget(request: Request) -> None:
        await rate_limits(request).hit(kind, client_address(request))

    return Depends(within_budget)


async def answer_rate_limited(request: Request, error: RateLimited) -> JSONResponse:
    return too_many_requests(error)


def too_many_requests(error: RateLimited) -> JSONResponse:
    """429 with ``Retry-After`` (the widget waits that long before sending again)."""
    return JSONResponse(
        {"detail": str(error), "retry_after": error.retry_after},
        status_code=429,
        headers={"Retry-After": str(error.retry_after)},
    )
