"""Statistical methods for performance packs: pure functions, no I/O.

Every comparison returns a :class:`TestResult` (or, vectorised, a
:class:`TestResultArray`) and :func:`classify` turns one into the word shown
in a pack.  See ``docs/methods.md`` for the formulae and references.
"""

from thrv.stats.counts import (
    poisson_e_test,
    poisson_exact_test,
    poisson_exact_test_many,
    wheeler_z_test,
)
from thrv.stats.etest import e_test_pvalue
from thrv.stats.labels import LABELS, Direction, Label, classify, classify_many
from thrv.stats.medians import bootstrap_median_test, mann_whitney_test
from thrv.stats.proportions import (
    two_proportion_test,
    two_proportion_test_many,
    wilson_interval,
    wilson_interval_many,
)
from thrv.stats.rates import (
    Rate,
    RateArray,
    count_interval,
    crude_rate,
    crude_rate_many,
    rate_per_1000,
    rate_per_1000_many,
)
from thrv.stats.results import TestResult, TestResultArray
from thrv.stats.spatial import (
    benjamini_hochberg,
    getis_ord_gi_star,
    gini,
    lorenz_curve,
    top_share,
)
from thrv.stats.spc import XmRChart, xmr_chart
from thrv.stats.trend import mann_kendall_test, poisson_trend_test

__all__ = [
    "LABELS",
    "Direction",
    "Label",
    "Rate",
    "RateArray",
    "TestResult",
    "TestResultArray",
    "XmRChart",
    "benjamini_hochberg",
    "bootstrap_median_test",
    "classify",
    "classify_many",
    "count_interval",
    "crude_rate",
    "crude_rate_many",
    "e_test_pvalue",
    "getis_ord_gi_star",
    "gini",
    "lorenz_curve",
    "mann_kendall_test",
    "mann_whitney_test",
    "poisson_e_test",
    "poisson_exact_test",
    "poisson_exact_test_many",
    "poisson_trend_test",
    "rate_per_1000",
    "rate_per_1000_many",
    "top_share",
    "two_proportion_test",
    "two_proportion_test_many",
    "wheeler_z_test",
    "wilson_interval",
    "wilson_interval_many",
    "xmr_chart",
]
