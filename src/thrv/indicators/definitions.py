"""Indicator definitions: loaded from TOML files, checked, and expanded.

An indicator is data (see ``thrv/data/config/indicators.toml`` for the format and
docs/indicators.md for the reference): what it measures, over which table and rows, which
direction is good and which test decides its labels. Users add indicators by writing a file,
never by changing code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from thrv.reference import DATA, slugify

DEFAULT_INDICATORS = DATA / "config" / "indicators.toml"
#: demand indicators (calls, incidents, surveys): rows appear only when the store holds them
DEMAND_INDICATORS = DATA / "config" / "demand_indicators.toml"

MEASURES = {"count", "proportion", "median", "p90"}
#: the percentile a median or P90 indicator reports
PERCENTILE = {"median": 50.0, "p90": 90.0}
DIRECTIONS = {"lower_is_better", "higher_is_better", "none"}
TESTS = {
    # quasi_poisson: the exact test made dispersion-aware (docs/methods.md); poisson_exact,
    # poisson_e and wheeler_z are the plain Poisson tests
    "count": {"quasi_poisson", "poisson_exact", "poisson_e", "wheeler_z"},
    "proportion": {"two_proportion"},
    "median": {"mann_whitney", "bootstrap"},
    # a P90 is tested on its own: a bootstrap of the difference in 90th percentiles
    "p90": {"bootstrap"},
}
DEFAULT_TEST = {"count": "quasi_poisson", "proportion": "two_proportion", "median": "mann_whitney", "p90": "bootstrap"}
#: the words a significant label uses: Higher/Lower (volumes, where more recording can be
#: good) or Improved/Deteriorated (rates and times with a better direction)
LABEL_WORDS = {"higher_lower", "improved_deteriorated"}
DEFAULT_LABELS = {"count": "higher_lower", "proportion": "improved_deteriorated", "median": "improved_deteriorated", "p90": "improved_deteriorated"}
_KEYS = {
    "id", "title", "group", "measure", "table", "where", "numerator", "value", "direction", "test",
    "per_1000", "for_each", "skip", "note", "unit", "generated", "noun", "labels", "immature_months",
    "count_distinct",
}


class IndicatorError(ValueError):
    """An indicator file that cannot be used; the message names the file and indicator."""


@dataclass(frozen=True)
class Condition:
    """column = any of values (or, when ``negate``, none of them)."""

    column: str
    values: tuple[Any, ...]
    negate: bool = False


@dataclass(frozen=True)
class Indicator:
    id: str
    title: str
    measure: str
    table: str
    where: tuple[Condition, ...] = ()
    numerator: tuple[Condition, ...] = ()
    value: str | None = None
    direction: str = "lower_is_better"
    test: str = "quasi_poisson"
    per_1000: bool = False
    group: str = ""
    note: str = ""
    unit: str = ""
    #: what one counted record is called in sentences ("crimes", "incidents", "searches")
    noun: str = "records"
    #: True when the indicator is computed from generated (simulated) data
    generated: bool = False
    for_each: str | None = None
    skip: tuple[str, ...] = field(default=())
    #: "higher_lower" or "improved_deteriorated"; empty = the default for the measure
    labels: str = ""
    #: outcome rates: the latest N months the store holds are immature (cases still open)
    #: and are marked and left out of the tests; 0 = no maturity rule
    immature_months: int = 0
    #: count distinct values of this column instead of rows (e.g. crime_id: crimes, not
    #: outcome rows)
    count_distinct: str | None = None

    @property
    def is_rate(self) -> bool:
        return self.measure == "proportion"

    @property
    def label_words(self) -> str:
        return self.labels or DEFAULT_LABELS.get(self.measure, "improved_deteriorated")

    @property
    def label_direction(self) -> str:
        """The direction labels are worded by: "none" (Higher/Lower) for volumes."""
        return "none" if self.label_words == "higher_lower" else self.direction

    @property
    def columns(self) -> set[str]:
        cols = {c.column for c in (*self.where, *self.numerator)}
        if self.value:
            cols.add(self.value)
        if self.count_distinct:
            cols.add(self.count_distinct)
        return cols


def _conditions(raw: Any, where: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise IndicatorError(f"{where}: expected a table of column = value(s), got {raw!r}")
    out = []
    for key, value in raw.items():
        negate = key.endswith("!")
        column = key.rstrip("!").strip()
        values = tuple(value) if isinstance(value, list) else (value,)
        if not values:
            raise IndicatorError(f"{where}: {key} lists no values")
        out.append(Condition(column, values, negate))
    return tuple(out)


def _parse(raw: Mapping[str, Any], source: str, index: int) -> Indicator:
    label = f"{source}: indicator {index + 1} ({raw.get('id', '?')})"
    unknown = set(raw) - _KEYS
    if unknown:
        raise IndicatorError(f"{label}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    for key in ("id", "measure", "table"):
        if not raw.get(key):
            raise IndicatorError(f"{label}: missing '{key}'")
    measure = raw["measure"]
    if measure not in MEASURES:
        raise IndicatorError(f"{label}: measure must be one of {sorted(MEASURES)}, got {measure!r}")
    direction = raw.get("direction", "lower_is_better")
    if direction not in DIRECTIONS:
        raise IndicatorError(f"{label}: direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")
    test = raw.get("test", DEFAULT_TEST[measure])
    if test not in TESTS[measure]:
        raise IndicatorError(f"{label}: test {test!r} does not fit measure {measure!r}; use one of {sorted(TESTS[measure])}")
    if measure == "proportion" and not raw.get("numerator"):
        raise IndicatorError(f"{label}: a proportion needs a 'numerator'")
    if measure in {"median", "p90"} and not raw.get("value"):
        raise IndicatorError(f"{label}: a {measure} needs a 'value' column")
    labels = str(raw.get("labels", ""))
    if labels and labels not in LABEL_WORDS:
        raise IndicatorError(f"{label}: labels must be one of {sorted(LABEL_WORDS)}, got {labels!r}")
    immature = raw.get("immature_months", 0)
    if not isinstance(immature, int) or isinstance(immature, bool) or not 0 <= immature <= 24:
        raise IndicatorError(f"{label}: immature_months must be a whole number of months from 0 to 24, got {immature!r}")
    distinct = raw.get("count_distinct")
    if distinct is not None and (measure != "count" or not isinstance(distinct, str) or not distinct):
        raise IndicatorError(f"{label}: count_distinct names a column and suits a count only")
    skip = raw.get("skip", [])
    return Indicator(
        id=str(raw["id"]),
        title=str(raw.get("title", raw["id"])),
        measure=measure,
        table=str(raw["table"]),
        where=_conditions(raw.get("where"), label),
        numerator=_conditions(raw.get("numerator"), label),
        value=raw.get("value"),
        direction=direction,
        test=test,
        per_1000=bool(raw.get("per_1000", False)),
        group=str(raw.get("group", "")),
        note=str(raw.get("note", "")),
        unit=str(raw.get("unit", "%" if measure == "proportion" else "")),
        generated=bool(raw.get("generated", False)),
        noun=str(raw.get("noun", "records")),
        for_each=raw.get("for_each"),
        skip=tuple(skip if isinstance(skip, list) else [skip]),
        labels=labels,
        immature_months=immature,
        count_distinct=distinct,
    )


def load_indicators(paths: Iterable[Path] | None = None) -> list[Indicator]:
    """Indicators from TOML files (the shipped defaults when none are given), in file order.

    Templates (``for_each``) are kept as templates: :func:`expand` fills them in from the
    values the store holds. Ids must be unique.
    """
    files = list(paths) if paths else [p for p in (DEFAULT_INDICATORS, DEMAND_INDICATORS) if p.exists()]
    out: list[Indicator] = []
    for path in files:
        try:
            doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise IndicatorError(f"{path}: cannot read indicators ({exc})") from exc
        raw_list = doc.get("indicator", [])
        if not isinstance(raw_list, list) or not raw_list:
            raise IndicatorError(f"{path}: no [[indicator]] entries")
        out.extend(_parse(raw, str(path), i) for i, raw in enumerate(raw_list))
    ids = [i.id for i in out if not i.for_each]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise IndicatorError(f"indicator id(s) defined twice: {dupes}")
    return out


def expand(indicators: Iterable[Indicator], values_of: Mapping[tuple[str, str], list[str]]) -> list[Indicator]:
    """Fill in ``for_each`` templates: one indicator per distinct (table, column) value.

    ``values_of[(table, column)]`` lists the values present. An id already defined
    explicitly wins over a generated one.
    """
    explicit = [i for i in indicators if not i.for_each]
    taken = {i.id for i in explicit}
    out: list[Indicator] = []
    for ind in indicators:
        if not ind.for_each:
            out.append(ind)
            continue
        for value in sorted(values_of.get((ind.table, ind.for_each), [])):
            if value in ind.skip:
                continue
            slug = slugify(value)
            new_id = ind.id.replace("{slug}", slug).replace("{value}", value)
            if new_id in taken:
                continue
            taken.add(new_id)
            out.append(
                replace(
                    ind,
                    id=new_id,
                    title=ind.title.replace("{value}", value).replace("{slug}", slug),
                    where=(*ind.where, Condition(ind.for_each, (value,))),
                    for_each=None,
                    skip=(),
                )
            )
    return out
