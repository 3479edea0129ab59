"""Harm-weighted crime: counts times a harm weight per crime type, under several schemes.

A count treats a shoplifting like a rape; a harm index weights each crime by the harm it
does. The two shipped schemes (Cambridge Crime Harm Index, days of imprisonment; ONS Crime
Severity Score, sentence-based weights) use different rules and rank types differently,
so an assessment shows both side by side rather than choosing one silently. Weights are
data (docs/harm.md): a per-type table ``crime_type,weight`` or an offence-level table
``offence_code,weight`` that is reduced to types by the volume-weighted mean over the
offences in each type (the rule the shipped CSS file was built with).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from thrv.assess.config import HARM_DIR
from thrv.reference import crime_type_slugs

ASB = "Anti-social behaviour"
OFFENCE_MAP = HARM_DIR / "css_offence_weights.csv"
KNOWN = {
    "cchi": "Cambridge Crime Harm Index",
    "css": "ONS Crime Severity Score",
}


class HarmError(ValueError):
    """A harm weight file that cannot be used."""


@dataclass(frozen=True)
class HarmScheme:
    """One set of harm weights: per crime type, and per offence code where known."""

    key: str
    name: str
    unit: str
    version: str
    source: str
    path: str
    method: str
    weights: dict[str, float] = field(hash=False)
    offence_weights: dict[str, float] = field(default_factory=dict, hash=False)
    notes: tuple[str, ...] = ()

    def weight(self, crime_type: str) -> float:
        return self.weights.get(crime_type, math.nan)

    def describe(self) -> dict[str, object]:
        """The scheme as the assessment reports it (weights included, for audit)."""
        return {
            "key": self.key,
            "name": self.name,
            "unit": self.unit,
            "version": self.version,
            "source": self.source,
            "file": self.path,
            "method": self.method,
            "weights": dict(sorted(self.weights.items())),
            "offence_level_weights": len(self.offence_weights),
            "notes": list(self.notes),
        }


def _key_for(path: Path) -> str:
    """Short key for column names: 'cchi' and 'css' for the shipped per-type files, else the file stem."""
    stem = path.name.split(".")[0].lower()
    for key in KNOWN:
        if stem in {key, f"{key}_policeuk"}:
            return key
    return re.sub(r"[^a-z0-9]+", "_", stem).strip("_") or "harm"


def _default_name(path: Path, offence_level: bool) -> str:
    stem = path.name.split(".")[0].lower()
    for key, name in KNOWN.items():
        if stem.startswith(key):
            return f"{name} (offence weights)" if offence_level else name
    return path.stem


def _first(frame: pd.DataFrame, column: str, default: str) -> str:
    """First informative value of a descriptive column (placeholder rows say 'none')."""
    if column not in frame.columns:
        return default
    values = [str(v) for v in frame[column].dropna() if str(v).strip() and str(v).strip().lower() != "none"]
    return values[0] if values else default


def _offence_map() -> pd.DataFrame:
    m = pd.read_csv(OFFENCE_MAP, dtype={"offence_code": str})
    return m[["offence_code", "crime_type", "prc_count_2017_18"]].rename(columns={"prc_count_2017_18": "volume"})


def _types_from_offences(frame: pd.DataFrame) -> tuple[dict[str, float], list[str]]:
    """Volume-weighted mean weight per crime type from an offence-level table."""
    mapping = _offence_map()
    f = frame.copy()
    f["offence_code"] = f["offence_code"].astype(str).str.strip()
    if "crime_type" not in f.columns:
        f = f.merge(mapping[["offence_code", "crime_type"]], on="offence_code", how="left")
    if "volume" not in f.columns:
        if "prc_count_2017_18" in f.columns:
            f["volume"] = f["prc_count_2017_18"]
        else:
            f = f.merge(mapping[["offence_code", "volume"]], on="offence_code", how="left")
    notes = []
    unmapped = sorted(f.loc[f["crime_type"].isna(), "offence_code"])
    if unmapped:
        notes.append(f"{len(unmapped)} offence code(s) have no police.uk type and weight only force records: {', '.join(unmapped[:10])}")
    f = f.dropna(subset=["crime_type"])
    f["volume"] = pd.to_numeric(f["volume"], errors="coerce").fillna(0.0)
    weights: dict[str, float] = {}
    for crime_type, g in f.groupby("crime_type"):
        v = g["volume"].to_numpy(float)
        w = g["weight"].to_numpy(float)
        weights[str(crime_type)] = float((w * v).sum() / v.sum()) if v.sum() > 0 else float(w.mean())
    return weights, notes


def normalise_code(code: str) -> str:
    """'008N ' -> '8N', '28e' -> '28E': Home Office offence codes as force extracts store them."""
    return re.sub(r"^0+(?=\d)", "", str(code).strip().upper().replace(" ", ""))


def _offence_weights(frame: pd.DataFrame) -> dict[str, float]:
    """Weight per offence code; a combined code ('1/4.1/4.10/4.2', homicide) also gives each part."""
    out: dict[str, float] = {}
    for code, weight in zip(frame["offence_code"], frame["weight"], strict=True):
        whole = normalise_code(code)
        out[whole] = float(weight)
        for part in whole.split("/"):
            out.setdefault(part, float(weight))
    return out


def load_scheme(path: Path) -> HarmScheme:
    """Read a harm weight file: per type (``crime_type,weight``) or per offence (``offence_code,weight``)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"offence_code": str})
    except (OSError, ValueError) as exc:
        raise HarmError(f"{path}: cannot read harm weights ({exc})") from exc
    frame.columns = [c.strip().lower() for c in frame.columns]
    if "weight" not in frame.columns:
        raise HarmError(f"{path}: a harm weight file needs a 'weight' column")
    frame["weight"] = pd.to_numeric(frame["weight"], errors="coerce")
    if frame["weight"].isna().any() or (frame["weight"] < 0).any():
        raise HarmError(f"{path}: every weight must be a non-negative number")
    notes: list[str] = []
    offence_weights: dict[str, float] = {}
    if "offence_code" in frame.columns:
        offence_weights = _offence_weights(frame)
        weights, notes = _types_from_offences(frame)
        method = "volume-weighted mean of offence weights per police.uk type (volumes: E&W recorded offences 2017/18)"
    elif "crime_type" in frame.columns:
        weights = {str(t).strip(): float(w) for t, w in zip(frame["crime_type"], frame["weight"], strict=True)}
        informative = frame[frame["method"] != "placeholder"] if "method" in frame.columns else frame
        method = _first(informative, "method", "per-type weights as given")
    else:
        raise HarmError(f"{path}: a harm weight file needs 'crime_type' or 'offence_code' with 'weight'")
    known = set(crime_type_slugs())
    unknown = sorted(set(weights) - known)
    if unknown:
        raise HarmError(f"{path}: unknown police.uk crime type(s) {unknown}; use the names in crime_types.csv")
    if ASB not in weights:
        weights[ASB] = 0.0
        notes.append("Anti-social behaviour has no weight in this file: 0 used (it drops out of harm).")
    missing = sorted(known - set(weights))
    if missing:
        raise HarmError(f"{path}: no weight for {missing}; every police.uk crime type needs one")
    key = _key_for(path)
    return HarmScheme(
        key=key,
        name=_first(frame, "name", _default_name(path, bool(offence_weights))),
        unit=_first(frame, "unit", "weight"),
        version=_first(frame, "version", path.name),
        source=_first(frame, "source", str(path)),
        path=path.name,
        method=method,
        weights=weights,
        offence_weights=offence_weights,
        notes=tuple(notes),
    )


