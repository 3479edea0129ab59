"""Screenshot of the dashboard's first page in headless Chromium (docs/screenshots/dashboard.png).

    python tools/dashboard_screenshot.py --db out/demo/thrv.duckdb [--out docs/screenshots/dashboard.png]

Starts `thrv serve`'s application on a local port with a throw-away analyst, waits until the
latest month is built, signs in as a browser would and saves what the first page shows.
Run `make demo` first for the demo store (the bundled real sample plus generated extracts,
so the generated-data banner shows).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

from thrv.web.app import create_app
from thrv.web.auth import Sessions, add_user

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=ROOT / "out" / "demo" / "thrv.duckdb")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "dashboard.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db}: no such store (run `make demo` first)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        users = Path(tmp) / "users.json"
        add_user(users, "analyst", "analyst", "screenshot-password", iterations=1000)
        app = create_app(args.db, users, Path(tmp) / "audit.jsonl", warm=1, sessions=Sessions(b"x" * 32))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        cat = app.state.builds.catalogue
        app.state.builds.wait_month(cat.months[-1], 600)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#username", "analyst")
            page.fill("#password", "screenshot-password")
            page.click("#signin")
            page.wait_for_selector("#pack-table", timeout=600_000)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            browser.close()
        server.should_exit = True
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
