"""Harm weights and harm-weighted counts, checked by hand on real rows."""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.conftest import sample_file

from thrv.assess.config import DEFAULT_HARM_SCHEMES, HARM_DIR
from thrv.assess.harm import (
    OFFENCE_MAP,
    HarmError,
    harm_by_type,
    load_scheme,
    load_schemes,
)
from thrv.assess.query import crime_cube
from thrv.assess.scope import resolve_scope


def _weights(path: Path) -> dict[str, float]:
    with path.open(encoding="utf-8") as handle:
        return {r["crime_type"]: float(r["weight"]) for r in csv.DictReader(handle)}


def _counts(month: str) -> Counter[str]:
    text = gzip.decompress(sample_file(month).read_bytes()).decode("utf-8")
    return Counter(r["Crime type"] for r in csv.DictReader(io.StringIO(text)))


def test_shipped_schemes_load_with_their_source_and_version() -> None:
    cchi, css = load_schemes(DEFAULT_HARM_SCHEMES)
    assert (cchi.key, css.key) == ("cchi", "css")
    assert cchi.unit == "days"
    assert "CCHI 2026" in cchi.version
    assert "ONS" in css.source
    assert css.version
    assert cchi.weights == _weights(HARM_DIR / "cchi_policeuk.csv")
    assert css.weight("Robbery") == pytest.approx(799.6289)


def test_offence_level_table_reduces_to_the_shipped_type_weights() -> None:
    """The offence table, volume-weighted within each type, gives css_policeuk.csv."""
    derived = load_scheme(OFFENCE_MAP)
    shipped = _weights(HARM_DIR / "css_policeuk.csv")
    for crime_type, weight in shipped.items():
        assert derived.weights[crime_type] == pytest.approx(weight, abs=1e-4), crime_type
    assert derived.offence_weights["28E"] == pytest.approx(465.381473)


def test_harm_totals_match_hand_computation_on_real_rows(sample_ro: Any) -> None:
    """November 2025: the file's rows counted by hand, times the shipped weights (docs/harm.md)."""
    import datetime as dt

    counts = _counts("2025-11")
    assert sum(counts.values()) == 6801
    schemes = load_schemes(DEFAULT_HARM_SCHEMES)
    hand = {s.key: sum(n * _weights(HARM_DIR / Path(s.path))[t] for t, n in counts.items()) for s in schemes}
    assert round(hand["cchi"]) == 599_261  # the worked example in docs/harm.md
    assert round(hand["css"]) == 968_984

    con = sample_ro.ibis()
    scope = resolve_scope(con, "Cambridgeshire Constabulary")
    month = dt.date(2025, 11, 1)
    cube = crime_cube(con, scope, month, month, history_months=0)
    by_type = harm_by_type(cube, schemes, scope.population, 1 / 12).set_index("crime_type")
    assert by_type["records"].to_dict() == {t: counts.get(t, 0) for t in by_type.index}
    for s in schemes:
        assert by_type[f"harm_{s.key}"].sum() == pytest.approx(hand[s.key], rel=1e-12)
        assert by_type[f"share_harm_{s.key}_pct"].sum() == pytest.approx(100)
    vso = by_type.loc["Violence and sexual offences"]
    assert vso["share_records_pct"] == pytest.approx(2446 / 6801 * 100)
    assert vso["share_harm_cchi_pct"] == pytest.approx(2446 * 194.2147 / hand["cchi"] * 100)


def test_model_harm_is_consistent_across_tables(model: dict[str, Any]) -> None:
    harm = model["harm"]
    by_type = pd.DataFrame(harm["by_type"])
    months = pd.DataFrame(harm["by_area_month"])
    scope_rows = months[months["level"] == "scope"]
    for s in ("cchi", "css"):
        assert harm["totals"][f"harm_{s}"] == pytest.approx(by_type[f"harm_{s}"].sum())
        assert scope_rows[f"harm_{s}"].sum() == pytest.approx(by_type[f"harm_{s}"].sum())
        # districts hold the records placed inside the force area: a little less than the total
        assert months.loc[months["level"] == "district", f"harm_{s}"].sum() < scope_rows[f"harm_{s}"].sum()
    assert scope_rows["records"].sum() == by_type["records"].sum() == harm["totals"]["records"]
    agreement = harm["agreement"][0]
    assert -1 <= agreement["spearman_rho"] <= 1
    assert "Possession of weapons" in {t["crime_type"] for t in agreement["types_ranked_differently"]}


def test_bad_weight_files_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    missing.write_text("crime_type,weight\nBurglary,1\n", encoding="utf-8")
    with pytest.raises(HarmError, match="no weight for"):
        load_scheme(missing)
    negative = tmp_path / "negative.csv"
    rows = "".join(f"{t},{-1 if t == 'Robbery' else 1}\n" for t in _weights(HARM_DIR / "css_policeuk.csv"))
    negative.write_text("crime_type,weight\n" + rows, encoding="utf-8")
    with pytest.raises(HarmError, match="non-negative"):
        load_scheme(negative)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("crime_type,weight\nPiracy,1\n", encoding="utf-8")
    with pytest.raises(HarmError, match=r"unknown police\.uk crime type"):
        load_scheme(unknown)


def test_user_scheme_without_asb_gets_zero_and_a_note(tmp_path: Path) -> None:
    rows = [(t, w) for t, w in _weights(HARM_DIR / "cchi_policeuk.csv").items() if t != "Anti-social behaviour"]
    path = tmp_path / "my_index.csv"
    path.write_text("crime_type,weight\n" + "".join(f"{t},{w}\n" for t, w in rows), encoding="utf-8")
    scheme = load_scheme(path)
    assert scheme.key == "my_index"
    assert scheme.weight("Anti-social behaviour") == 0.0
    assert scheme.notes