def load_schemes(paths: Sequence[Path]) -> list[HarmScheme]:
    """Load every scheme; keys are made unique so their columns never collide."""
    schemes: list[HarmScheme] = []
    seen: set[str] = set()
    for path in paths:
        scheme = load_scheme(path)
        key, n = scheme.key, 2
        while key in seen:
            key, n = f"{scheme.key}_{n}", n + 1
        seen.add(key)
        if key != scheme.key:
            scheme = HarmScheme(key, scheme.name, scheme.unit, scheme.version, scheme.source, scheme.path,
                                scheme.method, scheme.weights, scheme.offence_weights, scheme.notes)
        schemes.append(scheme)
    return schemes


def add_harm(frame: pd.DataFrame, schemes: Sequence[HarmScheme], count: str = "n") -> pd.DataFrame:
    """``harm_<key>`` = count × the crime type's weight, for each scheme."""
    out = frame.copy()
    for s in schemes:
        out[f"harm_{s.key}"] = out[count].to_numpy(float) * out["crime_type"].map(s.weights).fillna(0.0).to_numpy(float)
    return out


def _pct(part: np.ndarray, total: float) -> np.ndarray:
    return np.asarray(part, dtype=float) / total * 100.0 if total > 0 else np.full(len(part), np.nan)


def harm_by_type(records: pd.DataFrame, schemes: Sequence[HarmScheme], population: float, years: float) -> pd.DataFrame:
    """Per crime type: records and harm under each scheme, their shares and ranks.

    Shares of volume are of every record (crimes and anti-social behaviour incidents), as in
    docs/harm.md; ranks are 1 = most.
    """
    by = records.groupby("crime_type", as_index=False).agg(records=("n", "sum"))
    by = by[by["crime_type"].isin(crime_type_slugs())] if len(by) else by
    by = pd.DataFrame({"crime_type": sorted(crime_type_slugs())}).merge(by, how="left").fillna({"records": 0})
    by["records"] = by["records"].astype("int64")
    by["share_records_pct"] = _pct(by["records"].to_numpy(), float(by["records"].sum()))
    by["rank_records"] = by["records"].rank(ascending=False, method="min").astype(int)
    for s in schemes:
        w = by["crime_type"].map(s.weights).astype(float)
        harm = by["records"] * w
        by[f"weight_{s.key}"] = w
        by[f"harm_{s.key}"] = harm
        by[f"share_harm_{s.key}_pct"] = _pct(harm.to_numpy(), float(harm.sum()))
        by[f"rank_harm_{s.key}"] = harm.rank(ascending=False, method="min").astype(int)
        with np.errstate(divide="ignore", invalid="ignore"):
            by[f"harm_{s.key}_per_1000_per_year"] = harm / population * 1000.0 / years if population > 0 and years > 0 else np.nan
    return by.sort_values(f"harm_{schemes[0].key}", ascending=False, kind="stable").reset_index(drop=True)


