"""XmR (individuals) statistical process control charts, ported from NHSRplotthedots.

Why: a monthly indicator always moves; the chart separates the ordinary month-
to-month noise of a stable process ("common cause" variation) from signals
that something has changed ("special cause").  Police and NHS analysts share
the method, so charts here read exactly as the NHS "Making Data Count"
charts drawn by NHS-R's NHSRplotthedots (``ptd_spc``, version 0.2) do.

Method (Wheeler & Chambers 1992; NHS England/Improvement 2019, *Making Data
Count*; rules and precedence as NHSRplotthedots ``ptd_spc_standard`` and
``ptd_calculate_point_type``):

* centre line: mean of the baseline points;
* moving ranges |x_i − x_{i−1}| between consecutive baseline points and their
  mean mR̄; with outlier screening (the default, as in NHSRplotthedots; Nelson
  1982) the moving ranges not below 3.267·mR̄ are dropped and mR̄ recomputed;
* process limits: mean ± 2.66·mR̄ (2.66 = 3/d₂, d₂ = 1.128); the "near" (2σ)
  lines at mean ± (2/3)·2.66·mR̄.

Special-cause rules, each flagged per point; where several catch a point the
first in this order names it (NHSRplotthedots' precedence):

1. ``beyond_limits``: the point is above the upper or below the lower limit;
2. ``trend``: the point belongs to ``trend_length`` (7) or more consecutive
   points each strictly higher (or each strictly lower) than the one before;
3. ``two_of_three``: the point lies between a 2σ line and the limit, and two
   or more of a window of three consecutive points containing it do so while
   all three lie on the same side of the mean (a point exactly on the mean, or
   one beyond the limits, does not count towards the two);
4. ``shift``: the point belongs to ``shift_length`` (7) or more consecutive
   points on the same side of the mean (a point on the mean breaks the run).

The direction of a special cause is the side of the mean for rules 1, 3 and
4, and for a trend the direction of the trend: the step to the next point if
that point is also in a trend, else the step from the previous point (so a
trend point above the mean in a falling run is "low": a trend takes
precedence over a shift).

All rules run within a segment: rebasing starts a new segment (new mean and
limits) and no run crosses it.  ``baseline_points=k`` (NHSRplotthedots'
``fix_after_n_points``) fixes each segment's limits from its first k points.
Missing months are the caller's to drop: points are taken as consecutive.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from thrv.stats.labels import Direction
from thrv.stats.results import BoolArray, FloatArray

LIMIT_FACTOR = 2.66
"""3/d₂ with d₂ = 1.128, the bias constant of the range of two normal values."""
NEAR_FACTOR = 2 * LIMIT_FACTOR / 3
"""The 2σ ("near the limits") lines, as a multiple of mR̄: NHSRplotthedots' ``limitclose``."""
RANGE_LIMIT_FACTOR = 3.267
"""D₄ for ranges of two: moving ranges not below 3.267·mR̄ are screened out as outliers."""
RECOMMENDED_POINTS = 12
"""Making Data Count advises at least 12 (ideally 20) points before relying on limits."""
RULES = ("beyond_limits", "trend", "two_of_three", "shift")
"""The special-cause rules in NHSRplotthedots' order of precedence."""
RULE_TEXT = {
    "beyond_limits": "point beyond a process limit",
    "trend": "trend (run of rising or falling points)",
    "two_of_three": "two of three points near a process limit",
    "shift": "shift (run of points on one side of the mean)",
}

Variation = Literal[
    "special cause improvement",
    "special cause concern",
    "special cause (neither)",
    "common cause",
]
Assurance = Literal["consistently passes", "consistently fails", "hit and miss"]
IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]


