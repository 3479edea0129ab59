"""A force crime extract built from real data.police.uk rows for the vulnerability tests.

No real force extract can be shipped, so the rows are the bundled sample's real crimes
(ids, months, LSOAs, points) with what police.uk withholds filled in by a seeded generator:
an offence code of the record's own type, flags and pseudonymous victim and suspect ids
(drawn so that some people recur). Every row is marked ``generated``.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd

from thrv.assess.harm import OFFENCE_MAP

FLAG_RATES = {  # share flagged, by police.uk type (default for other types)
    "domestic_abuse": {"Violence and sexual offences": 0.35, "Criminal damage and arson": 0.10, "default": 0.01},
    "hate": {"Public order": 0.08, "Violence and sexual offences": 0.02, "default": 0.003},
    "child_exploitation": {"Violence and sexual offences": 0.02, "Drugs": 0.03, "default": 0.001},
    "mental_health": {"default": 0.05},
    "vulnerable_victim": {"Violence and sexual offences": 0.25, "Robbery": 0.15, "default": 0.05},
}


def _people(rng: np.random.Generator, n: int, repeat_share: float, pool: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, pool + 1) ** 1.1
    repeat = rng.random(n) < repeat_share
    ids = pool + np.arange(n)  # everyone else is a new person
    ids[repeat] = rng.choice(pool, size=int(repeat.sum()), p=weights / weights.sum())
    return ids


def write_force_crimes(sample_dir: Path, out: Path, months: tuple[str, ...], seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    frames = []
    for month in months:
        path = sample_dir / "cambridgeshire" / month / f"{month}-cambridgeshire-street.csv.gz"
        frames.append(pd.read_csv(io.BytesIO(gzip.decompress(path.read_bytes())), dtype=str))
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["Crime ID"].notna() & (rows["Crime type"] != "Anti-social behaviour")].reset_index(drop=True)
    codes = pd.read_csv(OFFENCE_MAP, dtype={"offence_code": str})
    codes = codes[codes["prc_count_2017_18"] > 0]
    n = len(rows)
    offence = np.empty(n, dtype=object)
    for crime_type, idx in rows.groupby("Crime type").groups.items():
        pool = codes[codes["crime_type"] == crime_type]
        p = pool["prc_count_2017_18"].to_numpy(float)
        offence[np.asarray(idx)] = rng.choice(pool["offence_code"].to_numpy(), size=len(idx), p=p / p.sum())
    day = rng.integers(1, 28, size=n)
    out_rows = pd.DataFrame({
        "crime_id": rows["Crime ID"],
        "offence_code": offence,
        "recorded_at": [f"{m}-{d:02d}T12:00:00+00:00" for m, d in zip(rows["Month"], day, strict=True)],
        "lsoa_code": rows["LSOA code"],
        "latitude": rows["Latitude"],
        "longitude": rows["Longitude"],
        "force": rows["Falls within"],
        "generated": "true",
    })
    for flag, rates in FLAG_RATES.items():
        p = rows["Crime type"].map(rates).fillna(rates["default"]).to_numpy(float)
        out_rows[flag] = np.where(rng.random(n) < p, "true", "")
    # people recur: most victims appear once, a minority come from a small pool drawn with
    # Zipf-like weights (the "power few"); about a third of crimes name no suspect
    victims = _people(rng, n, repeat_share=0.3, pool=3000)
    suspects = _people(rng, n, repeat_share=0.5, pool=2000)
    out_rows["victim_id"] = [f"V{v:06d}" for v in victims]
    second = rng.random(n) < 0.05
    extra = pd.Series(rng.integers(500000, 600000, int(second.sum()))).map("{:06d}".format).to_numpy()
    out_rows.loc[second, "victim_id"] = out_rows.loc[second, "victim_id"] + ";V" + extra
    out_rows["suspect_id"] = np.where(rng.random(n) < 0.65, [f"S{s:06d}" for s in suspects], "")
    path = out / "cambridgeshire-force_crimes.csv"
    out_rows.to_csv(path, index=False)
    return path
