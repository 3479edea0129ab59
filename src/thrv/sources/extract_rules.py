"""Checks and derived columns for force extracts, run inside :func:`thrv.sources.validate.validate`.

Each rule takes the typed columns of a file and the per-row reasons, quarantines rows that
cannot be right (an answer before the call was offered, an unknown grade, a repeated
identifier) and adds the columns the indicators need (``response_minutes``,
``answered_within_10s``, ``positive``...). Deriving them at read time keeps the indicator
definitions declarative: the pack filters and counts columns, it never re-implements a rule.

Coded values are looked up once per distinct value (a 1.5 million-row calls file holds four
distinct lines), so the rules cost little beside the parse.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from thrv import reference
from thrv.reference import DATA, read_rows, reference_path
from thrv.sources.csvtext import CsvRecords, FileRefused
from thrv.sources.extracts import (
    CALLS,
    EXTRACT_KINDS,
    FORCE_CRIMES,
    INCIDENTS,
    MAIN_TIME,
    SURVEY_RESPONSES,
    vocabulary,
)
from thrv.sources.kinds import Kind, normalise_heading
from thrv.sources.mapping import normalise_value
from thrv.sources.validate import LOCAL_TIMEZONE, Reasons
from thrv.sources.validate import message as _message

Check = Callable[[dict[str, pa.Array], Reasons], None]

#: a call answered more than a day after it was offered is a clock or keying error
MAX_ANSWER_SECONDS = 24 * 3600
#: an arrival more than 31 days after creation is not a response to that incident
MAX_RESPONSE_MINUTES = 31 * 24 * 60
GRADE_OF_SERVICE_LINES = ("999", "101")

OUTCOME_GROUPS = {
    "1": "charged_summonsed", "1a": "charged_summonsed",
    "2": "out_of_court_formal", "3": "out_of_court_formal", "4": "out_of_court_formal",
    "6": "out_of_court_formal", "7": "out_of_court_formal",
    "8": "out_of_court_informal", "22": "out_of_court_informal",
    "14": "evidential_difficulties", "15": "evidential_difficulties", "16": "evidential_difficulties",
    "18": "no_suspect",
    "9": "public_interest", "10": "public_interest", "21": "public_interest",
    "5": "prevented", "11": "prevented", "12": "prevented", "13": "prevented", "17": "prevented",
    "20": "other_agency",
}
_OUTCOME_RE = re.compile(r"^(?:outcome\s*(?:type\s*)?|oc\s*)?(\d{1,2}a?)(?:$|[^0-9a-z])")
#: outcome groups recognised from wording when a file gives no outcome number
_OUTCOME_WORDS = (
    ("charge", "charged_summonsed"), ("summons", "charged_summonsed"), ("postal requisition", "charged_summonsed"),
    ("caution", "out_of_court_formal"), ("penalty notice", "out_of_court_formal"),
    ("cannabis", "out_of_court_formal"), ("khat", "out_of_court_formal"), ("taken into consideration", "out_of_court_formal"),
    ("community resolution", "out_of_court_informal"), ("diversion", "out_of_court_informal"),
    ("evidential difficult", "evidential_difficulties"), ("no suspect", "no_suspect"),
    ("public interest", "public_interest"), ("other body", "other_agency"), ("other agency", "other_agency"),
)


def is_extract(kind: Kind) -> bool:
    return kind in EXTRACT_KINDS


@dataclass
class RuleContext:
    """What the rules of one file need besides its columns, and the notes they leave."""

    kind: Kind
    lines: np.ndarray
    force_name: str | None = None
    notes: list[str] = field(default_factory=list)
    #: the text of time columns as written in the file, for messages (typed values are UTC)
    texts: dict[str, pa.Array] = field(default_factory=dict)

    def shown(self, name: str, typed: pa.Array) -> pa.Array:
        text = self.texts.get(name)
        return pc.utf8_trim_whitespace(text) if text is not None else pc.cast(typed, pa.string())


def context_for(kind: Kind, records: CsvRecords, force_name: str | None, notes: list[str]) -> RuleContext:
    """The context of one file's rules (``notes`` collects what the rules want to say)."""
    positions = {normalise_heading(h): i for i, h in enumerate(records.header)}
    texts = {
        c.name: records.columns[positions[normalise_heading(c.source)]]
        for c in kind.columns
        if c.type in {"timestamp", "date"} and normalise_heading(c.source) in positions
    }
    return RuleContext(kind, records.lines, force_name, notes, texts)


# -- small vectorised helpers -------------------------------------------------------------


