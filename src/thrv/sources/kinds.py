"""The kinds of input file thrv understands, and the canonical table each one fills.

A kind is data: which columns the file must have, what each becomes in the store, and its
type. Types decide the checks (see :mod:`thrv.sources.validate`). Column names in files are
matched ignoring case and surrounding spaces, since spreadsheet round-trips change both.
docs/schema.md documents every table; ``tests/sources/test_schema_doc.py`` keeps the two
in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One canonical column: its name in the store, its heading in the file, and its type.

    Types: ``text``, ``month`` (YYYY-MM to the first day of the month), ``longitude``,
    ``latitude`` (WGS84 degrees, inside the UK), ``timestamp`` (ISO 8601, UTC offset optional;
    naive times are UK local time), ``date``, ``bool``, ``int``, ``float``.
    """

    name: str
    source: str
    type: str = "text"
    required: bool = False
    doc: str = ""
    #: the heading may be absent from a file (the column is then empty); otherwise a file
    #: without it is refused
    optional: bool = False


@dataclass(frozen=True)
class Kind:
    """A kind of input file and the table it fills."""

    name: str
    table: str
    title: str
    columns: tuple[Column, ...]
    filename_pattern: str | None = None
    #: a row carrying this identifier that repeats an earlier row of the file in every
    #: column is a duplicate and is quarantined (rows without it may legitimately repeat)
    duplicate_id: str | None = None
    #: why identical rows are kept for kinds with no unique key
    repeat_note: str = ""
    #: columns the store adds that the file does not carry (name, type, doc)
    added: tuple[Column, ...] = ()
    #: how a newer file replaces older rows: "unit" = every row of the same force and month
    #: (data.police.uk republishes whole months); "id" = rows with the same identifier
    replace_by: str = "unit"
    #: the identifier column for replace_by == "id"
    id_column: str | None = None

    @property
    def source_columns(self) -> list[str]:
        return [c.source for c in self.columns]

    def missing_columns(self, header: list[str]) -> list[str]:
        present = {normalise_heading(h) for h in header}
        return [
            c.source
            for c in self.columns
            if not c.optional and normalise_heading(c.source) not in present
        ]


def normalise_heading(heading: str) -> str:
    return " ".join(heading.strip().lower().replace("_", " ").split())


STREET = Kind(
    name="street",
    table="crimes",
    title="data.police.uk street-level crime",
    filename_pattern=r"^(?P<month>\d{4}-\d{2})-(?P<force>.+)-street\.csv(\.gz)?$",
    duplicate_id="crime_id",
    columns=(
        Column("crime_id", "Crime ID", doc="Published crime identifier; empty for anti-social behaviour"),
        Column("month", "Month", "month", True, "Month the crime was recorded"),
        Column("reported_by", "Reported by", required=True, doc="Force that provided the record"),
        Column("force", "Falls within", required=True, doc="Force whose area the record falls within"),
        Column("longitude", "Longitude", "longitude", doc="Anonymised (snapped) point, WGS84"),
        Column("latitude", "Latitude", "latitude", doc="Anonymised (snapped) point, WGS84"),
        Column("location", "Location", doc="Description of the snap point, e.g. 'On or near Park Lane'"),
        Column("lsoa_code", "LSOA code", doc="Lower Layer Super Output Area (2011 or 2021 codes)"),
        Column("lsoa_name", "LSOA name"),
        Column("crime_type", "Crime type", required=True, doc="One of the data.police.uk categories, as published"),
        Column("last_outcome_category", "Last outcome category", doc="Latest outcome when the file was generated"),
        Column("context", "Context", doc="Free text (normally empty)", optional=True),
    ),
)

OUTCOMES = Kind(
    name="outcomes",
    table="outcomes",
    title="data.police.uk outcomes",
    filename_pattern=r"^(?P<month>\d{4}-\d{2})-(?P<force>.+)-outcomes\.csv(\.gz)?$",
    repeat_note=(
        "identical outcome rows are kept: data.police.uk publishes one outcome per suspect, "
        "so a crime with two suspects cautioned appears twice"
    ),
    columns=(
        Column("crime_id", "Crime ID", required=True, doc="Links to crimes.crime_id"),
        Column("month", "Month", "month", True, "Month the outcome was recorded"),
        Column("reported_by", "Reported by", required=True),
        Column("force", "Falls within", required=True),
        Column("longitude", "Longitude", "longitude"),
        Column("latitude", "Latitude", "latitude"),
        Column("location", "Location"),
        Column("lsoa_code", "LSOA code"),
        Column("lsoa_name", "LSOA name"),
        Column("outcome_type", "Outcome type", required=True),
    ),
)

STOP_SEARCH = Kind(
    name="stop_search",
    table="stop_search",
    title="data.police.uk stop and search",
    filename_pattern=r"^(?P<month>\d{4}-\d{2})-(?P<force>.+)-stop-and-search\.csv(\.gz)?$",
    repeat_note=(
        "identical stop and search rows are kept: several people searched together at the "
        "same time and place are separate, identical rows"
    ),
    columns=(
        Column("type", "Type", required=True, doc="Person search, Vehicle search, Person and Vehicle search"),
        Column("searched_at", "Date", "timestamp", True, "Date and time of the search (UTC)"),
        Column("part_of_policing_operation", "Part of a policing operation", "bool"),
        Column("policing_operation", "Policing operation"),
        Column("latitude", "Latitude", "latitude"),
        Column("longitude", "Longitude", "longitude"),
        Column("gender", "Gender"),
        Column("age_range", "Age range"),
        Column("self_defined_ethnicity", "Self-defined ethnicity"),
        Column("officer_defined_ethnicity", "Officer-defined ethnicity"),
        Column("legislation", "Legislation"),
        Column("object_of_search", "Object of search"),
        Column("outcome", "Outcome"),
        Column("outcome_linked_to_object", "Outcome linked to object of search", "bool"),
        Column("removal_of_more_than_outer_clothing", "Removal of more than just outer clothing", "bool"),
    ),
    added=(
        Column("force", "", doc="Force, from the file name (data.police.uk slug) or --force"),
        Column("month", "", "month", doc="Month of the file it was published in (else the UK local month of the search)"),
    ),
)

POLICE_UK_KINDS: tuple[Kind, ...] = (STREET, OUTCOMES, STOP_SEARCH)


def kind_from_filename(basename: str, kinds: tuple[Kind, ...]) -> tuple[Kind, dict[str, str]] | None:
    """The kind a file's name declares (data.police.uk naming), with the month and force slug."""
    for kind in kinds:
        if kind.filename_pattern:
            match = re.match(kind.filename_pattern, basename, flags=re.IGNORECASE)
            if match:
                return kind, {k: v for k, v in match.groupdict().items() if v}
    return None


def kind_from_header(header: list[str], kinds: tuple[Kind, ...]) -> tuple[Kind | None, Kind, list[str]]:
    """The kind whose columns the header holds; else None and the closest kind with what it lacks."""
    def share_missing(kind: Kind) -> float:
        return len(kind.missing_columns(header)) / len(kind.columns)

    best = min(kinds, key=share_missing)
    missing = best.missing_columns(header)
    return (None if missing else best), best, missing
