"""XmR (individuals) statistical process control charts, as NHS England's
"Making Data Count" programme defines them.

Why: a monthly indicator always moves; the chart separates the ordinary month-
to-month noise of a stable process ("common cause" variation) from signals
that something has changed ("special cause").  Police and NHS analysts share
the method, so charts read the same across partners.

Method (Wheeler & Chambers 1992, *Understanding Statistical Process Control*;
NHS England/Improvement 2019, *Making Data Count: Strengthening your
decisions*):

* centre line: mean of the baseline points;
* moving ranges |x_i − x_{i−1}| between consecutive baseline points and their
  mean mR̄;
* process limits: mean ± 2.66·mR̄ (2.66 = 3/d₂, d₂ = 1.128 for ranges of two),
  so σ̂ = mR̄/1.128 and the 1σ and 2σ lines sit at mean ± (2.66/3)·mR̄ × 1, × 2.

Special-cause rules, each flagged per point:

1. a point beyond a process limit;
2. a *shift*: ``shift_length`` (default 7) or more consecutive points on the
   same side of the mean — every point in the run is flagged; a point exactly
   on the mean breaks a run (as in NHS-R's NHSRplotthedots);
3. a *trend*: ``trend_length`` (default 7) or more consecutive points each
   higher (or each lower) than the one before — every point in the run is
   flagged; equal neighbours break a trend;
4. two out of three consecutive points beyond the same 2σ line (Western
   Electric 1956 rule 2) — the two (or three) such points are flagged.
   NHSRplotthedots counts only points between 2σ and the limit and asks all
   three to lie on one side of the mean; here any point beyond 2σ counts, a
   point beyond the limit already being a special cause by rule 1.

All rules run within a segment: ``rebase_at`` starts a new segment (new mean
and limits) at the given indices, and runs never cross a rebase.
``baseline_points=k`` fixes each segment's limits from its first k points and
extends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from thrv.stats.labels import Direction
from thrv.stats.results import BoolArray, FloatArray

LIMIT_FACTOR = 2.66
"""3/d₂ with d₂ = 1.128, the bias constant of the range of two normal values."""
RANGE_LIMIT_FACTOR = 3.267
"""D₄ for ranges of two: the upper limit of the moving-range chart, as a multiple of mR̄."""
RECOMMENDED_POINTS = 12
"""Making Data Count advises at least 12 (ideally 20) points before relying on limits."""

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
    segment's start), one boolean array per rule (``beyond_limits``,
    ``shift``, ``trend``, ``two_of_three``), their union
    ``special_cause``, and ``cause_direction``: "high", "low" or "" (no
    special cause).  For a point caught by a trend alone the direction is the
    trend's; otherwise it is the point's side of the mean.

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
    cause_direction: StrArray
    variation: Variation | None
    assurance: Assurance | None
    improvement: Direction
    target: float | None
    shift_length: int
    trend_length: int
    note: str = ""


def _flag_runs(codes: IntArray, min_length: int) -> tuple[BoolArray, IntArray]:
    """Flag elements in runs of ``min_length`` or more equal, non-zero codes.

    Returns the flags and, per element, the code of the run that flagged it
    (0 if none).
    """
    n = codes.size
    flags = np.zeros(n, dtype=bool)
    run_code = np.zeros(n, dtype=np.int64)
    if n == 0:
        return flags, run_code
    breaks = np.flatnonzero(np.diff(codes) != 0) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [n]))
    for start, end in zip(starts, ends, strict=True):
        if codes[start] != 0 and end - start >= min_length:
            flags[start:end] = True
            run_code[start:end] = codes[start]
    return flags, run_code


def _trend_flags(values: FloatArray, trend_length: int) -> tuple[BoolArray, IntArray]:
    """Points in runs of ``trend_length`` or more steadily rising or falling points."""
    n = values.size
    flags = np.zeros(n, dtype=bool)
    direction = np.zeros(n, dtype=np.int64)
    if n < 2:
        return flags, direction
    steps = np.sign(np.diff(values)).astype(np.int64)
    step_flags, step_code = _flag_runs(steps, trend_length - 1)
    # Step i joins points i and i + 1.
    for i in np.flatnonzero(step_flags):
        flags[i] = flags[i + 1] = True
        # A turning point ends one run and starts the next; the run it ends wins.
        direction[i + 1] = step_code[i]
        if direction[i] == 0:
            direction[i] = step_code[i]
    return flags, direction


def _two_of_three(above: BoolArray, below: BoolArray) -> BoolArray:
    """Points beyond a 2σ line that share a 3-point window with another on the same side."""
    n = above.size
    flags = np.zeros(n, dtype=bool)
    for start in range(max(0, n - 2)):
        window = slice(start, start + 3)
        for side in (above, below):
            if side[window].sum() >= 2:
                flags[window] |= side[window]
    return flags


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
    screen_outliers: bool = False,
) -> XmRChart:
    """Build an XmR chart of ``values`` (in time order) and judge its latest point.

    ``improvement`` says which way is good ("higher_is_better",
    "lower_is_better" or "none") and turns a special cause into
    "improvement", "concern" or "(neither)".  ``rebase_at`` (an index or
    indices) starts new segments with their own mean and limits;
    ``baseline_points`` computes each segment's limits from its first k points
    only.  ``shift_length`` and ``trend_length`` set rules 2 and 3 (Making
    Data Count uses 7; some tools use 6 or 8).  ``target`` adds the assurance
    judgement: a target outside the latest limits is consistently passed or
    failed, one inside is "hit and miss".  ``screen_outliers`` leaves out of
    mR̄ any moving range above 3.267·mR̄ (Nelson 1982), as NHSRplotthedots
    can.

    Fewer than two points (in the series, or in a segment's baseline) cannot
    give limits: those points get NaN lines, no flags, and the note says why.
    Baselines of fewer than 12 points are computed but noted as provisional.
    """
    if improvement not in ("higher_is_better", "lower_is_better", "none"):
        raise ValueError(f"improvement must be a Direction, got {improvement!r}")
    _check_lengths(shift_length, trend_length, baseline_points)
    x = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(x).all():
        raise ValueError("values must be finite: fill or drop missing points first")
    n = x.size
    notes: list[str] = []

    segment = np.zeros(n, dtype=np.int64)
    mean = np.full(n, np.nan)
    mr_bar = np.full(n, np.nan)
    moving_range = np.full(n, np.nan)
    beyond = np.zeros(n, dtype=bool)
    shift = np.zeros(n, dtype=bool)
    trend = np.zeros(n, dtype=bool)
    two_three = np.zeros(n, dtype=bool)
    side_code = np.zeros(n, dtype=np.int64)
    trend_code = np.zeros(n, dtype=np.int64)

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
        if n >= 2 and base.size < 2:
            notes.append(
                f"Segment {number + 1} (from point {start + 1}) has fewer than two baseline "
                "points: no limits."
            )
            continue
        if base.size < 2:
            continue
        if base.size < RECOMMENDED_POINTS:
            notes.append(
                f"Segment {number + 1} limits rest on {base.size} points; at least "
                f"{RECOMMENDED_POINTS} are advised, so treat them as provisional."
            )
        ranges = np.abs(np.diff(base))
        centre = float(base.mean())
        average_range = float(ranges.mean())
        if screen_outliers:
            kept = ranges[ranges <= RANGE_LIMIT_FACTOR * average_range]
            average_range = float(kept.mean())
        if average_range == 0.0:
            notes.append(
                f"Segment {number + 1} baseline points are all equal: its limits have zero width."
            )
        mean[start:end] = centre
        mr_bar[start:end] = average_range
        sigma = LIMIT_FACTOR / 3 * average_range
        upper = centre + LIMIT_FACTOR * average_range
        lower = centre - LIMIT_FACTOR * average_range
        beyond[start:end] = (seg > upper) | (seg < lower)
        sides = np.sign(seg - centre).astype(np.int64)
        side_code[start:end] = sides
        shift[start:end] = _flag_runs(sides, shift_length)[0]
        trend[start:end], trend_code[start:end] = _trend_flags(seg, trend_length)
        two_three[start:end] = _two_of_three(seg > centre + 2 * sigma, seg < centre - 2 * sigma)

    sigma_all = LIMIT_FACTOR / 3 * mr_bar
    ucl = mean + LIMIT_FACTOR * mr_bar
    lcl = mean - LIMIT_FACTOR * mr_bar
    special = beyond | shift | trend | two_three
    by_side = beyond | shift | two_three
    code = np.where(by_side, side_code, np.where(trend, trend_code, 0))
    direction = np.where(code > 0, "high", np.where(code < 0, "low", "")).astype(np.str_)

    variation: Variation | None = None
    assurance: Assurance | None = None
    if n and not np.isnan(mean[-1]):
        variation = _variation(str(direction[-1]), improvement)
        assurance = _assurance(
            None if target is None else float(target),
            float(ucl[-1]),
            float(lcl[-1]),
            improvement,
        )
    if target is not None and improvement == "none":
        notes.append("A target needs a good direction to judge assurance.")

    return XmRChart(
        values=x,
        segment=segment,
        mean=mean,
        ucl=ucl,
        lcl=lcl,
        upper_2sigma=mean + 2 * sigma_all,
        lower_2sigma=mean - 2 * sigma_all,
        upper_1sigma=mean + sigma_all,
        lower_1sigma=mean - sigma_all,
        moving_range=moving_range,
        mean_moving_range=mr_bar,
        beyond_limits=beyond,
        shift=shift,
        trend=trend,
        two_of_three=two_three,
        special_cause=special,
        cause_direction=direction,
        variation=variation,
        assurance=assurance,
        improvement=improvement,
        target=None if target is None else float(target),
        shift_length=shift_length,
        trend_length=trend_length,
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
    cause_direction: StrArray
    variation: StrArray  # "" where a chart cannot be drawn (fewer than two points)


def xmr_latest_many(
    values: npt.ArrayLike,
    improvement: Sequence[str],
    *,
    shift_length: int = 7,
    trend_length: int = 7,
) -> XmRLatest:
    """:func:`xmr_chart`'s verdict on the latest point, for many series at once.

    ``values`` is a 2-D array, one series per row, right-aligned: each row's points run
    from its first finite value to the last column, NaN before. (A NaN inside a row is a
    break: pass only the run of consecutive months ending at the last column.) Same rules,
    one segment, no baseline subset: the result equals ``xmr_chart(row).variation`` and the
    last element of each flag array, row by row (tests check it), but takes milliseconds
    for thousands of series where the loop takes seconds.
    """
    _check_lengths(shift_length, trend_length, None)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError("values must be a 2-D array (series × points)")
    s, length = v.shape
    finite = np.isfinite(v)
    points = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(v, axis=1)
            diffs = v[:, 1:] - v[:, :-1]
            mr_bar = np.nanmean(np.abs(diffs), axis=1)
    ok = points >= 2
    mean = np.where(ok, mean, np.nan)
    ucl = mean + LIMIT_FACTOR * mr_bar
    lcl = mean - LIMIT_FACTOR * mr_bar
    sigma = LIMIT_FACTOR / 3 * mr_bar
    last = v[:, -1] if length else np.full(s, np.nan)

    def trailing(codes: IntArray) -> IntArray:
        """Length of the run of equal non-zero codes ending at the last column."""
        if codes.shape[1] == 0:
            return np.zeros(codes.shape[0], dtype=np.int64)
        same = (codes == codes[:, -1:]) & (codes != 0)
        rev = same[:, ::-1]
        all_same = rev.all(axis=1)
        return np.where(all_same, codes.shape[1], np.argmin(rev, axis=1)).astype(np.int64)

    with np.errstate(invalid="ignore"):
        sides = np.where(finite, np.sign(v - mean[:, None]), 0).astype(np.int64)
        steps = np.where(np.isfinite(diffs), np.sign(diffs), 0).astype(np.int64)
        beyond = ok & ((last > ucl) | (last < lcl))
        shift = ok & (trailing(sides) >= shift_length)
        trend = ok & (trailing(steps) >= trend_length - 1)
        upper = v > (mean + 2 * sigma)[:, None]
        lower = v < (mean - 2 * sigma)[:, None]
    tail = slice(max(0, length - 3), length)
    three = ok & (points >= 3)
    if length:
        two_up = three & upper[:, -1] & (upper[:, tail].sum(axis=1) >= 2)
        two_down = three & lower[:, -1] & (lower[:, tail].sum(axis=1) >= 2)
        two = two_up | two_down
    else:
        two = np.zeros(s, dtype=bool)
    side = sides[:, -1] if length else np.zeros(s, dtype=np.int64)
    step = steps[:, -1] if steps.shape[1] else np.zeros(s, dtype=np.int64)
    code = np.where(beyond | shift | two, side, np.where(trend, step, 0))
    direction = np.where(code > 0, "high", np.where(code < 0, "low", "")).astype(np.str_)
    variation = np.array(
        [_variation(str(d), imp) if o else "" for d, imp, o in zip(direction, improvement, ok, strict=True)],  # type: ignore[arg-type]
        dtype=np.str_,
    )
    return XmRLatest(mean, lcl, ucl, points.astype(np.int64), beyond, shift, trend, two, direction, variation)
