"""Cross-agency insight with disclosure control, and the sharing agreement enforced by the API."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from thrv.linkage.generate import Extracts, extracts
from thrv.linkage.insight import insight
from thrv.linkage.keys import Keys
from thrv.linkage.run import run_link
from thrv.linkage.settings import load_config
from thrv.linkage.sharing import SharingError, load_agreement, parse_agreement
from thrv.partner_ingest import ingest_partner
from thrv.report.disclosure import DisclosureRule
from thrv.store.database import Store
from thrv.store.people import people_table
from thrv.store.vault import Vault
from thrv.web.app import create_app
from thrv.web.auth import Sessions, add_user

ROOT = Path(__file__).resolve().parents[2]
AGREEMENT = ROOT / "data" / "partner-sample" / "sharing.toml"


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("insight")
    made: Extracts = extracts(400, {"police": 0.5, "council": 0.4, "health": 0.3}, seed=11,
                              shares_identifier=("health",))
    keys = Keys(project=secrets.token_bytes(32), vault=secrets.token_bytes(32))
    db = folder / "t.duckdb"
    with Store(db) as store:
        for partner, frame in made.records.items():
            path = folder / f"{partner}.csv"
            frame.to_csv(path, index=False)
            assert ingest_partner(store, [path], partner, keys=keys).ok
        with Vault(folder / "t.vault.duckdb", keys) as vault:
            run = run_link(store, vault, folder / "link", load_config(u_max_pairs=20_000),
                           agreement=load_agreement(AGREEMENT))
        people = people_table(store)
    shutil.copy(AGREEMENT, folder / "t.duckdb.sharing.toml")
    return {"db": db, "folder": folder, "people": people, "extracts": made, "run": run}


def _number(text: str) -> int | None:
    return None if text.startswith("<") else int(text.replace(",", ""))


def test_unsuppressed_counts_are_right(linked: dict[str, Any]) -> None:
    people: pd.DataFrame = linked["people"]
    raw = insight(people, ["police", "health"], suppressed=False)
    per_person = people.groupby("person_key")["partner"].agg(lambda s: tuple(sorted(set(s))))
    assert _number(raw["people"]) == per_person.size
    assert _number(raw["known_to_two_or_more"]) == int((per_person.map(len) >= 2).sum())
    for c in raw["combinations"]:
        assert _number(c["people"]) == int((per_person == tuple(c["agencies"])).sum())
    # a household is people at one address: every member shares the household key
    households = people.dropna(subset=["household_key"]).groupby("household_key")["person_key"].nunique()
    assert _number(raw["households"]["with_two_or_more_people"]) == int((households >= 2).sum())


def test_suppression_leaves_nothing_recoverable(linked: dict[str, Any]) -> None:
    people: pd.DataFrame = linked["people"]
    # a small slice makes small cells
    sample = people[people["person_key"].isin(people["person_key"].drop_duplicates().head(40))]
    shown = insight(sample, ["police", "health"], DisclosureRule())
    raw = insight(sample, ["police", "health"], suppressed=False)
    combos = {tuple(c["agencies"]): c["people"] for c in shown["combinations"]}
    true = {tuple(c["agencies"]): _number(c["people"]) for c in raw["combinations"]}
    for key, text in combos.items():
        value = true[key]
        assert (text == "<5") == (value is not None and 0 < value < 5) or text == "<5"
        if text != "<5":
            assert _number(text) == value
    # the combinations add up to the people: one hidden cell alone would be given away
    hidden = [k for k, t in combos.items() if t == "<5"]
    assert len(hidden) != 1 or shown["people"] == "<5"
    for agency in shown["agencies"]:
        members = [k for k in combos if agency in k]
        hidden_here = [k for k in members if combos[k] == "<5"] + ([agency] if shown["people_by_agency"][agency] == "<5" else [])
        assert len(hidden_here) != 1


def test_link_writes_insight_with_the_agreements_rule(linked: dict[str, Any]) -> None:
    folder: Path = linked["folder"]
    summary = json.loads((folder / "link" / "insight.json").read_text())
    assert summary["available"] and summary["repeat_victims"]["victim_agencies"] == ["police", "health"]
    html = (folder / "link" / "insight.html").read_text()
    assert "<svg" in html and "known to two or more agencies" in html
    for name in linked["extracts"].records["police"]["surname"].head(30):
        assert len(name) < 5 or name not in html


def test_agreement_is_checked() -> None:
    with pytest.raises(SharingError, match="needs a purpose"):
        parse_agreement({"partners": {"police": {"shares": ["surname"]}}}, "s.toml")
    with pytest.raises(SharingError, match="unknown field"):
        parse_agreement({"partners": {"police": {"shares": ["nhs_number"], "purpose": "x"}}}, "s.toml")
    agreement = load_agreement(AGREEMENT)
    assert agreement.partner_of("pat") == "police" and agreement.view_for("public") == "aggregates"
    weighted = parse_agreement({"suppression": {"threshold": 10, "weights": {"district": 5}}}, "s.toml")
    assert weighted.rule.threshold == 10 and weighted.rule.weights == (5.0, 3.0, 10.0)
    with pytest.raises(SharingError, match=r"\[suppression\] unknown disclosure setting"):
        parse_agreement({"suppression": {"treshold": 10}}, "s.toml")


@pytest.fixture(scope="module")
def api(linked: dict[str, Any]) -> tuple[TestClient, dict[str, str], Path]:
    folder: Path = linked["folder"]
    users = folder / "users.json"
    roles = {"ana": "analyst", "pat": "partner", "max": "partner", "pub": "public"}
    # few PBKDF2 iterations: the hashing is tested with web/, here it only costs time
    tokens = {n: str(add_user(users, n, r, f"{n}-password-long", with_token=True, iterations=1000))
              for n, r in roles.items()}
    audit = folder / "audit.jsonl"
    app = create_app(linked["db"], users, audit, sessions=Sessions(b"k" * 32))
    return TestClient(app), tokens, audit


def _get(api: tuple[TestClient, dict[str, str], Path], user: str, path: str) -> Any:
    client, tokens, _ = api
    return client.get(path, headers={"Authorization": f"Bearer {tokens[user]}"})


def test_api_enforces_the_agreement(api: tuple[TestClient, dict[str, str], Path], linked: dict[str, Any]) -> None:
    client, _, audit = api
    assert client.get("/api/partners/insight").status_code == 401
    assert _get(api, "pub", "/api/partners/agreement").json()["partners"][0]["name"] == "police"
    public = _get(api, "pub", "/api/partners/insight").json()
    for c in public["combinations"]:
        assert c["people"] == "<5" or int(c["people"].replace(",", "")) >= 5
    assert _get(api, "pub", "/api/partners/police/records").status_code == 403
    own = _get(api, "pat", "/api/partners/police/records")
    assert own.status_code == 200
    rows = own.json()["records"]
    assert rows and set(rows[0]) == {"record_key", "person_key", "also_known_to"}
    assert {a for r in rows for a in r["also_known_to"]} <= {"council", "health"}
    assert _get(api, "pat", "/api/partners/council/records").status_code == 403  # another partner's records
    assert _get(api, "max", "/api/partners/police/records").status_code == 403  # a partner user of no partner
    assert _get(api, "ana", "/api/partners/council/records").status_code == 200
    text = json.dumps([_get(api, u, "/api/partners/insight").json() for u in ("ana", "pub")]) + json.dumps(rows)
    police = linked["extracts"].records["police"]
    for value in list(police["surname"].head(40)) + list(police["record_id"].head(40)):
        assert len(value) < 5 or value not in text
    log = [json.loads(line) for line in audit.read_text().splitlines()]
    decisions = {(e.get("user"), e.get("partner_access"), e.get("decision")) for e in log if "partner_access" in e}
    assert ("pat", "records:council", "refused") in decisions
    assert ("pat", "records:police", "allowed") in decisions