def _map_distinct(values: pa.Array, func: Callable[[str], Any], type_: pa.DataType = pa.string()) -> pa.Array:
    """Apply a Python function once per distinct non-null value and spread the results back."""
    distinct = pc.unique(values).drop_null()
    mapped = pa.array([func(v) for v in distinct.to_pylist()], type_)
    return pc.take(mapped, pc.index_in(values, value_set=distinct))


def _alias_lookup(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, aliases in table.items():
        for alias in (name, *aliases):
            out.setdefault(normalise_value(alias), name)
    return out


def local_parts(ts: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(month as date, hour 0-23, weekday 0 = Monday) of UTC timestamps in UK local time."""
    local = pc.local_timestamp(ts.cast(pa.timestamp("s", tz=LOCAL_TIMEZONE)))
    month = pc.floor_temporal(local, unit="month").cast(pa.date32())
    return month, pc.hour(local).cast(pa.int64()), pc.day_of_week(local).cast(pa.int64())


def _seconds(later: pa.Array, earlier: pa.Array) -> pa.Array:
    return pc.subtract(later, earlier).cast(pa.int64()).cast(pa.float64())


def _add(reasons: Reasons, failed: pa.Array, message: str | Callable[[], pa.Array]) -> None:
    """Record a reason for failing rows; the per-row message is only built when a row fails."""
    failed = pc.fill_null(failed, False)
    if pc.any(failed).as_py():
        reasons.add(failed, message() if callable(message) else message)


def _fill(values: pa.Array, value: Any) -> pa.Array:
    return pc.fill_null(values, pa.scalar(value, values.type))


# -- reference lookups --------------------------------------------------------------------


@cache
def _districts() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """LSOA code -> (district code, name); normalised district name or code -> (code, name)."""
    by_lsoa: dict[str, tuple[str, str]] = {}
    by_district: dict[str, tuple[str, str]] = {}
    for row in read_rows(reference_path("lsoa.csv.gz")):
        pair = (row["lad_code"], row["lad_name"])
        by_lsoa.setdefault(row["lsoa_code"].upper(), pair)
        by_district.setdefault(normalise_value(row["lad_name"]), pair)
        by_district.setdefault(normalise_value(row["lad_code"]), pair)
    return by_lsoa, by_district


@cache
def offence_lookup() -> dict[str, tuple[str, str]]:
    """Home Office offence code -> (data.police.uk crime type, offence subgroup)."""
    out: dict[str, tuple[str, str]] = {}
    with (DATA / "harm" / "css_offence_weights.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for code in row["offence_code"].split("/"):
                out.setdefault(normalise_offence_code(code), (row["crime_type"], row["prc_subgroup_2017_18"]))
    return out


def normalise_offence_code(code: str) -> str:
    """'008N ' -> '8N', '28e' -> '28E': the form the Home Office lists use."""
    text = code.strip().upper().replace(" ", "")
    return re.sub(r"^0+(?=\d)", "", text)


# -- rules shared by every extract ----------------------------------------------------------


def _force_rule(ctx: RuleContext) -> Check:
    """Fill the force from --force where the file leaves it empty; use published names."""
    default = None
    if ctx.force_name:
        found = reference.force_by_name(ctx.force_name)
        default = found.name if found else ctx.force_name.strip()

    def canonical(name: str) -> str:
        found = reference.force_by_name(name)
        return found.name if found else name

    def check(cols: dict[str, pa.Array], reasons: Reasons) -> None:
        force = _map_distinct(cols["force"], canonical)
        if default is not None:
            force = _fill(force, default)
        _add(reasons, pc.is_null(force), "missing force (give a force column or pass --force)")
        cols["force"] = force
        cols["generated"] = _fill(cols["generated"], False)
        month, hour, weekday = _main_time_parts(ctx.kind, cols)
        cols["month"] = month
        if hour is not None and weekday is not None and "hour" in {c.name for c in ctx.kind.added}:
            cols["hour"] = hour
            cols["weekday"] = weekday

    return check


def _main_time_parts(kind: Kind, cols: dict[str, pa.Array]) -> tuple[pa.Array, pa.Array | None, pa.Array | None]:
    when = cols[MAIN_TIME[kind.name]]
    if pa.types.is_date32(when.type):
        return pc.floor_temporal(when, unit="month"), None, None
    return local_parts(when)


def _district_rule(ctx: RuleContext, given: str) -> Check:
    """District from the LSOA (preferred: exact) or from the district/area named in the file."""

    def check(cols: dict[str, pa.Array], reasons: Reasons) -> None:
        by_lsoa, by_district = _districts()
        lsoa = cols["lsoa_code"]
        from_lsoa = _map_distinct(lsoa, lambda v: "|".join(by_lsoa.get(v.strip().upper(), ("", ""))))
        from_name = _map_distinct(cols[given], lambda v: "|".join(by_district.get(normalise_value(v), ("", ""))))
        pair = pc.coalesce(
            pc.if_else(pc.equal(from_lsoa, "|"), pa.scalar(None, pa.string()), from_lsoa),
            pc.if_else(pc.equal(from_name, "|"), pa.scalar(None, pa.string()), from_name),
        )
        parts = pc.split_pattern(pair, "|")
        cols["district_code"] = pc.list_element(parts, 0)
        cols["district_name"] = pc.list_element(parts, 1)
        unknown = pc.and_(pc.is_valid(lsoa), pc.equal(from_lsoa, "|"))
        n_unknown = int(pc.sum(pc.cast(pc.fill_null(unknown, False), pa.int64())).as_py() or 0)
        if n_unknown:
            examples = pc.unique(lsoa.filter(pc.fill_null(unknown, False))).to_pylist()[:3]
            ctx.notes.append(
                f"{n_unknown} row(s) have an lsoa_code that is not an LSOA of England and Wales "
                f"(e.g. {', '.join(map(str, examples))}); kept, counted at force level only"
            )

    return check


def _id_rule(ctx: RuleContext) -> Check:
    """An identifier names one record: a later row repeating it is quarantined.

    An identical repeat is a duplicate row (e.g. an export run twice into one file); a repeat
    with different values is a conflict the force must resolve, so neither is guessed at.
    """
    kind = ctx.kind
    id_column = kind.id_column
    assert id_column

    def check(cols: dict[str, pa.Array], reasons: Reasons) -> None:
        ids = cols[id_column]
        usable = pc.and_(pc.is_valid(ids), pc.is_null(reasons.values))
        if len(pc.unique(ids.filter(usable))) == pc.sum(pc.cast(usable, pa.int64())).as_py():
            return
        parts = [pc.fill_null(pc.cast(cols[c.name], pa.string()), "\x00") for c in kind.columns]
        key = pc.binary_join_element_wise(*parts, "\x1f")
        keyed = pa.table({"id": ids, "key": key, "line": pa.array(ctx.lines), "usable": usable})
        firsts = keyed.filter(usable).group_by("id", use_threads=False).aggregate([("line", "min")])
        first_keys = keyed.join(firsts, keys=["id", "line"], right_keys=["id", "line_min"], join_type="inner")
        lookup = firsts.join(first_keys.select(["id", "key"]).rename_columns(["id", "first_key"]), "id")
        joined = keyed.append_column("_order", pa.array(np.arange(len(ids)))).join(
            lookup, "id", join_type="left outer", use_threads=False
        ).sort_by("_order")
        first_line = joined["line_min"].combine_chunks()
        repeat = pc.and_(pc.fill_null(pc.not_equal(first_line, joined["line"].combine_chunks()), False), usable)
        same = pc.equal(joined["first_key"].combine_chunks(), joined["key"].combine_chunks())
        line_text = pc.cast(first_line, pa.string())
        _add(reasons, pc.and_(repeat, same), lambda: pc.binary_join_element_wise(
            pa.scalar("duplicate row: identical to line "), line_text, ""))
        _add(reasons, pc.and_(repeat, pc.invert(same)), lambda: pc.binary_join_element_wise(
            _message(f"{id_column}", ids, " is also on line "), line_text,
            pa.scalar(" with different values (an identifier must be unique within a file)"), ""))

    return check


# -- calls ------------------------------------------------------------------------------


def _calls_rule(ctx: RuleContext) -> Check:
    lines = _alias_lookup(vocabulary().lines)

    def check(cols: dict[str, pa.Array], reasons: Reasons) -> None:
        raw = cols["line"]
        line = _map_distinct(raw, lambda v: lines.get(normalise_value(v)))
        _add(reasons,
            pc.and_(pc.is_valid(raw), pc.is_null(line)),
            lambda: _message("line", raw, " is not 999, 101, online or other (map your force's codes with [calls.values.line])"),
        )
        cols["line"] = line
        offered, answered = cols["offered_at"], cols["answered_at"]
        secs = _seconds(answered, offered)
        _add(reasons, pc.less(secs, 0), lambda: _message("answered_at", ctx.shown("answered_at", answered), " is before offered_at"))
        _add(reasons, pc.greater(secs, MAX_ANSWER_SECONDS), lambda: _message("answered_at", ctx.shown("answered_at", answered), " is more than 24 hours after offered_at"))
        phone = pc.is_in(line, pa.array(GRADE_OF_SERVICE_LINES))
        given = cols["abandoned"]
        _add(reasons,
            pc.and_(pc.fill_null(given, False), pc.is_valid(answered)),
            "abandoned is true but the call has an answered_at time",
        )
        cols["abandoned"] = pc.coalesce(given, pc.and_(phone, pc.is_null(answered)))
        cols["answer_seconds"] = secs
        for limit in (10, 30):
            within = pc.fill_null(pc.less_equal(secs, float(limit)), False)
            cols[f"answered_within_{limit}s"] = pc.if_else(phone, within, pa.scalar(None, pa.bool_()))

    return check


# -- incidents --------------------------------------------------------------------------


def _incidents_rule(ctx: RuleContext) -> Check:
    voc = vocabulary()
    grades = _alias_lookup(voc.grades)
    cats = _alias_lookup({c.name: c.aliases for c in voc.categories})
    info = {c.name: c for c in voc.categories}

    def canonical_category(value: str) -> str:
        return cats.get(normalise_value(value), value.strip())

    def check(cols: dict[str, pa.Array], reasons: Reasons) -> None:
        raw = cols["grade"]
        grade = _map_distinct(raw, lambda v: grades.get(normalise_value(v)))
        _add(reasons,
            pc.and_(pc.is_valid(raw), pc.is_null(grade)),
            lambda: _message("grade", raw, " is not immediate, prompt, scheduled or resolved_without_deployment "
                     "(map your force's grades with [incidents.values.grade])"),
        )
        cols["grade"] = grade
        opening = _map_distinct(cols["opening_category"], canonical_category)
        closing = _map_distinct(cols["closing_category"], canonical_category)
        category = pc.coalesce(closing, opening)
        cols["opening_category"], cols["closing_category"], cols["category"] = opening, closing, category
        cols["category_group"] = _map_distinct(category, lambda v: info[v].group if v in info else "unmapped")
        cols["is_crime"] = _map_distinct(category, lambda v: info[v].is_crime if v in info else None, pa.bool_())
        cols["recategorised"] = pc.fill_null(pc.not_equal(closing, opening), False)
        created, arrival, closed = cols["created_at"], cols["first_arrival_at"], cols["closed_at"]
        minutes = pc.divide(_seconds(arrival, created), 60.0)
        _add(reasons, pc.less(minutes, 0), lambda: _message("first_arrival_at", ctx.shown("first_arrival_at", arrival), " is before created_at"))
        _add(reasons, pc.greater(minutes, MAX_RESPONSE_MINUTES), lambda: _message(
            "first_arrival_at", ctx.shown("first_arrival_at", arrival), " is more than 31 days after created_at"))
        _add(reasons, pc.less(_seconds(closed, created), 0), lambda: _message("closed_at", ctx.shown("closed_at", closed), " is before created_at"))
        cols["response_minutes"] = minutes
        cols["attended"] = pc.is_valid(arrival)
        unmapped = pc.unique(category.filter(pc.equal(cols["category_group"], "unmapped"))).to_pylist()
        if unmapped:
            ctx.notes.append(
                f"categories not in thrv's list, kept as given and grouped 'unmapped': {', '.join(map(repr, unmapped[:5]))}"
                f"{' ...' if len(unmapped) > 5 else ''} (map them with [incidents.values.opening_category] and closing_category)"
            )

    return check


# -- recorded crimes --------------------------------------------------------------------


def _crimes_rule(ctx: RuleContext) -> Check:
    offences = offence_lookup()

    def outcome_code(value: str) -> str | None:
        match = _OUTCOME_RE.match(value.strip().lower())
        return match.group(1) if match and match.group(1) in OUTCOME_GROUPS else None

    def outcome_group(value: str) -> str:
        code = outcome_code(value)
        if code is not None:
            return OUTCOME_GROUPS[code]
        words = normalise_value(value)
        return next((group for word, group in _OUTCOME_WORDS if word in words), "unrecognised")

    def check(cols: dict[str, pa.Array], reasons: Reasons) -> None:
        code = _map_distinct(cols["offence_code"], normalise_offence_code)
        cols["offence_code"] = code
        cols["crime_type"] = _map_distinct(code, lambda v: offences.get(v, (None, None))[0])
        cols["offence_group"] = _map_distinct(code, lambda v: offences.get(v, (None, None))[1])
        unknown = pc.unique(code.filter(pc.is_null(cols["crime_type"]))).drop_null().to_pylist()
        if unknown:
            ctx.notes.append(
                f"offence codes not in thrv's Home Office list (crime_type left empty): {', '.join(unknown[:8])}"
                f"{' ...' if len(unknown) > 8 else ''}"
            )
        for flag in ("domestic_abuse", "hate", "child_exploitation", "mental_health", "vulnerable_victim"):
            cols[flag] = _fill(cols[flag], False)
        outcome = cols["outcome_type"]
        number = _map_distinct(outcome, outcome_code)
        cols["outcome_code"] = number
        cols["outcome_group"] = pc.if_else(pc.is_null(outcome), pa.scalar("open"), _map_distinct(outcome, outcome_group))
        recorded = cols["recorded_at"]
        recorded_day = pc.floor_temporal(
            pc.local_timestamp(recorded.cast(pa.timestamp("s", tz=LOCAL_TIMEZONE))), unit="day"
        ).cast(pa.date32())
        days = pc.divide(_seconds(cols["outcome_date"], recorded_day), 86400.0)
        _add(reasons, pc.less(days, 0), lambda: _message("outcome_date", ctx.shown("outcome_date", cols["outcome_date"]), " is before the crime was recorded"))
        cols["days_to_outcome"] = days
        start, end = cols["committed_from"], cols["committed_to"]
        _add(reasons, pc.less(_seconds(end, start), 0), lambda: _message("committed_to", ctx.shown("committed_to", end), " is before committed_from"))
        _add(reasons, pc.less(_seconds(recorded, start), 0), lambda: _message(
            "committed_from", ctx.shown("committed_from", start), " is after recorded_at"))

    return check


# -- survey responses -------------------------------------------------------------------


def _survey_rule(ctx: RuleContext) -> Check:
    voc = vocabulary()
    surveys = _alias_lookup(voc.surveys)
    questions = _alias_lookup(voc.questions)
    scales = {normalise_value(s.name): s for s in voc.scales}
    non_answers = {normalise_value(a) for a in voc.non_answers}
    any_scale: dict[str, tuple[int, bool]] = {}
    for s in voc.scales:
        for i, answer in enumerate(s.answers, start=1):
            any_scale.setdefault(normalise_value(answer), (i, i <= s.positive))

    def score(key: str) -> str:
        """'scale|answer' -> 'position|positive' | 'na' (not an answer) | an error message."""
        scale_name, answer = key.split("\x1f")
        answer_n = normalise_value(answer)
        if answer_n in non_answers:
            return "na"
        scale = scales.get(normalise_value(scale_name)) if scale_name else None
        if scale_name and scale is None:
            return f"scale {scale_name!r} is not one of {', '.join(s.name for s in voc.scales)}"
        if answer_n.isdigit():
            if scale is None:
                return f"answer {answer!r} is a number, so the file needs a scale column saying which scale"
            position = int(answer_n)
            if not 1 <= position <= len(scale.answers):
                return f"answer {answer!r} is outside scale {scale.name} (1 to {len(scale.answers)})"
            return f"{position}|{int(position <= scale.positive)}"
        if scale is not None:
            wording = [normalise_value(a) for a in scale.answers]
            if answer_n not in wording:
                return f"answer {answer!r} is not on scale {scale.name} ({', '.join(scale.answers)})"
            position = wording.index(answer_n) + 1
            return f"{position}|{int(position <= scale.positive)}"
        if answer_n in any_scale:
            position, positive = any_scale[answer_n]
            return f"{position}|{int(positive)}"
        return (f"answer {answer!r} is not on a recognised scale (e.g. 'very satisfied', 'good', 'tend to agree'); "
                "map it with [survey_responses.values.answer]")

    def check(cols: dict[str, pa.Array], reasons: Reasons) -> None:
        raw = cols["survey"]
        survey = _map_distinct(raw, lambda v: surveys.get(normalise_value(v)))
        _add(reasons,
            pc.and_(pc.is_valid(raw), pc.is_null(survey)),
            lambda: _message("survey", raw, " is not victim_satisfaction or public_confidence (map it with [survey_responses.values.survey])"),
        )
        cols["survey"] = survey
        cols["question"] = _map_distinct(cols["question"], lambda v: questions.get(normalise_value(v), v.strip()))
        key = pc.binary_join_element_wise(pc.fill_null(cols["scale"], ""), cols["answer"], "\x1f")
        result = _map_distinct(key, score)
        scored = pc.match_substring_regex(result, r"^\d+\|[01]$")
        failed = pc.and_(pc.is_valid(result), pc.invert(pc.or_(scored, pc.equal(result, "na"))))
        _add(reasons, failed, result)
        parts = pc.split_pattern(pc.if_else(scored, result, pa.scalar(None, pa.string())), "|")
        cols["answer_score"] = pc.list_element(parts, 0).cast(pa.int64())
        cols["positive"] = pc.equal(pc.list_element(parts, 1), "1")
        cols["scored"] = pc.fill_null(scored, False)

    return check


# -- assembly ---------------------------------------------------------------------------

_KIND_RULES: dict[str, Callable[[RuleContext], Check]] = {
    CALLS.name: _calls_rule,
    INCIDENTS.name: _incidents_rule,
    FORCE_CRIMES.name: _crimes_rule,
    SURVEY_RESPONSES.name: _survey_rule,
}


def rules_for(ctx: RuleContext) -> list[Check]:
    """The checks of one extract file, in order: force and time, the kind's own, place, ids."""
    checks = [_force_rule(ctx), _KIND_RULES[ctx.kind.name](ctx)]
    if "district_code" in {c.name for c in ctx.kind.added}:
        checks.append(_district_rule(ctx, "area" if ctx.kind is SURVEY_RESPONSES else "district"))
    checks.append(_id_rule(ctx))
    return checks


def check_force_known(name: str, kind: Kind, header: list[str], force_name: str | None) -> None:
    """Refuse a file that cannot say its force: no force column and no --force."""
    if force_name is None and normalise_heading("force") not in {normalise_heading(h) for h in header}:
        raise FileRefused(
            f"{name}: cannot tell which force this {kind.title} is for; add a 'force' column or pass --force"
        )


# -- text clean-up before typing ---------------------------------------------------------

_UK_DATE = r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})"


