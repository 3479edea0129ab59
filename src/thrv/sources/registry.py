"""Every kind of input file thrv reads, in the order they are tried, and the rules some add.

A new kind of file plugs in here. Most need only a :class:`~thrv.sources.kinds.Kind` (its
columns and their types): add it to :func:`all_kinds` and the store creates its table, and
every row is parsed, typed and checked by the engine (types, required values, coordinates,
months) with nothing else to write. A kind whose rows need checks of its own or derived
columns (force extracts: response times, categories, survey scales) also registers
:class:`KindRules` in :data:`KIND_RULES`; its files are then read by the careful reader and
its rules run on the typed columns (see docs/ingest.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from thrv.sources import extract_rules, measures
from thrv.sources.csvtext import CsvRecords
from thrv.sources.extracts import EXTRACT_KINDS
from thrv.sources.kinds import POLICE_UK_KINDS, Kind
from thrv.sources.measures import MEASURE_KINDS
from thrv.sources.validate import Reasons

#: a check on the typed columns of one file: quarantines rows (``Reasons.add``) and may add columns
Check = Callable[[dict[str, pa.Array], Reasons], None]


@dataclass(frozen=True)
class KindRules:
    """What a kind adds to the engine's generic checks.

    ``check_file(name, kind, header, force_name)`` may refuse a file before any row is read;
    ``prepare(records, kind)`` rewrites text before typing (e.g. day-first dates);
    ``checks(kind, records, force_name, notes)`` gives the checks to run after typing, in
    order (``notes`` collects what they want to tell the analyst).
    """

    check_file: Callable[[str, Kind, list[str], str | None], None]
    prepare: Callable[[CsvRecords, Kind], CsvRecords]
    checks: Callable[[Kind, CsvRecords, str | None, list[str]], list[Check]]
    #: rows may be for months after the current one (e.g. a figure for the financial year
    #: under way); otherwise such rows are quarantined
    future_months: bool = False


def _extract_checks(kind: Kind, records: CsvRecords, force_name: str | None, notes: list[str]) -> list[Check]:
    return extract_rules.rules_for(extract_rules.context_for(kind, records, force_name, notes))


EXTRACT_RULES = KindRules(extract_rules.check_force_known, extract_rules.prepare, _extract_checks)

MEASURE_RULES = KindRules(
    check_file=lambda name, _kind, header, _force: measures.check_header(name, header),
    prepare=lambda records, _kind: records,
    checks=lambda _kind, records, _force, notes: measures.rules_for("", records, notes),
    future_months=True,
)

#: kind name -> the rules it adds (kinds not listed need none)
KIND_RULES: dict[str, KindRules] = {
    **{kind.name: EXTRACT_RULES for kind in EXTRACT_KINDS},
    **{kind.name: MEASURE_RULES for kind in MEASURE_KINDS},
}


def all_kinds() -> tuple[Kind, ...]:
    """data.police.uk kinds first (named files), then force and partner extracts, then measures."""
    return POLICE_UK_KINDS + EXTRACT_KINDS + MEASURE_KINDS


def rules_for(kind: Kind) -> KindRules | None:
    return KIND_RULES.get(kind.name)
