"""Generated recorded crimes and survey responses (see :mod:`thrv.demand.simulate`).

Crimes follow the real monthly volumes and month-of-year pattern of the force's published
data; offences within a category follow national counts by Home Office offence code; flags,
outcomes, victims and suspects follow the rates in ``simulate.toml``. Survey answers come
from a latent-variable model so that one respondent's answers hang together (a victim
unhappy with being kept informed is less likely to be satisfied overall) while each
question's share of positive answers matches its calibrated level.
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from thrv.demand.simulate import (
    HOURS,
    Calendar,
    Geography,
    cycle_weights,
    draw_times,
    force_tag,
    ids,
    iso_local,
    iso_local_date,
)
from thrv.reference import DATA
from thrv.sources.extracts import vocabulary

#: crimes with no individual victim (the state or a business is the loser)
NO_PERSON_VICTIM = {"Drugs", "Possession of weapons"}
BUSINESS_VICTIM = {"Shoplifting"}
#: share of crimes with an identified suspect, by category (ASSUMPTION)
SUSPECT_SHARE = {
    "Violence and sexual offences": 0.75, "Public order": 0.65, "Drugs": 1.0, "Possession of weapons": 1.0,
    "Shoplifting": 0.45, "Criminal damage and arson": 0.30, "Other crime": 0.55, "Robbery": 0.35,
}
OUTCOME_GROUP = {
    "1": "charged_summonsed", "14": "evidential_difficulties", "15": "evidential_difficulties",
    "16": "evidential_difficulties", "18": "no_suspect",
}
#: how positive answers (then the rest) spread over a scale's points, most positive first
POINT_SHARES = {
    "satisfaction_7": ([0.25, 0.40, 0.35], [0.35, 0.30, 0.20, 0.15]),
    "excellent_5": ([0.22, 0.78], [0.55, 0.30, 0.15]),
    "agree_5": ([0.30, 0.70], [0.45, 0.35, 0.20]),
}
DONT_KNOW = 0.02
#: correlation of one respondent's answers (latent loading)
LOADING = 0.7


def _offences() -> dict[str, tuple[list[str], np.ndarray]]:
    """Offence codes of each police.uk category with national 2017/18 counts as weights."""
    by_type: dict[str, list[tuple[str, float]]] = {}
    with (DATA / "harm" / "css_offence_weights.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["offence_code"].split("/")[0]
            by_type.setdefault(row["crime_type"], []).append((code, float(row["prc_count_2017_18"] or 0)))
    out = {}
    for crime_type, pairs in by_type.items():
        weights = np.array([w for _, w in pairs])
        if weights.sum() <= 0:
            weights = np.ones(len(pairs))
        out[crime_type] = ([c for c, _ in pairs], weights / weights.sum())
    return out


def _rate(table: dict[str, float], crime_type: str) -> float:
    return float(table.get(crime_type, table.get("default", 0.0)))


def _pool_ids(rng: np.random.Generator, prefix: str, n: int, pool: int, skew: float) -> np.ndarray:
    """Pseudonymous ids with repeats: a few people appear many times (repeat victimisation)."""
    index = np.floor(pool * rng.random(n) ** skew).astype(np.int64)
    return np.char.add(prefix, np.char.zfill(index.astype(str), 7))


def simulate_crimes(
    rng: np.random.Generator, cal: Calendar, cfg: dict[str, Any], factor: float, force: str, geo: Geography
) -> pa.Table:
    crimes = cfg["crimes"]
    offences = _offences()
    weights = cycle_weights(cal, cfg["cycles"], "crimes", "non_emergency", "recording")
    rows_t, types, recorded_l = [], [], []
    for crime_type, monthly in crimes["monthly"].items():
        per_hour = float(monthly) * 12 / 365.25 / HOURS * factor * weights
        recorded, rows = draw_times(rng, cal, per_hour)
        recorded_l.append(recorded)
        rows_t.append(rows)
        types.append(np.full(len(recorded), crime_type, dtype=object))
    recorded = np.concatenate(recorded_l)
    order = np.argsort(recorded, kind="stable")
    recorded = recorded[order]
    crime_type = np.concatenate(types)[order]
    n = len(recorded)

    codes = np.empty(n, dtype=object)
    flags: dict[str, np.ndarray] = {}
    outcome = np.empty(n, dtype=object)
    for t in np.unique(crime_type):
        mine = crime_type == t
        k = int(mine.sum())
        code_list, code_w = offences.get(t, (["99"], np.ones(1)))
        codes[mine] = rng.choice(code_list, size=k, p=code_w)
        mix = crimes["outcomes"].get(t, {"18": 1.0})
        numbers = list(mix)
        p = np.array([mix[x] for x in numbers], float)
        outcome[mine] = rng.choice(numbers, size=k, p=p / p.sum())
    kinds, kind_index = np.unique(crime_type.astype(str), return_inverse=True)
    for flag, table in crimes["flags"].items():
        rate = np.array([_rate(table, t) for t in kinds])[kind_index]
        flags[flag] = rng.random(n) < rate

    # who: pseudonymous victims (repeat victims of domestic abuse more so) and suspects
    victim = _pool_ids(rng, "V", n, int(n * 0.8) + 1, 1.6)
    victim = np.where(flags["domestic_abuse"], _pool_ids(rng, "V", n, int(n * 0.2) + 1, 2.5), victim)
    victim = np.where(np.isin(crime_type, list(BUSINESS_VICTIM)), _pool_ids(rng, "B", n, max(50, n // 200), 2.0), victim)
    victim = np.where(np.isin(crime_type, list(NO_PERSON_VICTIM)), "", victim)
    suspect_p = np.array([SUSPECT_SHARE.get(t, 0.15) for t in kinds])[kind_index]
    suspect_p = np.where(flags["domestic_abuse"], 0.92, suspect_p)
    has_suspect = (rng.random(n) < suspect_p) & (outcome != "18")
    suspect = np.where(has_suspect, _pool_ids(rng, "S", n, int(n * 0.5) + 1, 2.2), "")

    # when: committed before recorded; outcomes some time after
    before = np.minimum(np.rint(np.exp(rng.normal(np.log(6 * 3600), 1.5, n))), 365 * 86400).astype(np.int64)
    committed_from = recorded - before
    span = rng.random(n) < 0.5
    committed_to = np.minimum(committed_from + np.rint(rng.exponential(4 * 3600, n)).astype(np.int64), recorded)
    codes_u, code_index = np.unique(outcome.astype(str), return_inverse=True)
    days_for = crimes["days_to_outcome"]
    median_days = np.array([float(days_for.get(OUTCOME_GROUP.get(c, "default"), days_for["default"])) for c in codes_u])[code_index]
    days = np.maximum(np.rint(median_days * np.exp(rng.normal(0.0, 0.9, n))), 0).astype(np.int64)
    outcome_at = recorded + days * 86400
    decided = outcome_at < cal.end_epoch
    where = geo.draw(rng, n)
    outcome_date = iso_local_date(outcome_at)
    return pa.table(
        {
            "crime_id": ids(force_tag(force) + "CR", n, 8),
            "offence_code": pa.array(codes.astype(str), pa.string()),
            "recorded_at": iso_local(recorded),
            "committed_from": iso_local(committed_from),
            "committed_to": iso_local(committed_to, span),
            "district": pa.array(geo.district[where], pa.string()),
            "lsoa_code": pa.array(geo.lsoa[where], pa.string()),
            "victim_id": pa.array(victim.astype(str), pa.string()),
            "suspect_id": pa.array(suspect.astype(str), pa.string()),
            **{f: pa.array(np.where(v, "true", "false"), pa.string()) for f, v in flags.items()},
            "outcome_type": pa.array(np.where(decided, outcome.astype(str), ""), pa.string()),
            "outcome_date": pc.if_else(pa.array(decided), outcome_date, pa.scalar("")),
            "force": pa.array(np.full(n, force), pa.string()),
            "generated": pa.array(np.full(n, "true"), pa.string()),
        }
    )


def _answers(rng: np.random.Generator, latent: np.ndarray, p_positive: float, scale: str) -> np.ndarray:
    """Answer wording on ``scale`` with P(positive) = p_positive, from each respondent's latent."""
    n = len(latent)
    y = LOADING * latent + np.sqrt(1 - LOADING**2) * rng.normal(0.0, 1.0, n)
    u = stats.norm.cdf(y)  # uniform on (0, 1); larger = happier
    wording = next(s.answers for s in vocabulary().scales if s.name == scale)
    pos_shares, neg_shares = POINT_SHARES[scale]
    cut = 1 - p_positive
    out = np.empty(n, dtype=object)
    positive = u > cut
    # positive: rank within the positive band, happiest first
    frac = np.where(positive, (1 - u) / max(p_positive, 1e-9), 0.0)
    pos_idx = np.searchsorted(np.cumsum(pos_shares), frac, side="right").clip(0, len(pos_shares) - 1)
    neg_frac = np.where(~positive, (cut - u) / max(cut, 1e-9), 0.0)
    neg_idx = np.searchsorted(np.cumsum(neg_shares), neg_frac, side="right").clip(0, len(neg_shares) - 1)
    index = np.where(positive, pos_idx, len(pos_shares) + neg_idx)
    out[:] = np.array([w[0].upper() + w[1:] for w in wording])[index]
    out[rng.random(n) < DONT_KNOW] = "Don't know"
    return out


