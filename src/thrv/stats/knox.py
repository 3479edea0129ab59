"""Knox test for near-repeat (space–time) clustering, with Monte Carlo p-values.

Every pair of events is placed in a distance band and a time band; the count in each
cell is compared with what it would be if *when* events happened had nothing to do with
*where* (Knox 1964). The null is built as the Near Repeat Calculator (Ratcliffe 2009)
and the R package NearRepeat (Steenbeek) build it: the event times are shuffled among the
events (locations fixed), ``permutations`` times, seeded.

For cell (s, t), with O the observed count of pairs:

* expected E = S_s · T_t / P, where S_s is the number of pairs in distance band s, T_t the
  number in time band t and P = n(n − 1)/2 all pairs. This is the *exact* mean of the count
  over all permutations (under a random permutation the two times given to a fixed pair of
  places are a random pair of the n times), so the Knox ratio O / E carries no simulation
  noise. (NearRepeat and the Calculator divide by the mean of their simulations instead;
  :attr:`KnoxResult.simulated_mean` holds that, and the two agree to within simulation error.)
* p = (1 + #{simulations with count ≥ O}) / (1 + permutations), one-sided (more pairs than
  chance: near-repeat). The smallest p possible is 1 / (1 + permutations).

Bands are given by their upper edges e₁ < e₂ < … < e_k. ``closed="right"`` (the default)
makes them [0, e₁], (e₁, e₂], …, (e_k, ∞): with edges 0, 200, 400 the distance bands are
"0 m" (the same point), "1–200 m", "201–400 m" and "more than 400 m", and with edges 7, 14
the time bands are "0–7", "8–14" and "more than 14" days. ``closed="left"`` gives
[0, e₁), [e₁, e₂), …, [e_k, ∞), NearRepeat's default (``right = FALSE``).

The last distance band and the last time band need no pairs: permuting times keeps the
multiset of time differences over *all* pairs (T_t) and the spatial pairs (S_s), so those
cells are totals less the finite cells. Only pairs within the largest finite distance edge
are found (a KD-tree over the distinct places, expanded to the events at each), and only
they are re-counted for each permutation; the cost is those pairs × permutations.

Pure functions: arrays in, a result out. Coordinates are projected, in metres (or any
unit, used consistently with the distance edges).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

Closed = Literal["right", "left"]
Metric = Literal["euclidean", "manhattan"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: permutations are drawn in blocks of this many (the block size is part of the seed's
#: meaning: the same seed and block give the same permutations whatever the data size)
BLOCK = 16
COLUMNS = ["distance_band", "time_band", "observed", "expected", "knox_ratio", "p_value"]


@dataclass(frozen=True, eq=False)
class KnoxResult:
    """Observed and expected pair counts, Knox ratios and p-values by distance × time band."""

    distance_labels: list[str]
    time_labels: list[str]
    observed: IntArray  # (distance bands, time bands)
    expected: FloatArray  # exact permutation mean
    simulated_mean: FloatArray
    p_value: FloatArray  # NaN when permutations == 0
    events: int
    pairs: int
    close_pairs: int  # pairs within the largest finite distance edge
    permutations: int
    seed: int
    method: str

    @property
    def knox_ratio(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.expected > 0, self.observed / self.expected, np.nan)

    def table(self) -> pd.DataFrame:
        """One row per cell, distance bands outer: the columns of knox.csv."""
        grid = np.meshgrid(np.arange(len(self.distance_labels)), np.arange(len(self.time_labels)), indexing="ij")
        s, t = grid[0].ravel(), grid[1].ravel()
        return pd.DataFrame({
            "distance_band": [self.distance_labels[i] for i in s],
            "time_band": [self.time_labels[j] for j in t],
            "observed": self.observed[s, t],
            "expected": self.expected[s, t],
            "knox_ratio": self.knox_ratio[s, t],
            "p_value": self.p_value[s, t],
        }, columns=COLUMNS)


def _edges(values: Sequence[float], name: str, closed: Closed) -> FloatArray:
    e = np.asarray(values, dtype=float)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f"{name} needs at least one edge")
    if not np.all(np.isfinite(e)) or (e < 0).any():
        raise ValueError(f"{name} must be finite and not negative, got {list(values)}")
    if (np.diff(e) <= 0).any():
        raise ValueError(f"{name} must increase strictly, got {list(values)}")
    if closed == "left" and e[0] == 0:
        raise ValueError(f"{name}: with left-closed bands the first edge must be above 0 ([0, 0) is empty)")
    return e


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,g}"


def _unit(value: float, unit: str) -> str:
    """'1 month', '2 months', '200 m'."""
    return f"{_fmt(value)} {unit[:-1] if value == 1 and unit.endswith('s') and len(unit) > 2 else unit}"


def band_labels(edges: Sequence[float], unit: str, closed: Closed = "right", zero: str | None = None) -> list[str]:
    """Labels for the bands the edges define; ``zero`` names a [0, 0] band ("same place").

    Right-closed bands of whole numbers read as the Near Repeat Calculator writes them
    ("1–200 m", "201–400 m" for (0, 200] and (200, 400]; "8–14 days" for (7, 14]); other
    right-closed bands read "over 0.5 to 2 km"; left-closed ones use interval notation.
    """
    e = [float(v) for v in edges]
    out: list[str] = []
    if closed == "right":
        for i, hi in enumerate(e):
            lo = e[i - 1] if i else None
            if lo is None:
                out.append((zero or _unit(0, unit)) if hi == 0 else f"0–{_unit(hi, unit)}")
            elif lo.is_integer() and hi.is_integer():
                out.append(_unit(hi, unit) if lo + 1 == hi else f"{_fmt(lo + 1)}–{_unit(hi, unit)}")
            else:
                out.append(f"over {_fmt(lo)} to {_unit(hi, unit)}")
        out.append(f"more than {_unit(e[-1], unit)}")
    else:
        lows = [0.0, *e]
        for i, lo in enumerate(lows):
            out.append(f"[{_fmt(lo)}, {_fmt(e[i])}) {unit}" if i < len(e) else f"{_unit(lo, unit)} or more")
    return out


def band_index(values: npt.ArrayLike, edges: FloatArray, closed: Closed) -> npt.NDArray[np.intp]:
    """Band of each value: 0 … len(edges) (the last is beyond the largest edge)."""
    return np.searchsorted(edges, np.asarray(values, dtype=float), side="left" if closed == "right" else "right")


def time_permutations(n: int, permutations: int, seed: int) -> Iterator[npt.NDArray[np.intp]]:
    """Blocks of random permutations of range(n), shape (block, n), seeded.

    Public so that a test can replay exactly the permutations a result was built from.
    """
    rng = np.random.default_rng(seed)
    done = 0
    while done < permutations:
        b = min(BLOCK, permutations - done)
        block = np.tile(np.arange(n, dtype=np.intp), (b, 1))
        rng.permuted(block, axis=1, out=block)
        yield block
        done += b


def _pairs_of_values(counts: IntArray, values: FloatArray, edges: FloatArray, closed: Closed) -> IntArray:
    """Pairs of events by band of the difference of their values (times), from value counts."""
    k = len(edges) + 1
    out = np.zeros(k, dtype=np.int64)
    diff = np.abs(values[:, None] - values[None, :])
    band = band_index(diff, edges, closed)
    prod = counts[:, None] * counts[None, :]
    iu = np.triu_indices(len(values), 1)
    np.add.at(out, band[iu], prod[iu])
    out[band_index([0.0], edges, closed)[0]] += int((counts * (counts - 1) // 2).sum())
    return out


def knox_test(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    t: npt.ArrayLike,
    distance_edges: Sequence[float],
    time_edges: Sequence[float],
    *,
    closed: Closed = "right",
    metric: Metric = "euclidean",
    permutations: int = 999,
    seed: int = 0,
    distance_unit: str = "m",
    time_unit: str = "days",
    zero_label: str | None = "same place (0 m)",
    time_zero_label: str | None = None,
) -> KnoxResult:
    """Knox table of events at (x, y) and times t (numbers: days, months …), see the module."""
    xs, ys, ts = (np.asarray(v, dtype=float).ravel() for v in (x, y, t))
    if not (len(xs) == len(ys) == len(ts)):
        raise ValueError(f"x, y and t must have the same length, got {len(xs)}, {len(ys)}, {len(ts)}")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all() and np.isfinite(ts).all()):
        raise ValueError("x, y and t must be finite (drop events with no place or time first)")
    if metric not in ("euclidean", "manhattan"):
        raise ValueError(f"metric must be 'euclidean' or 'manhattan', got {metric!r}")
    if closed not in ("right", "left"):
        raise ValueError(f"closed must be 'right' or 'left', got {closed!r}")
    if permutations < 0:
        raise ValueError(f"permutations must be 0 or more, got {permutations}")
    d_edges = _edges(distance_edges, "distance_edges", closed)
    t_edges = _edges(time_edges, "time_edges", closed)
    n = len(xs)
    if n < 2:
        raise ValueError(f"the Knox test needs at least two events, got {n}")
    n_s, n_t = len(d_edges) + 1, len(t_edges) + 1
    total_pairs = n * (n - 1) // 2

    # places and times as indices into their distinct values
    places, loc = np.unique(np.column_stack([xs, ys]), axis=0, return_inverse=True)
    loc = loc.ravel()
    times, tix = np.unique(ts, return_inverse=True)
    tix = tix.ravel()
    n_places, n_times = len(places), len(times)
    per_place = np.bincount(loc, minlength=n_places).astype(np.int64)
    per_time = np.bincount(tix, minlength=n_times).astype(np.int64)

    # pairs of distinct places within the largest edge, with their distance band
    tree = cKDTree(places)
    pp = tree.query_pairs(float(d_edges[-1]), p=1.0 if metric == "manhattan" else 2.0, output_type="ndarray")
    pp = np.asarray(pp, dtype=np.int64).reshape(-1, 2)
    delta = places[pp[:, 0]] - places[pp[:, 1]]
    dist = np.abs(delta).sum(axis=1) if metric == "manhattan" else np.hypot(delta[:, 0], delta[:, 1])
    pband = band_index(dist, d_edges, closed)
    keep = pband < n_s - 1
    pp, pband = pp[keep], pband[keep]
    zero_band = int(band_index([0.0], d_edges, closed)[0])

    # S_s (pairs per distance band) and T_t (pairs per time band), over all pairs
    s_tot = np.zeros(n_s, dtype=np.int64)
    np.add.at(s_tot, pband, per_place[pp[:, 0]] * per_place[pp[:, 1]])
    s_tot[zero_band] += int((per_place * (per_place - 1) // 2).sum())
    s_tot[-1] = total_pairs - s_tot[:-1].sum()
    t_tot = _pairs_of_values(per_time, times, t_edges, closed)
    expected = s_tot[:, None] * t_tot[None, :] / total_pairs
    close_pairs = int(s_tot[:-1].sum())

    counter = _PairCounter(loc, ts, pp, pband, per_place, zero_band, n_s, t_edges, closed)
    observed = _complete(counter.count(ts[None, :])[0], s_tot, t_tot)

    exceed = np.zeros((n_s, n_t), dtype=np.int64)
    total = np.zeros((n_s, n_t), dtype=np.float64)
    for block in time_permutations(n, permutations, seed):
        sims = counter.count(ts[block])
        for sim in sims:
            full = _complete(sim, s_tot, t_tot)
            exceed += full >= observed
            total += full
    p = (1 + exceed) / (1 + permutations) if permutations else np.full((n_s, n_t), np.nan)
    sim_mean = total / permutations if permutations else np.full((n_s, n_t), np.nan)
    bands = "right-closed ((a, b])" if closed == "right" else "left-closed ([a, b))"
    method = (f"Knox test, {metric} distance, {bands} bands; expected = exact permutation mean S·T/P; "
              f"one-sided Monte Carlo p = (1 + #sim ≥ observed)/(1 + {permutations}) from {permutations:,} "
              f"permutations of the event times (seed {seed})")
    return KnoxResult(
        distance_labels=band_labels(d_edges.tolist(), distance_unit, closed, zero_label),
        time_labels=band_labels(t_edges.tolist(), time_unit, closed, time_zero_label),
        observed=observed, expected=expected, simulated_mean=sim_mean, p_value=p,
        events=n, pairs=total_pairs, close_pairs=close_pairs, permutations=permutations, seed=seed, method=method,
    )


def _complete(finite: IntArray, s_tot: IntArray, t_tot: IntArray) -> IntArray:
    """The full table from the finite × finite cells and the band totals."""
    n_s, n_t = len(s_tot), len(t_tot)
    full = np.zeros((n_s, n_t), dtype=np.int64)
    full[:-1, :-1] = finite
    full[:-1, -1] = s_tot[:-1] - finite.sum(axis=1)
    full[-1, :] = t_tot - full[:-1, :].sum(axis=0)
    return full


def _expand(places_a: IntArray, places_b: IntArray, order: IntArray, starts: IntArray) -> tuple[IntArray, IntArray]:
    """Every (event of place a, event of place b) for each pair of places (a, b), vectorised."""
    na = starts[places_a + 1] - starts[places_a]
    nb = starts[places_b + 1] - starts[places_b]
    size = na * nb
    pair = np.repeat(np.arange(len(places_a)), size)
    offset = np.arange(int(size.sum()), dtype=np.int64) - np.repeat(np.cumsum(size) - size, size)
    i = order[starts[places_a][pair] + offset // nb[pair]]
    j = order[starts[places_b][pair] + offset % nb[pair]]
    return i, j


def _thresholds(t_edges: FloatArray, closed: Closed, integer: bool) -> FloatArray:
    """Upper limits u_k so that band ≤ k ⇔ |Δt| ≤ u_k (whole-number times: exact integer limits)."""
    if not integer:
        return t_edges if closed == "right" else np.nextafter(t_edges, -np.inf)
    return np.floor(t_edges) if closed == "right" else np.ceil(t_edges) - 1


class _PairCounter:
    """Finite cells from the event pairs within the largest distance edge.

    Pairs are sorted by distance band, then by event (so the gathers walk memory in order);
    per permutation both events' times are gathered and the absolute differences counted
    against each time edge, into preallocated buffers.
    """

    def __init__(self, loc: IntArray, ts: FloatArray, pp: IntArray, pband: npt.NDArray[np.intp], per_place: IntArray,
                 zero_band: int, n_s: int, t_edges: FloatArray, closed: Closed) -> None:
        order = np.argsort(loc, kind="stable").astype(np.int64)
        starts = np.r_[0, np.cumsum(per_place)].astype(np.int64)
        i, j = _expand(pp[:, 0], pp[:, 1], order, starts)
        sb = np.repeat(pband, per_place[pp[:, 0]] * per_place[pp[:, 1]])
        busy = np.flatnonzero(per_place > 1)
        wi, wj = _expand(busy, busy, order, starts)
        keep = wi < wj
        i, j = np.r_[i, wi[keep]], np.r_[j, wj[keep]]
        sb = np.r_[sb, np.full(int(keep.sum()), zero_band, dtype=sb.dtype)]
        by = np.lexsort((j, i, sb))
        i, j, sb = i[by], j[by], sb[by]
        self.i, self.j = i.astype(np.intp), j.astype(np.intp)
        self.bounds = np.searchsorted(sb, np.arange(n_s)).tolist()  # start of each band (the last: beyond, empty)
        integer = bool(np.all(ts == np.round(ts)))
        span = float(ts.max() - ts.min()) if len(ts) else 0.0
        self.dtype: type = np.int16 if integer and span < 2**15 else np.int32 if integer and span < 2**31 else np.float64
        self.origin = float(ts.min()) if len(ts) else 0.0
        self.u = _thresholds(t_edges, closed, integer).astype(self.dtype)
        self.n_s, self.n_tf = n_s, len(t_edges)
        self.buf = np.empty(len(self.j), dtype=self.dtype)
        self.other = np.empty(len(self.j), dtype=self.dtype)
        self.mask = np.empty(len(self.j), dtype=bool)

    def count(self, ts: FloatArray) -> IntArray:
        b = ts.shape[0]
        code: npt.NDArray[Any] = (ts - self.origin).astype(self.dtype)
        cum = np.zeros((b, self.n_s - 1, self.n_tf), dtype=np.int64)
        for r in range(b):
            row = code[r]
            for s in range(self.n_s - 1):
                lo, hi = self.bounds[s], self.bounds[s + 1]
                if hi == lo:
                    continue
                d, e, m = self.buf[lo:hi], self.other[lo:hi], self.mask[lo:hi]
                np.take(row, self.i[lo:hi], out=d)
                np.take(row, self.j[lo:hi], out=e)
                np.subtract(d, e, out=d)
                np.abs(d, out=d)
                for k, u in enumerate(self.u):
                    cum[r, s, k] = np.count_nonzero(np.less_equal(d, u, out=m))
        out = cum.copy()
        out[:, :, 1:] -= cum[:, :, :-1]
        return out


__all__ = ["COLUMNS", "KnoxResult", "band_index", "band_labels", "knox_test", "time_permutations"]
