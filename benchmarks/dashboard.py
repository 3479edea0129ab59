"""Dashboard and API times, each beside the plain way of doing the same thing, in one run.

    python benchmarks/dashboard.py [--db out/demo/thrv.duckdb] [--month 2025-12] [--pdf]

Starts `thrv serve`'s application on a local port with throw-away users and prints:

- time from start-up until the month is ready (built in the background; before, the first
  visitor waited for it with no progress shown);
- the dashboard page and GET /api/pack for every force: median and slowest;
- each download the first time (rendered) and the second (kept); the first time is what
  every download cost before renders were kept (`--pdf` includes the PDF: a minute or so);
- sign-in with a wrong password for a user that exists and for one that does not (before:
  the unknown user answered at once, which told a guesser who exists);
- CPU per request with a wrong bearer token, now and by the old way (one PBKDF2 per user).

Works on any store: the demo store (`make demo`) or the national one of benchmarks/national.py.
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
from thrv.web.auth import (
    ITERATIONS,
    Credentials,
    Sessions,
    add_user,
    hash_secret,
    load_users,
    verify_secret,
)

ROOT = Path(__file__).resolve().parents[1]


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:,.0f} ms, slowest {max(values) * 1000:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=ROOT / "out" / "demo" / "thrv.duckdb")
    parser.add_argument("--month", default=None, help="default: the store's latest month")
    parser.add_argument("--pdf", action="store_true", help="also time the PDF download")
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db}: no such store (run `make demo`, or benchmarks/national.py)")
    with tempfile.TemporaryDirectory() as tmp:
        users = Path(tmp) / "users.json"
        add_user(users, "bench", "analyst", "benchmark-password")
        for i in range(9):
            add_user(users, f"user{i}", "public", "benchmark-password", with_token=True)
        started = time.perf_counter()
        app = create_app(args.db, users, Path(tmp) / "audit.jsonl", warm=1, sessions=Sessions(b"b" * 32))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        builds = app.state.builds
        month = args.month or builds.catalogue.months[-1]
        builds.wait_month(month, 3600)
        ready = time.perf_counter() - started
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=900) as client:
            login = client.post("/login", data={"username": "bench", "password": "benchmark-password"})
            assert login.status_code in (200, 303), login.status_code
            forces = client.get("/api/months").json()["forces"]
            pages, again, api = [], [], []
            for force in forces:
                for out in (pages, again):  # the first draws the chart, the second has it
                    t = time.perf_counter()
                    r = client.get(f"/?month={month}&area={quote(force)}")
                    out.append(time.perf_counter() - t)
                    assert r.status_code == 200, (force, r.status_code)
                t = time.perf_counter()
                r = client.get(f"/api/pack?month={month}&area={quote(force)}")
                api.append(time.perf_counter() - t)
                assert r.status_code == 200
            downloads = []
            for fmt in ("csv", "json", "xlsx", "html") + (("pdf",) if args.pdf else ()):
                times = []
                for _ in range(2):
                    t = time.perf_counter()
                    r = client.get(f"/api/pack/download?month={month}&area={quote(forces[0])}&format={fmt}")
                    times.append(time.perf_counter() - t)
                    assert r.status_code == 200, (fmt, r.status_code, r.text[:200])
                downloads.append((fmt, times[0], times[1], len(r.content)))
            client.cookies.clear()
            wrong, unknown = [], []
            for _ in range(3):
                t = time.perf_counter()
                client.post("/login", data={"username": "user1", "password": "wrong-password"})
                wrong.append(time.perf_counter() - t)
                t = time.perf_counter()
                client.post("/login", data={"username": "no-such-user", "password": "wrong-password"})
                unknown.append(time.perf_counter() - t)
        server.should_exit = True
        creds = Credentials(load_users(users))
        t = time.process_time()
        for _ in range(200):
            creds.token("thrv_0123456789abcdef_not-the-secret")
        token_now = (time.process_time() - t) / 200
        old_hashes = [hash_secret(f"token-{i}") for i in range(10)]  # the old way: a PBKDF2 hash per user
        t = time.process_time()
        for stored in old_hashes:
            verify_secret("not-a-token", stored)
        token_old = time.process_time() - t

    print(f"store: {args.db.name}; month {month}; {len(forces)} force(s)")
    print(f"start-up until the month is built in the background: {ready:.1f} s (pages show progress meanwhile)")
    print(f"dashboard page, one force-month: first {_ms(pages)}; again {_ms(again)}")
    print(f"GET /api/pack, one force-month:  {_ms(api)}")
    for fmt, first, second, size in downloads:
        how = "made on request" if fmt in ("csv", "json") else f"first (rendered) {first:6.2f} s, again (kept)"
        print(f"download {fmt:4s} ({size / 1e6:.1f} MB): {how} {second:6.3f} s")
    print(f"wrong password, user exists: {_ms(wrong)}; no such user: {_ms(unknown)} (PBKDF2 {ITERATIONS:,} both)")
    print(f"wrong bearer token, CPU per request: {token_now * 1e6:.0f} µs now; "
          f"{token_old:.2f} s by trying each of {len(old_hashes)} users' PBKDF2 hashes")


if __name__ == "__main__":
    main()
