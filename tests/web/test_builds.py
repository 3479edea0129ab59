"""Builds and renders: only analysts start them, one at a time; the server reads a snapshot,
so an ingest can write while it serves; public views are cut from one decision."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import MONTH, PASSWORDS, CachedBuild
from thrv.web.builds import ANALYST, PRERENDER, WARM, Catalogue, Worker

ANA, PAT, PUB = (("ana", PASSWORDS["ana"]), ("pat", PASSWORDS["pat"]), ("pub", PASSWORDS["pub"]))


class Counting(CachedBuild):
    def __init__(self, inner: CachedBuild) -> None:
        super().__init__()
        self.models = inner.models  # share the session's one build


def test_public_and_partner_users_never_start_a_build(
    make_app: Callable[..., Any], quick_users: Path, cached_build: CachedBuild
) -> None:
    build = Counting(cached_build)
    with TestClient(make_app(users=quick_users, build=build)) as c:
        for who in (PUB, PAT):
            r = c.get(f"/api/pack?month={MONTH}", auth=who)
            assert r.status_code == 503 and "not prepared" in r.json()["detail"]
            r = c.get(f"/api/pack/download?month={MONTH}&format=pdf", auth=who)
            assert r.status_code == 503
        assert c.get("/", auth=PUB).status_code == 503  # the page says so too
        time.sleep(0.3)
        assert build.calls == []
        assert c.get(f"/api/pack?month={MONTH}&level=force", auth=ANA).status_code == 200
        assert [m for _, m in build.calls] == [MONTH]
        assert c.get(f"/api/pack?month={MONTH}", auth=PUB).status_code == 200  # now it is built
        # the build read the server's snapshot, never the store itself
        assert build.calls[0][0] != Path(str(c.app.state.builds.db))  # type: ignore[attr-defined]


def test_renders_happen_once_and_are_then_served_to_everyone_of_that_audience(
    make_app: Callable[..., Any], quick_users: Path, cached_build: CachedBuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    import thrv.report.excel as excel

    made: list[int] = []
    real = excel.write_pack_xlsx

    def counting(model: dict[str, Any], path: Path) -> Path:
        made.append(len(model["rows"]))
        return real(model, path)

    monkeypatch.setattr(excel, "write_pack_xlsx", counting)
    with TestClient(make_app(users=quick_users, build=Counting(cached_build), warm=[MONTH])) as c:
        c.app.state.builds.wait_month(MONTH, 300)  # type: ignore[attr-defined]
        url = f"/api/pack/download?month={MONTH}&area=Fenland&format=xlsx"
        assert c.get(url, auth=PAT).status_code == 503  # a partner cannot start the render
        first = c.get(url, auth=ANA)
        assert first.status_code == 200 and first.content.startswith(b"PK")
        again = c.get(url.replace("Fenland", "fenland"), auth=PAT)  # any spelling: the same file
        assert again.status_code == 200 and again.content == first.content
        assert len(made) == 1  # rendered once
        assert c.get(url, auth=PUB).status_code == 503  # the public file is another one, not made


def test_the_worker_runs_one_job_at_a_time_highest_priority_first() -> None:
    worker = Worker()
    order: list[str] = []
    running = [0, 0]
    gate = threading.Event()

    def job(name: str) -> Callable[[], str]:
        def run() -> str:
            running[0] += 1
            running[1] = max(running)
            if name == "first":
                gate.wait(5)
            time.sleep(0.01)
            order.append(name)
            running[0] -= 1
            return name
        return run

    worker.submit("first", job("first"), WARM)
    worker.start()
    time.sleep(0.05)  # "first" is running; the rest queue behind it
    worker.submit("prerender", job("prerender"), PRERENDER)
    worker.submit("warm", job("warm"), WARM)
    worker.submit("analyst", job("analyst"), ANALYST)
    worker.submit("analyst", job("analyst"), ANALYST)  # asked twice, run once
    assert worker.progress("prerender")["state"] == "queued" and worker.progress("prerender")["ahead"] == 3
    gate.set()
    assert worker.wait("prerender", 5) == "prerender"
    worker.stop()
    assert order == ["first", "analyst", "warm", "prerender"]
    assert running[1] == 1


def _hold_write_lock(db: Path) -> subprocess.Popen[str]:
    """Another process writing the store, as `thrv ingest` does (DuckDB: one writer process)."""
    code = (
        "import sys, duckdb; con = duckdb.connect(sys.argv[1]); "
        "con.execute('CREATE TABLE IF NOT EXISTS during_ingest AS SELECT 1 AS x'); print('writing', flush=True); "
        "sys.stdin.readline(); con.close()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    return proc


def test_ingest_and_serving_run_together(
    make_app: Callable[..., Any], quick_users: Path, web_files: dict[str, Any], tmp_path: Path,
    cached_build: CachedBuild,
) -> None:
    from thrv.web.app import create_app
    from thrv.web.auth import Sessions

    db = tmp_path / "live.duckdb"
    shutil.copyfile(web_files["db"], db)
    app = create_app(db, quick_users, tmp_path / "audit.jsonl", sessions=Sessions(b"k" * 32), poll=0.2,
                     build=Counting(cached_build))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/api/months", auth=ANA).status_code == 200
        writer = _hold_write_lock(db)  # the server does not hold the file: a writer gets it
        try:
            r = c.get("/api/months", auth=ANA)
            assert r.status_code == 200 and r.json()["months"][-1] == MONTH  # served from the snapshot
            # a server started while the ingest runs answers 503 with a reason, not 500
            late = create_app(db, quick_users, tmp_path / "audit2.jsonl", sessions=Sessions(b"k" * 32), poll=0.2)
            with TestClient(late, raise_server_exceptions=False) as c2:
                r2 = c2.get("/api/months", auth=ANA)
                assert r2.status_code == 503 and "ingest is running" in r2.json()["detail"]
                assert "Traceback" not in r2.text
                assert c2.get("/api/health").json()["store_read"] is False
                page = c2.get("/", auth=ANA)
                assert page.status_code == 503 and "ingest is running" in page.text and 'http-equiv="refresh"' in page.text
        finally:
            assert writer.stdin is not None
            writer.stdin.write("\n")
            writer.stdin.flush()
            writer.wait(10)
        builds = app.state.builds
        for _ in range(100):  # the ingest ended: the new data is picked up
            if builds.catalogue.version >= 2:
                break
            time.sleep(0.1)
        assert builds.snapshots.version == 2 and builds.catalogue.version == 2


def _cells(model: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    cols = ("current", "prev_1y", "prev_2y", "prev_3y", "rolling_12m", "baseline", "rate_per_1000", "label",
            "p_value", "change_prev_1y", "sentence")
    return {(r["indicator"], r["area_level"], r["area"], c): r.get(c) for r in model["rows"] for c in cols}  # type: ignore[misc]


def test_public_views_of_an_area_show_exactly_the_cells_of_the_whole_public_view(client: TestClient) -> None:
    """Issue: /api/pack?area=X decided suppression again on the subset, publishing cells the
    whole view withholds (South 132 − Cambridge 92 − South Cambridgeshire 36 = East Cambs 4)."""
    from thrv.report.disclosure import is_marker, public_model
    from thrv.web.app import _filter

    whole = client.get(f"/api/pack?month={MONTH}", auth=PUB).json()
    published = _cells(whole)
    areas = sorted({r["area"] for r in whole["rows"]})
    assert {"South", "Cambridge", "East Cambridgeshire", "South Cambridgeshire"} <= set(areas)
    for area in areas:
        part = client.get(f"/api/pack?month={MONTH}&area={area}", auth=PUB).json()
        assert part["rows"]
        for cell, value in _cells(part).items():
            assert published[cell] == value, (area, cell)
        page = client.get(f"/?month={MONTH}&area={area}", auth=PUB)
        assert page.status_code == 200
    # the check can fail: deciding again on one district publishes cells the whole view hides
    full = client.app.state.builds.month(MONTH).full  # type: ignore[attr-defined]
    redecided = 0
    for area in ("East Cambridgeshire", "South Cambridgeshire", "Fenland"):
        for cell, value in _cells(public_model(_filter(full, area, None, None))).items():
            # withheld in the whole view ("<5" or "[c]"), a number in the re-decided part
            redecided += is_marker(published.get(cell)) and isinstance(value, (int, float))
    assert redecided > 0


def test_catalogue_opens_on_the_users_force_or_the_first_with_recent_data() -> None:
    cat = Catalogue(
        1, "", ["2025-10", "2025-11", "2025-12"], ["Avon and Somerset", "Cambridgeshire", "Kent"],
        {"Avon and Somerset": ["2025-10"], "Cambridgeshire": ["2025-10", "2025-11", "2025-12"],
         "Kent": ["2025-11", "2025-12"]},
    )
    assert cat.default_force("") == "Cambridgeshire"  # not the alphabetically first, which has no recent data
    assert cat.default_force("Kent") == "Kent"
    assert cat.default_force("Atlantis") == "Cambridgeshire"
    assert cat.latest_month("Avon and Somerset") == "2025-10"
    one = Catalogue(1, "", ["2025-10"], ["Kent"], {"Kent": ["2025-10"]})
    assert one.default_force("") == "Kent"


def test_the_pdf_download_is_the_board_paper_with_its_appendix(
    make_app: Callable[..., Any], quick_users: Path, cached_build: CachedBuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The force's PDF is what `thrv pack --format pdf` writes: the pack, then its areas and districts as an appendix."""
    import thrv.report.pdf as pdf

    seen: list[str] = []

    def capture(html: str, path: Path) -> Path:
        seen.append(html)
        path.write_bytes(b"%PDF-1.7 captured")
        return path

    monkeypatch.setattr(pdf, "html_to_pdf", capture)
    with TestClient(make_app(users=quick_users, build=Counting(cached_build), warm=[MONTH])) as c:
        c.app.state.builds.wait_month(MONTH, 300)  # type: ignore[attr-defined]
        r = c.get(f"/api/pack/download?month={MONTH}&format=pdf", auth=ANA)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert len(seen) == 1
    assert "Appendix: areas and districts" in seen[0] and "Fenland" in seen[0]
