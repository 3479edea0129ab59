"""Identifiers made comparable: names, dates of birth, postcodes and addresses.

Normalisation never rejects a value: an unusual postcode, a name in another script or a date
that is not ISO is kept (compared as text) rather than quarantined, because a person record
with an odd field is still a person who may be known to another agency.

- Names: Unicode NFKD with accents removed, lower case, hyphens, apostrophes and dots as
  spaces, runs of spaces collapsed (``"O'Brien-Smith"`` → ``"o brien smith"``). Forenames
  also carry the set of formal names they may stand for, from the curated English
  nickname list of the ``nicknames`` package (``bill`` → william, ...), so "Bill" and
  "William" can agree at a level of their own.
- UK postcodes (the Royal Mail format, checked by a regular expression) are normalised to
  ``"CB1 2AB"`` and compared by unit, sector, district and area; anything else is kept as
  upper-case text without spaces and compared as text.
- Dates of birth: ISO ``YYYY-MM-DD``; anything else is kept as text (no date levels).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import pandas as pd

_SEPARATORS = re.compile(r"[\-‐‑‒–—'’`.,_/]+")
_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^0-9a-z ]+")

#: Royal Mail postcode format (BS 7666), incl. GIR 0AA; spaces optional on input
UK_POSTCODE = re.compile(
    r"^(GIR ?0AA|(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def name(text: object) -> str | None:
    """A name for comparison, or None when nothing is left."""
    if text is None or (isinstance(text, float) and text != text):
        return None
    return _name(str(text))


@cache
def _name(text: str) -> str | None:
    decomposed = unicodedata.normalize("NFKD", str(text))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    plain = _SEPARATORS.sub(" ", plain)
    plain = _SPACES.sub(" ", _NOT_WORD.sub(" ", plain)).strip()
    if not plain:
        # a name in a script with no Latin decomposition is kept as it was, lower case
        kept = _SPACES.sub(" ", str(text).strip().lower())
        return kept or None
    return plain


@cache
def _nicknamer() -> object:
    from nicknames import NickNamer

    return NickNamer()


@cache
def formal_names(first: str) -> tuple[str, ...]:
    """The name and every formal name it is a nickname of (sorted), e.g. bill → (bill, william, ...)."""
    namer = _nicknamer()
    found = {first}
    for token in first.split():
        found.add(token)
        found |= set(namer.canonicals_of(token))  # type: ignore[attr-defined]
    return tuple(sorted(found))


def postcode(text: object) -> tuple[str | None, str | None]:
    """(UK postcode as 'AB1 2CD', other postcode as text); at most one is set."""
    if text is None or (isinstance(text, float) and text != text):
        return None, None
    return _postcode(str(text))


@cache
def _postcode(text: str) -> tuple[str | None, str | None]:
    squashed = re.sub(r"\s+", "", str(text)).upper()
    if not squashed:
        return None, None
    if UK_POSTCODE.match(squashed):
        return f"{squashed[:-3]} {squashed[-3:]}", None
    return None, squashed


def _area(code: str) -> str:
    """The postcode area: the leading letters of the outward code (CB1 2AB -> CB)."""
    return re.match(r"[A-Z]+", code).group(0)  # type: ignore[union-attr]


def date_of_birth(text: object) -> tuple[str | None, str | None]:
    """(ISO date, other text): a real ISO calendar date, else the text kept as it was."""
    if text is None or (isinstance(text, float) and text != text):
        return None, None
    value = str(text).strip()
    if not value:
        return None, None
    if _ISO_DATE.match(value):
        try:
            pd.Timestamp(value)
            return value, None
        except ValueError:
            pass
    return None, value


def address(text: object) -> str | None:
    """An address for comparison and household keys: as :func:`name`, numbers kept."""
    return name(text)


def prepare(people: pd.DataFrame) -> pd.DataFrame:
    """The comparison columns Splink reads, from raw person records.

    ``people`` has ``unique_id``, ``partner`` and the contract's person columns; the result
    keeps ``unique_id`` and ``partner`` and adds the normalised fields.
    """
    out = pd.DataFrame({"unique_id": people["unique_id"], "partner": people["partner"]})
    out["forename"] = [name(v) for v in people["forename"]]
    out["surname"] = [name(v) for v in people["surname"]]
    out["forename_names"] = pd.Series([list(formal_names(v)) if v else None for v in out["forename"]], dtype=object)
    dobs = [date_of_birth(v) for v in people["date_of_birth"]]
    out["dob"] = [d[0] for d in dobs]
    out["dob_text"] = [d[1] for d in dobs]
    out["birth_year"] = [d[0][:4] if d[0] else None for d in dobs]
    codes = [postcode(v) for v in people["postcode"]]
    out["postcode_uk"] = [c[0] for c in codes]
    out["postcode_other"] = [c[1] for c in codes]
    out["postcode_sector"] = [c[0][:-2] if c[0] else None for c in codes]
    out["postcode_district"] = [c[0].split(" ")[0] if c[0] else None for c in codes]
    out["postcode_area"] = [_area(c[0]) if c[0] else None for c in codes]
    out["address"] = [address(v) for v in people["address"]]
    ident = people["identifier"] if "identifier" in people else pd.Series([None] * len(people))
    out["identifier"] = [re.sub(r"\s+", "", str(v)).upper() or None if isinstance(v, str) else None for v in ident]
    sex = people["sex"] if "sex" in people else pd.Series([None] * len(people))
    out["sex"] = [str(v).strip().lower()[:1] or None if isinstance(v, str) else None for v in sex]
    return out


def as_arrow(prepared: pd.DataFrame) -> object:
    """The prepared frame as Arrow with declared types (an all-empty column stays text)."""
    import pyarrow as pa

    fields = []
    for column in prepared.columns:
        kind = pa.list_(pa.string()) if column == "forename_names" else pa.string()
        fields.append(pa.field(column, kind))
    schema = pa.schema(fields)
    data = {c: prepared[c].astype(object).where(prepared[c].notna(), None).tolist() for c in prepared.columns}
    data["unique_id"] = [str(v) for v in data["unique_id"]]
    return pa.table(data, schema=schema)
