"""The public role of ``thrv serve`` on the real sample: every API view of every month is cut
from the same release as ``thrv pack --public``, the intruder given all of them recovers
nothing, and the dashboard's charts carry only published values."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.report import intruder
from thrv.report.disclosure import csv_rows

PUB = ("pub", "public-password-1")
ANA = ("ana", "analyst-password-1")


def _stub_build(path: Path, month: str) -> dict[str, Any]:
    """The analysts' model is not what these tests look at: a cheap stand-in for it."""
    return {"meta": {"month": month, "levels": []}, "rows": [], "series": {}, "indicators": []}


@pytest.fixture(scope="module")
def server(published: dict[str, Any], sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from thrv.web.app import create_app
    from thrv.web.auth import Sessions, add_user

    folder = tmp_path_factory.mktemp("public_web")
    users = folder / "users.json"
    add_user(users, PUB[0], "public", PUB[1], iterations=1000)
    add_user(users, ANA[0], "analyst", ANA[1], iterations=1000)
    months = published["threshold"]["release"].months
    app = create_app(sample_store, users, folder / "audit.jsonl", sessions=Sessions(b"w" * 32), build=_stub_build,
                     warm=months, snapshot_dir=folder / "snapshots")
    with TestClient(app) as client:
        for m in months:
            assert app.state.builds.wait_month(m, 600) is not None, m
        views: dict[str, list[dict[str, Any]]] = {}
        for m in months:
            whole = client.get(f"/api/pack?month={m}", auth=PUB).json()
            got = [whole]
            for area in sorted({r["area"] for r in whole["rows"]}):
                got.append(client.get(f"/api/pack?month={m}&area={area}", auth=PUB).json())
            for level in ("force", "area", "district"):
                got.append(client.get(f"/api/pack?month={m}&level={level}", auth=PUB).json())
            views[m] = got
        latest = months[-1]
        for ind in sorted({r["indicator"] for r in views[latest][0]["rows"]}):
            views[latest].append(client.get(f"/api/pack?month={latest}&indicator={ind}", auth=PUB).json())
        yield {"client": client, "app": app, "views": views, "months": months}


def test_every_api_view_of_every_month_is_the_release(published: dict[str, Any], server: dict[str, Any]) -> None:
    release_models = published["threshold"]["models"]  # what `thrv pack --public` publishes
    assert set(server["views"]) == set(release_models)
    for month, views in server["views"].items():
        model = release_models[month]
        full = {(r["indicator"], r["area_level"], r["force"], r["area"]): r for r in model["rows"]}
        assert len(views[0]["rows"]) == len(full)
        for view in views:
            assert view["meta"]["disclosure"] == model["meta"]["disclosure"]
            assert view["rows"]
            for r in view["rows"]:
                assert r == full[(r["indicator"], r["area_level"], r["force"], r["area"])]
            for key, points in view["series"].items():
                assert points == model["series"][key]


def test_the_intruder_given_every_api_view_recovers_nothing(published: dict[str, Any], server: dict[str, Any]) -> None:
    entry = published["threshold"]
    every = [v for views in server["views"].values() for v in views]
    know = intruder.collect(every)
    assert know.conflicts == []
    hidden = [k for k, s in know.cells.items() if s.kind]
    assert len(hidden) > 100
    wholes = [views[0] for views in server["views"].values()]
    assert [p for m in wholes for p in intruder.derived_problems(m, know, entry["populations"])] == []
    assert intruder.attack(know, intruder.layout_of(wholes[-1]), entry["side"]) == []


def test_csv_and_json_downloads_are_the_release(published: dict[str, Any], server: dict[str, Any]) -> None:
    client, month = server["client"], server["months"][-1]
    model = published["threshold"]["models"][month]
    want = {(r["indicator"], r["area_level"], r["area"]): r for r in csv_rows(model)}
    for area in ("", "South", "East Cambridgeshire"):
        r = client.get(f"/api/pack/download?month={month}&format=csv{'&area=' + area if area else ''}", auth=PUB)
        assert r.status_code == 200
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert rows and "suppressed" in rows[0]
        for row in rows:
            ref = want[(row["indicator"], row["area_level"], row["area"])]
            for col in ("current", "prev_1y", "rolling_12m", "p_value", "q_value", "suppressed"):
                v = ref.get(col)
                assert row[col] == ("" if v is None else str(v) if not isinstance(v, float) else row[col]), (area, col)
                if isinstance(v, float):
                    assert float(row[col]) == pytest.approx(v, rel=1e-12)
            if row["suppressed"]:
                assert row["suppressed"] in ("primary", "secondary")
        j = client.get(f"/api/pack/download?month={month}&format=json{'&area=' + area if area else ''}", auth=PUB).json()
        for r_ in j["rows"]:
            assert r_ == {**next(x for x in model["rows"] if (x["indicator"], x["area_level"], x["area"])
                                 == (r_["indicator"], r_["area_level"], r_["area"]))}


_POINT = re.compile(r'aria-label="date: [^;"]*; [^;"]*; month: (\d{4}-\d{2}); value: ([0-9.eE+-]+)"')


def test_the_dashboards_charts_carry_only_published_values(published: dict[str, Any], server: dict[str, Any]) -> None:
    """The SVG charts hold their points' values (aria labels): a withheld month has no point."""
    client, month = server["client"], server["months"][-1]
    model = published["threshold"]["models"][month]
    rows = [r for r in model["rows"] if r["measure"] == "count" and r["suppressed"] and r["area_level"] != "force"]
    checked = withheld_months = 0
    for row in rows[:6]:
        key = f"{row['indicator']}|{row['area_level']}|{row['force']}|{row['area']}"
        series = {p["month"]: p for p in model["series"][key]}
        page = client.get(f"/?month={month}&area={row['area']}&indicator={row['indicator']}", auth=PUB)
        assert page.status_code == 200
        points = _POINT.findall(page.text)
        assert points, row["area"]
        for m, v in points:
            assert series[m]["value"] is not None and float(v) == pytest.approx(series[m]["value"]), (key, m)
            checked += 1
        hidden = {m for m, p in series.items() if p.get("suppressed")}
        withheld_months += len(hidden)
        assert not hidden & {m for m, _ in points}
    assert checked > 0 and withheld_months > 0
