"""The XmR rules against NHSRplotthedots (NHS-R Community, v0.2, the "Making Data Count" reference).

Three kinds of check:

* its own unit tests (tests/testthat/test-ptd_calculate_point_type.R,
  test-ptd_spc_standard.R), ported case for case onto the functions that port its rules;
* its published reference values: the test snapshot of ``ptd_spc_standard`` (R's
  ``set.seed(123); rnorm(20)``) and the outlier-screening example of its
  "Deviations from Excel defaults" vignette;
* an independent, literal point-by-point transliteration of its R code (below, loops as
  the R reads) compared with :func:`xmr_chart` on random series, rebases and baselines.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thrv.stats.spc import (
    one_side_of_mean,
    part_of_run,
    part_of_two_in_three,
    run_trend,
    special_cause_rule,
    two_in_three,
    xmr_chart,
)

# R: set.seed(123); rnorm(20) — the data of NHSRplotthedots' ptd_spc_standard tests
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
    -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
    -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]


def _eq(got: np.ndarray, expected: list[int]) -> None:
    assert got.tolist() == expected


# --- test-ptd_calculate_point_type.R -------------------------------------------------------


def test_ptd_seven_point_one_side_mean() -> None:
    _eq(one_side_of_mean([]), [])
    _eq(one_side_of_mean([1] * 6), [0] * 6)
    _eq(one_side_of_mean([1] * 6 + [-1]), [0] * 7)
    _eq(one_side_of_mean([1] * 8 + [-1]), [0, 0, 0, 0, 0, 0, 1, 1, 0])
    _eq(one_side_of_mean([-1] * 8 + [1]), [0, 0, 0, 0, 0, 0, 1, 1, 0])


def test_ptd_part_of_seven_trend() -> None:
    _eq(part_of_run([]), [])
    _eq(part_of_run([0] * 6), [0] * 6)
    _eq(part_of_run([0] * 6 + [1, 0]), [1] * 7 + [0])
    _eq(part_of_run([0] * 7 + [1, 0]), [0] + [1] * 7 + [0])
    _eq(part_of_run([0] * 6 + [-1, 0]), [1] * 7 + [0])
    _eq(part_of_run([0] * 7 + [-1, 0]), [0] + [1] * 7 + [0])


def test_ptd_seven_point_trend() -> None:
    _eq(run_trend([]), [])
    _eq(run_trend(range(1, 7)), [0] * 6)
    _eq(run_trend([1, 2, 3, 3, 4, 5, 6]), [0] * 7)
    _eq(run_trend(range(1, 8)), [0] * 6 + [1])
    _eq(run_trend([2, *range(1, 8), 3]), [0] * 7 + [1, 0])
    _eq(run_trend(range(7, 0, -1)), [0] * 6 + [-1])
    _eq(run_trend([2, *range(7, 0, -1), 3]), [0] * 7 + [-1, 0])


def test_ptd_two_in_three() -> None:
    _eq(two_in_three([], []), [])
    _eq(two_in_three([0, 0, 0], [0]), [0, 0, 0])
    d = two_in_three([1, 0, 1], [1, 1, 1])
    e = two_in_three([0, 1, 1], [1, 1, 1])
    f = two_in_three([1, 1, 0], [1, 1, 1])
    assert d.tolist() == e.tolist() == f.tolist() == [1, 1, 1]
    _eq(two_in_three([0, 0, 1, 0, 1, 0, 0], [1] * 7), [0, 0, 1, 1, 1, 0, 0])
    _eq(two_in_three([0, 0, 1, 1, 0, 0, 0], [1] * 7), [0, 1, 1, 1, 1, 0, 0])


def test_ptd_two_in_three_on_opposite_sides_of_the_mean() -> None:
    _eq(two_in_three([1, 0, 1], [1, -1, 1]), [0] * 3)
    _eq(two_in_three([0, 1, 1], [1, -1, 1]), [0] * 3)
    _eq(two_in_three([1, 1, 0], [1, -1, 1]), [0] * 3)
    _eq(two_in_three([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1]), [0] * 7)
    _eq(two_in_three([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1]), [0] * 7)


@pytest.mark.parametrize(
    ("close", "side", "expected"),
    [
        ([], [], []),
        ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
        ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
        ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
        ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),
        ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
    ],
)
def test_ptd_part_of_two_in_three(close: list[int], side: list[int], expected: list[int]) -> None:
    _eq(part_of_two_in_three(two_in_three(close, side), close), expected)


def test_ptd_special_cause_type_precedence() -> None:
    # The R test mocks the rule functions; here the same rule flags are passed in.
    rule, direction = special_cause_rule(
        values=range(1, 9),
        side=[1] * 4 + [-1] * 4,
        outside=[0, 0, 0, 0, 0, 1, -1, 0],
        part_trend=[1, -1, 0, 0, 0, 0, 0, 0],
        part_two=[0, 0, 0, 0, 1, 0, 0, 0],
        part_shift=[0, 0, 1, -1, 0, 0, 0, 0],
    )
    # R: "7 Point Trend (Increasing)" ×2, "7 Points Above CL" ×2, "2 in 3 Below CL",
    # "Below LCL" ×2, "Common Cause"
    assert rule.tolist() == ["trend", "trend", "shift", "shift", "two_of_three",
                             "beyond_limits", "beyond_limits", ""]
    assert direction.tolist() == [1, 1, 1, 1, -1, -1, -1, 0]


# --- test-ptd_spc_standard.R and its snapshot ---------------------------------------------


def test_ptd_spc_standard_snapshot_values() -> None:
    r1 = xmr_chart(RNORM_123, "higher_is_better")
    assert r1.mean[0] == pytest.approx(0.1416238, abs=5e-8)
    assert r1.lcl[0] == pytest.approx(-3.01138, abs=5e-6)
    assert r1.ucl[0] == pytest.approx(3.294627, abs=5e-7)
    assert np.sign(np.array(RNORM_123) - r1.mean[0]).astype(int).tolist()[:15] == [
        -1, -1, 1, -1, -1, 1, 1, -1, -1, -1, 1, 1, 1, -1, -1]
    assert not r1.beyond_limits.any()
    assert r1.variation == "common cause"  # summary: 20 common cause points
    assert not r1.special_cause.any()
    y = list(RNORM_123)
    y[14] = 10.0
    r2 = xmr_chart(y)  # screen_outliers = TRUE
    assert r2.mean[0] == pytest.approx(0.6694159, abs=5e-8)
    assert r2.lcl[0] == pytest.approx(-2.383666, abs=5e-7)
    assert r2.ucl[0] == pytest.approx(3.722497, abs=5e-7)
    r3 = xmr_chart(y, screen_outliers=False)
    assert r3.lcl[0] == pytest.approx(-4.596625, abs=5e-7)
    assert r3.ucl[0] == pytest.approx(5.935457, abs=5e-7)
    assert r3.ucl[0] - r3.lcl[0] > r2.ucl[0] - r2.lcl[0]


def test_ptd_spc_standard_facets_and_rebase_groups() -> None:
    # summary snapshot: facets of 10 points each have their own mean and limits
    for part, (mean, lpl, upl) in ((RNORM_123[:10], (0.0746, -2.60, 2.75)), (RNORM_123[10:], (0.209, -3.28, 3.70))):
        chart = xmr_chart(part)
        assert (round(chart.mean[0], 4 if mean < 0.1 else 3), round(chart.lcl[0], 2), round(chart.ucl[0], 2)) == (mean, lpl, upl)
    # a rebase at the 11th point gives the same two groups
    rebased = xmr_chart(RNORM_123, rebase_at=10)
    assert rebased.segment.tolist() == [0] * 10 + [1] * 10
    assert rebased.mean[-1] == pytest.approx(xmr_chart(RNORM_123[10:]).mean[0])


def test_fix_after_n_points_changes_the_limits() -> None:
    s0 = xmr_chart(RNORM_123)
    s1 = xmr_chart(RNORM_123, baseline_points=12)
    assert s1.lcl[0] != s0.lcl[0] and s1.ucl[0] != s0.ucl[0]
    assert s1.mean[0] == pytest.approx(np.mean(RNORM_123[:12]))


def test_two_of_three_close_to_limits_on_opposite_sides_is_common_cause() -> None:
    data = [1.0, -1.0] * 8
    data[14], data[15] = 5.5, -5.5
    chart = xmr_chart(data, "higher_is_better")
    assert chart.point_variation.tolist()[-2:] == ["common cause", "common cause"]


def test_deviations_vignette_outlier_screening() -> None:
    data = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
    screened = xmr_chart(data, "higher_is_better")
    assert (round(screened.ucl[0], 2), round(screened.mean[0], 2), round(screened.lcl[0], 2)) == (4.6, 1.94, -0.72)
    excel = xmr_chart(data, "higher_is_better", screen_outliers=False)
    assert (round(excel.ucl[0], 2), round(excel.mean[0], 2), round(excel.lcl[0], 2)) == (6.95, 1.94, -3.06)
    for chart in (screened, excel):  # "four common cause points, a single special cause
        expected = ["common cause"] * 18  # improvement point, a further 12 [sic] common cause"
        expected[4] = "special cause improvement"
        assert chart.point_variation.tolist() == expected


# --- an independent, literal transliteration of the R code --------------------------------


def _reference(y: list[float], improvement: int, screen: bool, groups: list[int],
               fix: int | None) -> list[str]:
    """ptd_spc_standard + ptd_calculate_point_type + ptd_point_type, point by point."""
    out: list[str] = []
    for g in sorted(set(groups)):
        v = [y[i] for i in range(len(y)) if groups[i] == g]
        n = len(v)
        fix_y = [v[i] if i < (fix if fix is not None else n) else None for i in range(n)]
        fy = [a for a in fix_y if a is not None]
        mean_col = sum(fy) / len(fy)
        mr = [None] + [abs(fix_y[i] - fix_y[i - 1]) if fix_y[i] is not None and fix_y[i - 1] is not None else None
                       for i in range(1, n)]
        present = [m for m in mr if m is not None]
        amr = sum(present) / len(present)
        if screen:
            kept = [m for m in present if m < 3.267 * amr]
            amr = sum(kept) / len(kept) if kept else 0.0  # R: NaN when nothing is kept
        lpl, upl = mean_col - 2.66 * amr, mean_col + 2.66 * amr
        nlpl, nupl = mean_col - 2 * (2.66 / 3) * amr, mean_col + 2 * (2.66 / 3) * amr
        outside = [a > upl or a < lpl for a in v]
        rtm = [(a > mean_col) - (a < mean_col) for a in v]
        close = [not o and (a < nlpl or a > nupl) for a, o in zip(v, outside, strict=True)]
        # ptd_seven_point_trend
        trend = [0] * n
        for i in range(6, n):
            d = [(v[j] > v[j - 1]) - (v[j] < v[j - 1]) for j in range(i - 5, i + 1)]
            trend[i] = 1 if all(x == 1 for x in d) else (-1 if all(x == -1 for x in d) else 0)
        # ptd_seven_point_one_side_mean
        side7 = [int(i >= 6 and rtm[i] != 0 and all(rtm[i - k] == rtm[i] for k in range(1, 7))) for i in range(n)]

        def part(w: list[int]) -> list[bool]:
            return [any(abs(w[j]) == 1 for j in range(i, min(len(w), i + 7))) for i in range(len(w))]

        part_trend, part_shift = part(trend), part(side7)
        cp, rp = [0, 0, *map(int, close), 0, 0], [0, 0, *rtm, 0, 0]
        tit = [any(sum(cp[i + a : i + a + 3]) >= 2 and abs(sum(rp[i + a : i + a + 3])) == 3 for a in range(3))
               for i in range(n)]
        part_two = [t and c for t, c in zip(tit, close, strict=True)]
        sdy = [(v[i + 1] > v[i]) - (v[i + 1] < v[i]) for i in range(n - 1)]
        for i in range(n):
            if outside[i]:
                sign = 1 if rtm[i] == 1 else -1
            elif part_trend[i]:
                nxt = i + 1 < n and part_trend[i + 1]
                step = (sdy[i] if i < n - 1 else sdy[-1]) if nxt else (sdy[i - 1] if i > 0 else 0)
                sign = 1 if step == 1 else -1
            elif part_two[i] or part_shift[i]:
                sign = 1 if rtm[i] > 0 else -1
            else:
                out.append("common cause")
                continue
            if improvement == 0:
                out.append("special cause (neither)")
            else:
                out.append("special cause improvement" if sign * improvement > 0 else "special cause concern")
    return out


@settings(max_examples=150, deadline=None)
@given(
    y=st.lists(st.integers(0, 12).map(float), min_size=4, max_size=40),
    improvement=st.sampled_from([1, 0, -1]),
    screen=st.booleans(),
    rebase=st.integers(0, 40),
    fix=st.one_of(st.none(), st.integers(2, 15)),
)
def test_matches_a_literal_transliteration_of_the_r_code(
    y: list[float], improvement: int, screen: bool, rebase: int, fix: int | None
) -> None:
    n = len(y)
    rebase_at = rebase if 2 <= rebase <= n - 2 else None
    groups = [0 if rebase_at is None or i < rebase_at else 1 for i in range(n)]
    direction = {1: "higher_is_better", 0: "none", -1: "lower_is_better"}[improvement]
    chart = xmr_chart(y, direction, rebase_at=rebase_at, baseline_points=fix,  # type: ignore[arg-type]
                      screen_outliers=screen)
    assert chart.point_variation.tolist() == _reference(y, improvement, screen, groups, fix)


def test_transliteration_agrees_on_real_style_trend_and_shift() -> None:
    # a falling run above the mean: the R code calls it a decreasing trend
    y = [1.0, 9.0] * 6 + [7.9, 7.8, 7.7, 7.6, 7.5, 7.4, 7.3]
    assert _reference(y, -1, True, [0] * len(y), 12)[-1] == "special cause improvement"
    assert xmr_chart(y, "lower_is_better", baseline_points=12).variation == "special cause improvement"
