"""Cell suppression for one table: which cells to withhold so that none can be worked out.

A :class:`Table` is one force's figures for one month: cells (an indicator's count, or a
percentage's numerator and complement, at the force, an area or a district) and the sums
that tie them (an area is the sum of its districts, all crime the sum of the crime types,
a denominator the numerator plus its complement). :func:`decide` withholds every small
cell (primary suppression) and then further cells (secondary suppression) until, for an
intruder who knows every published figure, every sum, which cells are withheld and why:

- every primary cell can still be any count from 1 to ``limit - 1``;
- every other withheld cell can still take more than one value;
- under rounding, every published rounded count can still be anything its rounding allows
  (``r - 2`` to ``r + 2``, and at least ``limit``).

Each claim is proved, not hoped for: for each bound a *certificate* is kept — a whole table
of integers that satisfies every sum and every published figure and puts the cell at that
bound. Certificates come from small cycles (move a cell up, its neighbour in the area
down, and the same two districts' other crime type the other way) or, where none fits,
from integer programming (scipy's HiGHS), and cells are withheld until every bound has one.

Tables are independent: a figure derived across months (a rolling 12 months, a baseline,
an average, a test) is published only when every month it sums is published, so no
relation crosses months and the decision for a month never changes when the store grows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PUBLISHED, PRIMARY, SECONDARY = 0, 1, 2
DISTRICT, AREA, FORCE = 0, 1, 2
#: roles of a cell: a count, a percentage's numerator or complement, or a denominator that
#: is only published through its percentage
COUNT, NUMERATOR, COMPLEMENT, DENOMINATOR = 0, 1, 2, 3
INF = float("inf")


@dataclass
class Relation:
    """total = sum(parts) + constant (the constant is known: e.g. records with no district)."""

    total: int
    parts: list[int]
    constant: float = 0.0
    kind: str = "geo"  # "geo" (places) or "family" (indicators)


@dataclass
class Table:
    """Cells of one force and month, the sums between them, and what each cell is."""

    keys: list[tuple[str, str]]  # (family, place)
    value: np.ndarray  # true counts (integers)
    level: np.ndarray  # DISTRICT / AREA / FORCE
    role: np.ndarray  # COUNT / NUMERATOR / COMPLEMENT / DENOMINATOR
    unit: np.ndarray  # cells with the same unit are published or withheld together
    relations: list[Relation]
    weight: np.ndarray  # cost of withholding the cell (higher = more valuable)
    #: unit -> cells it is computed from: a unit is withheld whenever one of them is (a
    #: percentage is never shown without its denominator)
    requires: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.keys)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.of_cell: list[list[int]] = [[] for _ in range(n)]
        self.total_of: list[list[int]] = [[] for _ in range(n)]
        for r_i, rel in enumerate(self.relations):
            self.of_cell[rel.total].append(r_i)
            self.total_of[rel.total].append(r_i)
            for p in rel.parts:
                self.of_cell[p].append(r_i)
        self.units: dict[int, list[int]] = defaultdict(list)
        for i, u in enumerate(self.unit.tolist()):
            self.units[u].append(i)


@dataclass
class Decision:
    """What to publish: status and published value per cell, and how it was proved."""

    status: np.ndarray  # PUBLISHED / PRIMARY / SECONDARY
    published: np.ndarray  # the value to show (NaN when withheld)
    derived: np.ndarray  # rounding: shown as the sum of the published parts
    certificates: dict[str, int] = field(default_factory=dict)


def round5(v: np.ndarray | float) -> np.ndarray:
    return 5.0 * np.floor(np.asarray(v, dtype=float) / 5.0 + 0.5)


# ---------------------------------------------------------------------------------------
# what an intruder knows about each cell


def _published_values(table: Table, status: np.ndarray, rounded: bool) -> tuple[np.ndarray, np.ndarray]:
    """Published value per cell and whether it is derived (rounding: sum of published parts).

    Under rounding, a total whose parts are all published is shown as the sum of their
    published values (plus the known constant, rounded to 5), so it adds nothing to what
    the parts say; any other published count is its own value rounded to the nearest 5.
    """
    n = len(table.keys)
    v = table.value.astype(float)
    shown = (status == PUBLISHED) & (table.role != COMPLEMENT)
    pub = np.where(shown, v, np.nan)
    derived = np.zeros(n, dtype=bool)
    if not rounded:
        return pub, derived
    pub = np.where(shown, round5(v), np.nan)
    # bottom-up: a total is derived once every part of one of its relations has a value
    done = np.array([not table.total_of[i] for i in range(n)])
    for _ in range(n):
        progress = False
        for i in np.flatnonzero(~done):
            if not shown[i]:
                done[i] = True
                continue
            ready = [table.relations[r] for r in table.total_of[i]]
            if not all(all(done[p] for p in rel.parts) for rel in ready):
                continue
            for rel in ready:
                if all(shown[p] for p in rel.parts):
                    pub[i] = float(round5(sum(pub[p] for p in rel.parts) + rel.constant))
                    derived[i] = True
                    break
            done[i] = True
            progress = True
        if not progress:
            break
    return pub, derived


def _bounds(table: Table, status: np.ndarray, limit: int, rounded: bool,
            pub: np.ndarray, derived: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The interval an intruder knows each cell lies in (lb == ub: the cell is known)."""
    v = table.value.astype(float)
    lb = v.copy()
    ub = v.copy()
    small = (v >= 1) & (v < limit)
    hidden = status != PUBLISHED
    # withheld: a small cell is 1..limit-1, any other cell 0 or at least the limit (an
    # intruder is credited with knowing which of a percentage's two counts is the small one)
    lb = np.where(hidden & small, 1.0, lb)
    ub = np.where(hidden & small, limit - 1.0, ub)
    big = hidden & (v >= limit)
    lb = np.where(big, float(limit), lb)
    ub = np.where(big, INF, ub)
    free = hidden & (table.role == DENOMINATOR)
    lb = np.where(free, 0.0, lb)
    ub = np.where(free, INF, ub)
    if rounded:
        pubd = (status == PUBLISHED) & (table.role != COMPLEMENT) & (v > 0)
        r = pub
        lo = np.maximum(float(limit), r - 2.0)
        lb = np.where(pubd & ~derived, lo, lb)
        ub = np.where(pubd & ~derived, r + 2.0, ub)
        lb = np.where(pubd & derived, 0.0, lb)
        ub = np.where(pubd & derived, INF, ub)
        # a published percentage's complement is known only to be at least the limit
        comp = (status == PUBLISHED) & (table.role == COMPLEMENT) & (v >= limit)
        lb = np.where(comp, float(limit), lb)
        ub = np.where(comp, INF, ub)
    return lb, ub


