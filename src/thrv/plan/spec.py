"""The plan file: themes → shared outcome and aim → priorities (and their sub-groups) → indicators.

A Police and Crime Plan is data, written by the Commissioner's office in TOML (or YAML):
every theme has a shared outcome and an aim; every priority lists the indicators it is
judged by, each one of thrv's own indicators (by id) or a generic measure (by name), with
a target or a benchmark where the plan sets one. docs/plan.md documents the format.

Loading checks everything that can be checked without a store and reports every problem,
each naming the file, the theme and the key. Whether an indicator exists is checked later,
against the store (:mod:`thrv.plan.figures`), because indicators and measures come from it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIGURES = ("month", "rolling_12m", "latest")
RULES = ("at_least", "at_most")
DIRECTIONS = ("higher_is_better", "lower_is_better", "none")

_PLAN_KEYS = {"title", "area", "example", "note", "indicator_files", "owner", "period"}
_THEME_KEYS = {"name", "outcome", "aim", "summary", "priority", "priorities", "indicator", "indicators"}
_PRIORITY_KEYS = {"name", "description", "indicator", "indicators", "group", "groups"}
_GROUP_KEYS = {"name", "description", "indicator", "indicators"}
_INDICATOR_KEYS = {
    "id", "measure", "title", "figure", "direction", "crime_type", "by_crime_type", "area",
    "target", "benchmark", "note", "noun",
}


class PlanError(ValueError):
    """A plan file that cannot be used; the message lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Target:
    """What the plan aims for: a figure at least (or at most) ``value``."""

    value: float
    #: at_least | at_most; None = from the indicator's direction, decided when resolved
    rule: str | None = None
    #: which figure the target applies to (default: the indicator's headline figure)
    figure: str | None = None


@dataclass(frozen=True)
class Benchmark:
    """A figure to compare with (a national or peer figure), tested where a test exists."""

    value: float
    label: str = "benchmark"


@dataclass(frozen=True)
class PlanIndicator:
    """One line of a plan: a thrv indicator (``source = 'pack'``) or a generic measure."""

    key: str
    source: str  # pack | measure
    ref: str
    where: str  # "file: theme 'Victims': priority '...': indicator 2", for messages
    title: str | None = None
    figure: str | None = None
    direction: str | None = None
    crime_type: str | None = None
    by_crime_type: bool = False
    area: str | None = None
    target: Target | None = None
    benchmark: Benchmark | None = None
    note: str = ""
    #: what one counted thing is called in sentences (measures; thrv's indicators say their own)
    noun: str = ""


@dataclass(frozen=True)
class Group:
    """A sub-group of a priority, e.g. "Burglary dwelling" under "Combating acquisitive crime"."""

    name: str
    indicators: tuple[PlanIndicator, ...]
    description: str = ""


@dataclass(frozen=True)
class Priority:
    name: str
    indicators: tuple[PlanIndicator, ...]
    groups: tuple[Group, ...] = ()
    description: str = ""

    def all_indicators(self) -> Iterator[tuple[str, PlanIndicator]]:
        """(group name or '', indicator) for the priority's own indicators, then each group's."""
        for ind in self.indicators:
            yield "", ind
        for group in self.groups:
            for ind in group.indicators:
                yield group.name, ind


@dataclass(frozen=True)
class Theme:
    name: str
    outcome: str
    aim: str
    priorities: tuple[Priority, ...]
    #: measures of the theme as a whole (not of one priority)
    indicators: tuple[PlanIndicator, ...] = ()
    summary: str = ""

    def all_indicators(self) -> Iterator[PlanIndicator]:
        yield from self.indicators
        for p in self.priorities:
            for _, ind in p.all_indicators():
                yield ind

    @property
    def slug(self) -> str:
        from thrv.reference import slugify

        return slugify(self.name)


