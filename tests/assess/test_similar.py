"""Similar areas: the shipped profiles, the distance and groups (against scipy), official lists,
and rates compared on a store holding Cambridgeshire's real October 2025 records and those of
three of its similar forces."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from thrv.assess import similar as sim
from thrv.assess.scope import resolve_scope
from thrv.reference import REFERENCE
from thrv.store.database import Store

PROFILES = sim.load_profiles()


def test_profiles_agree_with_the_shipped_population_table() -> None:
    pop = pd.read_csv(REFERENCE / "population.csv.gz", dtype={"code": str})
    pop = pop[pop["level"].isin(["force", "district"])].set_index(["level", "code"])["population"]
    mine = PROFILES.set_index(["level", "code"])["population"]
    assert (mine == pop.reindex(mine.index)).all()
    assert (PROFILES["level"] == "force").sum() == 43 and (PROFILES["level"] == "district").sum() == 318
    forces = PROFILES[PROFILES["level"] == "force"].set_index("code")
    districts = PROFILES[PROFILES["level"] == "district"]
    # districts nest in force areas: areas, residents and households add up
    for col in ("area_ha", "population", "households"):
        assert (districts.groupby("pfa_code")[col].sum() == forces[col]).all()
    assert np.allclose(PROFILES["density_per_ha"], PROFILES["population"] / PROFILES["area_ha"], rtol=1e-3)
    assert PROFILES["deprived_2plus_pct"].between(0, 100).all() and PROFILES["aged_16_24_pct"].between(0, 100).all()


def test_distance_is_scipys_standardised_euclidean() -> None:
    cfg = sim.load_config()
    rows = PROFILES[PROFILES["level"] == "district"].set_index("code")
    data = np.column_stack([np.log(rows[v.column]) if v.transform == "log" else rows[v.column] for v in cfg.variables])
    ours = sim.distance_matrix(PROFILES, "district", cfg.variables).to_numpy()
    theirs = cdist(data, data, "seuclidean", V=data.var(axis=0))  # population variances, as the z-scores
    assert np.allclose(ours, theirs)
    weighted = tuple(sim.Variable(v.column, v.transform, 2.0 if i == 0 else 1.0) for i, v in enumerate(cfg.variables))
    w = np.array([2.0] + [1.0] * (len(cfg.variables) - 1))
    theirs_w = cdist(data, data, "seuclidean", V=data.var(axis=0) / w)
    assert np.allclose(sim.distance_matrix(PROFILES, "district", weighted).to_numpy(), theirs_w)


def test_groups_are_the_k_nearest() -> None:
    cfg = sim.load_config()
    d = sim.distance_matrix(PROFILES, "force", cfg.variables)
    groups = sim.computed_groups(PROFILES, "force", cfg)
    assert groups.groupby("area_code").size().eq(7).all()
    assert not (groups["area_code"] == groups["member_code"]).any()
    for code, g in groups.groupby("area_code"):
        expected = d.loc[code].drop(code).sort_values(kind="mergesort").index[:7].tolist()
        assert g.sort_values("rank")["member_code"].tolist() == expected
    cambs = sim.group_of("E23000023", "force", cfg)
    assert cambs["name"] == "Cambridgeshire" and len(cambs["members"]) == 7
    assert [m["rank"] for m in cambs["members"]] == list(range(1, 8))


@pytest.mark.parametrize("level", ["force", "district"])
def test_every_group_of_a_level_at_once(level: str) -> None:
    """groups_of (how a pack reads thousands of groups) gives each area's group as looked up
    in the profiles, the distance matrix and the group table directly."""
    cfg = sim.load_config()
    rows = PROFILES[PROFILES["level"] == level].set_index("code")
    d = sim.distance_matrix(PROFILES, level, cfg.variables)
    table = sim.computed_groups(PROFILES, level, cfg)
    codes = sorted(rows.index)
    got = sim.groups_of(codes, level, cfg)
    columns = [v.column for v in cfg.variables]
    for code, g in zip(codes, got, strict=True):
        assert (g["level"], g["code"], g["name"]) == (level, code, rows.loc[code, "name"])
        assert g["self"] == {"code": code, "name": rows.loc[code, "name"], **{c: float(rows.loc[code, c]) for c in columns}}
        mine = table[table["area_code"] == code]
        assert [(m["code"], m["rank"]) for m in g["members"]] == list(zip(mine["member_code"], mine["rank"], strict=True))
        for m in g["members"]:
            assert m["distance"] == d.loc[code, m["code"]] and m["name"] == rows.loc[m["code"], "name"]
            assert [m[c] for c in columns] == [float(rows.loc[m["code"], c]) for c in columns]
    assert got[0] == sim.group_of(codes[0], level, cfg) and got[0] is not got[1]
    with pytest.raises(sim.SimilarError, match="is not a"):
        sim.groups_of([codes[0], "E99999999"], level, cfg)


def test_official_list_replaces_the_computed_groups(tmp_path: Path) -> None:
    groups = tmp_path / "msg.csv"
    groups.write_text("level,area,member\nforce,Cambridgeshire Constabulary,Bedfordshire\nforce,cambridgeshire,E23000024\n"
                      "district,Cambridge,Oxford\n")
    toml = tmp_path / "similar.toml"
    toml.write_text(f'[groups]\nofficial = "{groups.name}"\n[[variable]]\ncolumn = "population"\ntransform = "log"\n')
    cfg = sim.load_config(toml)
    g = sim.group_of("E23000023", "force", cfg)
    assert [m["name"] for m in g["members"]] == ["Bedfordshire", "Norfolk"] and g["method"].startswith("official list")
    assert [m["name"] for m in sim.group_of("E07000008", "district", cfg)["members"]] == ["Oxford"]
    groups.write_text("level,area,member\nforce,Cambridgeshire,Atlantis\n")
    with pytest.raises(sim.SimilarError, match=r"line 2: 'Atlantis' is not a force"):
        sim.group_of("E23000023", "force", cfg)


@pytest.mark.parametrize(("text", "message"), [
    ('[[variable]]\ncolumn = "shoe_size"\n', "not in area_profiles.csv"),
    ('[[variable]]\ncolumn = "population"\ntransform = "sqrt"\n', "transform"),
    ('[groups]\nforce = 0\n[[variable]]\ncolumn = "population"\n', "at least 1"),
    ("[groups]\n", "at least one"),
])
def test_bad_configuration(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(sim.SimilarError, match=message):
        sim.load_config(path)


def test_the_sample_shows_the_group_and_what_cannot_be_compared(model: dict[str, Any]) -> None:
    s = model["similar"]
    force = s["groups"][0]
    assert force["name"] == "Cambridgeshire" and len(force["members"]) == 7
    assert force["held"] == [] and "cannot be compared" in force["note"]
    assert len(s["districts"]) == 6
    south = next(d for d in s["districts"] if d["name"] == "South Cambridgeshire")
    assert "E07000011" in south["held"]  # Huntingdonshire is in its group and in the store


# -- several forces in the store ------------------------------------------------------------

GROUP_FORCES = ("bedfordshire", "northamptonshire", "warwickshire")


@pytest.fixture(scope="module")
def four_forces(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import sample_file

    from thrv.ingest import ingest

    db = tmp_path_factory.mktemp("similar") / "four.duckdb"
    files = [sample_file("2025-10"), *(shared_data / "police_uk" / "all_forces" / "2025-10" / f"2025-10-{f}-street.csv.gz"
                                        for f in GROUP_FORCES)]
    with Store(db) as s:
        assert ingest(s, files).ok
    return db


def test_rates_against_the_held_members(four_forces: Path) -> None:
    with Store(four_forces, read_only=True) as store:
        con = store.ibis()
        scope = resolve_scope(con, "Cambridgeshire Constabulary")
        out = sim.compare(con, scope, [dt.date(2025, 10, 1)], sim.load_config(), with_districts=False)
    g = out["groups"][0]
    held_names = {m["name"] for m in g["members"] if m["code"] in g["held"]}
    assert held_names == {"Bedfordshire", "Northamptonshire", "Warwickshire"}
    c = g["comparison"][0]
    assert len(c["forces"]) == 4 and c["target"] is not None and c["limits"]
    with duckdb.connect(str(four_forces), read_only=True) as db:
        counts = dict(db.execute("select force, count(*) from crimes where crime_type <> 'Anti-social behaviour' "
                                 "group by force").fetchall())
    names = {"Cambridgeshire": "Cambridgeshire Constabulary", "Bedfordshire": "Bedfordshire Police",
             "Northamptonshire": "Northamptonshire Police", "Warwickshire": "Warwickshire Police"}
    pops = PROFILES[PROFILES["level"] == "force"].set_index("name")["population"]
    exposure = {u["force"]: pops[u["force"]] / 12 for u in c["forces"]}
    theta = sum(counts[names[u]] for u in exposure) / sum(exposure.values())
    assert c["target"] == pytest.approx(theta * 1000)
    for u in c["forces"]:
        o = counts[names[u["force"]]]
        assert u["crimes"] == o
        assert u["rate_per_1000"] == pytest.approx(o / exposure[u["force"]] * 1000)
        assert u["z"] == pytest.approx((o - theta * exposure[u["force"]]) / np.sqrt(theta * exposure[u["force"]]))
    # limits by hand: φ from the z-scores (four units: nothing winsorised), used when
    # significant (χ² 95% point on 3 df); then θ ± 1.96/3.09 √(φθ/E) or the interpolated
    # Poisson quantiles of Spiegelhalter's appendix
    z = np.array([u["z"] for u in c["forces"]])
    phi = float(np.mean(z**2))
    over = 4 * phi > stats.chi2.ppf(0.95, 3)
    assert c["overdispersed"] == over and c["phi"] == pytest.approx(phi if over else 1.0)

    def limit(e: float, p: float) -> float:
        if over:
            return (theta + stats.norm.ppf(p) * np.sqrt(phi * theta / e)) * 1000
        mu = theta * e
        r = stats.poisson.ppf(p, mu)
        f_r, f_r1 = stats.poisson.cdf(r, mu), stats.poisson.cdf(r - 1, mu)
        return float(r - (f_r - p) / (f_r - f_r1)) / e * 1000

    for u in c["forces"]:
        e, rate = exposure[u["force"]], u["rate_per_1000"]
        expected = ("above the 99.8% limit" if rate > limit(e, 0.999) else "above the 95% limit" if rate > limit(e, 0.975)
                    else "below the 99.8% limit" if rate < limit(e, 0.001) else "below the 95% limit" if rate < limit(e, 0.025)
                    else "within the limits")
        assert u["position"] == expected


def test_the_pack_compares_each_district_with_its_group(sample_ro: Store, tmp_path: Path) -> None:
    from thrv.indicators.pack import build_pack
    from thrv.report.disclosure import public_model
    from thrv.report.model import pack_model

    # the shipped all-crime indicator alone (a pack of every indicator takes far longer)
    shipped = (sim.DATA / "config" / "indicators.toml").read_text(encoding="utf-8")
    one = tmp_path / "all_crime.toml"
    start = shipped.index('[[indicator]]\nid = "all_crime"')
    one.write_text(shipped[start:shipped.index("[[indicator]]", start + 1)], encoding="utf-8")
    pack = build_pack(sample_ro, dt.date(2025, 12, 1), levels=["force", "district"], indicator_files=[one])
    model = pack_model(pack)
    groups = {g["name"]: g for g in model["similar"]["groups"]}
    assert groups["Cambridgeshire"]["held"] == [] and "cannot be compared" in groups["Cambridgeshire"]["note"]
    hunts = groups["Huntingdonshire"]
    crime = next(c for c in hunts["comparison"] if c["indicator"] == "all_crime")
    rows = pack.table[(pack.table["indicator"] == "all_crime") & (pack.table["level"] == "district")].set_index("area")
    for u in crime["forces"]:
        assert u["rate_per_1000"] == pytest.approx(rows.loc[u["force"], "rolling_12m"] / rows.loc[u["force"], "population"] * 1000)
    # the force's "Unlocated" district row is in the pack but is no area: no group, no member
    assert "Unlocated" in set(rows.index)
    assert "Unlocated" not in groups
    assert all(u["force"] != "Unlocated" for g in groups.values() for c in g["comparison"] for u in c["forces"])
    assert "similar" not in public_model(model)  # outside the suppression checks: not published
