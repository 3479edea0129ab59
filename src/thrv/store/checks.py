"""A kind's checks compiled to one SQL query, so the engine types and checks rows as it parses.

The query reads a relation of text fields (``c0``, ``c1``, ... as the file has them, plus
``_rec``, the record's position, and ``_line``, its physical line) and gives every canonical
column typed, plus ``_reason``: NULL for a good row, else the first problem found, in the
order docs/ingest.md lists (each column's required value and type in the kind's order, then
coordinates, then the month against the current one). The limits come from
:mod:`thrv.sources.validate`; the same query serves rows parsed by DuckDB's CSV reader and
rows parsed by the careful reader, so both paths give the same answer for the same text.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from thrv.sources.kinds import Column, Kind
from thrv.sources.validate import (
    DATE_PATTERN,
    FALSE_VALUES,
    INTEGER_PATTERN,
    LOCAL_TIMEZONE,
    MONTH_PATTERN,
    TIMESTAMP_PATTERN,
    TRIMMED,
    TRUE_VALUES,
    UK_LATITUDE,
    UK_LONGITUDE,
)


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(name: str) -> str:
    return ident("t_" + name)


_TRIM = " || ".join(f"chr({ord(c)})" for c in TRIMMED)


def _clean(field: str, trim: bool) -> str:
    value = f"trim({field}, {_TRIM})" if trim else field
    return f"nullif({value}, '')"


def _shown(t: str) -> str:
    """How a bad value appears in a message: as written, quoted."""
    return f"'''' || {t} || ''''"


def _timestamp(t: str) -> str:
    """ISO 8601 text to an instant. Without an offset the time is UK local time: in the hour
    that occurs twice in October the earlier (BST) is taken; a time in the hour skipped in
    March is taken as the moment the clocks went forward."""
    norm = f"replace(regexp_replace({t}, '\\.\\d+', ''), 'T', ' ')"
    with_offset = (
        f"try_strptime(regexp_replace(regexp_replace({norm}, 'Z$', '+00:00'), '([+-]\\d\\d)$', '\\1:00'), "
        "['%Y-%m-%d %H:%M:%S%z', '%Y-%m-%d %H:%M%z'])"
    )
    naive = f"try_strptime({norm}, ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M'])"
    zone = quote(LOCAL_TIMEZONE)
    local = f"timezone({zone}, {naive})"
    local_sql = (
        f"CASE WHEN timezone({zone}, {local}) <> {naive} "
        f"THEN to_timestamp(floor(epoch({local}) / 3600) * 3600) "
        f"WHEN timezone({zone}, {local} - INTERVAL 1 HOUR) = {naive} THEN {local} - INTERVAL 1 HOUR "
        f"ELSE {local} END"
    )
    return (
        f"CASE WHEN regexp_full_match({t}, {quote(TIMESTAMP_PATTERN)}) THEN "
        f"CASE WHEN regexp_matches({t}, '(Z|[+-]\\d\\d(:?\\d\\d)?)$') THEN {with_offset} ELSE {local_sql} END END"
    )


def typed_value(column: Column) -> str:
    """The SQL giving a column's typed value from its cleaned text (NULL when it does not parse)."""
    t = _text(column.name)
    kind = column.type
    if kind == "text":
        return t
    if kind == "month":
        return f"CASE WHEN regexp_full_match({t}, {quote(MONTH_PATTERN)}) THEN CAST({t} || '-01' AS DATE) END"
    if kind == "date":
        return f"CASE WHEN regexp_full_match({t}, {quote(DATE_PATTERN)}) THEN TRY_CAST({t} AS DATE) END"
    if kind in {"longitude", "latitude", "float"}:
        return f"CASE WHEN NOT contains({t}, '_') THEN TRY_CAST({t} AS DOUBLE) END"
    if kind == "int":
        return f"CASE WHEN regexp_full_match({t}, {quote(INTEGER_PATTERN)}) THEN TRY_CAST({t} AS BIGINT) END"
    if kind == "bool":
        yes = ", ".join(quote(v) for v in TRUE_VALUES)
        no = ", ".join(quote(v) for v in FALSE_VALUES)
        return f"CASE WHEN lower({t}) IN ({yes}) THEN true WHEN lower({t}) IN ({no}) THEN false END"
    if kind == "timestamp":
        return _timestamp(t)
    raise ValueError(f"unknown column type {kind!r} for {column.name}")


