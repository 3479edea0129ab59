"""Near repeats on the real sample: events, projection, the assessment section and `thrv near-repeat`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from scipy.spatial.distance import pdist
from tests.assess.extract import write_force_crimes
from tests.conftest import SAMPLE
from typer.testing import CliRunner

from thrv.assess import nearrepeat as nr
from thrv.cli import app
from thrv.ingest import ingest
from thrv.stats.knox import COLUMNS
from thrv.store.database import Store

runner = CliRunner()
FIRST, LAST = dt.date(2024, 1, 1), dt.date(2025, 12, 1)


def test_national_grid_distances_match_geodesics() -> None:
    """Projected distances agree with the ellipsoidal geodesic (Karney) to well under 0.1%."""
    lon = np.array([0.1218, 0.1300, -0.2400, 0.0500])
    lat = np.array([52.2053, 52.2100, 52.5700, 52.3000])
    x, y = nr.to_national_grid(lon, lat)
    geod = Geod(ellps="WGS84")
    for i in range(1, len(lon)):
        _, _, metres = geod.inv(lon[0], lat[0], lon[i], lat[i])
        assert np.hypot(x[i] - x[0], y[i] - y[0]) == pytest.approx(metres, rel=1e-3)


def test_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "nr.toml"
    bad.write_text('[test]\nmetric = "chebyshev"\n')
    with pytest.raises(nr.NearRepeatError, match="metric"):
        nr.load_config(bad)
    bad.write_text('[assessment]\ncrime_types = ["Burgling"]\n')
    with pytest.raises(nr.NearRepeatError, match="unknown crime type"):
        nr.load_config(bad)
    bad.write_text("[test\n")
    with pytest.raises(nr.NearRepeatError, match="cannot read"):
        nr.load_config(bad)
    cfg = nr.load_config()
    assert cfg.permutations == 999 and cfg.assessment_permutations == 199 and "Burglary" in cfg.crime_types


def test_events_match_a_direct_query(sample_ro: Store, sample_store: Path) -> None:
    from thrv.assess.scope import resolve_scope

    scope = resolve_scope(sample_ro.ibis(), None)
    events = nr.police_uk_events(sample_ro.ibis(), scope, "Robbery", FIRST, LAST)
    with duckdb.connect(str(sample_store), read_only=True) as con:
        n = con.execute("select count(*) from crimes c join ref_lsoa r on c.lsoa_code = r.lsoa_code where c.crime_type = "
                        "'Robbery' and c.latitude is not null and r.pfa_name = 'Cambridgeshire'").fetchone()[0]
    assert len(events) == n > 1000


def test_assessment_section_matches_brute_force(model: dict[str, Any], sample_ro: Store) -> None:
    """Robbery's observed table from pdist on the same events, projected with pyproj directly."""
    from pyproj import Transformer

    from thrv.assess.scope import resolve_scope

    section = model["near_repeat"]
    assert section["time_unit"] == "months" and len(section["caveats"]) == 2
    assert any("snaps" in c or "map points" in c for c in section["caveats"])
    assert any("only the month" in c for c in section["caveats"])
    entry = next(t for t in section["types"] if t["crime_type"] == "Robbery")
    events = nr.police_uk_events(sample_ro.ibis(), resolve_scope(sample_ro.ibis(), None), "Robbery", FIRST, LAST)
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(events["longitude"].to_numpy(), events["latitude"].to_numpy())
    months = (events["month"].dt.year * 12 + events["month"].dt.month).to_numpy(float)
    si = np.digitize(pdist(np.column_stack([x, y])), [0, 200, 400, 600, 800, 1000], right=True)
    ti = np.digitize(pdist(months[:, None], "cityblock"), [0, 1, 2, 3, 6], right=True)
    expected = np.zeros((7, 6), dtype=int)
    np.add.at(expected, (si, ti), 1)
    table = pd.DataFrame(entry["table"])
    assert table["observed"].to_numpy().reshape(7, 6).tolist() == expected.tolist()
    assert table["p_value"].min() >= 1 / 200 and table["p_value"].max() <= 1
    assert entry["distance_bands"][0] == "same place (0 m)" and entry["time_bands"][0] == "same month"


def test_cli_writes_knox_csv(sample_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "nr"
    r = runner.invoke(app, ["near-repeat", "--db", str(sample_store), "--crime-type", "robbery", "--from", "2024-01",
                            "--to", "2024-12", "--out", str(out), "--permutations", "49"])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out / "knox.csv")
    assert list(table.columns) == COLUMNS and len(table) == 7 * 6
    meta = json.loads((out / "knox.json").read_text())
    assert meta["crime_type"] == "Robbery" and meta["permutations"] == 49 and meta["from"] == "2024-01"
    assert len(meta["caveats"]) == 2
    assert table["p_value"].min() == pytest.approx(1 / 50)


@pytest.mark.parametrize(("args", "message"), [
    (["--crime-type", "Burgle"], "not a police.uk crime type"),
    (["--crime-type", "Burglary", "--from", "2025-01", "--to", "2024-01"], "before --from"),
    (["--crime-type", "Burglary", "--source", "force-extract"], "0 located record"),
    (["--crime-type", "Burglary", "--source", "carrier-pigeon"], "source must be one of"),
    (["--crime-type", "Burglary", "--permutations", "0"], "at least 1"),
])
def test_cli_errors(sample_store: Path, args: list[str], message: str) -> None:
    base = {"--from": "2024-01", "--to": "2024-03"}
    full = ["near-repeat", "--db", str(sample_store), *args]
    for k, v in base.items():
        if k not in args:
            full += [k, v]
    r = runner.invoke(app, full)
    assert r.exit_code == 2
    assert message in r.output
    assert len([line for line in r.output.strip().splitlines() if line.startswith("error")]) == 1


def test_cli_days_from_a_force_extract(sample_store: Path, tmp_path: Path) -> None:
    """Days come from the extract's dates; the extract here is generated, and the output says so."""
    db = tmp_path / "extract.duckdb"
    shutil.copy(sample_store, db)
    csv_path = write_force_crimes(SAMPLE, tmp_path, ("2024-01", "2024-02"))
    with Store(db) as s:
        assert ingest(s, [csv_path]).ok
    out = tmp_path / "nr"
    r = runner.invoke(app, ["near-repeat", "--db", str(db), "--crime-type", "Burglary", "--from", "2024-01", "--to", "2024-02",
                            "--out", str(out), "--source", "force-extract", "--permutations", "19"])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out / "knox.csv")
    assert table["time_band"].iloc[0] == "0–7 days" and "more than 28 days" in set(table["time_band"])
    meta = json.loads((out / "knox.json").read_text())
    assert meta["time_unit"] == "days" and any("generated" in c for c in meta["caveats"])
    from thrv.assess.harm import OFFENCE_MAP

    codes = pd.read_csv(OFFENCE_MAP, dtype={"offence_code": str})
    burglary_codes = set(codes.loc[codes["crime_type"] == "Burglary", "offence_code"])
    rows = pd.read_csv(csv_path, dtype=str)
    located = rows[rows["offence_code"].isin(burglary_codes) & rows["latitude"].notna()]
    assert meta["events"] == len(located) > 100
