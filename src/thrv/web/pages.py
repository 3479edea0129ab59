"""Browser pages: log in, then choose month, area and indicator; see the table, chart, findings.

Server-rendered HTML with inline SVG charts; styles and the one small script are files
served from here (the CSP allows nothing inline and nothing from elsewhere), so the
dashboard works on a police network with no internet access.

The first page is the user's force (``thrv user add --force``), else the store's only
force, else its first force with data in the latest month, at that force's latest month.
A month not built yet shows a progress note that refreshes itself until it is ready.
"""


import math
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any

import jinja2
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from thrv.web.access import COOKIE, access_of, client_address, optional_user
from thrv.web.auth import SESSION_HOURS, User

TEMPLATES = resources.files("thrv.web") / "templates"
STATIC = resources.files("thrv.web") / "static"
FORMATS = ("html", "pdf", "xlsx", "csv", "json")
ErrorText = Annotated[str | None, Query(max_length=100)]
UserName = Annotated[str, Form(max_length=80)]
Password = Annotated[str, Form(max_length=200)]
OptionalMonth = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
OptionalArea = Annotated[str | None, Query(max_length=120)]
OptionalIndicator = Annotated[str | None, Query(max_length=80, pattern=r"^[a-z0-9_]+$")]


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    from thrv.report.html import environment

    return environment(TEMPLATES)


@lru_cache(maxsize=2048)
def _chart_svg(key: str, points: tuple[tuple[str, float | None], ...], title: str, unit: str,
               spc: tuple[float | None, float | None, float | None]) -> str:
    from thrv.report.charts import to_svg, trend_chart

    data = [{"month": m, "value": v} for m, v in points]
    spc_dict = {"mean": spc[0], "lcl": spc[1], "ucl": spc[2]}
    del key
    return to_svg(trend_chart(data, title, unit, spc_dict, width=640, height=200))


