"""The dashboard and REST API (FastAPI): the same figures as the files, behind a login.

(No `from __future__ import annotations` here: FastAPI reads the annotations of route
functions at definition time, and dependencies defined in closures must resolve.)

Every figure comes from the same report model as ``thrv pack`` (``thrv.report.model``); the
API never computes anything the files do not. Packs are built once per month and cached
in memory (a national store takes tens of seconds to aggregate; a cached force-month page
then answers in milliseconds); ``warm`` months are built when the server starts
(``"latest"`` stands for the store's last month).
"""


import io
import re
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from thrv import __version__
from thrv.web.auth import AuditLog, AuthError, Sessions, User, load_users, verify_secret
from thrv.web.partners import partners_router

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
MAX_BODY = 16 * 1024
MAX_URL = 2048
COOKIE = "thrv_session"
LEVELS = ("force", "area", "district")


Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="The pack month, YYYY-MM")]
Area = Annotated[str | None, Query(max_length=120, description="A force as published, an area or a district")]
Indicator = Annotated[str | None, Query(max_length=80, pattern=r"^[a-z0-9_]+$", description="An indicator id")]
Level = Annotated[str | None, Query(pattern=r"^(force|area|district)$", description="force, area or district")]
Format = Annotated[str, Query(pattern=r"^(csv|json|html|pdf|xlsx)$", description="File format")]
Limit = Annotated[int, Query(ge=1, le=1000)]


