"""thrv.stats.fdr: Benjamini–Hochberg q-values against statsmodels and the paper's example."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from thrv.stats.fdr import bh_qvalues

p_lists = st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), min_size=0, max_size=300)


@settings(max_examples=200, deadline=None)
@given(p=p_lists)
def test_equals_statsmodels_fdr_bh_on_the_finite_values(p: list[float]) -> None:
    arr = np.array(p, dtype=float)
    q = bh_qvalues(arr)
    ok = np.isfinite(arr)
    assert np.isnan(q[~ok]).all()
    if ok.any():
        np.testing.assert_allclose(q[ok], multipletests(arr[ok], method="fdr_bh")[1], rtol=1e-12, atol=1e-15)
        assert (q[ok] >= arr[ok] - 1e-15).all() and (q[ok] <= 1).all()
        order = np.argsort(arr[ok], kind="mergesort")
        assert (np.diff(q[ok][order]) >= -1e-15).all()  # monotone in p


def test_benjamini_hochberg_1995_example() -> None:
    """The 15 p-values of Benjamini & Hochberg (1995, §4.1): at q = 0.05 the first four are
    discoveries (Bonferroni keeps three)."""
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000]
    q = bh_qvalues(p)
    assert int((q < 0.05).sum()) == 4
    assert q[3] == pytest.approx(0.0095 * 15 / 4)


def test_shape_and_bad_input() -> None:
    assert bh_qvalues(np.zeros((2, 3))).shape == (2, 3)
    assert bh_qvalues([]).size == 0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        bh_qvalues([0.5, 1.5])