def harm_totals(by_type: pd.DataFrame, schemes: Sequence[HarmScheme], population: float, years: float) -> dict[str, object]:
    crimes = int(by_type.loc[by_type["crime_type"] != ASB, "records"].sum())
    out: dict[str, object] = {
        "records": int(by_type["records"].sum()),
        "crimes_excluding_asb": crimes,
        "asb_incidents": int(by_type.loc[by_type["crime_type"] == ASB, "records"].sum()),
        "population": population,
        "years": years,
    }
    for s in schemes:
        total = float(by_type[f"harm_{s.key}"].sum())
        out[f"harm_{s.key}"] = total
        out[f"harm_{s.key}_per_crime"] = total / crimes if crimes else None
        out[f"harm_{s.key}_per_1000_per_year"] = total / population * 1000 / years if population > 0 and years > 0 else None
    return out


def scheme_agreement(by_type: pd.DataFrame, schemes: Sequence[HarmScheme]) -> list[dict[str, object]]:
    """Spearman rank correlation of the types' harm under each pair of schemes, and the
    types whose rank differs by two places or more (where the choice of scheme matters)."""
    rows: list[dict[str, object]] = []
    weighted = by_type[by_type["crime_type"] != ASB]
    for i, a in enumerate(schemes):
        for b in schemes[i + 1 :]:
            ha, hb = weighted[f"harm_{a.key}"].to_numpy(float), weighted[f"harm_{b.key}"].to_numpy(float)
            rho = float(stats.spearmanr(ha, hb).statistic) if len(weighted) > 2 and ha.std() > 0 and hb.std() > 0 else math.nan
            ra = weighted[f"rank_harm_{a.key}"].to_numpy(int)
            rb = weighted[f"rank_harm_{b.key}"].to_numpy(int)
            moved = [
                {"crime_type": t, f"rank_{a.key}": int(x), f"rank_{b.key}": int(y)}
                for t, x, y in zip(weighted["crime_type"], ra, rb, strict=True)
                if abs(int(x) - int(y)) >= 2
            ]
            rows.append({
                "schemes": [a.key, b.key],
                "method": "Spearman rank correlation of harm by crime type (anti-social behaviour excluded)",
                "spearman_rho": rho,
                "types_ranked_differently": moved,
            })
    return rows


def harm_by_area_month(records: pd.DataFrame, schemes: Sequence[HarmScheme], areas: pd.DataFrame, scope_name: str) -> pd.DataFrame:
    """Crime and harm side by side for the scope and each district, month by month.

    ``records`` carries ``harm_<key>`` columns (:func:`add_harm`); ``areas`` maps
    district_code to district.
    """
    harm_cols = [f"harm_{s.key}" for s in schemes]
    r = records.assign(
        crimes=np.where(records["crime_type"] != ASB, records["n"], 0),
        asb=np.where(records["crime_type"] == ASB, records["n"], 0),
    )
    cols = ["n", "crimes", "asb", *harm_cols]
    total = r.groupby("month", as_index=False)[cols].sum()
    total.insert(0, "area", scope_name)
    total.insert(0, "level", "scope")
    named = r.merge(areas[["district_code", "district"]], on="district_code", how="inner")
    dist = named.groupby(["district", "month"], as_index=False)[cols].sum().rename(columns={"district": "area"})
    dist.insert(0, "level", "district")
    out = pd.concat([total, dist], ignore_index=True).rename(columns={"n": "records"})
    out["month"] = [m.strftime("%Y-%m") for m in out["month"]]
    return out