def simulate_surveys(rng: np.random.Generator, cal: Calendar, cfg: dict[str, Any], force: str, geo: Geography) -> pa.Table:
    months = sorted(set(cal.hours["month_index"]))
    starts = cal.hours.groupby("month_index")["start"].min().to_numpy()
    ends = np.append(starts[1:], cal.end_epoch)
    columns: dict[str, list[Any]] = {k: [] for k in ("respondent", "survey", "at", "lsoa", "district", "question", "answer", "scale")}
    respondent = 0
    for survey, spec in cfg["surveys"].items():
        prefix = force_tag(force) + ("VS" if survey == "victim_satisfaction" else "PC")
        for m in months:
            k = int(rng.poisson(float(spec["respondents"])))
            if not k:
                continue
            at = rng.integers(starts[m], ends[m], k)
            where = geo.draw(rng, k)
            latent = rng.normal(0.0, 1.0, k)
            who = [f"{prefix}{respondent + i + 1:07d}" for i in range(k)]
            respondent += k
            for question, p in spec["questions"].items():
                scale = spec.get("scale") or spec["scales"][question]
                columns["respondent"].extend(who)
                columns["survey"].extend([survey] * k)
                columns["at"].append(at)
                columns["lsoa"].append(geo.lsoa[where])
                columns["district"].append(geo.district[where])
                columns["question"].extend([question] * k)
                columns["answer"].append(_answers(rng, latent, float(p), scale))
                columns["scale"].extend([scale] * k)
    at = np.concatenate(columns["at"])
    responded = iso_local_date(at)
    respondents = pa.array(columns["respondent"], pa.string())
    questions = pa.array(columns["question"], pa.string())
    n = len(at)
    return pa.table(
        {
            "response_id": pc.binary_join_element_wise(respondents, questions, "-"),
            "survey": pa.array(columns["survey"], pa.string()),
            "responded_at": responded,
            "area": pa.array(np.concatenate(columns["district"]), pa.string()),
            "lsoa_code": pa.array(np.concatenate(columns["lsoa"]), pa.string()),
            "question": questions,
            "answer": pa.array(np.concatenate(columns["answer"]).astype(str), pa.string()),
            "scale": pa.array(columns["scale"], pa.string()),
            "respondent_id": respondents,
            "force": pa.array(np.full(n, force), pa.string()),
            "generated": pa.array(np.full(n, "true"), pa.string()),
        }
    )


