"""Input checks shared by the statistics modules.

Bad arguments that can only come from a programming error (a negative count,
a fractional count, a confidence of 95 instead of 0.95) raise ``ValueError``;
data that is merely too thin to test is reported in a result's ``note``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from thrv.stats.results import FloatArray


def as_count(value: float, name: str) -> int:
    """Return ``value`` as a non-negative int, refusing fractions, NaN and negatives."""
    number = float(value)
    if not math.isfinite(number) or number < 0 or number != math.floor(number):
        raise ValueError(f"{name} must be a non-negative whole number, got {value!r}")
    return int(number)


def as_float(value: float, name: str) -> float:
    """Return ``value`` as a finite float."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def as_float_array(values: npt.ArrayLike) -> FloatArray:
    """A float64 copy of ``values`` (at least one dimension)."""
    return np.atleast_1d(np.array(values, dtype=np.float64))


def valid_counts(values: FloatArray) -> npt.NDArray[np.bool_]:
    """Which elements are finite, non-negative whole numbers."""
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values >= 0) & (values == np.floor(values))


def sample(values: npt.ArrayLike) -> tuple[FloatArray, int]:
    """The finite values of ``values``, flattened, and how many others were dropped."""
    array = np.asarray(values, dtype=np.float64).ravel()
    finite = np.isfinite(array)
    dropped = int(array.size - finite.sum())
    return array[finite], dropped
