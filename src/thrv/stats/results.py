"""Result containers shared by every test in :mod:`thrv.stats`.

One shape for every comparison means the report, the web layer and the
labelling rules can treat a Poisson test, a proportion test and a median test
alike: a p-value, an effect size with its interval, and a note saying why a
value is missing when it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TestResult:
    """Outcome of one statistical comparison.

    ``estimate`` is the effect size on the scale given by ``null_value``: a
    ratio (rate ratio, count ratio) has ``null_value=1.0``; a difference
    (difference in proportions, in medians, annual % change) has
    ``null_value=0.0``.  :func:`thrv.stats.labels.classify` compares the
    estimate with ``null_value`` to decide the direction of a significant
    change, so a caller never has to guess the scale from ``method``.

    Any of the numeric fields is ``None`` when it cannot be computed; ``note``
    then says why, in words fit for a footnote.
    """

    __test__ = False  # not a pytest test class, despite the name

    method: str
    p_value: float | None
    statistic: float | None
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    note: str = ""
    null_value: float = 0.0


def _readonly(values: Any) -> FloatArray:
    array = np.array(values, dtype=np.float64, copy=True)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class TestResultArray:
    """Vectorised counterpart of :class:`TestResult`: one element per row.

    Rows that cannot be computed hold ``NaN`` in every numeric array (the
    scalar functions say why in ``note``; run them on a single row to see the
    reason).  The arrays are read-only copies so a result cannot be changed
    after the fact.
    """

    __test__ = False

    method: str
    p_value: FloatArray
    statistic: FloatArray
    estimate: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    confidence: float
    null_value: float = 0.0

    def __post_init__(self) -> None:
        for name in ("p_value", "statistic", "estimate", "ci_low", "ci_high"):
            object.__setattr__(self, name, _readonly(getattr(self, name)))

    def __len__(self) -> int:
        return int(self.p_value.shape[0]) if self.p_value.ndim else 1

    def row(self, index: int) -> TestResult:
        """The ``index``-th row as a :class:`TestResult` (NaN becomes ``None``)."""

        def value(array: FloatArray) -> float | None:
            item = float(array[index])
            return None if np.isnan(item) else item

        return TestResult(
            method=self.method,
            p_value=value(self.p_value),
            statistic=value(self.statistic),
            estimate=value(self.estimate),
            ci_low=value(self.ci_low),
            ci_high=value(self.ci_high),
            confidence=self.confidence,
            null_value=self.null_value,
        )


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float, refusing values outside (0, 1)."""
    value = float(confidence)
    if not 0.0 < value < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return value


def unavailable(method: str, confidence: float, note: str, null_value: float = 0.0) -> TestResult:
    """A :class:`TestResult` with every number missing and ``note`` saying why."""
    return TestResult(
        method=method,
        p_value=None,
        statistic=None,
        estimate=None,
        ci_low=None,
        ci_high=None,
        confidence=confidence,
        note=note,
        null_value=null_value,
    )
