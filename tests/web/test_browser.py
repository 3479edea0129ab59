"""End to end in headless Chromium: log in, choose area and month, see table and chart, get the PDF."""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.web.conftest import PASSWORDS, CachedBuild
from thrv.web.app import create_app
from thrv.web.auth import Sessions

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(web_files: dict[str, object], cached_build: CachedBuild) -> Iterator[str]:
    app = create_app(web_files["db"], web_files["users"], web_files["audit"], warm=["2025-12"],  # type: ignore[arg-type]
                     sessions=Sessions(b"s" * 32), build=cached_build)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it: scripts/setup-system.sh)")
    from playwright.sync_api import sync_playwright

    # Playwright gives every launch a fresh, empty profile of its own
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _login(browser: object, server: str, name: str) -> object:
    context = browser.new_context(accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.console_messages = []
    page.on("console", lambda m: page.console_messages.append(m.text))
    page.goto(f"{server}/")
    assert page.url.endswith("/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORDS[name])
    page.click("#signin")
    page.wait_for_selector("#pack-table", timeout=60_000)
    return page


def test_analyst_picks_area_and_month_sees_table_and_chart_and_downloads_pdf(browser: object, server: str) -> None:
    from pypdf import PdfReader

    page = _login(browser, server, "ana")
    page.select_option("#month", "2025-12")
    page.wait_for_selector("#pack-table")
    page.select_option("#area", "Fenland")
    page.wait_for_url("**area=Fenland**")
    assert "Fenland" in page.inner_text("h2")
    rows = page.locator("#pack-table tbody tr")
    assert rows.count() >= 15
    assert "Burglary" in page.inner_text("#pack-table")
    page.select_option("#indicator", "burglary")
    page.wait_for_url("**indicator=burglary**")
    assert page.locator("#chart svg").count() == 1
    assert "Burglary" in page.inner_text("#sentence")
    with page.expect_download(timeout=120_000) as info:
        page.click("#download-pdf")
    pdf = info.value.path()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(Path(pdf).read_bytes())).pages)
    assert "Rolling 12 months" in text and "Fenland" in text and "Burglary" in text
    # the strict Content-Security-Policy let everything the dashboard needs through
    assert not [m for m in page.console_messages if "Content Security Policy" in m]
    page.context.close()


def test_api_docs_work_offline_under_the_policy(browser: object, server: str) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert "/api/pack" in page.inner_text("body")
    assert all(u.startswith(server) for u in requested), [u for u in requested if not u.startswith(server)]
    assert not [m for m in messages if "Content Security Policy" in m]
    page.close()


def test_partner_is_refused_analyst_data_in_the_browser(browser: object, server: str) -> None:
    page = _login(browser, server, "pat")
    response = page.request.get(f"{server}/api/status")
    assert response.status == 403
    assert "partner" in page.inner_text(".who")
    page.context.close()


def test_public_view_shows_no_suppressed_value(browser: object, server: str) -> None:
    page = _login(browser, server, "pub")
    page.select_option("#area", "Fenland")
    page.wait_for_url("**area=Fenland**")
    assert "Published view" in page.inner_text("body")
    cells = page.locator("#pack-table td.num").all_inner_texts()
    numbers = [int(c.replace(",", "")) for c in cells if c.replace(",", "").isdigit()]
    assert numbers and all(n == 0 or n >= 5 for n in numbers)
    assert any(c.startswith("<5") for c in cells)
    page.context.close()