def _num(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


def _login_page(error: str | None, status: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    html = _env().get_template("login.html.j2").render(error=error)
    return HTMLResponse(html, status_code=status, headers=dict(headers or {}))


def progress_note(progress: dict[str, Any]) -> str:
    """'building for 5 s (usually about 12 s)' / 'queued: 2 jobs ahead' for a progress dict."""
    typical = progress.get("typical")
    usual = f" (usually about {typical:.0f} s)" if typical else ""
    if progress.get("state") == "running":
        return f"building for {progress['seconds']:.0f} s{usual}"
    if progress.get("state") == "queued":
        return f"queued: {progress['ahead']} job(s) ahead{usual}"
    return ""


def register_pages(app: FastAPI) -> None:
    from thrv.web.app import NotReady, _filter, area_key, audience_of, view

    builds = app.state.builds

    @app.get("/static/base.css", include_in_schema=False)
    def base_css() -> Response:
        css = (resources.files("thrv.report") / "templates" / "base.css").read_text(encoding="utf-8")
        return PlainTextResponse(css, media_type="text/css")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(error: ErrorText = None) -> HTMLResponse:
        return _login_page(error)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, username: UserName, password: Password) -> Response:
        from fastapi import HTTPException

        request.state.attempted = username
        try:
            user = access_of(request).sign_in(username, password, client_address(request))
        except HTTPException as exc:  # locked out
            return _login_page(exc.detail[:1].upper() + exc.detail[1:] + ".", exc.status_code, exc.headers)
        if user is None:
            return _login_page("Wrong user name or password.", 401)
        request.state.user = user
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, access_of(request).sessions.issue(user.name), httponly=True,
                            samesite="strict", max_age=int(SESSION_HOURS * 3600))
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        optional_user(request)  # for the audit line
        request.state.event = "logout"
        cookie = request.cookies.get(COOKIE)
        if cookie:
            access_of(request).sessions.revoke(cookie)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(
        request: Request,
        month: OptionalMonth = None,
        area: OptionalArea = None,
        indicator: OptionalIndicator = None,
    ) -> Response:
        user = optional_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        cat = builds.catalogue
        if cat is None:
            return _progress(user, "The store cannot be read yet: " + (builds.snapshots.message or "reading it"), {})
        if not cat.months:
            return HTMLResponse("The store holds no street-level data yet: run `thrv ingest` first.", status_code=503)
        force = cat.default_force(user.force)
        area = area or force
        month = month or cat.latest_month(force)
        try:
            full = view(builds, user, month, None, wait=1.5 if user.role == "analyst" else 0.0)
        except NotReady as exc:
            return _progress(user, exc.message, exc.progress, month)
        built = builds.month(month)
        return _dashboard(user, cat, full, month, area, indicator, built)

    def _progress(user: User, message: str, progress: dict[str, Any], month: str | None = None) -> HTMLResponse:
        return progress_page(builds, user, message, progress, month)

    def _dashboard(user: User, cat: Any, full: dict[str, Any], month: str, area: str,
                   indicator: str | None, built: Any) -> HTMLResponse:
        model = _filter(full, area, None, None)
        rows = [r for r in model["rows"] if r["area"] == area] or model["rows"]
        area_level = rows[0]["area_level"] if rows else ""
        chosen = indicator or (rows[0]["indicator"] if rows else None)
        row = next((r for r in rows if r["indicator"] == chosen), None)
        chart = ""
        if row is not None:
            key = f"{row['indicator']}|{row['area_level']}|{row['force']}|{row['area']}"
            points = tuple((p["month"], _num(p["value"])) for p in model["series"].get(key, []))
            if points:
                spc = (_num(row.get("spc_mean")), _num(row.get("spc_lcl")), _num(row.get("spc_ucl")))
                title = f"{row['title']}{' ⚠' if row.get('generated_data') else ''} — {row['area']}"
                chart = _chart_svg(f"{month}|{key}|{user.role}", points, title, row.get("unit", ""), spc)
        from thrv.report.html import formatted

        audience = audience_of(user)
        name = area_key(full, area)
        downloads = []
        for fmt in FORMATS:
            ready = fmt in ("csv", "json") or builds.file(month, name, audience, fmt) is not None
            state = builds.progress(builds.file_key(month, name, audience, fmt))["state"]
            downloads.append({"format": fmt, "link": ready or user.role == "analyst",
                              "note": "" if ready or user.role == "analyst"
                              else "being prepared" if state in ("queued", "running") else "not prepared"})
        html = _env().get_template("dashboard.html.j2").render(
            user=user, months=list(reversed(cat.months)), month=month, areas=_areas(full), area=area,
            area_level=area_level, indicators=list(full["indicators"]), indicator=chosen,
            rows=[{**r, "f": formatted(r)} for r in rows], row=row, chart=chart,
            public=user.role == "public", disclosure=model["meta"].get("disclosure"),
            generated=model["meta"].get("generated_data") or [], downloads=downloads,
            stale=built.stale if built is not None else False, store_as_of=cat.taken_at,
        )
        return HTMLResponse(html)


def progress_page(builds: Any, user: User, message: str, progress: dict[str, Any],
                  month: str | None = None) -> HTMLResponse:
    """503: what is being prepared, how far it has got, and the months ready now; while a
    build is queued or running the page reloads itself every 3 s."""
    cat = builds.catalogue
    ready = [m for m in (cat.months if cat else []) if builds.month(m) is not None]
    refresh = progress.get("state") in ("queued", "running") or cat is None
    html = _env().get_template("progress.html.j2").render(
        user=user, message=message[:1].upper() + message[1:], note=progress_note(progress), refresh=refresh,
        month=month, ready=list(reversed(ready)),
    )
    return HTMLResponse(html, status_code=503, headers={"Retry-After": "3"} if refresh else None)


def _areas(model: dict[str, Any]) -> list[tuple[str, str]]:
    """(value, label) for the area chooser: each force, then its areas and districts."""
    out: list[tuple[str, str]] = []
    rows = model["rows"]
    for force in sorted({r["force"] for r in rows}):
        out.append((force, force))
        for level in ("area", "district"):
            for name in sorted({r["area"] for r in rows if r["force"] == force and r["area_level"] == level}):
                out.append((name, f"— {name} ({level})"))
    return out