@dataclass(frozen=True)
class Failure:
    """One check: ``fails`` (SQL, true or NULL when the row fails), ``holds`` (the same check
    as a NULL-free condition that is true for a good row) and the message."""

    fails: str
    holds: str
    message: str


def _failures(column: Column) -> list[Failure]:
    """The checks of one column, in order."""
    t, v = _text(column.name), ident(column.name)
    heading = column.source
    out: list[Failure] = []
    if column.required:
        out.append(Failure(f"{t} IS NULL", f"{t} IS NOT NULL", quote(f"missing {heading}")))
    kind = column.type
    fails, holds = f"{t} IS NOT NULL AND {v} IS NULL", f"({t} IS NULL OR {v} IS NOT NULL)"
    shown = _shown(t)
    if kind == "month":
        out.append(Failure(fails, holds, f"{quote(f'bad {heading} ')} || {shown} || ' (expected YYYY-MM)'"))
    elif kind == "date":
        out.append(Failure(fails, holds, f"{quote(f'bad {heading} ')} || {shown} || ' (expected YYYY-MM-DD)'"))
    elif kind in {"longitude", "latitude", "float"}:
        out.append(
            Failure(
                f"{t} IS NOT NULL AND ({v} IS NULL OR NOT isfinite({v}))",
                f"({t} IS NULL OR ({v} IS NOT NULL AND isfinite({v})))",
                f"{quote(heading + ' ')} || {shown} || ' is not a number'",
            )
        )
    elif kind == "int":
        out.append(Failure(fails, holds, f"{quote(heading + ' ')} || {shown} || ' is not a whole number'"))
    elif kind == "bool":
        out.append(Failure(fails, holds, f"{quote(heading + ' ')} || {shown} || ' is not true/false'"))
    elif kind == "timestamp":
        out.append(Failure(fails, holds, f"{quote(f'bad {heading} ')} || {shown} || ' (expected an ISO 8601 date and time)'"))
    return out


def month_failure(month: str, today: dt.date, shown: str | None = None) -> Failure:
    """A month after the current one (``shown``: how the message names it)."""
    current = today.replace(day=1)
    label = shown or f"'month ' || strftime({month}, '%Y-%m')"
    limit = f"DATE {quote(current.isoformat())}"
    return Failure(
        f"{month} > {limit}",
        f"({month} IS NULL OR {month} <= {limit})",
        f"{label} || {quote(f' is after the current month ({current:%Y-%m})')}",
    )


def _kind_failures(kind: Kind, today: dt.date, derived_month: str | None) -> list[Failure]:
    out: list[Failure] = []
    for column in kind.columns:
        out.extend(_failures(column))
    names = {c.name: c for c in kind.columns}
    if "latitude" in names and "longitude" in names:
        lat, lon = ident("latitude"), ident("longitude")
        out.append(
            Failure(
                f"({lat} IS NULL) <> ({lon} IS NULL)",
                f"({lat} IS NULL) = ({lon} IS NULL)",
                "'only one of latitude and longitude is given'",
            )
        )
        inside = (
            f"({lat} IS NULL OR {lat} BETWEEN {UK_LATITUDE[0]} AND {UK_LATITUDE[1]}) AND "
            f"({lon} IS NULL OR {lon} BETWEEN {UK_LONGITUDE[0]} AND {UK_LONGITUDE[1]})"
        )
        shown = f"'coordinates outside the UK (latitude, longitude = ' || {_text('latitude')} || ', ' || {_text('longitude')} || ')'"
        out.append(Failure(f"NOT ({inside})", inside, shown))
    month = names.get("month")
    if month is not None and month.type == "month":
        out.append(month_failure(ident("month"), today, f"{quote(month.source + ' ')} || {_shown(_text('month'))}"))
    elif derived_month is not None:
        out.append(month_failure(ident("month"), today))
    return out


