"""Words for test results: "Improved", "Deteriorated", "Comparable" and friends.

A performance pack shows one word per indicator.  The word depends on three
things only: whether the change is significant at ``alpha``, which side of
"no change" the estimate lies (above or below the result's ``null_value``:
1 for ratios, 0 for differences), and which direction is good for the
indicator.  Keeping the rule here, in one place, means every table and chart
labels alike.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from thrv.stats.results import TestResult, TestResultArray

Direction = Literal["lower_is_better", "higher_is_better", "none"]
Label = Literal["Improved", "Comparable", "Deteriorated", "Higher", "Lower", "Insufficient data"]

LABELS: tuple[Label, ...] = (
    "Improved",
    "Comparable",
    "Deteriorated",
    "Higher",
    "Lower",
    "Insufficient data",
)

_WORDS: dict[Direction, tuple[Label, Label]] = {
    # (word when the estimate is above no-change, word when below)
    "lower_is_better": ("Deteriorated", "Improved"),
    "higher_is_better": ("Improved", "Deteriorated"),
    "none": ("Higher", "Lower"),
}


def _check(direction: str, alpha: float) -> None:
    if direction not in _WORDS:
        raise ValueError(f"direction must be one of {sorted(_WORDS)}, got {direction!r}")
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")


def classify(
    result: TestResult,
    direction: Direction,
    alpha: float = 0.05,
    null_value: float | None = None,
) -> Label:
    """One word for a :class:`TestResult`.

    * no p-value → "Insufficient data";
    * p ≥ alpha → "Comparable";
    * p < alpha → the estimate's side of ``null_value`` (the result's own
      unless overridden) decides: "Higher"/"Lower" when ``direction`` is
      "none", otherwise "Improved"/"Deteriorated" according to which way is
      good.  A significant result with no estimate is "Insufficient data"; one
      whose estimate equals ``null_value`` exactly (possible for rank tests
      with equal medians) is "Comparable", as no direction can be given.
    """
    _check(direction, alpha)
    if result.p_value is None or np.isnan(result.p_value):
        return "Insufficient data"
    if result.p_value >= alpha:
        return "Comparable"
    if result.estimate is None or np.isnan(result.estimate):
        return "Insufficient data"
    centre = result.null_value if null_value is None else float(null_value)
    above, below = _WORDS[direction]
    if result.estimate > centre:
        return above
    if result.estimate < centre:
        return below
    return "Comparable"


def classify_many(
    results: TestResultArray,
    direction: Direction,
    alpha: float = 0.05,
    null_value: float | None = None,
) -> npt.NDArray[np.str_]:
    """:func:`classify` for every row of a :class:`TestResultArray` (NaN = missing)."""
    _check(direction, alpha)
    p = np.asarray(results.p_value, dtype=np.float64)
    estimate = np.asarray(results.estimate, dtype=np.float64)
    centre = results.null_value if null_value is None else float(null_value)
    above, below = _WORDS[direction]
    with np.errstate(invalid="ignore"):
        significant = p < alpha
        choices = [
            np.isnan(p),
            ~significant,
            np.isnan(estimate),
            estimate > centre,
            estimate < centre,
        ]
    words = ["Insufficient data", "Comparable", "Insufficient data", above, below]
    return np.select(choices, words, default="Comparable").astype(np.str_)
