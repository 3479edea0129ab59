"""The legend a pack carries: what each label and column means, in board-paper words.

Renderers print these texts as they are (``pack.meta["legend"]``), so every output states
the same method, and a change of method changes the legend with it.
"""

from __future__ import annotations

import datetime as dt

from thrv.indicators.compare import CompareOptions, baseline_months
from thrv.indicators.rollup import UNLOCATED_NOTE


def _span(months: list[dt.date]) -> str:
    if not months:
        return "no months"
    if len(months) == 1:
        return f"{months[0]:%B %Y}"
    return f"{months[0]:%B %Y} to {months[-1]:%B %Y}"


def legend(options: CompareOptions, month: dt.date) -> dict[str, str]:
    """Texts keyed by the column they explain."""
    r_only, b_only = baseline_months(month, options)
    pct = f"{100 * options.confidence:g}%"
    if options.dispersion:
        counts = (
            "Counts are tested allowing for over-dispersion: real monthly counts vary more than a "
            "Poisson model allows, by the factor in `dispersion` (φ, estimated from each series' "
            "own last 36 months, at least 24, with trend and season; floored at 1), so the exact "
            "Poisson test is made on the counts divided by φ (quasi-Poisson). Series with under "
            f"{options.dispersion_min_months} months of history use the plain exact Poisson test, and "
            "their test name says so."
        )
    else:
        counts = (
            "Counts are tested with the plain Poisson tests, which assume no over-dispersion: real "
            "monthly counts usually vary more (see `dispersion`), so more labels are significant "
            "than the confidence level implies."
        )
    return {
        "labels": (
            f"Labels come from a test at {pct} confidence. Volumes (recorded crime, anti-social "
            "behaviour, calls, stop and search) are Higher / Comparable / Lower: more recording can "
            "be good. Outcome rates, satisfaction, call handling and response times are Improved / "
            "Comparable / Deteriorated. Insufficient data: a period is missing. Immature: an outcome "
            "month too recent to judge (see `maturity`)."
        ),
        "label": (
            "Rolling 12 months vs the baseline, tested on the months the two periods do not share "
            f"({_span(r_only)} against {_span(b_only)}): the shared months are the same in both and "
            "say nothing about change."
        ),
        "label_1y": (
            "The month against the 1-year monthly average. For counts the test is against the "
            "seasonal expectation (`expected_1y`: the average scaled by the month's seasonal factor "
            "from a Poisson model of the 36 months before it) where the series has the history and "
            "events for one (`expectation` = seasonal), otherwise against the plain average. The "
            "average shown is the plain one."
        ),
        "label_3y": "As label_1y, against the 3-year monthly average (`expected_3y`).",
        "test": counts + " Proportions: two-proportion z-test. Medians: Mann-Whitney (or bootstrap); "
        "90th percentiles: a seeded bootstrap of the difference in 90th percentiles.",
        "dispersion": (
            "φ: how many times more variable the series is than Poisson (Pearson χ²/df of a Poisson "
            "model with trend and month of year over the 36 months to the pack month). 1 = Poisson; "
            "empty = under 24 months of history or not a count."
        ),
        "maturity": (
            "Outcome rates: crimes recorded in the latest months the store holds are still being "
            "investigated (the latest months have up to 44% 'Under investigation'), so their outcome "
            "rates are not comparable with older months. Those months are marked immature and left "
            "out of the tests (with the same calendar months of the baseline)."
        ),
        "q_value": (
            "Benjamini–Hochberg q-value over every label of this pack: a label with q below "
            f"{options.alpha:g} stays significant when the pack's false discovery rate is held at "
            f"{options.alpha:g}."
            + (" Labels here are decided by q, not p." if options.fdr else " Labels here are decided by p.")
        ),
        "unlocated": UNLOCATED_NOTE,
    }
