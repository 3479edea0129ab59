"""The dashboard's first page, its progress note, its downloads and its marking of generated data."""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.web.conftest import MONTH, PASSWORDS, CachedBuild
from thrv.web.auth import add_user

ANA, PUB = ("ana", PASSWORDS["ana"]), ("pub", PASSWORDS["pub"])


def test_first_page_is_the_force_with_data_at_its_latest_month(client: TestClient) -> None:
    page = client.get("/", auth=ANA)
    assert page.status_code == 200
    h2 = re.search(r"<h2>(.*?)</h2>", page.text, re.S)
    assert h2 and "Cambridgeshire Constabulary" in h2.group(1) and MONTH in h2.group(1)
    assert re.search(rf'<option value="{MONTH}" selected', page.text)
    assert "no data" not in page.text
    # the chart has a full series: every month label on its axis once
    labels = re.findall(r"<text[^>]*>([A-Z][a-z]{2} \d\d)</text>", page.text)
    assert len(labels) >= 4 and len(labels) == len(set(labels))
    assert "Burglary" in page.text and "pack-table" in page.text


def test_a_user_with_a_force_opens_on_it(make_app: Callable[..., Any], tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    add_user(users, "kim", "analyst", "kim-password-1", force="Cambridgeshire Constabulary", iterations=1000)
    with TestClient(make_app(users=users, warm=[MONTH])) as c:
        c.app.state.builds.wait_month(MONTH, 300)  # type: ignore[attr-defined]
        assert c.get("/api/months", auth=("kim", "kim-password-1")).json()["default_force"] == "Cambridgeshire Constabulary"
        page = c.get("/", auth=("kim", "kim-password-1"))
        assert 'value="Cambridgeshire Constabulary" selected' in page.text


def test_a_month_not_built_yet_shows_progress_until_it_is(
    make_app: Callable[..., Any], quick_users: Path, cached_build: CachedBuild
) -> None:
    gate = threading.Event()

    def slow(path: Path, month: str) -> dict[str, Any]:
        gate.wait(30)
        return cached_build(path, MONTH)

    with TestClient(make_app(users=quick_users, build=slow)) as c:
        page = c.get(f"/?month={MONTH}", auth=ANA)
        assert page.status_code == 503 and page.headers["retry-after"] == "3"
        assert 'http-equiv="refresh"' in page.text and "being prepared" in page.text and "building for" in page.text
        public = c.get(f"/?month={MONTH}", auth=PUB)  # the analyst's build is running: the public page waits too
        assert public.status_code == 503 and "building for" in public.text
        api = c.get(f"/api/pack?month={MONTH}", auth=PUB)
        assert api.status_code == 503 and api.json()["progress"]["state"] == "running"
        gate.set()
        assert c.app.state.builds.wait_month(MONTH, 30) is not None  # type: ignore[attr-defined]
        assert c.get(f"/?month={MONTH}", auth=PUB).status_code == 200


def test_generated_data_is_marked_as_in_the_files(
    make_app: Callable[..., Any], quick_users: Path, cached_build: CachedBuild
) -> None:
    def flagged(path: Path, month: str) -> dict[str, Any]:
        """The real month's model as build_pack marks it when calls come from a generated extract."""
        model = copy.deepcopy(cached_build(path, month))
        model["meta"]["generated_data"] = ["calls"]
        for i in model["indicators"]:
            i["generated_data"] = i["id"] == "burglary"
        for r in model["rows"]:
            r["generated_data"] = r["indicator"] == "burglary"
        return model

    with TestClient(make_app(users=quick_users, build=flagged, warm=[MONTH])) as c:
        c.app.state.builds.wait_month(MONTH, 300)  # type: ignore[attr-defined]
        # the analysts' model only: the public one is the release's, built from the store
        # itself by the same build_pack (whose marks come from the store's own rows), so
        # flags planted in this build do not reach it; the page is the same for both roles
        for who in (ANA,):
            page = c.get(f"/?month={MONTH}&indicator=burglary", auth=who).text
            assert 'id="generated"' in page and "Generated data:" in page and "calls" in page
            burglary = re.search(r"<tr[^>]*>\s*<td class=\"name\"><a[^>]*indicator=burglary\">Burglary</a>(.*?)</td>", page, re.S)
            assert burglary and "⚠" in burglary.group(1)
            assert re.search(r'<option value="burglary"[^>]*>Burglary ⚠</option>', page)
            robbery = re.search(r"indicator=robbery\">Robbery</a>(.*?)</td>", page, re.S)
            assert robbery and "⚠" not in robbery.group(1)


def test_public_downloads_offer_only_what_is_prepared(
    make_app: Callable[..., Any], quick_users: Path, cached_build: CachedBuild
) -> None:
    with TestClient(make_app(users=quick_users, warm=[MONTH], prerender=("xlsx",))) as c:
        builds = c.app.state.builds  # type: ignore[attr-defined]
        assert builds.worker.wait(builds.file_key(MONTH, "", "public", "xlsx"), 300) is not None
        page = c.get("/", auth=PUB).text
        assert 'id="download-xlsx" href=' in page  # prepared after start-up
        assert re.search(r'<span class="pending" id="download-pdf">PDF \(not prepared\)</span>', page)
        r = c.get(f"/api/pack/download?month={MONTH}&area=Cambridgeshire%20Constabulary&format=xlsx", auth=PUB)
        assert r.status_code == 200 and r.headers["x-thrv-prepared"] == "yes"
        analyst = c.get("/", auth=ANA).text
        assert 'id="download-pdf" href=' in analyst  # an analyst can always ask
