"""Dashboard and API response times on the national-scale store.

    python benchmarks/dashboard.py [--db bench-work/national-60m.duckdb] [--month 2025-12]

Starts `thrv serve`'s application on a local port with a throw-away analyst, builds the
month's pack once (the server does this at start-up for the latest month: the time is
printed), then requests the dashboard page and the JSON for one force-month, for every
force in turn, and prints the median and slowest response. Run benchmarks/national.py first
to build the derived national store.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn

from thrv.web.app import create_app
from thrv.web.auth import Sessions, add_user

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=ROOT / "bench-work" / "national-60m.duckdb")
    parser.add_argument("--month", default="2025-12")
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db}: build it first with python benchmarks/national.py")
    with tempfile.TemporaryDirectory() as tmp:
        users = Path(tmp) / "users.json"
        add_user(users, "bench", "analyst", "benchmark-password")
        app = create_app(args.db, users, Path(tmp) / "audit.jsonl", sessions=Sessions(b"b" * 32))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=600) as client:
            login = client.post("/login", data={"username": "bench", "password": "benchmark-password"})
            assert login.status_code in (200, 303), login.status_code
            started = time.perf_counter()
            first = client.get("/api/months")
            forces = first.json()["forces"]
            client.get(f"/api/pack?month={args.month}&level=force")  # builds and caches the month
            build = time.perf_counter() - started
            pages, api = [], []
            for force in forces:
                t = time.perf_counter()
                r = client.get(f"/?month={args.month}&area={quote(force)}")
                pages.append(time.perf_counter() - t)
                assert r.status_code == 200, (force, r.status_code)
                t = time.perf_counter()
                r = client.get(f"/api/pack?month={args.month}&area={quote(force)}")
                api.append(time.perf_counter() - t)
                assert r.status_code == 200
        server.should_exit = True
    print(f"store: {args.db.name}; month {args.month}; {len(forces)} forces")
    print(f"first build of the month's pack (once per month, at start-up): {build:.1f} s")
    print(f"dashboard page, one force-month: median {statistics.median(pages) * 1000:.0f} ms, slowest {max(pages) * 1000:.0f} ms")
    print(f"GET /api/pack, one force-month:  median {statistics.median(api) * 1000:.0f} ms, slowest {max(api) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
