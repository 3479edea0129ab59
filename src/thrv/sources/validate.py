"""What makes a row valid: the limits the checks use, and the helpers a kind's own rules use.

The generic checks (each column's type, required values, coordinates inside the UK, months
that exist and are not in the future, duplicate rows) run inside the store's engine as SQL
predicates compiled from each kind's columns (:mod:`thrv.store.checks`), so they cost little
beside the parse. The values they test against are declared here, once. Rules a kind adds
(force extracts: :mod:`thrv.sources.extract_rules`) run afterwards on the typed columns as
Arrow arrays, with :class:`Reasons` carrying each row's first failure. A row fails on its
first problem; the reason names the column and the offending value so an analyst can fix
the source. docs/ingest.md lists the checks in the order they are applied.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

#: A generous box around the United Kingdom (Great Britain, Northern Ireland, Scilly,
#: Shetland). Points outside it are certainly wrong, e.g. swapped or zeroed coordinates.
UK_LATITUDE = (49.8, 61.0)
UK_LONGITUDE = (-8.8, 2.0)

#: the first year a month, date or time may be in (police recording as it is now began later)
FIRST_YEAR = 1980
_YEAR = r"(19[89]\d|2\d\d\d)"
MONTH_PATTERN = _YEAR + r"-(0[1-9]|1[0-2])"
DATE_PATTERN = MONTH_PATTERN + r"-(0[1-9]|[12]\d|3[01])"
#: ISO 8601 date and time: 'T' or a space, minutes, optional seconds and fraction, optional
#: UTC offset (Z, +01:00, +0100, +01); without an offset the time is UK local time
TIMESTAMP_PATTERN = DATE_PATTERN + r"[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d\d(:?\d\d)?)?"
INTEGER_PATTERN = r"[+-]?\d+"
TRUE_VALUES = ("1", "t", "true", "y", "yes")
FALSE_VALUES = ("0", "f", "false", "n", "no")
#: characters trimmed from both ends of every value before it is checked
TRIMMED = " \t\n\r\x0b\x0c\xa0"
LOCAL_TIMEZONE = "Europe/London"


class Reasons:
    """First reason per row; later problems on a row that already failed are not reported."""

    def __init__(self, n: int, values: pa.Array | None = None) -> None:
        self.values: pa.Array = pa.nulls(n, pa.string()) if values is None else values

    def add(self, failed: pa.Array, message: pa.Array | str | Callable[[], pa.Array]) -> None:
        """Record ``message`` for rows that failed; a callable message is built only if any did."""
        failed = pc.fill_null(failed, False)
        if not pc.any(failed).as_py():
            return
        if callable(message):
            message = message()
        take = pc.and_(failed, pc.is_null(self.values))
        self.values = pc.if_else(take, message, self.values)


def message(prefix: str, values: pa.Array, suffix: str) -> pa.Array:
    """"prefix 'value' suffix" for each row, vectorised."""
    shown = pc.fill_null(values, "")
    return pc.binary_join_element_wise(pa.scalar(f"{prefix} '"), shown, pa.scalar(f"'{suffix}"), "")
