"""Names, postcodes and dates made comparable; nothing rejected for its format."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from thrv.linkage import normalise


def test_names_fold_case_accents_hyphens_apostrophes() -> None:
    assert normalise.name("José") == "jose"
    assert normalise.name("O'Brien-Smith") == "o brien smith"
    assert normalise.name("  ANNE--MARIE ") == "anne marie"
    assert normalise.name("Zoë") == normalise.name("ZOE")
    assert normalise.name("") is None
    assert normalise.name(None) is None


def test_a_name_in_another_script_is_kept_not_dropped() -> None:
    assert normalise.name("Дмитрий") == "дмитрий"
    assert normalise.name("李") == "李"


def test_nicknames_reach_their_formal_names() -> None:
    assert "william" in normalise.formal_names("bill")
    assert "robert" in normalise.formal_names("bob")
    assert normalise.formal_names("william")[0] <= "william"


def test_uk_postcodes_normalised_others_kept_as_text() -> None:
    assert normalise.postcode("cb1 2ab") == ("CB1 2AB", None)
    assert normalise.postcode("CB12AB") == ("CB1 2AB", None)
    assert normalise.postcode("sw1a1aa") == ("SW1A 1AA", None)
    assert normalise.postcode("GIR 0AA") == ("GIR 0AA", None)
    assert normalise.postcode("75001") == (None, "75001")
    assert normalise.postcode("D02 X285") == (None, "D02X285")  # an Irish Eircode: text
    assert normalise.postcode("") == (None, None)


def test_dates_iso_or_kept_as_text() -> None:
    assert normalise.date_of_birth("1980-02-29") == ("1980-02-29", None)
    assert normalise.date_of_birth("1981-02-29") == (None, "1981-02-29")  # not a calendar date
    assert normalise.date_of_birth("03/02/1980") == (None, "03/02/1980")
    assert normalise.date_of_birth("") == (None, None)


@given(st.text(max_size=30))
def test_name_never_fails_and_is_idempotent(text: str) -> None:
    once = normalise.name(text)
    assert once is None or normalise.name(once) == once


@given(st.text(alphabet="ABCDEFGHJKLMNPRSTUWYZ0123456789 ", max_size=10))
def test_postcode_never_fails_and_sets_at_most_one(text: str) -> None:
    uk, other = normalise.postcode(text)
    assert uk is None or other is None
    if uk:
        assert normalise.postcode(uk) == (uk, None)


def test_prepare_derives_blocking_parts() -> None:
    frame = pd.DataFrame({"unique_id": ["a"], "partner": ["p"], "forename": ["Bill"], "surname": ["Jones"],
                          "date_of_birth": ["1970-01-31"], "postcode": ["pe1 1aa"], "address": ["1 Road"]})
    row = normalise.prepare(frame).iloc[0]
    assert row["postcode_sector"] == "PE1 1"
    assert row["postcode_district"] == "PE1"
    assert row["postcode_area"] == "PE"
    assert row["birth_year"] == "1970"
    assert "william" in row["forename_names"]
