"""What every request passes through: size limits, the Origin check, security headers, audit.

- Bodies over 16 KB and URLs over 2,048 characters are refused before any route runs.
- A state-changing request (POST, PUT, PATCH, DELETE) whose Origin (or Referer) names
  another site, or whose browser marks it cross-site, is refused: a foreign page cannot
  sign a user in to an account of its choosing (login CSRF) nor out. Clients that send
  neither header (curl, scripts) are not browsers and carry no cookie of another site.
- A strict Content-Security-Policy: scripts, styles, fonts and images from this server
  only, no inline script or style, no framing, forms post only here. ReDoc (/redoc) needs
  inline styles (it injects them) and nothing more; Swagger UI (/docs) needs nothing more.
- Every request is written to the audit log when it has been answered, whatever the
  answer: refused, failed, static file, documentation, health check.
"""


import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

MAX_BODY = 16 * 1024
MAX_URL = 2048
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
REDOC_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + "; worker-src 'self' blob:"
DOCS_PATHS = ("/redoc",)  # Swagger UI at /docs runs under the strict policy


def foreign_origin(request: Request, allowed: set[str]) -> str | None:
    """The foreign site a state-changing request comes from, or None if it is this one.

    The browser's own Sec-Fetch-Site header is believed first (a page cannot set it); then
    the Origin, then the Referer, must name this host (or one in ``allowed_origins``).
    """
    host = request.headers.get("host", "")
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if site is not None and site not in ("same-origin", "none"):
        return origin or f"a {site} page"
    if origin == "null":  # sandboxed frames, file: pages, or a no-referrer form
        return None if site == "same-origin" else "null"
    value = origin or request.headers.get("referer")
    if value is None:
        return None
    netloc = urlsplit(value).netloc
    if netloc == host or netloc in allowed or value.rstrip("/") in allowed:
        return None
    return value


def install_security(app: FastAPI, audit: Any, settings: dict[str, Any]) -> None:
    """Add the one middleware that limits, checks, labels and audits every request."""
    allowed = {str(o).rstrip("/") for o in settings.get("server", {}).get("allowed_origins", [])}

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = _refusal(request, allowed)
            if response is None:
                response = await call_next(request)
            status = response.status_code
            _label(request, response)
            return response
        finally:
            _audit(audit, request, status, started)


def _refusal(request: Request, allowed: set[str]) -> Response | None:
    length = request.headers.get("content-length")
    if length and (not length.isdigit() or int(length) > MAX_BODY):
        return JSONResponse({"detail": f"request body too large (limit {MAX_BODY} bytes)"}, status_code=413)
    if len(str(request.url)) > MAX_URL:
        return JSONResponse({"detail": f"URL too long (limit {MAX_URL} characters)"}, status_code=414)
    if request.method in UNSAFE:
        foreign = foreign_origin(request, allowed)
        if foreign is not None:
            return JSONResponse({"detail": f"cross-site request refused (from {foreign[:100]})"}, status_code=403)
    return None


def _label(request: Request, response: Response) -> None:
    path = request.url.path
    headers = response.headers
    headers["Content-Security-Policy"] = REDOC_CSP if path in DOCS_PATHS else CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"  # "no-referrer" makes browsers send Origin: null
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if path.startswith("/static/"):
        headers.setdefault("Cache-Control", "private, max-age=3600")
    else:
        headers["Cache-Control"] = "no-store"


def _audit(audit: Any, request: Request, status: int, started: float) -> None:
    state = request.state
    user = getattr(state, "user", None)
    audit.write(
        user=user.name if user is not None else getattr(state, "attempted", None),
        role=user.role if user is not None else None,
        method=request.method,
        path=request.url.path,
        query=str(request.url.query)[:500],
        status=status,
        ip=request.client.host if request.client else None,
        ms=round((time.perf_counter() - started) * 1000, 1),
        **({"event": state.event} if getattr(state, "event", None) else {}),
    )
