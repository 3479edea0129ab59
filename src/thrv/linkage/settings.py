"""The Splink model's settings, built from ``thrv/data/config/linkage.toml``.

Comparisons (each a set of levels whose match weights Splink estimates):

- forename: exact; Jaro-Winkler ≥ 0.92; shares a formal name through the nickname list
  (bill ~ william); Jaro-Winkler ≥ 0.8; else. Term-frequency adjusted (a match on a rare
  name says more than one on "John").
- surname: exact; Jaro-Winkler ≥ 0.92 / 0.8; else. Term-frequency adjusted.
- date of birth (ISO text): exact; one character apart (typos, transposed digits);
  within 1 year; within 10 years; else.
- postcode: UK postcodes by unit, sector, district and area (Splink's PostcodeComparison);
  other postcodes as text, exact or one edit apart; a UK postcode against a foreign one
  is simply not compared (no weight either way).
- address: Jaro-Winkler ≥ 0.9 / 0.75; else.
- identifier and sex: agree or not, only when both records carry them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thrv.reference import DATA

DEFAULT_CONFIG = DATA / "config" / "linkage.toml"


@dataclass(frozen=True)
class LinkConfig:
    threshold: float = 0.9
    review_band: tuple[float, float] = (0.5, 0.9)
    keep_above: float = 0.01
    u_max_pairs: int = 2_000_000
    seed: int = 1
    explain_pairs: int = 12
    prior_recall: float = 0.6
    deterministic_rules: tuple[tuple[str, ...], ...] = ()
    blocking: tuple[tuple[str, ...], ...] = ()
    em_blocks: tuple[tuple[str, ...], ...] = ()
    comparisons: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_config(path: str | Path | None = None, **overrides: Any) -> LinkConfig:
    doc = tomllib.loads(Path(path or DEFAULT_CONFIG).read_text(encoding="utf-8"))
    band = doc.get("review_band", [0.5, 0.9])
    config = LinkConfig(
        threshold=float(doc.get("threshold", 0.9)),
        review_band=(float(band[0]), float(band[1])),
        keep_above=float(doc.get("keep_above", 0.01)),
        u_max_pairs=int(doc.get("u_max_pairs", 2_000_000)),
        seed=int(doc.get("seed", 1)),
        explain_pairs=int(doc.get("explain_pairs", 12)),
        prior_recall=float(doc.get("prior_recall", 0.6)),
        deterministic_rules=tuple(tuple(r) for r in doc.get("deterministic_rules", [])),
        blocking=tuple(tuple(r) for r in doc.get("blocking", [])),
        em_blocks=tuple(tuple(r) for r in doc.get("em_blocks", [])),
        comparisons=dict(doc.get("comparisons", {})),
    )
    if overrides:
        from dataclasses import replace

        config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if not 0 < config.threshold < 1:
        raise ValueError(f"the link threshold must be a probability between 0 and 1, got {config.threshold}")
    return config


def _jw_levels(column: str, thresholds: list[float], extra_after_first: Any = None, tf: bool = False) -> list[Any]:
    import splink.comparison_level_library as cll

    levels: list[Any] = [cll.NullLevel(column), cll.ExactMatchLevel(column, term_frequency_adjustments=tf)]
    for i, t in enumerate(thresholds):
        levels.append(cll.JaroWinklerLevel(column, t))
        if i == 0 and extra_after_first is not None:
            levels.append(extra_after_first)
    levels.append(cll.ElseLevel())
    return levels


def comparisons(config: LinkConfig) -> list[Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    c = config.comparisons
    out: list[Any] = []
    fore = c.get("forename", {})
    nick = cll.ArrayIntersectLevel("forename_names", min_intersection=1) if fore.get("nicknames", True) else None
    if nick is not None:
        nick = nick.configure(label_for_charts="Shares a formal name (nickname list)")
    forename = cl.CustomComparison(
        comparison_levels=_jw_levels("forename", list(fore.get("jaro_winkler", [0.92, 0.8])), nick,
                                     tf=bool(fore.get("term_frequency", True))),
        output_column_name="forename", comparison_description="Forename")
    sur = c.get("surname", {})
    surname = cl.CustomComparison(
        comparison_levels=_jw_levels("surname", list(sur.get("jaro_winkler", [0.92, 0.8])),
                                     tf=bool(sur.get("term_frequency", True))),
        output_column_name="surname", comparison_description="Surname")
    out += [forename, surname]
    years = list(c.get("dob", {}).get("year_thresholds", [1, 10]))
    out.append(cl.DateOfBirthComparison(
        "dob", input_is_string=True, datetime_thresholds=years, datetime_metrics=["year"] * len(years),
    ))
    other_edits = int(c.get("postcode", {}).get("other_levenshtein", 1))
    out.append(cl.CustomComparison(
        comparison_levels=[
            cll.And(cll.NullLevel("postcode_uk"), cll.NullLevel("postcode_other")),
            cll.ExactMatchLevel("postcode_uk").configure(label_for_charts="UK postcode: same unit"),
            cll.ExactMatchLevel("postcode_sector").configure(label_for_charts="UK postcode: same sector"),
            cll.ExactMatchLevel("postcode_district").configure(label_for_charts="UK postcode: same district"),
            cll.ExactMatchLevel("postcode_area").configure(label_for_charts="UK postcode: same area"),
            cll.ExactMatchLevel("postcode_other").configure(label_for_charts="Other postcode: same text"),
            cll.LevenshteinLevel("postcode_other", other_edits).configure(
                label_for_charts=f"Other postcode: {other_edits} edit(s) apart"),
            cll.CustomLevel(
                "(postcode_uk_l IS NULL) <> (postcode_uk_r IS NULL)", label_for_charts="UK against other postcode",
            ).configure(is_null_level=True),
            cll.ElseLevel(),
        ],
        output_column_name="postcode", comparison_description="Postcode"))
    out.append(cl.CustomComparison(
        comparison_levels=_jw_levels("address", list(c.get("address", {}).get("jaro_winkler", [0.9, 0.75]))),
        output_column_name="address", comparison_description="Address"))
    out.append(cl.ExactMatch("identifier"))
    out.append(cl.ExactMatch("sex"))
    return out


def _rule(columns: tuple[str, ...]) -> Any:
    from splink import block_on

    return block_on(*columns)


def settings(config: LinkConfig) -> Any:
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(config),
        blocking_rules_to_generate_predictions=[_rule(r) for r in config.blocking],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        additional_columns_to_retain=["partner"],
    )


def deterministic_rules(config: LinkConfig) -> list[Any]:
    return [_rule(r) for r in config.deterministic_rules]


def em_rules(config: LinkConfig) -> list[Any]:
    return [_rule(r) for r in config.em_blocks]
