"""Browser pages: log in, then choose month, area and indicator; see the table, chart, findings.

Server-rendered HTML with inline SVG charts and a few lines of plain JavaScript, so the
dashboard works on a police network with no internet access.
"""


import math
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any

import jinja2
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from thrv.web.auth import AuditLog, Sessions, User

TEMPLATES = resources.files("thrv.web") / "templates"
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


def _css() -> str:
    return (resources.files("thrv.report") / "templates" / "base.css").read_text(encoding="utf-8")


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


def register_pages(
    app: FastAPI,
    cache: Any,
    audit: AuditLog,
    sessions: Sessions,
    users: dict[str, User],
    current_user: Callable[[Request], User | None],
    view: Callable[..., dict[str, Any]],
    check: Callable[[str, str, str], User | None],
    cookie: str,
) -> None:
    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(error: ErrorText = None) -> HTMLResponse:
        return HTMLResponse(_env().get_template("login.html.j2").render(css=_css(), error=error))

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        username: UserName,
        password: Password,
    ) -> Response:
        user = check(username, password, "password")
        ip = request.client.host if request.client else None
        if user is None:
            audit.write(user=username, role=None, method="POST", path="/login", status=401, ip=ip)
            return RedirectResponse("/login?error=Wrong+user+name+or+password", status_code=303)
        audit.write(user=user.name, role=user.role, method="POST", path="/login", status=200, ip=ip)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(cookie, sessions.issue(user.name), httponly=True, samesite="strict", max_age=8 * 3600)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(cookie)
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(
        request: Request,
        month: OptionalMonth = None,
        area: OptionalArea = None,
        indicator: OptionalIndicator = None,
    ) -> Response:
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        if not cache.months:
            return HTMLResponse("The store holds no street-level data yet: run `thrv ingest` first.", status_code=503)
        month = month or cache.months[-1]
        area = area or (cache.forces[0] if cache.forces else None)
        audit.write(user=user.name, role=user.role, method="GET", path="/", query=str(request.url.query),
                    ip=request.client.host if request.client else None)
        full = view(user, month, None)
        model = view(user, month, area)
        rows = [r for r in model["rows"] if r["area"] == area] or model["rows"]
        area_level = rows[0]["area_level"] if rows else ""
        indicators = list(full["indicators"])
        chosen = indicator or (rows[0]["indicator"] if rows else None)
        row = next((r for r in rows if r["indicator"] == chosen), None)
        chart = ""
        if row is not None:
            key = f"{row['indicator']}|{row['area_level']}|{row['force']}|{row['area']}"
            points = tuple((p["month"], _num(p["value"])) for p in model["series"].get(key, []))
            if points:
                spc = (_num(row.get("spc_mean")), _num(row.get("spc_lcl")), _num(row.get("spc_ucl")))
                chart = _chart_svg(f"{month}|{key}|{user.role}", points, f"{row['title']} — {row['area']}", row.get("unit", ""), spc)
        areas = _areas(full)
        from thrv.report.html import formatted

        display = [{**r, "f": formatted(r)} for r in rows]
        html = _env().get_template("dashboard.html.j2").render(
            css=_css(), user=user, months=list(reversed(cache.months)), month=month, areas=areas, area=area,
            area_level=area_level, indicators=indicators, indicator=chosen, rows=display, row=row, chart=chart,
            public=user.role == "public", disclosure=model["meta"].get("disclosure"),
        )
        return HTMLResponse(html)


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