@dataclass(frozen=True)
class Plan:
    title: str
    path: Path
    themes: tuple[Theme, ...]
    area: str | None = None
    example: bool = False
    note: str = ""
    owner: str = ""
    period: str = ""
    indicator_files: tuple[Path, ...] = field(default=())

    def theme(self, name: str) -> Theme:
        """The theme called ``name`` (case and surrounding spaces ignored)."""
        wanted = " ".join(name.split()).lower()
        for t in self.themes:
            if t.name.lower() == wanted or t.slug == wanted.replace(" ", "_"):
                return t
        raise PlanError([f"{self.path}: no theme {name!r}; the plan's themes are: " + ", ".join(t.name for t in self.themes)])

    def all_indicators(self) -> Iterator[tuple[Theme, PlanIndicator]]:
        for t in self.themes:
            for ind in t.all_indicators():
                yield t, ind


def read_document(path: Path) -> dict[str, Any]:
    """A plan file's content: TOML, or YAML for .yaml/.yml files."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError([f"{path}: cannot read the plan ({exc.strerror or exc})"]) from exc
    if path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PlanError([f"{path}: not valid YAML ({exc})"]) from exc
    else:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PlanError([f"{path}: not valid TOML ({exc})"]) from exc
    if not isinstance(doc, dict):
        raise PlanError([f"{path}: a plan is a table with [plan] and [[theme]] entries"])
    return doc


def load_plan(path: str | Path) -> Plan:
    """Read and check a plan file; raises :class:`PlanError` listing every problem."""
    path = Path(path)
    doc = read_document(path)
    return parse_plan(doc, path)


def _list(raw: Mapping[str, Any], singular: str, plural: str) -> list[Any]:
    value = raw.get(singular, raw.get(plural, []))
    return value if isinstance(value, list) else [value]


def _text(raw: Mapping[str, Any], key: str, where: str, problems: list[str], required: bool = False) -> str:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"{where}: missing '{key}'")
        return ""
    if not isinstance(value, str):
        problems.append(f"{where}: '{key}' must be text, got {value!r}")
        return ""
    return " ".join(value.split())


def _unknown(raw: Mapping[str, Any], allowed: set[str], where: str, problems: list[str]) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def parse_plan(doc: Mapping[str, Any], path: Path) -> Plan:
    problems: list[str] = []
    head = doc.get("plan")
    if not isinstance(head, Mapping):
        problems.append(f"{path}: missing the [plan] table (title, and optionally area, example, note)")
        head = {}
    top_unknown = sorted(set(doc) - {"plan", "theme", "themes"})
    if top_unknown:
        problems.append(f"{path}: unknown top-level key(s) {', '.join(top_unknown)}; a plan has [plan] and [[theme]]")
    where = f"{path}: [plan]"
    _unknown(head, _PLAN_KEYS, where, problems)
    title = _text(head, "title", where, problems, required=True)
    example = head.get("example", False)
    if not isinstance(example, bool):
        problems.append(f"{where}: 'example' must be true or false, got {example!r}")
        example = False
    files_raw = head.get("indicator_files", [])
    files: list[Path] = []
    for f in files_raw if isinstance(files_raw, list) else [files_raw]:
        if not isinstance(f, str):
            problems.append(f"{where}: 'indicator_files' lists file names, got {f!r}")
            continue
        file = (path.parent / f) if not Path(f).is_absolute() else Path(f)
        if not file.exists():
            problems.append(f"{where}: indicator_files: {f}: no such file (relative to the plan file)")
        files.append(file)

    themes: list[Theme] = []
    raw_themes = _list(doc, "theme", "themes")
    if not raw_themes:
        problems.append(f"{path}: the plan has no [[theme]] entries")
    keys_seen: set[str] = set()
    names_seen: set[str] = set()
    for ti, raw in enumerate(raw_themes, start=1):
        if not isinstance(raw, Mapping):
            problems.append(f"{path}: theme {ti}: expected a table, got {raw!r}")
            continue
        name = _text(raw, "name", f"{path}: theme {ti}", problems, required=True) or f"theme {ti}"
        where = f"{path}: theme {name!r}"
        if name.lower() in names_seen:
            problems.append(f"{where}: another theme has the same name")
        names_seen.add(name.lower())
        _unknown(raw, _THEME_KEYS, where, problems)
        outcome = _text(raw, "outcome", where, problems, required=True)
        aim = _text(raw, "aim", where, problems, required=True)
        priorities: list[Priority] = []
        for pi, praw in enumerate(_list(raw, "priority", "priorities"), start=1):
            priorities.append(_priority(praw, f"{where}: priority {pi}", problems, keys_seen, name))
        own = tuple(
            _indicator(iraw, f"{where}: indicator {ii}", problems, keys_seen, name)
            for ii, iraw in enumerate(_list(raw, "indicator", "indicators"), start=1)
        )
        if not priorities and not own:
            problems.append(f"{where}: no priorities and no indicators")
        themes.append(Theme(name, outcome, aim, tuple(priorities), own, _text(raw, "summary", where, problems)))
    if problems:
        raise PlanError(problems)
    return Plan(
        title=title,
        path=path,
        themes=tuple(themes),
        area=_text(head, "area", f"{path}: [plan]", problems) or None,
        example=bool(example),
        note=_text(head, "note", f"{path}: [plan]", problems),
        owner=_text(head, "owner", f"{path}: [plan]", problems),
        period=_text(head, "period", f"{path}: [plan]", problems),
        indicator_files=tuple(files),
    )


def _priority(raw: Any, where: str, problems: list[str], keys: set[str], theme: str) -> Priority:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a table, got {raw!r}")
        return Priority("", ())
    name = _text(raw, "name", where, problems, required=True)
    if name:
        where = where.rsplit(": priority", 1)[0] + f": priority {name!r}"
    _unknown(raw, _PRIORITY_KEYS, where, problems)
    own = tuple(
        _indicator(i, f"{where}: indicator {n}", problems, keys, theme)
        for n, i in enumerate(_list(raw, "indicator", "indicators"), start=1)
    )
    groups = []
    for gi, graw in enumerate(_list(raw, "group", "groups"), start=1):
        gwhere = f"{where}: group {gi}"
        if not isinstance(graw, Mapping):
            problems.append(f"{gwhere}: expected a table, got {graw!r}")
            continue
        gname = _text(graw, "name", gwhere, problems, required=True)
        if gname:
            gwhere = f"{where}: group {gname!r}"
        _unknown(graw, _GROUP_KEYS, gwhere, problems)
        inds = tuple(
            _indicator(i, f"{gwhere}: indicator {n}", problems, keys, theme)
            for n, i in enumerate(_list(graw, "indicator", "indicators"), start=1)
        )
        if not inds:
            problems.append(f"{gwhere}: no indicators")
        groups.append(Group(gname, inds, _text(graw, "description", gwhere, problems)))
    if not own and not groups:
        problems.append(f"{where}: no indicators")
    return Priority(name, own, tuple(groups), _text(raw, "description", where, problems))


def _indicator(raw: Any, where: str, problems: list[str], keys: set[str], theme: str) -> PlanIndicator:
    if isinstance(raw, str):  # a bare id: indicators = ["burglary", "asb"]
        raw = {"id": raw}
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected an indicator table (id = ... or measure = ...), got {raw!r}")
        return PlanIndicator("", "pack", "", where)
    has_id, has_measure = raw.get("id") is not None, raw.get("measure") is not None
    if has_id == has_measure:
        problems.append(f"{where}: give exactly one of 'id' (a thrv indicator) or 'measure' (a generic measure)")
    source = "pack" if has_id else "measure"
    ref = raw.get("id") if has_id else raw.get("measure")
    if not isinstance(ref, str) or not ref.strip():
        if has_id or has_measure:
            problems.append(f"{where}: '{source if source == 'measure' else 'id'}' must be a non-empty name, got {ref!r}")
        ref = ""
    ref = ref.strip()
    label = f"{where} ({ref})" if ref else where
    _unknown(raw, _INDICATOR_KEYS, label, problems)
    figure = raw.get("figure")
    if figure is not None and figure not in FIGURES:
        problems.append(f"{label}: figure: must be one of {', '.join(FIGURES)}, got {figure!r}")
        figure = None
    direction = raw.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        problems.append(f"{label}: direction: must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        direction = None
    if direction is not None and source == "pack":
        problems.append(f"{label}: direction: a thrv indicator's direction is set in its definition; 'direction' is for measures")
    crime_type = raw.get("crime_type")
    if crime_type is not None and (not isinstance(crime_type, str) or not crime_type.strip()):
        problems.append(f"{label}: crime_type: must be a crime type name, e.g. \"Burglary\", got {crime_type!r}")
        crime_type = None
    by_crime = raw.get("by_crime_type", False)
    if not isinstance(by_crime, bool):
        problems.append(f"{label}: by_crime_type: must be true or false, got {by_crime!r}")
        by_crime = False
    if (crime_type or by_crime) and source != "pack":
        problems.append(f"{label}: crime_type / by_crime_type split a thrv survey indicator (id = ...), not a measure")
    target = _target(raw.get("target"), label, problems)
    benchmark = _benchmark(raw.get("benchmark"), label, problems)
    title = raw.get("title")
    if title is not None and not isinstance(title, str):
        problems.append(f"{label}: title: must be text, got {title!r}")
        title = None
    area = raw.get("area")
    if area is not None and (not isinstance(area, str) or not area.strip()):
        problems.append(f"{label}: area: must be an area name or code, got {area!r}")
        area = None
    from thrv.reference import slugify

    key = slugify(f"{theme} {ref} {crime_type or ''} {area or ''}") or "indicator"
    base, n = key, 2
    while key in keys:
        key, n = f"{base}_{n}", n + 1
    keys.add(key)
    note = raw.get("note", "")
    noun = raw.get("noun", "")
    if not isinstance(noun, str):
        problems.append(f"{label}: noun: must be text, e.g. \"hate crimes\", got {noun!r}")
        noun = ""
    return PlanIndicator(
        key=key, source=source, ref=ref, where=label, title=title.strip() if title else None,
        figure=figure, direction=direction, crime_type=crime_type.strip() if crime_type else None,
        by_crime_type=bool(by_crime), area=area.strip() if area else None, target=target,
        benchmark=benchmark, note=note if isinstance(note, str) else str(note), noun=noun.strip(),
    )


def _target(raw: Any, where: str, problems: list[str]) -> Target | None:
    if raw is None:
        return None
    if _number(raw) is not None:
        return Target(float(raw))
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: target: expected a number or {{ value = N, rule = \"at_least\" | \"at_most\" }}, got {raw!r}")
        return None
    unknown = sorted(set(raw) - {"value", "rule", "figure"})
    if unknown:
        problems.append(f"{where}: target: unknown key(s) {', '.join(unknown)}; allowed: figure, rule, value")
    value = _number(raw.get("value"))
    if value is None:
        problems.append(f"{where}: target: 'value' must be a number, got {raw.get('value')!r}")
        return None
    rule = raw.get("rule")
    if rule is not None and rule not in RULES:
        problems.append(f"{where}: target: rule must be at_least or at_most, got {rule!r}")
        rule = None
    figure = raw.get("figure")
    if figure is not None and figure not in FIGURES:
        problems.append(f"{where}: target: figure must be one of {', '.join(FIGURES)}, got {figure!r}")
        figure = None
    return Target(value, rule, figure)


def _benchmark(raw: Any, where: str, problems: list[str]) -> Benchmark | None:
    if raw is None:
        return None
    if _number(raw) is not None:
        return Benchmark(float(raw))
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: benchmark: expected a number or {{ value = N, label = \"...\" }}, got {raw!r}")
        return None
    unknown = sorted(set(raw) - {"value", "label"})
    if unknown:
        problems.append(f"{where}: benchmark: unknown key(s) {', '.join(unknown)}; allowed: label, value")
    value = _number(raw.get("value"))
    if value is None:
        problems.append(f"{where}: benchmark: 'value' must be a number, got {raw.get('value')!r}")
        return None
    label = raw.get("label", "benchmark")
    return Benchmark(value, str(label))
