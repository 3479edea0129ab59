#!/usr/bin/env python3
"""Build the name and postcode pools the person-record generator draws from.

Usage::

    .venv/bin/python tools/build_name_pools.py [--data PATH]

Source: ``partner/synthetic_person_linkage_splink/historical_figures_with_errors_50k.csv.gz``
(Ministry of Justice ``splink_datasets``, MIT): real UK historical persons from Wikidata
with synthetic errors and fake (format-valid) postcodes. Each true person (``cluster``)
contributes its most frequent spelling, so the synthetic errors do not enter the pools.
Output: ``src/thrv/data/linkage/name_pools.csv.gz`` (kind, value, count), sorted, gzip -n.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "thrv" / "data" / "linkage" / "name_pools.csv.gz"
NOT_SURNAMES = {"baronet", "baron", "earl", "viscount", "duke", "lord", "sir", "of", "the", "king", "queen"}


def _mode(s: pd.Series) -> object:
    s = s.dropna()
    return s.mode().iat[0] if len(s) else None


def build(data: Path) -> None:
    d = pd.read_csv(data / "partner/synthetic_person_linkage_splink/historical_figures_with_errors_50k.csv.gz",
                    dtype=str)
    people = d.groupby("cluster").agg(first=("first_name", _mode), surname=("surname", _mode),
                                      gender=("gender", _mode), postcode=("postcode_fake", _mode))
    word = re.compile(r"^[a-z][a-z'\-]{1,}$")
    rows = []
    for gender, kind in (("male", "forename_m"), ("female", "forename_f")):
        names = people.loc[people["gender"] == gender, "first"].dropna()
        names = names[names.str.match(word)]
        rows.append(names.value_counts().rename_axis("value").reset_index(name="count").assign(kind=kind))
    sur = people["surname"].dropna()
    sur = sur[sur.str.match(word) & ~sur.isin(NOT_SURNAMES)]
    rows.append(sur.value_counts().rename_axis("value").reset_index(name="count").assign(kind="surname"))
    pc = people["postcode"].dropna().str.upper()
    rows.append(pc.value_counts().rename_axis("value").reset_index(name="count").assign(kind="postcode"))
    pools = pd.concat(rows)[["kind", "value", "count"]].sort_values(["kind", "count", "value"],
                                                                     ascending=[True, False, True])
    buffer = io.StringIO()
    pools.to_csv(buffer, index=False, lineterminator="\n")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        out.write(buffer.getvalue().encode("utf-8"))
    print(pools["kind"].value_counts().to_dict())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("THRV_SHARED_DATA", ROOT.parent / "shared" / "data")))
    build(parser.parse_args().data)


if __name__ == "__main__":
    main()