def case(failures: list[Failure]) -> str:
    """The first failure's message, NULL for a good row."""
    if not failures:
        return "CAST(NULL AS VARCHAR)"
    return "CASE " + " ".join(f"WHEN {f.fails} THEN {f.message}" for f in failures) + " END"


def passes(failures: list[Failure]) -> str:
    """True for a good row: the same checks as :func:`case`, as one NULL-free condition
    (cheap to evaluate on every row; the messages are built only for rows that fail)."""
    if not failures:
        return "true"
    return " AND ".join(f.holds for f in failures)


def typed_query(
    kind: Kind,
    positions: dict[str, int],
    source: str,
    today: dt.date,
    *,
    trim: bool | frozenset[int] = True,
    constants: dict[str, object] | None = None,
    file_month: str | None = None,
    month_from: str | None = None,
    with_reason: bool = True,
    lines: str | bool | None = None,
) -> str:
    """SELECT ``_rec``, ``_line``, every column of ``kind`` typed, ``_ok`` and ``_reason``, from ``source``.

    ``source`` gives the text fields ``c0``, ``c1``... and either ``_rec`` and ``_line``
    (``lines=None``) or nothing more: then the rows are numbered here, after typing, and
    ``_line`` is ``_rec + 2`` (``lines=True``) or looked up in the relation named by
    ``lines`` (``_rec``, ``_line``). Numbering after typing also keeps the engine from
    typing every value twice: a filter on ``_ok`` cannot be pushed below the numbering,
    so the values are computed once, below it, for the check and the insert alike.

    ``trim``: trim every field, none, or those at the given positions.
    ``constants`` fill columns the file does not carry; ``file_month`` (YYYY-MM) is the month
    of every row of a file whose name gives it; else ``month_from`` names a timestamp column
    whose UK-local month is the row's month (stop and search). Columns of ``kind.added``
    that neither gives are left to the kind's rules. Without ``with_reason`` the messages
    are left out (half the planning time of the query that stores the good rows).
    """
    constants = constants or {}
    def trimmed(i: int) -> bool:
        return trim if isinstance(trim, bool) else i in trim

    cleaned = ", ".join(
        f"{_clean(f'c{positions[c.name]}', trimmed(positions[c.name])) if c.name in positions else 'CAST(NULL AS VARCHAR)'} AS {_text(c.name)}"
        for c in kind.columns
    )
    typed = ", ".join(f"{typed_value(c)} AS {ident(c.name)}" for c in kind.columns)
    text_columns = ", ".join(_text(c.name) for c in kind.columns)
    extra: list[str] = []
    for name, value in constants.items():
        extra.append(f"{quote(str(value))} AS {ident(name)}")
    derived = None
    if "month" in {c.name for c in kind.added}:
        if file_month:
            extra.append(f"DATE {quote(file_month + '-01')} AS month")
            derived = "file"
        elif month_from:
            zone = quote(LOCAL_TIMEZONE)
            extra.append(f"CAST(date_trunc('month', timezone({zone}, {ident(month_from)})) AS DATE) AS month")
            derived = month_from
    extras = "".join(", " + e for e in extra)
    failures = _kind_failures(kind, today, derived if derived == month_from else None)
    reason = f", {case(failures)} AS _reason" if with_reason else ""
    keep = "_rec, _line, " if lines is None else ""
    checked = (
        f"SELECT *, {passes(failures)} AS _ok{reason} FROM ("
        f"SELECT {keep}{text_columns}, {typed}{extras} FROM ("
        f"SELECT {keep}{cleaned} FROM {source}))"
    )
    if lines is None:
        return checked
    numbered = f"SELECT row_number() OVER () - 1 AS _rec, * FROM ({checked})"
    if lines is True:
        return f"SELECT _rec + 2 AS _line, * FROM ({numbered})"
    return f"SELECT n.*, l._line FROM ({numbered}) n JOIN {lines} l USING (_rec)"