#: crime types a force's victim satisfaction survey samples (the Home Office user
#: satisfaction survey's groups), in equal quotas (ASSUMPTION: a common design)
SURVEYED_CRIME_TYPES = ("Burglary", "Vehicle crime", "Violence and sexual offences")
#: victims are interviewed 6 to 12 weeks after reporting (Home Office survey guidance)
SURVEY_LAG_DAYS = (42, 84)


def link_victim_crimes(surveys: pa.Table, crimes: pa.Table, rng: np.random.Generator) -> pa.Table:
    """Give each victim-satisfaction respondent the crime they were surveyed about.

    A respondent gets a generated crime of one of :data:`SURVEYED_CRIME_TYPES` (equal
    quotas) recorded 6-12 weeks before the interview (else the nearest earlier one of that
    type, else any). Answers do not depend on the crime type (ASSUMPTION: no published
    split by crime type was found to calibrate to), so any difference a split shows is
    chance. Other surveys get an empty ``crime_id``.
    """
    from thrv.sources.extract_rules import normalise_offence_code, offence_lookup

    lookup = offence_lookup()
    types = np.array([lookup.get(normalise_offence_code(c), ("", ""))[0] for c in crimes["offence_code"].to_pylist()], dtype=object)
    recorded = np.array(pc.utf8_slice_codeunits(crimes["recorded_at"], 0, 10).to_pylist(), dtype="datetime64[D]")
    crime_ids = np.array(crimes["crime_id"].to_pylist(), dtype=object)
    pools = {}
    for t in SURVEYED_CRIME_TYPES:
        mine = np.flatnonzero(types == t)
        mine = mine[np.argsort(recorded[mine], kind="stable")]
        if len(mine):
            pools[t] = (recorded[mine], crime_ids[mine])
    n = surveys.num_rows
    out = np.full(n, "", dtype=object)
    is_victim = np.array(pc.equal(surveys["survey"], "victim_satisfaction").to_pylist(), dtype=bool)
    if not pools or not is_victim.any():
        return surveys.append_column("crime_id", pa.array(out.astype(str), pa.string()))
    respondents = np.array(surveys["respondent_id"].to_pylist(), dtype=object)
    responded = np.array(surveys["responded_at"].to_pylist(), dtype="datetime64[D]")
    who, first = np.unique(respondents[is_victim], return_index=True)
    when = responded[is_victim][first]
    names = sorted(pools)
    chosen_type = rng.integers(0, len(names), len(who))
    lag = rng.integers(SURVEY_LAG_DAYS[0], SURVEY_LAG_DAYS[1] + 1, len(who)).astype("timedelta64[D]")
    picked = np.empty(len(who), dtype=object)
    for k, name in enumerate(names):
        times, ids_ = pools[name]
        mine = np.flatnonzero(chosen_type == k)
        target = when[mine] - lag[mine]
        # the latest crime of the type recorded by the target date (else the earliest one)
        pos = np.searchsorted(times, target, side="right") - 1
        pos = np.where(pos < 0, 0, pos)
        # spread respondents over the crimes of the days around the target
        jitter = rng.integers(0, 10, len(mine))
        pos = np.clip(pos - jitter, 0, len(times) - 1)
        picked[mine] = ids_[pos]
    crime_of = dict(zip(who.tolist(), picked.tolist(), strict=True))
    out[is_victim] = [crime_of[r] for r in respondents[is_victim]]
    return surveys.append_column("crime_id", pa.array(out.astype(str), pa.string()))
