"""The dashboard and REST API (FastAPI): the same figures as the files, behind a login.

(No `from __future__ import annotations` here: FastAPI reads the annotations of route
functions at definition time, and dependencies defined in closures must resolve.)

Every figure comes from the same report model as ``thrv pack`` (``thrv.report.model``); the
API never computes anything the files do not. The server reads a snapshot of the store,
never the store itself, so ``thrv ingest`` can run while it serves; months are built and
files rendered by one background worker (:mod:`thrv.web.builds`), and requests are
served from what it has built. Public users get views cut from one disclosure decision
made once for every month and level of the snapshot (:class:`Releases`, the same release
as ``thrv pack --public``), never decided again on a part of it (:func:`public_view`).

Routers added by other parts of thrv are listed in :data:`ROUTERS` and included by
:func:`include_routers`; :mod:`thrv.web.access` has the role checks they use.
"""


import importlib
import io
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from thrv import __version__
from thrv.web.access import Access, Analyst, AnyUser
from thrv.web.auth import (
    AuditLog,
    AuthError,
    Credentials,
    LoginThrottle,
    Sessions,
    ThrottleSettings,
    User,
    load_settings,
    load_users,
)
from thrv.web.builds import ANALYST, Builds, Month, build_month

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
MEDIA = {
    "csv": "text/csv",
    "json": "application/json",
    "html": "text/html",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
RENDERED = ("html", "pdf", "xlsx")  # costly: built by the worker, once per month/area/audience

#: Routers other parts of thrv add to the server: each module's ``router`` (an APIRouter)
#: is included when the module exists. Add a module here; nothing else needs to change.
ROUTERS = ("thrv.web.partners",)

Month_ = Annotated[str, Query(pattern=MONTH_PATTERN, description="The pack month, YYYY-MM")]
Area = Annotated[str | None, Query(max_length=120, description="A force as published, an area or a district")]
Indicator = Annotated[str | None, Query(max_length=80, pattern=r"^[a-z0-9_]+$", description="An indicator id")]
Level = Annotated[str | None, Query(pattern=r"^(force|area|district)$", description="force, area or district")]
Format = Annotated[str, Query(pattern=r"^(csv|json|html|pdf|xlsx)$", description="File format")]
Limit = Annotated[int, Query(ge=1, le=1000)]


class NotReady(Exception):
    """The figures asked for are not built yet (or the store cannot be read yet): 503."""

    def __init__(self, message: str, progress: dict[str, Any] | None = None, retry: int | None = 5) -> None:
        super().__init__(message)
        self.message, self.progress, self.retry = message, progress or {}, retry


def area_key(model: dict[str, Any], area: str | None) -> str:
    """The canonical name of an area in a model ('' for the whole model: no area, or the
    only force), so one file serves every spelling of the same request."""
    if not area:
        return ""
    wanted = area.lower()
    forces = sorted({r["force"] for r in model["rows"]})
    for f in forces:
        if f.lower() == wanted:
            return "" if len(forces) == 1 else f
    for r in model["rows"]:
        if r["area"].lower() == wanted:
            return str(r["area"])
    raise HTTPException(404, f"no area called {area!r} in this pack")


def _filter(model: dict[str, Any], area: str | None, indicator: str | None, level: str | None) -> dict[str, Any]:
    """A model narrowed to an area (a force and what lies under it, or one area/district).

    Only rows are chosen; no figure is changed, so a narrowed public view shows exactly the
    cells of the whole public view.
    """
    rows = model["rows"]
    meta = model["meta"]
    name = area_key(model, area)
    if name:
        forces = {r["force"] for r in rows if r["area_level"] == "force" and r["area"] == name}
        rows = [r for r in rows if r["force"] in forces] if forces else [r for r in rows if r["area"] == name]
        if not forces:
            meta = {**meta, "area": name}
    if indicator:
        rows = [r for r in rows if r["indicator"] == indicator]
        if not rows:
            raise HTTPException(404, f"no indicator {indicator!r} in this pack")
    if level:
        rows = [r for r in rows if r["area_level"] == level]
    keys = {f"{r['indicator']}|{r['area_level']}|{r['force']}|{r['area']}" for r in rows}
    series = {k: v for k, v in model.get("series", {}).items() if k in keys}
    ids = {r["indicator"] for r in rows}
    return {**model, "meta": meta, "rows": rows, "series": series,
            "indicators": [i for i in model["indicators"] if i["id"] in ids]}


class Releases:
    """The disclosure release of each store snapshot the server reads.

    A release (:func:`thrv.report.disclosure.build_release`) decides suppression once for
    every month and level the snapshot holds; every public model, view and file of that
    snapshot is cut from it. Built on first use by the worker (one thread), and kept for
    the latest snapshot only.
    """

    def __init__(self, rule: Any = None) -> None:
        from thrv.report.disclosure import DisclosureRule

        self.rule = rule or DisclosureRule()
        self._path: Path | None = None
        self._release: Any = None

    def of(self, path: Path) -> Any:
        if self._path != path or self._release is None:
            from thrv.report.disclosure import build_release
            from thrv.store.database import Store

            with Store(path, read_only=True) as store:
                self._release = build_release(store, self.rule)
            self._path = path
        return self._release


def public_month(release: Any, month: str) -> dict[str, Any]:
    """The public model of a whole month (every level), cut from the snapshot's one release."""
    from thrv.report.disclosure import PUBLIC_LEVELS

    model: dict[str, Any] = release.model(month)
    assert set(model["meta"]["levels"]) <= set(PUBLIC_LEVELS)
    return model


def public_rule(settings: dict[str, Any]) -> Any:
    """The disclosure rule of the public role, from web.toml's ``[disclosure]``."""
    from thrv.report.disclosure import DisclosureRule

    return DisclosureRule.from_settings(settings.get("disclosure", {}))


def month_for(builds: Builds, user: User, month: str, wait: float) -> Month:
    """A built month for this user, or NotReady: analysts may queue a build and wait for
    it; partner and public users are served only what is built."""
    cat = builds.catalogue
    if cat is None:
        raise NotReady(f"the store cannot be read yet: {builds.snapshots.message or 'reading it'}; retry shortly")
    if month not in cat.months:
        raise HTTPException(404, f"no data for {month}; months held: {', '.join(cat.months[-24:])}")
    built = builds.month(month)
    if built is not None:
        return built
    key = builds.month_key(month)
    if user.role == "analyst":
        builds.request_month(month, ANALYST)
        built = builds.wait_month(month, wait)
        if built is not None:
            return built
    progress = builds.progress(key)
    if progress["state"] in ("queued", "running"):
        raise NotReady(f"the figures for {month} are being prepared; retry shortly", progress)
    if progress["state"] == "failed":
        raise NotReady(f"the figures for {month} could not be built ({progress['error']})", progress, retry=None)
    raise NotReady(f"the figures for {month} are not prepared on this server yet (an analyst can prepare them)",
                   progress, retry=None)


def public_view(builds: Builds, user: User, month: str, area: str | None = None,
                indicator: str | None = None, level: str | None = None, wait: float = 0.0) -> dict[str, Any]:
    """THE way every public response is made: the public model of the whole month
    (:func:`public_month`, cut from the snapshot's release by the worker and kept), then narrowed.
    Never suppress a filtered subset: that decides again on part of the data, and the
    difference between two such views gives hidden cells back."""
    built = month_for(builds, user, month, wait)
    return _filter(built.derived["public"], area, indicator, level)


def view(builds: Builds, user: User, month: str, area: str | None = None, indicator: str | None = None,
         level: str | None = None, wait: float = 0.0) -> dict[str, Any]:
    """The model this user may see: analysts all, partners aggregates, public the safe view."""
    if user.role == "public":
        return public_view(builds, user, month, area, indicator, level, wait)
    model = _filter(month_for(builds, user, month, wait).full, area, indicator, level)
    if user.role == "partner":
        model = {**model, "rows": [r for r in model["rows"] if r["area_level"] != "lsoa"]}
    return model


def audience_of(user: User) -> str:
    """Whose files a user gets: 'public', or 'full' (analysts and partners see the same
    aggregate model: a server build holds no LSOA rows)."""
    return "public" if user.role == "public" else "full"


def render_file(built: Month, area: str, audience: str, fmt: str, builds: Builds) -> bytes:
    """One download file (runs in the worker; kept by month, area, audience and format)."""
    import tempfile

    model = _filter(built.derived["public"] if audience == "public" else built.full, area or None, None, None)
    if fmt in ("csv", "json"):
        return small_file(model, fmt)
    if fmt == "html":
        from thrv.report.html import render_pack_html

        return render_pack_html(model, public=audience == "public").encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        if fmt == "pdf":
            from thrv.report.html import render_pack_html
            from thrv.report.pdf import html_to_pdf

            # the board paper: the main part and the area and district detail as its appendix,
            # as `thrv pack --format pdf` writes it
            html = render_pack_html(model, public=audience == "public", part="pdf")
            path = html_to_pdf(html, Path(tmp) / "pack.pdf")
        else:
            from thrv.report.excel import write_pack_xlsx

            path = write_pack_xlsx(model, Path(tmp) / "pack.xlsx")
        return path.read_bytes()


def small_file(model: dict[str, Any], fmt: str) -> bytes:
    """CSV or JSON of a model: quick enough to make on request."""
    if fmt == "json":
        return json.dumps(model, allow_nan=False).encode("utf-8")
    import pandas as pd

    from thrv.report.model import CONTRACT_COLUMNS

    rows, first = model["rows"], list(CONTRACT_COLUMNS)
    if "disclosure" in model["meta"]:  # public: withheld cells empty, their kind in `suppressed` (as pack.csv)
        from thrv.report.disclosure import csv_rows

        rows, first = csv_rows(model), [*CONTRACT_COLUMNS, "suppressed", "suppressed_columns"]
    frame = pd.DataFrame(rows)
    cols = [c for c in first if c in frame.columns]
    buffer = io.StringIO()
    frame[cols + [c for c in frame.columns if c not in cols]].to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def include_routers(app: FastAPI, names: tuple[str, ...] = ROUTERS) -> list[str]:
    """Include the ``router`` of each module in ``names`` that exists; returns those included."""
    included = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        app.include_router(module.router)
        included.append(name)
    return included


def create_app(
    db: Path,
    users_file: Path,
    audit_file: Path,
    warm: int | list[str] | None = None,
    sessions: Sessions | None = None,
    settings: dict[str, Any] | None = None,
    prerender: tuple[str, ...] = (),
    snapshot_dir: Path | None = None,
    poll: float | None = None,
    wait: float | None = None,
    build: Any = None,
) -> FastAPI:
    """The web application for a store; users and audit log are files beside it.

    ``warm``: months built in the background after start-up and every ingest (the latest N,
    or a list); ``prerender``: formats rendered for the latest month and each force, which
    partner and public users can then download; ``settings``: web.toml as a dict.
    """
    users = load_users(users_file)
    if not users:
        raise AuthError(
            f"no users in {users_file}: create one first, e.g. `thrv user add NAME --role analyst --db {db}`"
        )
    settings = settings if settings is not None else load_settings()
    conf = settings.get("builds", {})
    wait_seconds = float(wait if wait is not None else conf.get("wait_seconds", 60))
    releases = Releases(public_rule(settings))
    snapshot_of: dict[str, Path] = {}  # month -> the snapshot its analyst model was just built from
    inner_build = build or build_month

    def build_noting_snapshot(path: Path, month: str) -> dict[str, Any]:
        snapshot_of[month] = path
        result: dict[str, Any] = inner_build(path, month)
        return result

    def derive_public(full: dict[str, Any]) -> dict[str, Any]:
        # the worker derives right after the build, in the same job: the same snapshot
        month = str(full["meta"]["month"])
        return public_month(releases.of(snapshot_of[month]), month)

    builds = Builds(
        db, derive={"public": derive_public}, warm=warm, prerender=prerender,
        poll=float(poll if poll is not None else conf.get("poll_seconds", 10)), snapshot_dir=snapshot_dir,
        build=build_noting_snapshot,
    )
    builds.render = lambda built, area, audience, fmt: render_file(built, area, audience, fmt, builds)
    audit = AuditLog(audit_file)
    sessions = sessions or Sessions(revoked_file=users_file.with_name(users_file.name + ".revoked"))
    throttle = LoginThrottle(ThrottleSettings(**settings.get("login", {})))
    access = Access(users, Credentials(users), sessions, throttle)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        builds.start()
        if warm is not None:
            import threading

            threading.Thread(target=_warm_charts, daemon=True).start()
        try:
            yield
        finally:
            builds.stop()

    app = FastAPI(
        title="thrv",
        version=__version__,
        description=(
            "Police performance figures: the monthly pack (every indicator for a force, its areas "
            "and districts, with its tests), as JSON, CSV, HTML, PDF and Excel. Authenticate with a "
            "session cookie (log in at /login), an `Authorization: Bearer <token>` header or HTTP Basic. "
            "A 503 answer means the figures are being prepared: retry after the `Retry-After` seconds."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.builds = builds
    app.state.audit = audit
    app.state.access = access
    app.state.wait = wait_seconds

    from thrv.web.security import install_security

    install_security(app, audit, settings)

    @app.exception_handler(NotReady)
    async def not_ready(request: Request, exc: NotReady) -> Response:
        """503 with what is being prepared; a browser gets a page that reloads itself until ready."""
        headers = {"Retry-After": str(exc.retry)} if exc.retry else {}
        user = getattr(request.state, "user", None)
        if user is not None and "text/html" in request.headers.get("accept", ""):
            from thrv.web.pages import progress_page

            return progress_page(builds, user, exc.message, exc.progress)
        return JSONResponse({"detail": exc.message, "progress": exc.progress}, status_code=503, headers=headers)

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, Any]:
        """Liveness check (no authentication, no data): whether the store has been read."""
        return {"status": "ok", "version": __version__, "store_read": builds.catalogue is not None}

    @app.get("/api/months", tags=["pack"])
    def months(user: AnyUser) -> dict[str, Any]:
        """Months the store holds street-level data for, its forces, and which months are ready."""
        cat = builds.catalogue
        if cat is None:
            raise NotReady(f"the store cannot be read yet: {builds.snapshots.message or 'reading it'}")
        ready = [m for m in cat.months if builds.month(m) is not None]
        return {"months": cat.months, "forces": cat.forces, "ready": ready, "store_as_of": cat.taken_at,
                "default_force": cat.default_force(user.force)}

    @app.get("/api/pack", tags=["pack"])
    def pack(user: AnyUser, month: Month_, area: Area = None, indicator: Indicator = None,
             level: Level = None) -> dict[str, Any]:
        """Every figure of the pack for the month (narrowed by area, indicator, level), with its tests."""
        return view(builds, user, month, area, indicator, level, wait_seconds)

    @app.get("/api/pack/download", tags=["pack"])
    def download(request: Request, user: AnyUser, month: Month_, area: Area = None,
                 format: Format = "csv") -> Response:
        """The pack as a file: csv, json, html, pdf or xlsx (rendered once, then kept)."""
        model = view(builds, user, month, None, None, None, wait_seconds)
        name_key = area_key(model, area)
        audience = audience_of(user)
        name = f"thrv-pack-{month}{'-' + re.sub(r'[^A-Za-z0-9]+', '-', name_key) if name_key else ''}"
        headers = {"Content-Disposition": f'attachment; filename="{name}.{format}"'}
        if format not in RENDERED:
            return Response(small_file(_filter(model, name_key or None, None, None), format),
                            media_type=MEDIA[format], headers=headers)
        data = builds.file(month, name_key, audience, format)
        if data is None and user.role == "analyst":
            key = builds.request_file(month, name_key, audience, format, ANALYST)
            data = builds.worker.wait(key, wait_seconds)
        if data is None:
            progress = builds.progress(builds.file_key(month, name_key, audience, format))
            if user.role != "analyst" and progress["state"] == "none":
                raise NotReady(f"the {format.upper()} for {name_key or 'the whole pack'} in {month} is not "
                               "prepared on this server (CSV and JSON are always available)", progress, retry=None)
            raise NotReady(f"the {format.upper()} is being prepared; retry shortly", progress)
        headers["X-Thrv-Prepared"] = "yes"
        return Response(data, media_type=MEDIA[format], headers=headers)

    @app.get("/api/status", tags=["store"])
    def status(user: Analyst) -> dict[str, Any]:
        """What the store holds, as of the server's latest snapshot of it (analysts only)."""
        if builds.status is None:
            raise NotReady(f"the store cannot be read yet: {builds.snapshots.message or 'reading it'}")
        return {**builds.status, "store_as_of": builds.snapshots.taken_at}

    @app.get("/api/audit", tags=["store"])
    def audit_entries(user: Analyst, limit: Limit = 100) -> list[dict[str, Any]]:
        """The latest audit entries (analysts only)."""
        return audit.read()[-limit:]

    from thrv.web.docs import register_docs
    from thrv.web.pages import register_pages

    register_docs(app)
    register_pages(app)
    include_routers(app)
    return app


def _warm_charts() -> None:
    """The chart engine takes a second to start: start it before the first page asks."""
    from thrv.report.charts import to_svg, trend_chart

    to_svg(trend_chart([{"month": "2025-01", "value": 1.0}], "", "", None))
