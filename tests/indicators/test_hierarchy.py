"""The shipped lookups as the hierarchy reads them (Arrow's CSV reader) against pandas' reading."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from thrv.indicators import hierarchy
from thrv.reference import reference_path


@pytest.mark.parametrize(("name", "columns"), [
    ("lsoa.csv.gz", ["lsoa_code", "lsoa_name", "lad_code", "lad_name", "pfa_code"]),
    ("population.csv.gz", ["level", "code", "population"]),
])
def test_text_columns_are_those_pandas_reads(name: str, columns: list[str]) -> None:
    path = reference_path(name)
    expected = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=columns)[columns]
    got = hierarchy._read_text_columns(path, columns)
    assert len(got) > 30_000 and (got[columns[1]] == "").sum() == (expected[columns[1]] == "").sum()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_populations_are_the_shipped_numbers() -> None:
    _lsoa, pop_by = hierarchy._lookup_tables()
    shipped = pd.read_csv(reference_path("population.csv.gz"), dtype={"code": str, "level": str}, keep_default_na=False)
    shipped["population"] = pd.to_numeric(shipped["population"], errors="coerce")
    assert len(pop_by) == len(shipped.drop_duplicates(["level", "code"]))
    for level, code, population in zip(shipped["level"], shipped["code"], shipped["population"], strict=True):
        got = pop_by[(level, code)]
        assert (math.isnan(got) and math.isnan(population)) or got == population


def test_the_lookups_are_read_once_however_many_ask_and_a_failure_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    reads: list[int] = []
    real = hierarchy._read_lookup_tables
    fail = [True]

    def counted() -> Any:
        reads.append(1)
        if fail[0]:
            raise OSError("disk went away")
        return real()

    monkeypatch.setattr(hierarchy, "_read_lookup_tables", counted)
    monkeypatch.setattr(hierarchy, "_lookups", None)
    with pytest.raises(OSError, match="disk went away"):
        hierarchy._lookup_tables()
    assert hierarchy._lookups is None  # not remembered
    fail[0] = False
    got: list[Any] = []
    threads = [threading.Thread(target=lambda: got.append(hierarchy._lookup_tables())) for _ in range(4)]
    hierarchy.prefetch_lookups()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reads) == 2 and len(got) == 4 and all(g is got[0] for g in got)
    lsoa, pop_by = got[0]
    expected_lsoa, expected_pop = real()
    pd.testing.assert_frame_equal(lsoa, expected_lsoa)
    assert pop_by.keys() == expected_pop.keys()
