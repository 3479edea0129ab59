"""Force extracts: calls, incidents (command and control), recorded crimes and survey responses.

No force publishes these, so their layout is thrv's: the canonical headings below (any case;
``Call ID`` matches ``call_id``), or a force's own headings through a mapping file
(:mod:`thrv.sources.mapping`). They go through the same machinery as the data.police.uk
files — every row typed and checked, bad rows quarantined with a reason, files replacing
earlier rows by identifier — plus the checks and derived columns in
:mod:`thrv.sources.extract_rules` (response times, grade of service, categories, survey
scales). docs/schema.md ("Force extracts") documents every column.

Every table carries ``force`` and ``month`` (the first day of the UK-local month of the
record's main time) because every indicator is a monthly figure per force, and a
``generated`` flag: scenario files written by ``thrv simulate`` set it on every row so that
reports can never pass generated figures off as real ones.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

from thrv.reference import DATA
from thrv.sources.kinds import Column, Kind

VOCABULARY = DATA / "config" / "extract_vocabulary.toml"

_FORCE = Column(
    "force", "force", doc="Force name (e.g. 'Cambridgeshire Constabulary'); else `thrv ingest --force`", optional=True
)
_GENERATED = Column(
    "generated", "generated", "bool",
    doc="true on rows written by `thrv simulate`; empty (false) in real extracts", optional=True,
)
_PLACE = (
    Column("district", "district", doc="District (local authority) name or code, when no LSOA is given", optional=True),
    Column("lsoa_code", "lsoa_code", doc="LSOA (2011 or 2021 code) of the location", optional=True),
    Column("latitude", "latitude", "latitude", doc="WGS84", optional=True),
    Column("longitude", "longitude", "longitude", doc="WGS84", optional=True),
)
_PLACE_ADDED = (
    Column("district_code", "", doc="Local authority district code (2024), from the LSOA or the district given"),
    Column("district_name", "", doc="Local authority district name (2024), from the LSOA or the district given"),
)
_WHEN_ADDED = (
    Column("hour", "", "int", doc="Hour of day, UK local time (0-23)"),
    Column("weekday", "", "int", doc="Day of week, UK local time (0 = Monday ... 6 = Sunday)"),
)


CALLS = Kind(
    name="calls",
    table="calls",
    title="force calls extract",
    filename_pattern=r"^(?:.*[-_ .])?calls\.csv(?:\.gz)?$",
    replace_by="id",
    id_column="call_id",
    columns=(
        Column("call_id", "call_id", required=True, doc="The force's call reference, unique per call"),
        Column("line", "line", required=True, doc="999, 101, online or other (a force's own codes via a mapping)"),
        Column("offered_at", "offered_at", "timestamp", True, "When the call was presented to the force (UK time unless an offset is given)"),
        Column("answered_at", "answered_at", "timestamp", doc="When a call handler answered; empty if never answered"),
        Column("abandoned", "abandoned", "bool", doc="Caller hung up before an answer; if the column is absent, a call with no answer time is abandoned", optional=True),
        _FORCE,
        _GENERATED,
    ),
    added=(
        Column("month", "", "month", doc="UK-local month of offered_at"),
        *_WHEN_ADDED,
        Column("answer_seconds", "", "float", doc="answered_at − offered_at, seconds (empty if not answered)"),
        Column("answered_within_10s", "", "bool", doc="999 and 101 only: answered within 10 s of being offered (abandoned = false)"),
        Column("answered_within_30s", "", "bool", doc="999 and 101 only: answered within 30 s of being offered (abandoned = false)"),
    ),
)

INCIDENTS = Kind(
    name="incidents",
    table="incidents",
    title="force incidents extract (command and control)",
    filename_pattern=r"^(?:.*[-_ .])?incidents\.csv(?:\.gz)?$",
    replace_by="id",
    id_column="incident_id",
    columns=(
        Column("incident_id", "incident_id", required=True, doc="The force's incident reference (URN), unique per incident"),
        Column("created_at", "created_at", "timestamp", True, "When the incident was created"),
        Column("grade", "grade", required=True, doc="immediate, prompt, scheduled or resolved_without_deployment"),
        Column("opening_category", "opening_category", required=True, doc="Category when the incident was opened (see the category list)"),
        Column("closing_category", "closing_category", doc="Category when it was closed (empty while open)", optional=True),
        *_PLACE,
        Column("first_arrival_at", "first_arrival_at", "timestamp", doc="When the first officer arrived (empty if none attended)"),
        Column("closed_at", "closed_at", "timestamp", doc="When the incident was closed", optional=True),
        Column("call_id", "call_id", doc="The call that raised the incident, if any", optional=True),
        _FORCE,
        _GENERATED,
    ),
    added=(
        Column("month", "", "month", doc="UK-local month of created_at"),
        *_WHEN_ADDED,
        Column("category", "", doc="closing_category if given, else opening_category"),
        Column("category_group", "", doc="crime, asb, public_safety, transport, admin (or unmapped)"),
        Column("is_crime", "", "bool", doc="The category is crime (empty when the category is not recognised)"),
        Column("recategorised", "", "bool", doc="The closing category differs from the opening one"),
        Column("attended", "", "bool", doc="An officer arrived (first_arrival_at given)"),
        Column("response_minutes", "", "float", doc="first_arrival_at − created_at, minutes"),
        *_PLACE_ADDED,
    ),
)

FORCE_CRIMES = Kind(
    name="force_crimes",
    table="force_crimes",
    title="force recorded-crime extract",
    filename_pattern=r"^(?:.*[-_ .])?force[-_ ]?crimes\.csv(?:\.gz)?$",
    replace_by="id",
    id_column="crime_id",
    columns=(
        Column("crime_id", "crime_id", required=True, doc="The force's crime reference, unique per crime"),
        Column("offence_code", "offence_code", required=True, doc="Home Office offence code, e.g. 8N, 28E, 105A"),
        Column("offence", "offence", doc="Offence description as the force records it", optional=True),
        Column("recorded_at", "recorded_at", "timestamp", True, "When the crime was recorded"),
        Column("committed_from", "committed_from", "timestamp", doc="Earliest time the crime may have been committed", optional=True),
        Column("committed_to", "committed_to", "timestamp", doc="Latest time it may have been committed", optional=True),
        *_PLACE,
        Column("victim_id", "victim_id", doc="Pseudonymous victim id(s), separated by ';'", optional=True),
        Column("suspect_id", "suspect_id", doc="Pseudonymous suspect id(s), separated by ';'", optional=True),
        Column("domestic_abuse", "domestic_abuse", "bool", doc="Domestic abuse flag (empty = not flagged)", optional=True),
        Column("hate", "hate", "bool", doc="Hate crime flag", optional=True),
        Column("child_exploitation", "child_exploitation", "bool", doc="Child sexual or criminal exploitation flag", optional=True),
        Column("mental_health", "mental_health", "bool", doc="Mental health flag", optional=True),
        Column("vulnerable_victim", "vulnerable_victim", "bool", doc="Vulnerable victim flag", optional=True),
        Column("outcome_type", "outcome_type", doc="Home Office outcome type (1-22, e.g. '1' or 'Outcome 18'); empty while open", optional=True),
        Column("outcome_date", "outcome_date", "date", doc="Date the outcome was assigned", optional=True),
        _FORCE,
        _GENERATED,
    ),
    added=(
        Column("month", "", "month", doc="UK-local month of recorded_at"),
        Column("crime_type", "", doc="data.police.uk category of the offence code (empty if the code is not recognised)"),
        Column("offence_group", "", doc="Home Office offence subgroup of the offence code"),
        Column("outcome_code", "", doc="Home Office outcome number (e.g. '1', '18') read from outcome_type"),
        Column("outcome_group", "", doc="open, charged_summonsed, out_of_court_formal, out_of_court_informal, evidential_difficulties, no_suspect, public_interest, prevented, other_agency, unrecognised"),
        Column("days_to_outcome", "", "float", doc="outcome_date − date recorded, days"),
        *_PLACE_ADDED,
    ),
)

SURVEY_RESPONSES = Kind(
    name="survey_responses",
    table="survey_responses",
    title="survey responses extract",
    filename_pattern=r"^(?:.*[-_ .])?survey[-_ ]?responses\.csv(?:\.gz)?$",
    replace_by="id",
    id_column="response_id",
    columns=(
        Column("response_id", "response_id", required=True, doc="Unique per answer (one row per respondent and question)"),
        Column("survey", "survey", required=True, doc="victim_satisfaction or public_confidence"),
        Column("responded_at", "responded_at", "date", True, "Date of the interview or response"),
        Column("area", "area", doc="Area or district the respondent lives in (or the crime happened in)"),
        Column("lsoa_code", "lsoa_code", doc="LSOA of the respondent or crime, if known", optional=True),
        Column("question", "question", required=True, doc="Question key (whole_experience, ease_of_contact, action_taken, kept_informed, treatment, good_job, local_concerns, confidence) or the force's own"),
        Column("answer", "answer", required=True, doc="The answer as worded on its scale, or its position (1 = most positive) with `scale`"),
        Column("scale", "scale", doc="satisfaction_7, satisfaction_5, excellent_5 or agree_5; needed for numeric answers", optional=True),
        Column("respondent_id", "respondent_id", doc="Pseudonymous respondent id (ties one person's answers together)", optional=True),
        Column("crime_id", "crime_id", doc="The crime a victim survey is about, if known", optional=True),
        _FORCE,
        _GENERATED,
    ),
    added=(
        Column("month", "", "month", doc="Month of responded_at"),
        Column("answer_score", "", "int", doc="Position of the answer on its scale, 1 = most positive"),
        Column("positive", "", "bool", doc="Satisfied (completely/very/fairly), excellent or good, or agree; empty for don't know"),
        Column("scored", "", "bool", doc="The answer is on the scale (not don't know / refused): the base of a percentage"),
        *_PLACE_ADDED,
    ),
)

EXTRACT_KINDS: tuple[Kind, ...] = (CALLS, INCIDENTS, FORCE_CRIMES, SURVEY_RESPONSES)

#: the column whose UK-local month is the record's month
MAIN_TIME = {"calls": "offered_at", "incidents": "created_at", "force_crimes": "recorded_at", "survey_responses": "responded_at"}


@dataclass(frozen=True)
class IncidentCategory:
    name: str
    label: str
    group: str
    is_crime: bool
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Scale:
    name: str
    answers: tuple[str, ...]
    positive: int


@dataclass(frozen=True)
class Vocabulary:
    """The recognised values of coded columns (from ``extract_vocabulary.toml``)."""

    lines: dict[str, tuple[str, ...]]
    grades: dict[str, tuple[str, ...]]
    categories: tuple[IncidentCategory, ...]
    surveys: dict[str, tuple[str, ...]]
    questions: dict[str, tuple[str, ...]]
    scales: tuple[Scale, ...]
    non_answers: tuple[str, ...]


@cache
def vocabulary() -> Vocabulary:
    doc = tomllib.loads(VOCABULARY.read_text(encoding="utf-8"))

    def aliases(section: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
        return {str(k): tuple(v) for k, v in section.items()}

    return Vocabulary(
        lines=aliases(doc["lines"]),
        grades=aliases(doc["grades"]),
        categories=tuple(
            IncidentCategory(c["name"], c["label"], c["group"], bool(c["is_crime"]), tuple(c.get("aliases", [])))
            for c in doc["incident_category"]
        ),
        surveys=aliases(doc["surveys"]),
        questions=aliases(doc["questions"]),
        scales=tuple(Scale(name, tuple(s["answers"]), int(s["positive"])) for name, s in doc["scales"].items()),
        non_answers=tuple(doc["non_answers"]["values"]),
    )
