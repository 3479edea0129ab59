"""Near repeats and the assessment's newer sections, timed beside plain baselines in one run.

    python benchmarks/near_repeat.py [--db out/demo/thrv.duckdb] [--permutations 999]

Needs a store holding the bundled sample (``thrv ingest data/sample --db DB``).

1. **Knox test**, real Cambridgeshire burglaries 2024-01..2025-12 (police.uk months): thrv's
   :func:`thrv.stats.knox.knox_test` (pairs within the largest band from a KD-tree, counts
   re-made per permutation on those pairs only) beside the plain method — every pair's
   distance and time apart from ``scipy.spatial.distance.pdist``, binned, and the time
   distances recomputed for every permutation — on the first N crimes (the plain method
   needs N² memory), checking the two tables agree; then thrv alone on every burglary.
2. **The assessment** of the sample, built as before (near repeats, similar areas, hidden
   harm and the scorecard switched off) and as now, CPU seconds of each section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist

from thrv.assess import assessment as build
from thrv.assess import nearrepeat as nr
from thrv.assess.scope import resolve_scope
from thrv.stats.knox import band_index, knox_test, time_permutations
from thrv.store.database import Store

FIRST, LAST = dt.date(2024, 1, 1), dt.date(2025, 12, 1)


def plain_knox(x: np.ndarray, y: np.ndarray, t: np.ndarray, d_edges: list[float], t_edges: list[float],
               permutations: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair by pdist, and every permutation's time distances by pdist again."""
    de, te = np.asarray(d_edges, float), np.asarray(t_edges, float)
    si = band_index(pdist(np.column_stack([x, y])), de, "right")
    shape = (len(de) + 1, len(te) + 1)

    def table(times: np.ndarray) -> np.ndarray:
        ti = band_index(pdist(times[:, None], "cityblock"), te, "right")
        return np.bincount(si * shape[1] + ti, minlength=shape[0] * shape[1]).reshape(shape)

    observed = table(t)
    exceed = np.zeros(shape, dtype=int)
    for block in time_permutations(len(t), permutations, seed):
        for perm in block:
            exceed += table(t[perm]) >= observed
    return observed, (1 + exceed) / (1 + permutations)


def cpu(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path("out/demo/thrv.duckdb"))
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--plain-events", type=int, default=2000)
    args = parser.parse_args()
    cfg = nr.load_config()
    with Store(args.db, read_only=True) as store:
        con = store.ibis()
        scope = resolve_scope(con, None)
        events = nr.police_uk_events(con, scope, "Burglary", FIRST, LAST)
        x, y = nr.to_national_grid(events["longitude"].to_numpy(), events["latitude"].to_numpy())
        t = (events["month"].dt.year * 12 + events["month"].dt.month).to_numpy(float)
        d_edges, t_edges = list(cfg.distance_edges_police_uk), list(cfg.time_edges_months)
        n = min(args.plain_events, len(t))
        perms = max(19, args.permutations // 10)
        print(f"Knox test, burglary, first {n:,} of {len(t):,} crimes, {perms} permutations:")
        ours, s_ours = cpu(knox_test, x[:n], y[:n], t[:n], d_edges, t_edges, permutations=perms, seed=0)
        (obs, p), s_plain = cpu(plain_knox, x[:n], y[:n], t[:n], d_edges, t_edges, perms, 0)
        agree = bool((ours.observed == obs).all() and np.allclose(ours.p_value, p))
        print(f"  thrv {s_ours:6.2f} s   plain pdist {s_plain:6.2f} s   ({s_plain / s_ours:.0f}× faster; tables agree: {agree})")
        full, s_full = cpu(knox_test, x, y, t, d_edges, t_edges, permutations=args.permutations, seed=0)
        print(f"  thrv on all {len(t):,} burglaries, {args.permutations} permutations: {s_full:.2f} s "
              f"({full.close_pairs:,} pairs within {d_edges[-1]:,.0f} m of {full.pairs:,}); the plain method would need "
              f"{full.pairs * 8 * 2 / 1e9:.1f} GB for its two distance arrays")

        print("Assessment of the sample, 2024-01..2025-12 (CPU seconds):")
        sections = {"near_repeat": (nr, "section"), "similar": (build.similar, "section"),
                    "hidden_harm": (build.hidden, "indicators"), "scorecard": (build.scorecard, "build")}
        saved = {k: getattr(mod, name) for k, (mod, name) in sections.items()}
        try:
            for mod, name in sections.values():
                setattr(mod, name, lambda *a, **k: {})
            _, before = cpu(build.build_assessment, store, FIRST, LAST)
        finally:
            for k, (mod, name) in sections.items():
                setattr(mod, name, saved[k])
        spent: dict[str, float] = {}
        for k, (mod, name) in sections.items():
            def timed(*a: Any, _f: Any = saved[k], _k: str = k, **kw: Any) -> Any:
                out, s = cpu(_f, *a, **kw)
                spent[_k] = s
                return out
            setattr(mod, name, timed)
        try:
            _, after = cpu(build.build_assessment, store, FIRST, LAST)
        finally:
            for k, (mod, name) in sections.items():
                setattr(mod, name, saved[k])
        print(f"  without the four sections {before:6.2f} s   with them {after:6.2f} s")
        print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in spent.items()))


if __name__ == "__main__":
    main()
