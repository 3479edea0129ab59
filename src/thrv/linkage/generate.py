"""Generated partner person extracts with known truth, for tests and the benchmark.

No public person-level partner data exists, so thrv makes it: a population of people
(names and postcodes drawn from the pools in ``thrv/data/linkage/name_pools.csv.gz``;
dates of birth uniform over ages 0–90; households of 1–5 people at one address), then one
extract per partner holding a share of them, each record with the errors in
``thrv/data/config/person_errors.toml`` applied independently, plus duplicate records
within a partner. Every record id starts ``GEN-`` so generated records are never taken for
real ones. The truth (which records are one person) is returned beside the extracts.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thrv.reference import DATA

ERRORS = DATA / "config" / "person_errors.toml"
POOLS = DATA / "linkage" / "name_pools.csv.gz"
STREET_TYPES = ("Road", "Street", "Lane", "Close", "Avenue", "Way", "Drive", "Gardens", "Crescent", "Place")
ABBREVIATIONS = {"Road": "Rd", "Street": "St", "Lane": "Ln", "Close": "Cl", "Avenue": "Ave", "Drive": "Dr",
                 "Gardens": "Gdns", "Crescent": "Cres", "Place": "Pl", "Way": "Way"}
ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Extracts:
    """Generated extracts: ``records`` per partner (contract columns) and ``truth``."""

    records: dict[str, pd.DataFrame]
    truth: pd.DataFrame  # partner, record_id, person_id

    def true_pairs(self) -> set[tuple[tuple[str, str], tuple[str, str]]]:
        pairs = set()
        for _, group in self.truth.groupby("person_id"):
            keys = sorted(zip(group["partner"], group["record_id"], strict=True))
            for i in range(len(keys)):
                for j in range(i + 1, len(keys)):
                    pairs.add((keys[i], keys[j]))
        return pairs


@cache
def _pools() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    frame = pd.read_csv(POOLS, dtype={"value": str})
    out = {}
    for kind, group in frame.groupby("kind"):
        p = group["count"].to_numpy(float)
        out[str(kind)] = (group["value"].to_numpy(), p / p.sum())
    return out


@cache
def _nicknames_of(name: str) -> tuple[str, ...]:
    from nicknames import NickNamer

    return tuple(sorted(NickNamer().nicknames_of(name)))


def load_errors(path: str | Path | None = None) -> dict[str, dict[str, float]]:
    return tomllib.loads(Path(path or ERRORS).read_text(encoding="utf-8"))


def population(n: int, seed: int = 1, namesakes: float = 0.05) -> pd.DataFrame:
    """``n`` generated people in households: person_id, forename, surname, dob, sex, postcode, address."""
    rng = np.random.default_rng(seed)
    pools = _pools()
    sizes = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.3, 0.34, 0.16, 0.14, 0.06])
    household = np.repeat(np.arange(len(sizes)), sizes)[:n]
    n_house = int(household.max()) + 1
    house_surname = rng.choice(pools["surname"][0], size=n_house, p=pools["surname"][1])
    house_postcode = rng.choice(pools["postcode"][0], size=n_house, p=pools["postcode"][1])
    streets = rng.choice(pools["surname"][0], size=n_house)
    house_address = [f"{rng.integers(1, 200)} {s.title()} {STREET_TYPES[rng.integers(len(STREET_TYPES))]}"
                     for s in streets]
    sex = rng.choice(["m", "f"], size=n)
    male, female = pools["forename_m"], pools["forename_f"]
    forename = np.where(sex == "m", rng.choice(male[0], size=n, p=male[1]), rng.choice(female[0], size=n, p=female[1]))
    # members of one household rarely share a forename (a parent and child of one name do
    # occur, kept at ``namesakes``); others are drawn again
    seen: dict[tuple[int, str], int] = {}
    for i in range(n):
        key = (int(household[i]), str(forename[i]))
        tries = 0
        while key in seen and rng.random() >= namesakes and tries < 10:
            pool = male if sex[i] == "m" else female
            forename[i] = rng.choice(pool[0], p=pool[1])
            key, tries = (int(household[i]), str(forename[i])), tries + 1
        seen[key] = i
    today = dt.date(2025, 12, 31).toordinal()
    dob = [dt.date.fromordinal(int(today - d)).isoformat() for d in rng.integers(0, 90 * 365, size=n)]
    return pd.DataFrame({
        "person_id": [f"P{i:07d}" for i in range(n)],
        "forename": [str(f).title() for f in forename],
        "surname": [str(house_surname[h]).title() for h in household],
        "date_of_birth": dob,
        "sex": sex,
        "postcode": [str(house_postcode[h]) for h in household],
        "address": [house_address[h] for h in household],
        "household": household,
    })


def _typo(text: str, rng: np.random.Generator) -> str:
    if len(text) < 2:
        return text
    i = int(rng.integers(0, len(text) - 1))
    kind = int(rng.integers(0, 4))
    letter = ALPHABET[int(rng.integers(0, 26))]
    if kind == 0:
        return text[:i] + letter + text[i:]
    if kind == 1:
        return text[:i] + text[i + 1:]
    if kind == 2:
        return text[:i] + letter + text[i + 1:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2:]


def _postcode_typo(code: str, rng: np.random.Generator) -> str:
    chars = list(code)
    positions = [i for i, ch in enumerate(chars) if ch.isalnum()]
    i = positions[int(rng.integers(len(positions)))]
    chars[i] = str(rng.integers(0, 10)) if chars[i].isdigit() else ALPHABET[int(rng.integers(0, 26))].upper()
    return "".join(chars)


def corrupt(person: dict[str, Any], errors: dict[str, dict[str, float]], rng: np.random.Generator,
            movers: pd.DataFrame) -> dict[str, Any]:
    """One record of ``person`` with independent errors in each field."""
    r = dict(person)
    e = errors
    u = rng.random
    f = e["forename"]
    if u() < f["nickname"]:
        options = _nicknames_of(r["forename"].lower())
        if options:
            r["forename"] = options[int(rng.integers(len(options)))].title()
    if u() < f["typo"]:
        r["forename"] = _typo(r["forename"], rng)
    if u() < f["initial_only"]:
        r["forename"] = r["forename"][:1]
    if u() < f["missing"]:
        r["forename"] = ""
    s = e["surname"]
    if u() < s["changed"]:
        r["surname"] = str(movers["surname"].iat[int(rng.integers(len(movers)))])
    if u() < s["typo"]:
        r["surname"] = _typo(r["surname"], rng)
    if u() < s["missing"]:
        r["surname"] = ""
    d = e["date_of_birth"]
    dob = r["date_of_birth"]
    year, month, day = dob[:4], dob[5:7], dob[8:10]
    if u() < d["day_month_swap"] and int(day) <= 12:
        month, day = day, month
    if u() < d["year_off_by_one"]:
        year = str(int(year) + (1 if u() < 0.5 else -1))
    if u() < d["first_of_month"]:
        day = "01"
    text = f"{year}-{month}-{day}"
    if u() < d["digit_typo"]:
        i = int(rng.choice([2, 3, 6, 9]))
        text = text[:i] + str(rng.integers(0, 10)) + text[i + 1:]
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        text = dob  # a typo that makes no calendar date is not one a system would store
    r["date_of_birth"] = "" if u() < d["missing"] else text
    a = e["address"]
    if u() < a["moved"]:
        other = movers.iloc[int(rng.integers(len(movers)))]
        r["postcode"], r["address"] = other["postcode"], other["address"]
    if u() < a["abbreviated"]:
        words = r["address"].split(" ")
        r["address"] = " ".join(ABBREVIATIONS.get(w, w) for w in words).lower()
    if u() < a["postcode_typo"]:
        r["postcode"] = _postcode_typo(r["postcode"], rng)
    if u() < a["postcode_missing"]:
        r["postcode"] = ""
    if u() < a["address_missing"]:
        r["address"] = ""
    if u() < e["sex"]["missing"]:
        r["sex"] = ""
    return r


def extracts(people: int, partners: dict[str, float], seed: int = 1, duplicates: float = 0.03,
             shares_identifier: tuple[str, ...] = (), errors: dict[str, dict[str, float]] | None = None) -> Extracts:
    """One extract per partner: each person is in partner P with probability ``partners[P]``;
    ``duplicates`` is the share of a partner's records repeated (with fresh errors)."""
    rng = np.random.default_rng(seed + 1)
    errors = errors or load_errors()
    base = population(people, seed)
    identifier = [f"{x:010d}" for x in rng.integers(10**9, 10**10 - 1, size=people)]
    records: dict[str, pd.DataFrame] = {}
    truth_rows: list[pd.DataFrame] = []
    rows = base.to_dict("records")
    for p_index, (partner, share) in enumerate(partners.items()):
        chosen = np.flatnonzero(rng.random(people) < share)
        repeat = chosen[rng.random(len(chosen)) < duplicates]
        members = np.concatenate([chosen, repeat])
        rng.shuffle(members)
        out = []
        for k, i in enumerate(members):
            rec = corrupt(rows[i], errors, rng, base)
            ident = identifier[i] if partner in shares_identifier and rng.random() >= errors["identifier"]["missing"] else ""
            out.append({"record_id": f"GEN-{p_index + 1}-{k + 1:07d}", "forename": rec["forename"],
                        "surname": rec["surname"], "date_of_birth": rec["date_of_birth"], "postcode": rec["postcode"],
                        "address": rec["address"], "identifier": ident, "sex": rec["sex"],
                        "person_id": rows[i]["person_id"]})
        frame = pd.DataFrame(out)
        records[partner] = frame.drop(columns=["person_id"])
        truth_rows.append(pd.DataFrame({"partner": partner, "record_id": frame["record_id"],
                                        "person_id": frame["person_id"]}))
    return Extracts(records, pd.concat(truth_rows, ignore_index=True))
