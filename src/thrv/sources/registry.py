"""Every kind of input file thrv reads, in the order they are tried."""

from __future__ import annotations

from thrv.sources.extracts import EXTRACT_KINDS
from thrv.sources.kinds import POLICE_UK_KINDS, Kind
from thrv.sources.measures import MEASURE_KINDS


def all_kinds() -> tuple[Kind, ...]:
    """data.police.uk kinds first (named files), then force and partner extracts."""
    return POLICE_UK_KINDS + EXTRACT_KINDS + MEASURE_KINDS
