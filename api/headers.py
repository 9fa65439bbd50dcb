"""Security headers on every HTTP response (docs/security.md).

Pages (any ``text/html`` answer: the console, the manager pages, the demo site, help articles)
get a Content-Security-Policy admitting scripts, styles, images and connections from this
origin only, with no inline script or style, and may not be framed. Everything else gets a
policy that admits nothing: a JSON answer or a script opened as a page runs nothing.
``/widget.js`` alone may be loaded by other sites (``Cross-Origin-Resource-Policy``); the
customer API they call is opened by CORS (``api/widget.py``), which that header does not touch.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
    "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'",
))  # fmt: skip
NOTHING_POLICY = "default-src 'none'; frame-ancestors 'none'"
EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000; includeSubDomains"
EMBEDDABLE = {"/widget.js"}


class SecurityHeaders:
    """``secure``: the service is reached over HTTPS (``cookie_secure``), so browsers are told
    to use nothing else (HSTS); a request that came over HTTPS gets it too. ``exempt``: pages
    left without a CSP (FastAPI's interactive docs, whose page runs inline script)."""

    def __init__(self, app: ASGIApp, secure: bool, exempt: set[str]):
        self.app = app
        self.secure = secure
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(scope, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, with_headers)

    def _add(self, scope: Scope, headers: MutableHeaders) -> None:
        for name, value in EVERYWHERE.items():
            headers.setdefault(name, value)
        path = scope["path"]
        embeddable = path in EMBEDDABLE
        headers.setdefault(
            "Cross-Origin-Resource-Policy", "cross-origin" if embeddable else "same-origin"
        )
        if self.secure or scope.get("scheme") == "https":
            headers.setdefault("Strict-Transport-Security", HSTS)
        # A bodiless answer (204, or a 304 whose headers refresh a cached page's) keeps the
        # policy its content was served with.
        content_type = headers.get("content-type")
        if content_type is None or path in self.exempt:
            return
        page = content_type.startswith("text/html")
        headers.setdefault("Content-Security-Policy", PAGE_POLICY if page else NOTHING_POLICY)
        if page:
            headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