def _iso_from_uk(values: pa.Array) -> pa.Array:
    """dd/mm/yyyy[ hh:mm[:ss]] -> yyyy-mm-dd[ hh:mm[:ss]]: UK force systems write day first."""
    if not pc.any(pc.match_substring_regex(values, _UK_DATE)).as_py():
        return values
    out = pc.replace_substring_regex(values, r"^\s*(\d)/", r"0\1/")
    out = pc.replace_substring_regex(out, r"^(\d\d)/(\d)/", r"\1/0\2/")
    return pc.replace_substring_regex(out, r"^(\d\d)/(\d\d)/(\d{4})", r"\3-\2-\1")


def prepare(records: CsvRecords, kind: Kind) -> CsvRecords:
    """Put dates in the ISO form the typed checks expect, without changing anything else.

    Day-first UK dates are reordered; a date with no time in a timestamp column is taken as
    midnight; a time after a date in a date column is dropped. The raw text kept for a
    quarantined row is the original line, untouched.
    """
    positions = {normalise_heading(h): i for i, h in enumerate(records.header)}
    columns = list(records.columns)
    for column in kind.columns:
        if column.type not in {"timestamp", "date"}:
            continue
        index = positions.get(normalise_heading(column.source))
        if index is None:
            continue
        values = _iso_from_uk(columns[index])
        if column.type == "timestamp":
            pattern, replacement = r"^(\s*\d{4}-\d{2}-\d{2})\s*$", r"\1 00:00:00"
        else:
            pattern, replacement = r"^(\s*\d{4}-\d{2}-\d{2})[T ].*$", r"\1"
        if pc.any(pc.match_substring_regex(values, pattern)).as_py():
            values = pc.replace_substring_regex(values, pattern, replacement)
        columns[index] = values
    return replace(records, columns=columns)


def apply_value_mapping(records: CsvRecords, kind: Kind, values: dict[str, dict[str, str]]) -> CsvRecords:
    """Replace a force's codes by thrv's (``[kind.values.column]`` of a mapping file)."""
    if not values:
        return records
    positions = {normalise_heading(h): i for i, h in enumerate(records.header)}
    sources = {c.name: c.source for c in kind.columns}
    columns = list(records.columns)
    for name, table in values.items():
        index = positions.get(normalise_heading(sources[name]))
        if index is None:
            continue
        current = columns[index]

        def swap(v: str, table: dict[str, str] = table) -> str:
            return table.get(normalise_value(v), v)

        columns[index] = _map_distinct(current, swap)
    return replace(records, columns=columns)
