"""Linkage accuracy against truth: Splink's labelled synthetic people and thrv's generated extracts."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from splink import DuckDBAPI
from typer.testing import CliRunner

from thrv.cli import app
from thrv.linkage.evaluate import accuracy, pairs_of_clusters, pairs_of_links
from thrv.linkage.generate import Extracts
from thrv.linkage.model import LinkResult, explain, link, waterfall
from thrv.linkage.settings import load_config

FAST = {"u_max_pairs": 50_000}


@pytest.fixture(scope="module")
def fake_1000(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "partner/synthetic_person_linkage_splink/fake_1000.csv", dtype=str)


@pytest.fixture(scope="module")
def fake_result(fake_1000: pd.DataFrame) -> LinkResult:
    people = pd.DataFrame({"unique_id": fake_1000["unique_id"], "partner": "a", "forename": fake_1000["first_name"],
                           "surname": fake_1000["surname"], "date_of_birth": fake_1000["dob"], "postcode": None,
                           "address": fake_1000["city"]})
    return link(people, DuckDBAPI(connection=duckdb.connect()), load_config(**FAST))


def test_splink_synthetic_people_with_true_labels(fake_1000: pd.DataFrame, fake_result: LinkResult) -> None:
    """fake_1000 (251 people, heavy synthetic errors, no postcodes): the links found are right.

    Recall is bounded by blocking: only 1,295 of the 2,031 true pairs agree on any blocking
    rule (most of the others differ in every field but the e-mail, which person records do
    not carry), so recall can be at most 0.64.
    """
    result = fake_result
    truth = pairs_of_clusters(fake_1000.assign(partner="a", record_id=fake_1000["unique_id"]), "cluster")
    pairs = result.links.assign(partner_l="a", partner_r="a", record_id_l=result.links["unique_id_l"],
                                record_id_r=result.links["unique_id_r"])
    found = accuracy(pairs_of_links(pairs), truth)
    assert found.precision >= 0.98
    assert found.recall >= 0.3


def test_waterfall_adds_up_to_splinks_match_weight(fake_result: LinkResult) -> None:
    result = fake_result
    for row in result.pairs.head(25).to_dict("records"):
        steps = waterfall(row, result.model)
        assert math.isclose(steps[-1]["weight"], row["match_weight"], abs_tol=1e-6)
        assert math.isclose(sum(s["weight"] for s in steps[:-1]), row["match_weight"], abs_tol=1e-6)
        w = row["match_weight"]
        assert math.isclose(2**w / (1 + 2**w), row["match_probability"], rel_tol=1e-6)
    # any pair, even one blocking never compared
    steps = explain(result, "0", "999")
    assert steps[0]["step"].startswith("prior") and steps[-1]["step"] == "match weight"


def _write_partner_files(extracts: Extracts, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for partner, frame in extracts.records.items():
        path = folder / f"{partner}.csv"
        frame.to_csv(path, index=False)
        out[partner] = path
    return out


def test_link_command_on_generated_extracts(tmp_path: Path, generated: Extracts, link_keys: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Three partners (generated, labelled GEN-): precision and recall against the generator's truth."""
    monkeypatch.setattr("thrv.linkage.settings.DEFAULT_CONFIG", _fast_config(tmp_path))
    db, out = tmp_path / "t.duckdb", tmp_path / "link"
    runner = CliRunner()
    for partner, path in _write_partner_files(generated, tmp_path / "in").items():
        done = runner.invoke(app, ["ingest", str(path), "--db", str(db), "--partner", partner])
        assert done.exit_code == 0, done.output
    result = runner.invoke(app, ["link", "--db", str(db), "--out", str(out), "--threshold", "0.9"])
    assert result.exit_code == 0, result.output
    people = pd.read_csv(out / "people.csv", dtype=str)
    links = pd.read_csv(out / "links.csv", dtype={"record_id_l": str, "record_id_r": str})
    assert people.columns.tolist() == ["partner", "record_id", "person_id"]
    assert links.columns.tolist() == ["partner_l", "record_id_l", "partner_r", "record_id_r", "match_probability"]
    assert len(people) == sum(len(f) for f in generated.records.values()) and people["record_id"].is_unique
    assert (links["match_probability"] >= 0.9).all()
    truth = pairs_of_clusters(generated.truth, "person_id")
    by_links = accuracy(pairs_of_links(links), truth)
    by_people = accuracy(pairs_of_clusters(people, "person_id"), truth)
    assert by_links.precision >= 0.95 and by_links.recall >= 0.95, by_links
    assert by_people.precision >= 0.93 and by_people.recall >= 0.95, by_people
    # within-partner duplicates and cross-partner links are both found
    assert (links["partner_l"] == links["partner_r"]).any() and (links["partner_l"] != links["partner_r"]).any()
    model = json.loads((out / "model.json").read_text())
    assert {c["output_column_name"] for c in model["comparisons"]} >= {"forename", "surname", "dob", "location"}
    html = (out / "link.html").read_text()
    sample = generated.records["police"].head(50)
    assert not any(name in html for name in sample["surname"] if len(name) > 4)
    assert "waterfall" in html
    review = pd.read_csv(out / "review.csv")
    assert review["match_probability"].between(0.5, 0.9, inclusive="left").all()


def _fast_config(tmp_path: Path) -> Path:
    from thrv.linkage.settings import DEFAULT_CONFIG

    text = DEFAULT_CONFIG.read_text().replace("u_max_pairs = 500000", "u_max_pairs = 50000")
    path = tmp_path / "linkage.toml"
    path.write_text(text)
    return path


def test_small_extracts_use_the_priors_and_still_link() -> None:
    """Too few records to train on (under min_train_records): the priors in linkage.toml are the model."""
    from thrv.linkage.generate import extracts

    made = extracts(300, {"police": 0.6, "council": 0.5}, seed=4)
    people = pd.concat([f.assign(partner=p, unique_id=p + ":" + f.record_id) for p, f in made.records.items()],
                       ignore_index=True)
    assert len(people) < load_config().min_train_records
    result = link(people, DuckDBAPI(connection=duckdb.connect()), load_config())
    ids = people.set_index("unique_id")
    links = result.links.assign(record_id_l=lambda f: f["unique_id_l"].map(ids["record_id"]),
                                record_id_r=lambda f: f["unique_id_r"].map(ids["record_id"]))
    found = accuracy(pairs_of_links(links), pairs_of_clusters(made.truth, "person_id"))
    assert found.precision >= 0.9 and found.recall >= 0.9, found
    two = pd.DataFrame({"unique_id": ["a", "b"], "partner": ["x", "y"], "forename": ["Ann", "Ann"],
                        "surname": ["Lee", "Lee"], "date_of_birth": ["1990-01-01"] * 2, "postcode": ["CB1 2AB"] * 2,
                        "address": ["1 Road"] * 2})
    assert link(two, DuckDBAPI(connection=duckdb.connect()), load_config()).links.shape[0] == 1