# ---------------------------------------------------------------------------------------
# certificates


def _balanced(table: Table, delta: dict[int, int]) -> bool:
    touched = {r for c in delta for r in table.of_cell[c]}
    for r in touched:
        rel = table.relations[r]
        if delta.get(rel.total, 0) != sum(delta.get(p, 0) for p in rel.parts):
            return False
    return True


def _fits(delta: dict[int, int], v: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> bool:
    return all(lb[c] <= v[c] + d <= ub[c] for c, d in delta.items())


@dataclass
class _Certs:
    """Certificates found so far: for each cell and direction, the furthest value a whole
    table within the bounds puts it at (and that table, as a perturbation of the truth)."""

    best: dict[tuple[int, str], tuple[float, dict[int, int]]] = field(default_factory=dict)
    moved: dict[int, dict[int, int]] = field(default_factory=dict)  # cell -> a perturbation moving it

    def add(self, delta: dict[int, int], v: np.ndarray) -> None:
        for c, d in delta.items():
            if not d:
                continue
            self.moved.setdefault(c, delta)
            key = (c, "up" if d > 0 else "down")
            x = v[c] + d
            old = self.best.get(key)
            if old is None or (x > old[0] if d > 0 else x < old[0]):
                self.best[key] = (x, delta)

    def reached(self, c: int, direction: str, goal: float) -> bool:
        b = self.best.get((c, direction))
        return b is not None and (b[0] >= goal if direction == "up" else b[0] <= goal)

    def revalidate(self, changed: set[int], v: np.ndarray, lb: np.ndarray, ub: np.ndarray, fixed: np.ndarray) -> None:
        """Drop certificates that a change of bounds (on ``changed`` cells) has made invalid."""
        if not changed:
            return

        verdict: dict[int, bool] = {}  # one table is often the certificate of many cells

        def ok(d: dict[int, int]) -> bool:
            if id(d) not in verdict:
                verdict[id(d)] = changed.isdisjoint(d) or (
                    _fits(d, v, lb, ub) and not any(fixed[c] for c, x in d.items() if x))
            return verdict[id(d)]

        self.best = {k: b for k, b in self.best.items() if ok(b[1])}
        self.moved = {c: d for c, d in self.moved.items() if ok(d)}


def _cycles(table: Table, p: int) -> list[dict[int, int]]:
    """Small balanced perturbations through ``p`` (+1 on p): pairs and rectangles."""
    return [d for d in _cycle_candidates(table, p) if _balanced(table, d)]


def _cycle_candidates(table: Table, p: int) -> list[dict[int, int]]:
    """Candidate cycles through ``p`` (not yet checked to balance every sum).

    A district's count moves against a sibling district's (the area total stands); where
    the count is one of a sum over indicators (a crime type of all crime, a numerator of its
    denominator), the same two districts' other indicator moves the other way.
    """
    geo = [table.relations[r] for r in table.of_cell[p] if table.relations[r].kind == "geo" and p in table.relations[r].parts]
    fam = [table.relations[r] for r in table.of_cell[p] if table.relations[r].kind == "family" and p in table.relations[r].parts]
    if table.total_of[p] or len(geo) != 1 or len(fam) > 1:
        return []
    out: list[dict[int, int]] = []
    for s in geo[0].parts:
        if s == p or table.total_of[s]:
            continue
        s_place = table.keys[s][1]
        if not fam:
            out.append({p: 1, s: -1})
            continue
        for b in fam[0].parts:
            if b == p:
                continue
            b2 = table.index.get((table.keys[b][0], s_place))
            if b2 is None or table.total_of[b] or table.total_of[b2]:
                continue
            out.append({p: 1, s: -1, b: -1, b2: 1})
    # no sibling will do (a force of one district): the cell moves with every total above
    # it, and another indicator of the same place the other way with every total above it
    def above(c: int) -> list[int]:
        chain = [c]
        while True:
            up = [table.relations[r].total for r in table.of_cell[chain[-1]]
                  if table.relations[r].kind == "geo" and chain[-1] in table.relations[r].parts]
            if len(up) != 1:
                return chain
            chain.append(up[0])

    mine = above(p)
    for b in fam[0].parts if fam else []:
        if b == p or table.total_of[b]:
            continue
        theirs = above(b)
        if len(theirs) == len(mine) and len(mine) > 1:
            out.append({**dict.fromkeys(mine, 1), **dict.fromkeys(theirs, -1)})
    return out


def _chain(table: Table, q: int, lb: np.ndarray, ub: np.ndarray, v: np.ndarray, sign: int) -> list[int]:
    """Cells to move with ``q`` (all by the same amount): every total above it and, where a
    total is also a sum of other parts (a denominator = numerator + complement), the part
    with most room. Returns [] when the sums cannot be balanced this way."""
    room = np.where(sign > 0, ub - v, v - lb)
    chosen = {q}
    frontier = [q]
    while frontier:
        c = frontier.pop()
        for r in table.of_cell[c]:
            rel = table.relations[r]
            if c in rel.parts and rel.total not in chosen:
                chosen.add(rel.total)
                frontier.append(rel.total)
            elif c == rel.total and not chosen.intersection(rel.parts):
                part = max(rel.parts, key=lambda x: (room[x], -x))
                if room[part] <= 0:
                    return []
                chosen.add(part)
                frontier.append(part)
        if len(chosen) > 200:
            return []
    return sorted(chosen)


def _scaled(delta: dict[int, int], k: int) -> dict[int, int]:
    return {c: d * k for c, d in delta.items()}


def _combine(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    out = dict(a)
    for c, d in b.items():
        out[c] = out.get(c, 0) + d
    return {c: d for c, d in out.items() if d}


# ---------------------------------------------------------------------------------------
# integer programming


def _solve(table: Table, v: np.ndarray, lb: np.ndarray, ub: np.ndarray, cells: list[int],
           objective: dict[int, float], cap: dict[int, tuple[float, float]] | None = None) -> dict[int, int] | None:
    """An integer table within the bounds (other cells as they are) optimising ``objective``.

    ``cells`` are the variables (one connected group); ``cap`` narrows some of their bounds
    for this solve. Returns the perturbation of the true values, checked exactly, or None
    when the solver finds none.
    """
    from scipy.sparse import coo_matrix

    col = {c: j for j, c in enumerate(cells)}
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    rhs: list[float] = []
    for r_i in sorted({r for c in cells for r in table.of_cell[c]}):
        rel = table.relations[r_i]
        # total - sum(parts) = constant, with the cells outside the group at their values
        b = rel.constant
        coef: dict[int, float] = defaultdict(float)
        for c, sign in ((rel.total, 1.0), *((q, -1.0) for q in rel.parts)):
            if c in col:
                coef[col[c]] += sign
            else:
                b -= sign * v[c]
        k = len(rhs)
        for j, a in coef.items():
            if a:
                rows.append(k)
                cols.append(j)
                vals.append(a)
        rhs.append(b)
    n = len(cells)
    c_vec = np.zeros(n)
    for c, w in objective.items():
        c_vec[col[c]] = -w  # milp minimises
    lo = np.array([lb[c] for c in cells])
    hi = np.array([ub[c] for c in cells])
    for c, (a, b_) in (cap or {}).items():
        lo[col[c]] = max(lo[col[c]], a)
        hi[col[c]] = min(hi[col[c]], b_)
    a_mat = coo_matrix((vals, (rows, cols)), shape=(len(rhs), n)).tocsr() if rhs else None
    x = _integer_point(c_vec, a_mat, np.array(rhs), lo, hi)
    if x is None:
        return None
    delta = {c: int(x[j] - v[c]) for c, j in col.items() if x[j] != v[c]}
    if not _balanced(table, delta) or not _fits(delta, v, lb, ub):
        return None
    return delta


def _integer_point(c: np.ndarray, a_eq: Any, b_eq: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   integer: np.ndarray | None = None) -> np.ndarray | None:
    """An optimal point with whole numbers where asked: the linear programme first (on these
    sums it is nearly always whole already, and several times faster), else the integer one."""
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    integer = np.ones(len(c), dtype=bool) if integer is None else integer
    if a_eq is None:
        from scipy.sparse import csr_matrix

        a_eq, b_eq = csr_matrix((0, len(c))), np.zeros(0)
    res = linprog(c, A_eq=a_eq if a_eq.shape[0] else None, b_eq=b_eq if a_eq.shape[0] else None,
                  bounds=np.column_stack([lo, hi]), method="highs")
    if res.status == 2:  # infeasible: no table reaches it
        return None
    if res.status == 0 and res.x is not None and np.abs(res.x[integer] - np.round(res.x[integer])).max(initial=0) < 1e-9:
        x = res.x.copy()
        x[integer] = np.round(x[integer])
        return x
    cons = [LinearConstraint(a_eq, b_eq, b_eq)] if a_eq.shape[0] else []
    out = milp(c, constraints=cons, bounds=Bounds(lo, hi), integrality=integer.astype(float),
               options={"disp": False})
    if out.x is None or out.status not in (0, 1):
        return None
    x = out.x.copy()
    x[integer] = np.round(x[integer])
    return x


def _groups(table: Table, variable: np.ndarray) -> list[list[int]]:
    """Connected groups of variable cells (through sums that hold two or more of them)."""
    parent = list(range(len(table.keys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for rel in table.relations:
        members = [c for c in (rel.total, *rel.parts) if variable[c]]
        for c in members[1:]:
            parent[find(c)] = find(members[0])
    groups: dict[int, list[int]] = defaultdict(list)
    for i in np.flatnonzero(variable):
        groups[find(int(i))].append(int(i))
    return list(groups.values())


# ---------------------------------------------------------------------------------------
# the decision


@dataclass
class _State:
    table: Table
    limit: int
    rounded: bool
    status: np.ndarray
    certs: _Certs = field(default_factory=_Certs)
    solves: int = 0
    constructed: int = 0
    chained: int = 0
    #: bounds no withholding can give: the cell is fixed by published zeros and known constants
    inherent: set[tuple[int, str]] = field(default_factory=set)
    #: goals lowered to what the rule's own marks allow (small cells summing to a small total)
    goal: dict[tuple[int, str], float] = field(default_factory=dict)
    checked: set[tuple[int, str]] = field(default_factory=set)
    changed: set[int] = field(default_factory=set)
    pending: list[dict[int, int]] = field(default_factory=list)
    chain_tried: set[tuple[int, str]] = field(default_factory=set)

    def refresh(self) -> None:
        old = (getattr(self, "lb", None), getattr(self, "ub", None))
        self.pub, self.derived = _published_values(self.table, self.status, self.rounded)
        self.lb, self.ub = _bounds(self.table, self.status, self.limit, self.rounded, self.pub, self.derived)
        self.fixed = self.lb == self.ub
        if old[0] is not None:
            self.changed = set(np.flatnonzero((old[0] != self.lb) | (old[1] != self.ub)).tolist())
        else:
            self.changed = set()

    def hide(self, cells: list[int]) -> None:
        _hide(self.table, self.status, cells)

    def targets_raw(self) -> dict[tuple[int, str], float]:
        saved, self.goal = self.goal, {}
        inherent, self.inherent = self.inherent, set()
        try:
            return self.targets()
        finally:
            self.goal, self.inherent = saved, inherent

    def targets(self) -> dict[tuple[int, str], float]:
        """Every bound to prove: (cell, "up"/"down") -> the value the cell must be able to reach."""
        t = self.table
        v = t.value.astype(float)
        hidden = self.status != PUBLISHED
        small = (v >= 1) & (v < self.limit)
        out: dict[tuple[int, str], float] = {}
        for c in np.flatnonzero(hidden & small & (t.role != DENOMINATOR)):
            out[(int(c), "up")] = self.limit - 1.0
            out[(int(c), "down")] = 1.0
        if self.rounded:
            rounded = (self.status == PUBLISHED) & ~self.derived & (t.role != COMPLEMENT) & (v > 0)
            for c in np.flatnonzero(rounded):
                out[(int(c), "up")] = self.ub[c]
                out[(int(c), "down")] = self.lb[c]
        out = {k: self.goal.get(k, g) for k, g in out.items()}
        return {k: g for k, g in out.items() if not (k[1] == "up" and v[k[0]] >= g)
                and not (k[1] == "down" and v[k[0]] <= g) and k not in self.inherent}

    def rule_only(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds an intruder would have if every non-zero cell were withheld: only the
        rule's marks (small or not) and the zeros. Nothing published can do better."""
        if not hasattr(self, "_rule_only"):
            v = self.table.value
            status = np.where(v > 0, SECONDARY, PUBLISHED).astype(np.int8)
            pub, derived = _published_values(self.table, status, False)
            self._rule_only = _bounds(self.table, status, self.limit, False, pub, derived)
        return self._rule_only

    def movable(self) -> list[int]:
        """Withheld cells that must be able to move (all but zeros and free denominators)."""
        t = self.table
        hidden = (self.status != PUBLISHED) & (t.role != DENOMINATOR) & ~self.fixed
        return [int(c) for c in np.flatnonzero(hidden) if (int(c), "move") not in self.inherent]


def _construct(state: _State, p: int) -> bool:
    """Prove both bounds of primary cell ``p`` with cycles, withholding partners as needed."""
    t = state.table
    v = t.value.astype(float)
    # a published partner must hold at least the limit (a zero cannot move); of the rest,
    # those with most room first, and no more than a few dozen
    cycles = [d for d in _cycle_candidates(t, p)
              if all(state.status[c] != PUBLISHED or v[c] >= state.limit for c in d if c != p)]
    cycles = sorted(cycles, key=lambda d: -min(v[c] for c in d if c != p))[:40]
    if not cycles:
        return False
    balanced: dict[int, bool] = {}  # checked only when a cycle is about to be used
    need = {"up": state.limit - 1 - int(v[p]), "down": int(v[p]) - 1}
    plan: dict[str, dict[int, int]] = {}
    newly: set[int] = set()
    for direction, amount in need.items():
        sign = 1 if direction == "up" else -1
        # cheapest first: cycles through cells already withheld, then by cost
        def cost(d: dict[int, int]) -> tuple[float, float]:
            fresh = [c for c in d if state.status[c] == PUBLISHED and c not in newly]
            return (sum(t.weight[c] for c in fresh), -min(v[c] for c in d))

        total: dict[int, int] = {}
        left = amount
        for cyc in sorted(cycles, key=cost):
            if left <= 0:
                break
            if id(cyc) not in balanced:
                balanced[id(cyc)] = _balanced(t, cyc)
            if not balanced[id(cyc)]:
                continue
            lb, ub = _hypothetical(state, sorted(newly | {c for c in cyc if state.status[c] == PUBLISHED}))
            k = left
            while k > 0 and not _fits(_combine(total, _scaled(cyc, sign * k)), v, lb, ub):
                k -= 1
            if k > 0 and all(state.status[c] != PUBLISHED or v[c] >= state.limit for c in cyc if c != p):
                total = _combine(total, _scaled(cyc, sign * k))
                newly.update(c for c in cyc if state.status[c] == PUBLISHED)
                left -= k
        if left > 0:
            return False
        plan[direction] = total
    state.hide(sorted(newly))
    state.refresh()
    for delta in plan.values():
        if not _fits(delta, v, state.lb, state.ub):  # a partner's unit brought tighter bounds
            return False
        state.certs.add(delta, v)
    state.constructed += 1
    return True


def _hide(table: Table, status: np.ndarray, cells: list[int]) -> None:
    """Withhold the units of ``cells`` (secondary), and every unit that needs a withheld cell."""
    for c in cells:
        for u in table.units[int(table.unit[c])]:
            if status[u] == PUBLISHED:
                status[u] = SECONDARY
    changed = True
    while changed:
        changed = False
        for unit, needed in table.requires.items():
            members = table.units[unit]
            if status[members[0]] == PUBLISHED and any(status[d] != PUBLISHED for d in needed):
                status[members] = SECONDARY
                changed = True


def _hypothetical(state: _State, extra: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Bounds as they would be with ``extra`` withheld too."""
    if not extra:
        return state.lb, state.ub
    status = state.status.copy()
    if not state.rounded:
        # exact figures: only the newly withheld cells change bounds
        _hide(state.table, status, extra)
        changed = np.flatnonzero(status != state.status)
        lb, ub = state.lb.copy(), state.ub.copy()
        v = state.table.value
        for c in changed:
            if state.table.role[c] == DENOMINATOR:
                lb[c], ub[c] = 0.0, INF
            elif v[c] >= state.limit:
                lb[c], ub[c] = state.limit, INF
        return lb, ub
    _hide(state.table, status, extra)
    pub, derived = _published_values(state.table, status, state.rounded)
    return _bounds(state.table, status, state.limit, state.rounded, pub, derived)


def _prove(state: _State, targets: dict[tuple[int, str], float], need_moving: list[int]) -> list[tuple[int, str]]:
    """Find certificates by integer programming; return the bounds that have none."""
    t = state.table
    v = t.value.astype(float)
    certs = state.certs
    open_t = {k: g for k, g in targets.items() if not certs.reached(k[0], k[1], g)}
    movers = [c for c in need_moving if c not in certs.moved]
    if not open_t and not movers:
        return []
    # cheap first: move the cell with every total above it
    for (c, d), goal in list(open_t.items()):
        if (c, d) in state.chain_tried:
            continue
        state.chain_tried.add((c, d))
        step = 1 if d == "up" else -1
        cells = _chain(t, c, state.lb, state.ub, v, step)
        if cells:
            k = int(abs(goal - v[c]))
            chain = dict.fromkeys(cells, step * k)
            if _balanced(t, chain) and _fits(chain, v, state.lb, state.ub) and not any(state.fixed[x] for x in cells):
                certs.add(chain, v)
                state.chained += 1
    open_t = {k: g for k, g in open_t.items() if not certs.reached(k[0], k[1], g)}
    if not open_t and not movers:
        return []
    groups = _groups(t, ~state.fixed)
    group_of = {c: g_i for g_i, group in enumerate(groups) for c in group}
    failures: list[tuple[int, str]] = []
    delta: dict[int, int] | None
    for g_i, group in enumerate(groups):
        mine = {k: g for k, g in open_t.items() if group_of.get(k[0]) == g_i}
        mine_movers = [c for c in movers if group_of.get(c) == g_i]
        if not mine and not mine_movers:
            continue
        for direction in ("up", "down"):
            todo = {k: g for k, g in mine.items() if k[1] == direction}
            sign = 1.0 if direction == "up" else -1.0
            # batch: push every open bound at once; repeat with those still open
            while len(todo) > 1:
                state.solves += 1
                caps = {c: ((-np.inf, g) if sign > 0 else (g, np.inf)) for (c, _d), g in todo.items()}
                delta = _solve(t, v, state.lb, state.ub, group, {c: sign for (c, _d) in todo}, caps)
                if delta is None:
                    break
                certs.add(delta, v)
                left = {k: g for k, g in todo.items() if not certs.reached(k[0], k[1], g)}
                if len(left) == len(todo):
                    break
                todo = left
            for (c, d), goal in todo.items():
                if certs.reached(c, d, goal):
                    continue
                state.solves += 1
                delta = _solve(t, v, state.lb, state.ub, group, {c: sign})
                if delta is not None:
                    certs.add(delta, v)
                if not certs.reached(c, d, goal):
                    failures.append((c, d))
        for c in mine_movers:
            if c in certs.moved:
                continue
            for sign in (1.0, -1.0):
                state.solves += 1
                delta = _solve(t, v, state.lb, state.ub, group, {c: sign}, {c: (v[c] - 1, v[c] + 1)})
                if delta is not None and delta.get(c, 0):
                    certs.add(delta, v)
                    break
            else:
                failures.append((c, "move"))
    return failures


def _beyond_the_rule(state: _State, failure: tuple[int, str]) -> bool:
    """True when the bound asked for is more than the rule's own marks allow (then the goal
    becomes what they allow, or the cell is fixed by zeros and known constants)."""
    if state.status[failure[0]] == PUBLISHED:
        return False  # a rounded count keeps all its rounding (or is withheld itself)
    if failure in state.inherent or failure in state.checked:
        return failure in state.inherent or state.certs.reached(failure[0], failure[1], state.goal.get(failure, math.nan))
    state.checked.add(failure)
    c, direction = failure
    t = state.table
    v = t.value.astype(float)
    lb, ub = state.rule_only()
    group = next((g for g in _groups(t, lb != ub) if c in g), [c])
    state.solves += 1
    if direction == "move":
        up = _solve(t, v, lb, ub, group, {c: 1.0}, {c: (v[c] - 1, v[c] + 1)})
        down = _solve(t, v, lb, ub, group, {c: -1.0}, {c: (v[c] - 1, v[c] + 1)})
        if not (up and up.get(c)) and not (down and down.get(c)):
            state.inherent.add(failure)
            return True
        return False
    sign = 1.0 if direction == "up" else -1.0
    delta = _solve(t, v, lb, ub, group, {c: sign})
    reach = v[c] + (delta or {}).get(c, 0)
    goal = state.targets_raw().get(failure)
    if goal is None or (reach - goal) * sign >= 0:
        return False
    state.goal[failure] = reach
    if state.certs.reached(c, direction, reach) or reach == v[c]:
        if reach == v[c]:
            state.inherent.add(failure)
        return True
    return False


def _repair(state: _State, c: int, direction: str) -> tuple[list[int], dict[int, int] | None]:
    """Published cells to withhold so that ``c`` can reach its goal: the cheapest set (by
    weight) that a table within the rule's own bounds needs to move beyond their published
    bounds. One integer programme: x within the rule-only bounds, x_c at the goal, and the
    distance of each published cell outside its published interval paid at its weight."""
    from scipy.sparse import coo_matrix

    t = state.table
    v = t.value.astype(float)
    lb0, ub0 = state.rule_only()
    group = next((g for g in _groups(t, lb0 != ub0) if c in g), [c])
    col = {x: j for j, x in enumerate(group)}
    payers = [x for x in group if state.status[x] == PUBLISHED and (state.lb[x] > lb0[x] or state.ub[x] < ub0[x])]
    n = len(group) + 2 * len(payers)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lo: list[float] = []
    hi: list[float] = []

    def row(coef: dict[int, float], a: float, b: float) -> None:
        k = len(lo)
        for j, w in coef.items():
            rows.append(k)
            cols.append(j)
            vals.append(w)
        lo.append(a)
        hi.append(b)

    for r_i in sorted({r for x in group for r in t.of_cell[x]}):
        rel = t.relations[r_i]
        b = rel.constant
        coef: dict[int, float] = defaultdict(float)
        for x, sign in ((rel.total, 1.0), *((q, -1.0) for q in rel.parts)):
            if x in col:
                coef[col[x]] += sign
            else:
                b -= sign * v[x]
        row({j: a for j, a in coef.items() if a}, b, b)
    cost = np.zeros(n)
    for k, x in enumerate(payers):
        up, down = len(group) + 2 * k, len(group) + 2 * k + 1
        row({col[x]: 1.0, up: -1.0}, -np.inf, state.ub[x])  # x - above <= published high
        row({col[x]: 1.0, down: 1.0}, state.lb[x], np.inf)  # x + below >= published low
        cost[up] = cost[down] = t.weight[x]
    goal = state.targets().get((c, direction))
    lower = np.concatenate([[lb0[x] for x in group], np.zeros(2 * len(payers))])
    upper = np.concatenate([[ub0[x] for x in group], np.full(2 * len(payers), np.inf)])
    if direction == "move":
        upper[col[c]] = min(upper[col[c]], v[c] + 1)
        lower[col[c]] = max(lower[col[c]], v[c] - 1)
        # any move will do: ask for up, then down
        options = [(col[c], v[c] + 1), (col[c], v[c] - 1)]
    else:
        options = [(col[c], goal)] if goal is not None else []
    if c not in col:
        return [], None
    a_all = coo_matrix((vals, (rows, cols)), shape=(len(lo), n)).tocsr()
    lo_a, hi_a = np.array(lo), np.array(hi)
    eq = lo_a == hi_a
    for j, want in options:
        lw, up_ = lower.copy(), upper.copy()
        lw[j] = up_[j] = want
        if lw[j] < lower[j] or up_[j] > upper[j]:
            continue
        state.solves += 1
        point = _repair_point(cost, a_all, lo_a, hi_a, eq, lw, up_, len(group))
        if point is None:
            continue
        delta = {g: round(point[j2] - v[g]) for g, j2 in col.items() if round(point[j2]) != v[g]}
        return [p for k, p in enumerate(payers) if point[len(group) + 2 * k] + point[len(group) + 2 * k + 1] > 0.5], delta
    return [], None


def _repair_point(cost: np.ndarray, a_all: Any, lo: np.ndarray, hi: np.ndarray, eq: np.ndarray,
                  lower: np.ndarray, upper: np.ndarray, n_int: int) -> np.ndarray | None:
    """The repair programme: linear first (integral on these sums nearly always), else integer."""
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    a_eq, b_eq = a_all[eq], lo[eq]
    ineq = ~eq
    # rows lo <= a x <= hi with one side infinite: as a_ub x <= b_ub
    up_rows = ineq & np.isfinite(hi)
    low_rows = ineq & np.isfinite(lo)
    from scipy.sparse import vstack

    a_ub = vstack([a_all[up_rows], -a_all[low_rows]]).tocsr()
    b_ub = np.concatenate([hi[up_rows], -lo[low_rows]])
    res = linprog(cost, A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if a_ub.shape[0] else None,
                  A_eq=a_eq if a_eq.shape[0] else None, b_eq=b_eq if a_eq.shape[0] else None,
                  bounds=np.column_stack([lower, upper]), method="highs")
    if res.status == 2:
        return None
    if res.status == 0 and res.x is not None and np.abs(res.x[:n_int] - np.round(res.x[:n_int])).max(initial=0) < 1e-9:
        return res.x
    integrality = np.concatenate([np.ones(n_int), np.zeros(len(cost) - n_int)])
    out = milp(cost, constraints=[LinearConstraint(a_all, lo, hi)], bounds=Bounds(lower, upper), integrality=integrality,
               options={"disp": False})
    return out.x if out.x is not None and out.status in (0, 1) else None


def _candidates(state: _State, c: int) -> list[int]:
    """Published cells whose withholding could free ``c``: in its sums first, then two steps out."""
    t = state.table
    v = t.value
    near: list[int] = []
    seen = {c}
    frontier = [c]
    for _ in range(3):
        nxt = []
        for x in frontier:
            for r in t.of_cell[x]:
                rel = t.relations[r]
                for m in (rel.total, *rel.parts):
                    if m not in seen:
                        seen.add(m)
                        nxt.append(m)
        ring = [m for m in nxt if state.status[m] == PUBLISHED and v[m] >= state.limit and t.role[m] != COMPLEMENT]
        near.extend(sorted(ring, key=lambda m: (t.weight[m], -v[m])))
        frontier = nxt
    if state.rounded and state.status[c] == PUBLISHED:
        near.insert(0, c)  # a rounded figure that could be narrowed can itself be withheld
    rest = [m for m in range(len(t.keys)) if m not in seen and state.status[m] == PUBLISHED and v[m] >= state.limit
            and t.role[m] != COMPLEMENT]
    return near + sorted(rest, key=lambda m: (t.weight[m], -v[m]))


def decide(table: Table, limit: int = 5, rounded: bool = False) -> Decision:
    """Which cells of ``table`` to publish (see the module docstring for what is proved)."""
    t = table
    v = t.value.astype(float)
    small = (v >= 1) & (v < limit)
    status = np.zeros(len(t.keys), dtype=np.int8)
    for cells in t.units.values():
        if any(small[c] and t.role[c] != DENOMINATOR for c in cells):
            status[cells] = PRIMARY
    _hide(t, status, [])
    state = _State(t, limit, rounded, status)
    state.refresh()
    # 1. cycles for the primary cells, smallest first (they need the most room). Under
    # rounding the published neighbours' own rounding often protects a small cell without
    # any partner, so there integer programming chooses partners only where needed.
    for p in [] if rounded else sorted(np.flatnonzero((state.status == PRIMARY) & small & (t.role != DENOMINATOR)).tolist(),
                    key=lambda c: (v[c], t.keys[c])):
        _construct(state, int(p))
    # 2. integer programming for every bound still unproved; withhold more where none exists
    for _round in range(10 * len(t.keys) + 10):
        state.certs.revalidate(state.changed, v, state.lb, state.ub, state.fixed)
        state.changed = set()
        for repaired in state.pending:  # the repairs' own tables, if still within the bounds
            if _fits(repaired, v, state.lb, state.ub) and not any(state.fixed[x] for x, d in repaired.items() if d):
                state.certs.add(repaired, v)
        state.pending = []
        failures = _prove(state, state.targets(), state.movable())
        if not failures:
            break
        # withhold the cheapest cells that let each failing bound be reached, then prove again
        near: set[int] = set()
        progress = False
        delta: dict[int, int] | None
        for c, how in failures:
            if c in near:
                continue
            picks, delta = _repair(state, c, how)
            if delta is None and _beyond_the_rule(state, (c, how)):
                progress = True
                continue  # the goal is now what the rule's marks allow (or nothing can move the cell)
            if delta is None:
                picks = [m for m in _candidates(state, c) if state.status[m] == PUBLISHED][:1]
            if not picks and delta is not None:
                state.certs.add(delta, v)
                progress = True
                continue
            if not picks:  # pragma: no cover - then every cell is withheld, which the rule-only check covers
                raise RuntimeError(f"cannot protect {t.keys[c]}")
            state.hide(picks)
            if delta is not None:
                state.pending.append(delta)
            progress = True
            for m in (*picks, c):
                for r in t.of_cell[m]:
                    near.update((t.relations[r].total, *t.relations[r].parts))
        if not progress:  # pragma: no cover
            raise RuntimeError("secondary suppression made no progress")
        state.refresh()
    else:  # pragma: no cover
        raise RuntimeError("secondary suppression did not converge")
    pub = np.where(state.status == PUBLISHED, state.pub, np.nan)
    return Decision(state.status.copy(), pub, state.derived.copy(),
                    {"by_cycles": state.constructed, "by_chains": state.chained, "integer_programs": state.solves,
                     "inherent": len(state.inherent)})
