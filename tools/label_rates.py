#!/usr/bin/env python3
"""How often the pack's labels say "significant": on the real sample, and on stable months.

Usage::

    PYTHONPATH=src .venv/bin/python tools/label_rates.py [--work DIR] [--sims 200]

1. **Share of significant labels** (label, label_1y, label_3y at force, area and district
   level) in the real packs: Cambridgeshire 2025-12 (the bundled sample) and Northumbria
   2023-02 (../shared/data), with the plain Poisson tests, with the default
   (dispersion-adjusted, seasonal) tests, and with labels by false discovery rate.  Run
   with an older checkout on PYTHONPATH it reports that version's labels (options it does
   not know are skipped), which is how the "before" figures in docs/methods.md were made.
2. **False-alarm rate on stable months**: for every real count series of those packs, its
   own seasonal Poisson model (month-of-year effects at the level of the pack month, no
   trend: a stable series) with its own dispersion φ generates ``--sims`` series over the
   months the store holds (gamma-Poisson counts, variance φ·μ; generated data, labelled as
   such in the output).  Every label of the pack is then a false alarm when significant;
   a nominal 5% test should raise about 5%.

The stores are built once in --work from the real files.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "police_uk"
SIGNIFICANT = ("Improved", "Deteriorated", "Higher", "Lower")
LEVELS = ["force", "area", "district"]


def _store(work: Path, name: str, sources: list[Path]) -> Path:
    from thrv.ingest import ingest
    from thrv.store.database import Store

    path = work / f"{name}.duckdb"
    if not path.exists():
        with Store(path) as store:
            ingest(store, sources)
    return path


def _options(**kwargs: object) -> object:
    from thrv.indicators.compare import CompareOptions

    known = {f.name for f in dataclasses.fields(CompareOptions)}
    return CompareOptions(**{k: v for k, v in kwargs.items() if k in known})


def _share(table: pd.DataFrame, levels: list[str]) -> str:
    t = table[table["level"].isin(levels)]
    labels = t[["label", "label_1y", "label_3y"]].to_numpy().ravel()
    tested = int((~np.isin(labels, ["Insufficient data", "Immature"])).sum())
    sig = int(np.isin(labels, SIGNIFICANT).sum())
    return f"{sig} / {tested} ({100 * sig / max(tested, 1):.1f}%)"


def real_shares(stores: dict[str, tuple[Path, dt.date]]) -> None:
    from thrv.indicators.pack import build_pack
    from thrv.store.database import Store

    print("| pack | tests | force | area | district | all three levels |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (db, month) in stores.items():
        with Store(db, read_only=True) as store:
            for what, opts in (
                ("plain Poisson", _options(dispersion=False, seasonal=False)),
                ("default", _options()),
                ("default, labels by FDR", _options(fdr=True)),
            ):
                if what != "plain Poisson" and "dispersion" not in {f.name for f in dataclasses.fields(type(opts))}:  # type: ignore[arg-type]
                    continue
                table = build_pack(store, month, levels=LEVELS, options=opts).table  # type: ignore[arg-type]
                cells = " | ".join(_share(table, lv) for lv in ([["force"], ["area"], ["district"], LEVELS]))
                print(f"| {name} {month:%Y-%m} | {what} | {cells} |")


def false_alarms(stores: dict[str, tuple[Path, dt.date]], sims: int, seed: int) -> None:
    from thrv.indicators.compare import SeriesMatrix, compare
    from thrv.indicators.pack import build_pack
    from thrv.stats.dispersion import design, fit_seasonal_poisson
    from thrv.store.database import Store

    rng = np.random.default_rng(seed)
    print(f"\nGENERATED stable series: {sims} per real count series, from its own seasonal model and φ")
    print("| pack | comparison | plain Poisson | dispersion-adjusted | series |")
    print("| --- | --- | --- | --- | --- |")
    for name, (db, month) in stores.items():
        with Store(db, read_only=True) as store:
            pack = build_pack(store, month, levels=LEVELS)
        counts = [i for i, ind in pack.indicators.items() if ind.measure == "count"]
        hist = pack.history[pack.history["indicator"].isin(counts) & pack.history["level"].isin(LEVELS)]
        wide = hist.pivot_table(index=["indicator", "level", "force", "area"], columns="month", values="value", dropna=False)
        months = [dt.date(int(m[:4]), int(m[5:]), 1) for m in wide.columns]
        idx = np.array([m.year * 12 + m.month - 1 for m in months])
        y = wide.to_numpy(dtype=float)
        keep = np.isfinite(y).sum(axis=1) >= 24
        keep &= np.nansum(y, axis=1) >= 24 * 5  # series with a few events a month or more
        y, keys = y[keep], wide.index[keep].to_frame(index=False)
        fit = fit_seasonal_poisson(y, idx % 12, (idx - idx[0]) / 12.0)
        x = design(idx % 12, (idx - idx[0]) / 12.0)
        level_at_m = fit.coef[:, 0] * x[-1, 0]  # the trend's value at the pack month, held flat
        mu = np.exp(level_at_m[:, None] + fit.coef[:, 1:][:, idx % 12])
        phi = np.where(np.isfinite(fit.dispersion), fit.dispersion, 1.0)
        held = np.isfinite(y)
        # 48 columns ending at the pack month, as the pack's matrix
        first = month.year * 12 + month.month - 1 - 47
        all_idx = np.arange(first, first + 48)
        col = {v: k for k, v in enumerate(all_idx)}
        n = len(keys) * sims
        shape = np.repeat(mu / np.maximum(phi[:, None] - 1, 1e-9), sims, axis=0)
        mean = np.repeat(mu, sims, axis=0)
        over = np.repeat(phi > 1.000001, sims)
        lam = np.where(over[:, None], rng.gamma(np.maximum(shape, 1e-9), mean / np.maximum(shape, 1e-9)), mean)
        sim = rng.poisson(lam).astype(float)
        sim[~np.repeat(held, sims, axis=0)] = np.nan
        num = np.full((n, 48), np.nan)
        num[:, [col[v] for v in idx]] = sim
        k = pd.DataFrame(np.repeat(keys.to_numpy(), sims, axis=0), columns=keys.columns)
        k["area"] = k["area"] + "#" + np.tile(np.arange(sims).astype(str), len(keys))
        k["area_code"] = ""
        k["table"] = k["indicator"].map({i: ind.table for i, ind in pack.indicators.items()})
        k["measure"] = "count"
        cols = [dt.date(int(v) // 12, int(v) % 12 + 1, 1) for v in all_idx]
        matrix = SeriesMatrix(k, cols, num, np.full((n, 48), np.nan))
        results = {}
        for what, opts in (("plain", _options(dispersion=False, seasonal=False)), ("adjusted", _options())):
            results[what] = compare(matrix, pack.indicators, month, opts)  # type: ignore[arg-type]
        for suffix, label in (("", "rolling 12 months vs baseline"), ("_1y", "month vs 1-year average"), ("_3y", "month vs 3-year average")):
            rates = []
            for what in ("plain", "adjusted"):
                p = results[what][f"p_value{suffix}"].to_numpy(dtype=float)
                ok = np.isfinite(p)
                rates.append(f"{100 * np.mean(p[ok] < 0.05):.1f}%" if ok.any() else "—")
            print(f"| {name} {month:%Y-%m} | {label} | {rates[0]} | {rates[1]} | {len(keys)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "label-rates-work")
    parser.add_argument("--sims", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--skip-simulation", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    stores = {"Cambridgeshire": (_store(args.work, "cambridgeshire", [ROOT / "data" / "sample"]), dt.date(2025, 12, 1))}
    if SHARED.exists():
        stores["Northumbria"] = (_store(args.work, "northumbria", [SHARED / "northumbria"]), dt.date(2023, 2, 1))
    real_shares(stores)
    if not args.skip_simulation:
        false_alarms(stores, args.sims, args.seed)


if __name__ == "__main__":
    main()
