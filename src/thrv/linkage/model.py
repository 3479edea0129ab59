"""Person linkage with Splink: train, score every blocked pair, cluster, explain.

The Fellegi–Sunter model as Splink implements it: each comparison level has an m
probability (of that level among true matches) and a u probability (among non-matches);
a pair's match weight is log2 of the prior odds plus the sum of log2(m/u) over its
comparisons (plus term-frequency adjustments for names), and its match probability is
2^w / (1 + 2^w). Training, all seeded: the prior from deterministic rules with an assumed
recall; u from random pairs; m by expectation-maximisation on blocked pairs.

Records from every partner are linked together (one deduplication over all of them), so
pairs within a partner (duplicates) and across partners (the same person known to two
agencies) are scored alike. Clusters are the connected components of the links at the
threshold: one cluster, one person.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from thrv.linkage import normalise
from thrv.linkage.settings import LinkConfig, deterministic_rules, em_rules, settings


@dataclass
class LinkResult:
    """A trained model, its scored pairs and its clusters."""

    pairs: pd.DataFrame  # unique_id_l, unique_id_r, partner_l, partner_r, match_probability, match_weight, mw_*, gamma_*
    clusters: pd.DataFrame  # unique_id, cluster_id
    model: dict[str, Any]
    config: LinkConfig
    linker: Any = None

    @property
    def links(self) -> pd.DataFrame:
        return self.pairs[self.pairs["match_probability"] >= self.config.threshold]

    def review(self) -> pd.DataFrame:
        low, high = self.config.review_band
        p = self.pairs["match_probability"]
        return self.pairs[(p >= low) & (p < high)].sort_values("match_probability", ascending=False)


def _quiet() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.ERROR)


def link(people: pd.DataFrame, db_api: Any, config: LinkConfig) -> LinkResult:
    """Link person records (``unique_id``, ``partner`` and the person columns)."""
    from splink import Linker

    _quiet()
    prepared = normalise.prepare(people)
    typed = normalise.as_arrow(prepared)
    frame = db_api.register(typed, source_dataset_name="people") if _named(db_api) else db_api.register(typed)
    linker = Linker(frame, settings(config), log_level=None)
    if len(prepared) < 2:
        empty = pd.DataFrame(columns=["unique_id_l", "unique_id_r", "partner_l", "partner_r",
                                      "match_probability", "match_weight"])
        return LinkResult(empty, pd.DataFrame({"unique_id": prepared["unique_id"], "cluster_id": prepared["unique_id"]}),
                          linker.misc.save_model_to_json(), config, linker)
    _train(linker, config, len(prepared))
    scored = linker.inference.predict(threshold_match_probability=config.keep_above)
    pairs = scored.as_pandas_dataframe()
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        scored, threshold_match_probability=config.threshold)
    clusters = clustered.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    return LinkResult(pairs, clusters, linker.misc.save_model_to_json(), config, linker)


def _named(db_api: Any) -> bool:
    import inspect

    return "source_dataset_name" in inspect.signature(db_api.register).parameters


def _train(linker: Any, config: LinkConfig, n: int) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # no deterministic match at all: Splink's default prior stays
        with contextlib.suppress(Exception):
            linker.training.estimate_probability_two_random_records_match(
                deterministic_rules(config), recall=config.prior_recall)
        settings_obj = linker._settings_obj  # Splink keeps the prior here
        prior = float(settings_obj._probability_two_random_records_match)
        if not 0 < prior <= 0.5:
            # a handful of records (or none agreeing on any rule) give no usable estimate:
            # assume each record has one match among the others
            settings_obj._probability_two_random_records_match = min(0.5, 1 / max(n - 1, 2))
        if n < config.min_train_records:
            return  # too few pairs to estimate from: the priors in linkage.toml are the model
        pairs = min(config.u_max_pairs, max(1, n * (n - 1) // 2))
        linker.training.estimate_u_using_random_sampling(max_pairs=pairs, seed=config.seed)
        for rule in em_rules(config):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(rule, fix_u_probabilities=True)
            except Exception:
                continue


# -- explanation -------------------------------------------------------------------------

def levels(model: dict[str, Any]) -> dict[str, dict[int, dict[str, Any]]]:
    """comparison output column -> comparison vector value -> {label, m, u, weight}."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for comparison in model.get("comparisons", []):
        name = comparison["output_column_name"]
        real = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        table: dict[int, dict[str, Any]] = {-1: {"label": "not compared (missing)", "m": None, "u": None, "weight": 0.0}}
        for i, lv in enumerate(real):
            m, u = lv.get("m_probability"), lv.get("u_probability")
            weight = math.log2(m / u) if m and u and m > 0 and u > 0 else None
            table[len(real) - 1 - i] = {"label": lv.get("label_for_charts", lv.get("sql_condition", "")),
                                        "m": m, "u": u, "weight": weight}
        out[name] = table
    return out


def prior_weight(model: dict[str, Any]) -> float:
    p = float(model.get("probability_two_random_records_match", 1e-4))
    p = min(max(p, 1e-15), 1 - 1e-15)  # a degenerate estimate (no pairs at all) stays finite
    return math.log2(p / (1 - p))


def waterfall(pair: dict[str, Any], model: dict[str, Any]) -> list[dict[str, Any]]:
    """How one pair's match weight adds up: the prior, then each comparison's level and weight."""
    steps: list[dict[str, Any]] = [{"step": "prior (two random records match)", "level": "", "weight": prior_weight(model)}]
    table = levels(model)
    for name, by_value in table.items():
        gamma = int(pair.get(f"gamma_{name}", -1))
        weight = pair.get(f"mw_{name}")
        tf = pair.get(f"mw_tf_adj_{name}")
        label = by_value.get(gamma, {}).get("label", str(gamma))
        w = float(weight) if weight is not None and not pd.isna(weight) else 0.0
        steps.append({"step": name, "level": label, "weight": w})
        if tf is not None and not pd.isna(tf) and float(tf) != 0.0:
            steps.append({"step": f"{name} (term frequency)", "level": "how common the value is", "weight": float(tf)})
    total = float(sum(float(s["weight"]) for s in steps))
    steps.append({"step": "match weight", "level": f"probability {2 ** total / (1 + 2 ** total):.4f}", "weight": total})
    return steps


def explain(result: LinkResult, unique_id_l: str, unique_id_r: str) -> list[dict[str, Any]]:
    """The waterfall for any two records, scored now if blocking never paired them."""
    pairs = result.pairs
    hit = pairs[((pairs["unique_id_l"] == unique_id_l) & (pairs["unique_id_r"] == unique_id_r))
                | ((pairs["unique_id_l"] == unique_id_r) & (pairs["unique_id_r"] == unique_id_l))]
    if len(hit):
        return waterfall({str(k): v for k, v in hit.iloc[0].to_dict().items()}, result.model)
    if result.linker is None:
        raise ValueError("this pair was not scored and the model is not loaded")
    table = result.linker._input_tables_dict
    frame = next(iter(table.values())).as_pandas_dataframe()
    left = frame[frame["unique_id"] == unique_id_l].iloc[0].to_dict()
    right = frame[frame["unique_id"] == unique_id_r].iloc[0].to_dict()
    scored = result.linker.inference.score_pair(left, right).as_pandas_dataframe()
    return waterfall({str(k): v for k, v in scored.iloc[0].to_dict().items()}, result.model)
