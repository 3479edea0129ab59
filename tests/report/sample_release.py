"""The sample published under both rules, and the ground truth the tests compare with.

The truth (the unpublished monthly figures) is never given to the intruder; only the
records with no district are, as side knowledge (the raw data.police.uk files show them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from thrv.report.disclosure import DisclosureRule, Release

RULES = {"threshold": DisclosureRule("threshold", 5), "ons_10_5": DisclosureRule("ons_10_5")}


def true_matrix(release: Release) -> Any:
    """The unpublished monthly figures (the test's ground truth, never given to the intruder)."""
    from thrv.indicators.pack import build_pack, parse_month

    seen: dict[str, Any] = {}

    def capture(matrix: Any, *_args: Any) -> Any:
        seen["matrix"] = matrix
        return matrix

    build_pack(None, parse_month(release.months[-1]), levels=("force", "area", "district"), inputs=release.inputs,
               options=release.options, publish=capture)
    return seen["matrix"]


def no_district(matrix: Any) -> dict[tuple[str, str, str], float]:
    """Records with no district per month, indicator and force (side knowledge: the raw files show them)."""
    keys = matrix.keys
    out: dict[tuple[str, str, str], float] = {}
    for ind in keys["indicator"].unique():
        rows = keys[keys["indicator"] == ind]
        measure = rows["measure"].iat[0]
        if measure not in {"count", "proportion"}:
            continue
        for force in rows["force"].unique():
            f = rows[(rows["force"] == force) & (rows["level"] == "force")].index
            d = rows[(rows["force"] == force) & (rows["level"] == "district")].index
            if len(f) != 1 or len(d) == 0:
                continue
            for field, arr in (("", matrix.num), ("|d", matrix.den)):
                if measure == "count" and field:
                    continue
                diff = arr[f[0]] - arr[d].sum(axis=0)
                fam = ind if measure == "count" else f"{ind}|n" if not field else f"{ind}|d"
                for j, m in enumerate(matrix.months):
                    if np.isfinite(diff[j]):
                        out[(f"{m:%Y-%m}", fam, force)] = float(diff[j])
    return out