@dataclass(frozen=True, eq=False)
class XmRChart:
    """An XmR chart: per-point lines and flags, and a summary of the latest point.

    Per point (arrays as long as ``values``): ``segment`` (0, 1, … after each
    rebase), ``mean``, ``ucl``/``lcl`` (process limits), ``upper_2sigma``/
    ``lower_2sigma`` and ``upper_1sigma``/``lower_1sigma``, the
    ``moving_range`` from the previous point of the same segment (NaN at a
    segment's start), ``mean_moving_range`` (after screening), one boolean
    array per rule (``beyond_limits``, ``trend``, ``two_of_three``,
    ``shift``), their union ``special_cause``, ``rule`` (the rule that names
    the point by precedence, "" for common cause) and ``cause_direction``:
    "high", "low" or "" (no special cause).

    Summary: ``variation`` of the latest point given ``improvement``
    (``None`` when the chart cannot be drawn), ``assurance`` against
    ``target`` (``None`` without a target or a good direction), and ``note``.
    """

    values: FloatArray
    segment: IntArray
    mean: FloatArray
    ucl: FloatArray
    lcl: FloatArray
    upper_2sigma: FloatArray
    lower_2sigma: FloatArray
    upper_1sigma: FloatArray
    lower_1sigma: FloatArray
    moving_range: FloatArray
    mean_moving_range: FloatArray
    beyond_limits: BoolArray
    shift: BoolArray
    trend: BoolArray
    two_of_three: BoolArray
    special_cause: BoolArray
    rule: StrArray
    cause_direction: StrArray
    point_variation: StrArray
    variation: Variation | None
    assurance: Assurance | None
    improvement: Direction
    target: float | None
    shift_length: int
    trend_length: int
    screen_outliers: bool
    note: str = ""


# --- NHSRplotthedots' rule functions, one for one (R/ptd_calculate_point_type.R) -----------
# Each takes and returns numeric vectors of -1/0/1 as the R functions do, with the run
# length as a parameter (R fixes it at 7), so its unit tests port unchanged.


def one_side_of_mean(side: npt.ArrayLike, length: int = 7) -> IntArray:
    """``ptd_seven_point_one_side_mean``: 1 at the last point of each window of ``length``
    points all on the same (non-zero) side of the mean."""
    v = np.asarray(side, dtype=np.int64)
    out = np.zeros(v.size, dtype=np.int64)
    if v.size < length:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(v, length)
    same = (windows == windows[:, -1:]).all(axis=1) & (windows[:, -1] != 0)
    out[length - 1 :] = same
    return out