class PackCache:
    """Pack models per month, built on first use (one build at a time) and kept."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self._models: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.months: list[str] = []
        self.forces: list[str] = []
        self._load_catalogue()

    def _load_catalogue(self) -> None:
        from thrv.store.database import Store

        with Store(self.db, read_only=True) as store:
            if not store.has_table("crimes"):
                return
            rows = store.df("SELECT DISTINCT strftime(month, '%Y-%m') AS m FROM crimes ORDER BY m")
            self.months = rows["m"].tolist()
            self.forces = store.df("SELECT DISTINCT force FROM crimes ORDER BY force")["force"].tolist()

    def model(self, month: str) -> dict[str, Any]:
        if month in self._models:
            return self._models[month]
        with self._lock:
            if month not in self._models:
                from thrv.indicators.pack import build_pack, parse_month
                from thrv.report.model import pack_model
                from thrv.store.database import Store

                with Store(self.db, read_only=True) as store:
                    pack = build_pack(store, parse_month(month), levels=list(LEVELS))
                self._models[month] = pack_model(pack)
        return self._models[month]


def _filter(model: dict[str, Any], area: str | None, indicator: str | None, level: str | None) -> dict[str, Any]:
    """A pack model narrowed to an area (a force and what lies under it, or one area/district)."""
    rows = model["rows"]
    if area:
        wanted = area.lower()
        forces = {r["force"] for r in rows if r["area_level"] == "force" and r["area"].lower() == wanted}
        if forces:
            rows = [r for r in rows if r["force"] in forces]
        else:
            rows = [r for r in rows if r["area"].lower() == wanted]
        if not rows:
            raise HTTPException(404, f"no area called {area!r} in this pack")
    if indicator:
        rows = [r for r in rows if r["indicator"] == indicator]
        if not rows:
            raise HTTPException(404, f"no indicator {indicator!r} in this pack")
    if level:
        rows = [r for r in rows if r["area_level"] == level]
    keys = {f"{r['indicator']}|{r['area_level']}|{r['force']}|{r['area']}" for r in rows}
    series = {k: v for k, v in model.get("series", {}).items() if k in keys}
    ids = {r["indicator"] for r in rows}
    return {**model, "rows": rows, "series": series, "indicators": [i for i in model["indicators"] if i["id"] in ids]}


def create_app(
    db: Path,
    users_file: Path,
    audit_file: Path,
    warm: list[str] | None = None,
    sessions: Sessions | None = None,
) -> FastAPI:
    """The web application for a store; users and audit log are files beside it."""
    users = load_users(users_file)
    if not users:
        raise AuthError(
            f"no users in {users_file}: create one first, e.g. `thrv user add NAME --role analyst --db {db}`"
        )
    cache = PackCache(db)
    audit = AuditLog(audit_file)
    sessions = sessions or Sessions()
    verified: dict[str, str] = {}  # sha256(secret) -> user name, so PBKDF2 runs once per secret
    app = FastAPI(
        title="thrv",
        version=__version__,
        description=(
            "Police performance figures: the monthly pack (every indicator for a force, its areas "
            "and districts, with its tests), as JSON, CSV, HTML, PDF and Excel. Authenticate with a "
            "session cookie (log in at /login), an `Authorization: Bearer <token>` header or HTTP Basic."
        ),
    )
    app.state.cache = cache
    app.state.audit = audit

    @app.middleware("http")
    async def limits(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length and (not length.isdigit() or int(length) > MAX_BODY):
            return JSONResponse({"detail": f"request body too large (limit {MAX_BODY} bytes)"}, status_code=413)
        if len(str(request.url)) > MAX_URL:
            return JSONResponse({"detail": f"URL too long (limit {MAX_URL} characters)"}, status_code=414)
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    def _check(name: str, secret: str, field: str) -> User | None:
        import hashlib

        user = users.get(name)
        if user is None:
            return None
        key = hashlib.sha256(f"{field}:{name}:{secret}".encode()).hexdigest()
        if verified.get(key) == name:
            return user
        stored = user.password_hash if field == "password" else user.token_hash
        if stored and verify_secret(secret, stored):
            verified[key] = name
            return user
        return None

    def current_user(request: Request) -> User | None:
        cookie = request.cookies.get(COOKIE)
        if cookie:
            name = sessions.read(cookie)
            if name and name in users:
                return users[name]
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
            for user in users.values():
                found = _check(user.name, token, "token")
                if found:
                    return found
        if header.lower().startswith("basic "):
            import base64

            try:
                name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return _check(name, password, "password")
        return None

    def api_user(request: Request) -> User:
        user = current_user(request)
        if user is None:
            audit.write(user=None, role=None, method=request.method, path=request.url.path, status=401,
                        ip=request.client.host if request.client else None)
            raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": 'Bearer realm="thrv"'})
        audit.write(user=user.name, role=user.role, method=request.method, path=request.url.path,
                    query=str(request.url.query), ip=request.client.host if request.client else None)
        return user

    def analyst(user: Annotated[User, Depends(api_user)]) -> User:
        if user.role != "analyst":
            raise HTTPException(403, f"the {user.role} role cannot see this")
        return user

    def view(user: User, month: str, area: str | None, indicator: str | None = None, level: str | None = None) -> dict[str, Any]:
        """The model this user may see: analysts all, partners aggregates, public the safe view."""
        if month not in cache.months:
            raise HTTPException(404, f"no data for {month}; months held: {', '.join(cache.months[-24:])}")
        model = cache.model(month)
        if user.role == "public":
            from thrv.report.disclosure import public_model

            model = public_model(_filter(model, area, None, None)) if area else public_model(model)
            return _filter(model, None, indicator, level)
        model = _filter(model, area, indicator, level)
        if user.role == "partner":
            model = {**model, "rows": [r for r in model["rows"] if r["area_level"] != "lsoa"]}
        return model

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness check (no authentication, no data)."""
        return {"status": "ok", "version": __version__}

    @app.get("/api/months", tags=["pack"])
    def months(user: Annotated[User, Depends(api_user)]) -> dict[str, Any]:
        """Months the store holds street-level data for, and its forces."""
        return {"months": cache.months, "forces": cache.forces}

    @app.get("/api/pack", tags=["pack"])
    def pack(
        user: Annotated[User, Depends(api_user)],
        month: Month,
        area: Area = None,
        indicator: Indicator = None,
        level: Level = None,
    ) -> dict[str, Any]:
        """Every figure of the pack for the month (narrowed by area, indicator, level), with its tests."""
        return view(user, month, area, indicator, level)

    @app.get("/api/pack/download", tags=["pack"])
    def download(
        user: Annotated[User, Depends(api_user)],
        month: Month,
        area: Area = None,
        format: Format = "csv",
    ) -> Response:
        """The pack as a file: csv, json, html, pdf or xlsx."""
        model = view(user, month, area)
        public = user.role == "public"
        name = f"thrv-pack-{month}{'-' + re.sub(r'[^A-Za-z0-9]+', '-', area) if area else ''}"
        if format == "json":
            import json

            return Response(json.dumps(model, allow_nan=False), media_type="application/json",
                            headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
        if format == "csv":
            import pandas as pd

            from thrv.report.model import CONTRACT_COLUMNS

            frame = pd.DataFrame(model["rows"])
            cols = [c for c in CONTRACT_COLUMNS if c in frame.columns]
            buffer = io.StringIO()
            frame[cols + [c for c in frame.columns if c not in cols]].to_csv(buffer, index=False)
            return Response(buffer.getvalue(), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        from thrv.report.html import render_pack_html

        html = render_pack_html(model, public=public)
        if format == "html":
            return Response(html, media_type="text/html",
                            headers={"Content-Disposition": f'attachment; filename="{name}.html"'})
        with tempfile.TemporaryDirectory() as tmp:
            if format == "pdf":
                from thrv.report.pdf import html_to_pdf

                path = html_to_pdf(html, Path(tmp) / "pack.pdf")
                media = "application/pdf"
            else:
                from thrv.report.excel import write_pack_xlsx

                path = write_pack_xlsx(model, Path(tmp) / "pack.xlsx")
                media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            data = path.read_bytes()
        return StreamingResponse(io.BytesIO(data), media_type=media,
                                 headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'})

    app.include_router(partners_router(db, api_user, audit))  # partner data under the sharing agreement

    @app.get("/api/status", tags=["store"])
    def status(user: Annotated[User, Depends(analyst)]) -> dict[str, Any]:
        """What the store holds (analysts only)."""
        from thrv.store.database import Store
        from thrv.store.status import store_status

        with Store(db, read_only=True) as store:
            st = store_status(store)
        return {
            "tables": st.tables.astype(str).to_dict("records"),
            "files": st.files.astype(str).to_dict("records"),
            "reconciled": st.reconciled,
        }

    @app.get("/api/audit", tags=["store"])
    def audit_entries(
        user: Annotated[User, Depends(analyst)],
        limit: Limit = 100,
    ) -> list[dict[str, Any]]:
        """The latest audit entries (analysts only)."""
        return audit.read()[-limit:]

    # -- browser pages ---------------------------------------------------------------------
    from thrv.web.pages import register_pages

    register_pages(app, cache, audit, sessions, users, current_user, view, _check, COOKIE)

    if warm:
        def _warm() -> None:
            from thrv.report.charts import to_svg, trend_chart

            # the chart engine takes a second to start: start it before the first page
            to_svg(trend_chart([{"month": "2025-01", "value": 1.0}], "", "", None))
            for month in warm:
                if month == "latest" and cache.months:
                    month = cache.months[-1]
                if month in cache.months:
                    cache.model(month)

        threading.Thread(target=_warm, daemon=True).start()
    return app