def part_of_run(flags: npt.ArrayLike, length: int = 7) -> IntArray:
    """``ptd_part_of_seven_trend``: 1 where this or one of the next ``length`` − 1 points
    ends a run (so every point of a run is flagged)."""
    v = np.abs(np.asarray(flags, dtype=np.int64)) == 1
    padded = np.concatenate((v, np.zeros(length - 1, dtype=bool)))
    if v.size == 0:
        return np.zeros(0, dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(padded, length)
    out: IntArray = np.asarray(windows.any(axis=1), dtype=np.int64)
    return out


def run_trend(values: npt.ArrayLike, length: int = 7) -> IntArray:
    """``ptd_seven_point_trend``: +1 (−1) at the last point of each window of ``length``
    points each strictly higher (lower) than the one before, else 0."""
    y = np.asarray(values, dtype=np.float64)
    out = np.zeros(y.size, dtype=np.int64)
    if y.size < length:
        return out
    steps = np.sign(np.diff(y)).astype(np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(steps, length - 1)
    up = (windows == 1).all(axis=1)
    down = (windows == -1).all(axis=1)
    out[length - 1 :] = np.where(up, 1, np.where(down, -1, 0))
    return out


def two_in_three(close: npt.ArrayLike, side: npt.ArrayLike) -> IntArray:
    """``ptd_two_in_three``: 1 where some window of three consecutive points containing the
    point has two or more near a limit and all three on the same side of the mean."""
    c = np.asarray(close, dtype=np.int64)
    if c.size == 0:
        return np.zeros(0, dtype=np.int64)
    r = np.asarray(side, dtype=np.int64)
    if r.size != c.size:  # R recycles a short vector; only the test of empty input does this
        r = np.resize(r, c.size)
    cp = np.concatenate(([0, 0], c, [0, 0]))
    rp = np.concatenate(([0, 0], r, [0, 0]))
    csum = np.lib.stride_tricks.sliding_window_view(cp, 3).sum(axis=1)
    rsum = np.lib.stride_tricks.sliding_window_view(rp, 3).sum(axis=1)
    hit = (csum >= 2) & (np.abs(rsum) == 3)  # window k covers padded k..k+2 = points k-2..k
    n = c.size
    return (hit[0:n] | hit[1 : n + 1] | hit[2 : n + 2]).astype(np.int64)


def part_of_two_in_three(flags: npt.ArrayLike, close: npt.ArrayLike) -> IntArray:
    """``ptd_part_of_two_in_three``: flagged only where the point itself is near a limit."""
    v = np.asarray(flags, dtype=np.int64)
    c = np.asarray(close, dtype=np.int64)
    return ((v == 1) & (np.abs(c) == 1)).astype(np.int64)


def special_cause_rule(
    values: npt.ArrayLike,
    side: npt.ArrayLike,
    outside: npt.ArrayLike,
    part_trend: npt.ArrayLike,
    part_two: npt.ArrayLike,
    part_shift: npt.ArrayLike,
) -> tuple[StrArray, IntArray]:
    """``ptd_special_cause_type`` given the rule flags: the rule naming each point by
    precedence ("" = common cause) and its direction (+1 high, −1 low, 0 none)."""
    y = np.asarray(values, dtype=np.float64)
    r = np.asarray(side, dtype=np.int64)
    o = np.asarray(outside) != 0
    t = np.asarray(part_trend) != 0
    w = np.asarray(part_two) != 0
    s = np.asarray(part_shift) != 0
    n = y.size
    sdy = np.sign(np.diff(y)).astype(np.int64)
    # a trend point whose next point is also in a trend takes the step to its right
    right = np.concatenate((sdy, sdy[-1:])) if n > 1 else np.zeros(n, dtype=np.int64)
    left = np.concatenate(([0], sdy))[:n]
    next_in_trend = np.concatenate((t[1:], [False])) & t
    step = np.where(next_in_trend, right, left)
    trend_dir = np.where(step == 1, 1, -1)
    side_dir = np.where(r > 0, 1, -1)
    outside_dir = np.where(r == 1, 1, -1)
    rule = np.select([o, t, w, s], list(RULES), default="").astype(np.str_)
    direction = np.select([o, t, w | s], [outside_dir, trend_dir, side_dir], default=0).astype(np.int64)
    return rule, direction


# --- limits -------------------------------------------------------------------------------


def mean_moving_range(base: FloatArray, screen_outliers: bool) -> float:
    """mR̄ of consecutive baseline points, dropping ranges ≥ 3.267·mR̄ when screening.

    Where every range is zero NHSRplotthedots' screen drops them all (0 < 0 is false) and
    its limits become undefined; here mR̄ stays 0 (limits of zero width, noted).
    """
    ranges = np.abs(np.diff(base))
    average = float(ranges.mean())
    if screen_outliers and average > 0:
        average = float(ranges[ranges < RANGE_LIMIT_FACTOR * average].mean())
    return average


def _segment_starts(n: int, rebase_at: int | Sequence[int] | None) -> list[int]:
    if rebase_at is None:
        points: list[int] = []
    elif isinstance(rebase_at, int | np.integer):
        points = [int(rebase_at)]
    else:
        points = [int(i) for i in rebase_at]
    for point in points:
        if not 0 <= point < n:
            raise ValueError(f"rebase index {point} is outside the series (0..{n - 1})")
    return sorted({0, *points})


def _check_lengths(shift_length: int, trend_length: int, baseline_points: int | None) -> None:
    if shift_length < 2:
        raise ValueError(f"shift_length must be at least 2, got {shift_length}")
    if trend_length < 3:
        raise ValueError(f"trend_length must be at least 3, got {trend_length}")
    if baseline_points is not None and baseline_points < 2:
        raise ValueError(f"baseline_points must be at least 2, got {baseline_points}")


def _variation(direction: str, improvement: Direction) -> Variation:
    if direction == "":
        return "common cause"
    if improvement == "none":
        return "special cause (neither)"
    good = "high" if improvement == "higher_is_better" else "low"
    return "special cause improvement" if direction == good else "special cause concern"


def _assurance(
    target: float | None, ucl: float, lcl: float, improvement: Direction
) -> Assurance | None:
    if target is None or improvement == "none" or np.isnan(ucl):
        return None
    higher_good = improvement == "higher_is_better"
    if target > ucl:
        return "consistently fails" if higher_good else "consistently passes"
    if target < lcl:
        return "consistently passes" if higher_good else "consistently fails"
    return "hit and miss"


def xmr_chart(
    values: npt.ArrayLike,
    improvement: Direction = "none",
    *,
    rebase_at: int | Sequence[int] | None = None,
    baseline_points: int | None = None,
    shift_length: int = 7,
    trend_length: int = 7,
    target: float | None = None,
    screen_outliers: bool = True,
) -> XmRChart:
    """Build an XmR chart of ``values`` (in time order) and judge its latest point.

    ``improvement`` says which way is good ("higher_is_better",
    "lower_is_better" or "none") and turns a special cause into
    "improvement", "concern" or "(neither)".  ``rebase_at`` (an index or
    indices) starts new segments with their own mean and limits;
    ``baseline_points`` computes each segment's limits from its first k points
    only.  ``shift_length`` and ``trend_length`` set the run rules (Making
    Data Count uses 7; some tools use 6 or 8).  ``target`` adds the assurance
    judgement: a target outside the latest limits is consistently passed or
    failed, one inside is "hit and miss".  ``screen_outliers`` (default, as
    NHSRplotthedots) leaves out of mR̄ any moving range not below 3.267·mR̄;
    ``False`` gives the Making Data Count Excel tool's limits.

    Fewer than two points (in the series, or in a segment's baseline) cannot
    give limits: those points get NaN lines, no flags, and the note says why.
    Baselines of fewer than 12 points are computed but noted as provisional.
    """
    if improvement not in ("higher_is_better", "lower_is_better", "none"):
        raise ValueError(f"improvement must be a Direction, got {improvement!r}")
    _check_lengths(shift_length, trend_length, baseline_points)
    x = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(x).all():
        raise ValueError("values must be finite: drop missing points first")
    n = x.size
    notes: list[str] = []

    segment = np.zeros(n, dtype=np.int64)
    mean = np.full(n, np.nan)
    mr_bar = np.full(n, np.nan)
    moving_range = np.full(n, np.nan)
    flags = {name: np.zeros(n, dtype=bool) for name in RULES}
    rule = np.full(n, "", dtype="<U16")
    code = np.zeros(n, dtype=np.int64)

    if n < 2:
        notes.append(
            f"An XmR chart needs at least two points (one moving range); this series has {n}."
        )
    starts = _segment_starts(n, rebase_at) if n else [0]
    bounds = list(zip(starts, [*starts[1:], n], strict=True))
    for number, (start, end) in enumerate(bounds):
        segment[start:end] = number
        seg = x[start:end]
        if seg.size > 1:
            moving_range[start + 1 : end] = np.abs(np.diff(seg))
        base = seg if baseline_points is None else seg[:baseline_points]
        if base.size < 2:
            if n >= 2:
                notes.append(
                    f"Segment {number + 1} (from point {start + 1}) has fewer than two baseline "
                    "points: no limits."
                )
            continue
        if base.size < RECOMMENDED_POINTS:
            notes.append(
                f"Segment {number + 1} limits rest on {base.size} points; at least "
                f"{RECOMMENDED_POINTS} are advised, so treat them as provisional."
            )
        centre = float(base.mean())
        average_range = mean_moving_range(base, screen_outliers)
        if average_range == 0.0:
            notes.append(
                f"Segment {number + 1} baseline points are all equal: its limits have zero width."
            )
        mean[start:end] = centre
        mr_bar[start:end] = average_range
        upper = centre + LIMIT_FACTOR * average_range
        lower = centre - LIMIT_FACTOR * average_range
        outside = (seg > upper) | (seg < lower)
        close = ~outside & ((seg < centre - NEAR_FACTOR * average_range) | (seg > centre + NEAR_FACTOR * average_range))
        side = np.sign(seg - centre).astype(np.int64)
        part_trend = part_of_run(run_trend(seg, trend_length), trend_length)
        part_two = part_of_two_in_three(two_in_three(close, side), close)
        part_shift = part_of_run(one_side_of_mean(side, shift_length), shift_length)
        flags["beyond_limits"][start:end] = outside
        flags["trend"][start:end] = part_trend != 0
        flags["two_of_three"][start:end] = part_two != 0
        flags["shift"][start:end] = part_shift != 0
        rule[start:end], code[start:end] = special_cause_rule(seg, side, outside, part_trend, part_two, part_shift)

    sigma_all = LIMIT_FACTOR / 3 * mr_bar
    special = rule != ""
    direction = np.where(code > 0, "high", np.where(code < 0, "low", "")).astype(np.str_)
    point_variation = np.array([_variation(str(d), improvement) for d in direction], dtype=np.str_)
    point_variation[np.isnan(mean)] = ""

    variation: Variation | None = None
    assurance: Assurance | None = None
    if n and not np.isnan(mean[-1]):
        variation = _variation(str(direction[-1]), improvement)
        assurance = _assurance(
            None if target is None else float(target),
            float(mean[-1] + LIMIT_FACTOR * mr_bar[-1]),
            float(mean[-1] - LIMIT_FACTOR * mr_bar[-1]),
            improvement,
        )
    if target is not None and improvement == "none":
        notes.append("A target needs a good direction to judge assurance.")

    return XmRChart(
        values=x,
        segment=segment,
        mean=mean,
        ucl=mean + LIMIT_FACTOR * mr_bar,
        lcl=mean - LIMIT_FACTOR * mr_bar,
        upper_2sigma=mean + 2 * sigma_all,
        lower_2sigma=mean - 2 * sigma_all,
        upper_1sigma=mean + sigma_all,
        lower_1sigma=mean - sigma_all,
        moving_range=moving_range,
        mean_moving_range=mr_bar,
        beyond_limits=flags["beyond_limits"],
        shift=flags["shift"],
        trend=flags["trend"],
        two_of_three=flags["two_of_three"],
        special_cause=special,
        rule=rule.astype(np.str_),
        cause_direction=direction,
        point_variation=point_variation,
        variation=variation,
        assurance=assurance,
        improvement=improvement,
        target=None if target is None else float(target),
        shift_length=shift_length,
        trend_length=trend_length,
        screen_outliers=screen_outliers,
        note=" ".join(notes),
    )


@dataclass(frozen=True, eq=False)
class XmRLatest:
    """The latest point of many XmR charts at once (see :func:`xmr_latest_many`)."""

    mean: FloatArray
    lcl: FloatArray
    ucl: FloatArray
    points: IntArray
    beyond_limits: BoolArray
    shift: BoolArray
    trend: BoolArray
    two_of_three: BoolArray
    rule: StrArray  # the rule naming the latest point by precedence, "" for common cause
    cause_direction: StrArray
    variation: StrArray  # "" where a chart cannot be drawn (fewer than two points)


def _trailing(codes: IntArray) -> IntArray:
    """Length of the run of equal non-zero codes ending at the last column."""
    if codes.shape[1] == 0:
        return np.zeros(codes.shape[0], dtype=np.int64)
    same = (codes == codes[:, -1:]) & (codes != 0)
    rev = same[:, ::-1]
    return np.where(rev.all(axis=1), codes.shape[1], np.argmin(rev, axis=1)).astype(np.int64)


def xmr_latest_many(
    values: npt.ArrayLike,
    improvement: Sequence[str],
    *,
    shift_length: int = 7,
    trend_length: int = 7,
    screen_outliers: bool = True,
) -> XmRLatest:
    """:func:`xmr_chart`'s verdict on the latest point, for many series at once.

    ``values`` is a 2-D array, one series per row; NaN marks a missing point, which is
    skipped (the points either side become neighbours), so the latest point is each
    row's last finite value. Same rules, one segment, no baseline subset: the result
    equals ``xmr_chart(row[finite]).variation`` and the last element of each flag array,
    row by row (tests check it), but takes milliseconds for thousands of series where
    the loop takes seconds.
    """
    _check_lengths(shift_length, trend_length, None)
    raw = np.asarray(values, dtype=np.float64)
    if raw.ndim != 2:
        raise ValueError("values must be a 2-D array (series × points)")
    s, length = raw.shape
    # right-align each row's finite values, keeping their order (missing points skipped)
    order = np.argsort(np.isfinite(raw), axis=1, kind="stable")
    v = np.take_along_axis(raw, order, axis=1)
    finite = np.isfinite(v)
    points = finite.sum(axis=1)
    ok = points >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.where(ok, np.nanmean(v, axis=1), np.nan)
        diffs = v[:, 1:] - v[:, :-1]
        ranges = np.abs(diffs)
        mr_bar = np.nanmean(ranges, axis=1)
        if screen_outliers:
            kept = np.where(ranges < RANGE_LIMIT_FACTOR * mr_bar[:, None], ranges, np.nan)
            mr_bar = np.where(mr_bar > 0, np.nanmean(kept, axis=1), mr_bar)
    ucl = mean + LIMIT_FACTOR * mr_bar
    lcl = mean - LIMIT_FACTOR * mr_bar
    with np.errstate(invalid="ignore"):
        sides = np.where(finite, np.sign(v - mean[:, None]), 0).astype(np.int64)
        steps = np.where(np.isfinite(diffs), np.sign(diffs), 0).astype(np.int64)
        outside = (v > ucl[:, None]) | (v < lcl[:, None])
        close = finite & ~outside & (
            (v > (mean + NEAR_FACTOR * mr_bar)[:, None]) | (v < (mean - NEAR_FACTOR * mr_bar)[:, None])
        )
    if length == 0:
        empty = np.zeros(s, dtype=bool)
        return XmRLatest(mean, lcl, ucl, points.astype(np.int64), empty, empty, empty, empty,
                         np.full(s, "", dtype=np.str_), np.full(s, "", dtype=np.str_), np.full(s, "", dtype=np.str_))
    beyond = ok & outside[:, -1]
    shift = ok & (_trailing(sides) >= shift_length)
    trend = ok & (_trailing(steps) >= trend_length - 1)
    tail = slice(max(0, length - 3), length)
    two = ok & close[:, -1] & (close[:, tail].sum(axis=1) >= 2) & (np.abs(sides[:, tail].sum(axis=1)) == 3)
    side = sides[:, -1]
    step = steps[:, -1] if steps.shape[1] else np.zeros(s, dtype=np.int64)
    rule = np.select([beyond, trend, two, shift], list(RULES), default="").astype(np.str_)
    code = np.select(
        [beyond, trend, two | shift],
        [np.where(side == 1, 1, -1), np.where(step == 1, 1, -1), np.where(side > 0, 1, -1)],
        default=0,
    )
    direction = np.where(code > 0, "high", np.where(code < 0, "low", "")).astype(np.str_)
    variation = np.array(
        [_variation(str(d), imp) if o else "" for d, imp, o in zip(direction, improvement, ok, strict=True)],  # type: ignore[arg-type]
        dtype=np.str_,
    )
    return XmRLatest(mean, lcl, ucl, points.astype(np.int64), beyond, shift, trend, two, rule, direction, variation)
