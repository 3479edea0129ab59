"""The Splink model's settings, built from ``thrv/data/config/linkage.toml``.

Comparisons (each a set of levels whose match weights Splink estimates):

- forename: exact; Jaro-Winkler ≥ 0.92; shares a formal name through the nickname list
  (bill ~ william); Jaro-Winkler ≥ 0.8; else. Term-frequency adjusted (a match on a rare
  name says more than one on "John").
- surname: exact; Jaro-Winkler ≥ 0.92 / 0.8; else. Term-frequency adjusted.
- date of birth (ISO text): exact; one character apart (a typo); two apart or two swapped
  (day and month transposed); within 1 year; within 10 years; else (its m fixed in the
  settings: see linkage.toml).
- location (postcode and address together, because they agree together for everyone in one
  household and two comparisons would count that evidence twice): same address (Jaro-Winkler
  ≥ 0.9) and postcode; same postcode only; same address only; UK postcode sector, district,
  area; else. UK postcodes compare by their parts; other postcodes as text (exact or one
  edit apart).
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
    u_max_pairs: int = 500_000
    seed: int = 1
    explain_pairs: int = 12
    bloom_dice: float = 0.8
    prior_recall: float = 0.6
    deterministic_rules: tuple[tuple[str, ...], ...] = ()
    blocking: tuple[tuple[str, ...], ...] = ()
    em_blocks: tuple[tuple[str, ...], ...] = ()
    comparisons: dict[str, dict[str, Any]] = field(default_factory=dict)
    priors: dict[str, list[list[float]]] = field(default_factory=dict)
    min_train_records: int = 1000


def load_config(path: str | Path | None = None, **overrides: Any) -> LinkConfig:
    doc = tomllib.loads(Path(path or DEFAULT_CONFIG).read_text(encoding="utf-8"))
    band = doc.get("review_band", [0.5, 0.9])
    config = LinkConfig(
        threshold=float(doc.get("threshold", 0.9)),
        review_band=(float(band[0]), float(band[1])),
        keep_above=float(doc.get("keep_above", 0.01)),
        u_max_pairs=int(doc.get("u_max_pairs", 500_000)),
        seed=int(doc.get("seed", 1)),
        explain_pairs=int(doc.get("explain_pairs", 12)),
        bloom_dice=float(doc.get("bloom_dice", 0.8)),
        prior_recall=float(doc.get("prior_recall", 0.6)),
        deterministic_rules=tuple(tuple(r) for r in doc.get("deterministic_rules", [])),
        blocking=tuple(tuple(r) for r in doc.get("blocking", [])),
        em_blocks=tuple(tuple(r) for r in doc.get("em_blocks", [])),
        comparisons=dict(doc.get("comparisons", {})),
        priors={str(k): [list(map(float, x)) for x in v] for k, v in (doc.get("priors") or {}).items()},
        min_train_records=int(doc.get("min_train_records", 1000)),
    )
    if overrides:
        from dataclasses import replace

        config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    if not 0 < config.threshold < 1:
        raise ValueError(f"the link threshold must be a probability between 0 and 1, got {config.threshold}")
    return config


def _jw_levels(column: str, thresholds: list[float], extra_after_first: Any = None, tf: bool = False,
               initials: bool = False, m_else: float | None = None) -> list[Any]:
    import splink.comparison_level_library as cll

    levels: list[Any] = [cll.NullLevel(column), cll.ExactMatchLevel(column, term_frequency_adjustments=tf)]
    for i, t in enumerate(thresholds):
        levels.append(cll.JaroWinklerLevel(column, t))
        if i == 0 and extra_after_first is not None:
            levels.append(extra_after_first)
    if initials:
        # "J" against "John": one record holds only the initial
        levels.append(cll.CustomLevel(
            f"(length({column}_l) = 1 OR length({column}_r) = 1) AND left({column}_l, 1) = left({column}_r, 1)",
            label_for_charts="initial agrees (one record has only the initial)"))
    rest: Any = cll.ElseLevel()
    if m_else is not None:
        # household members share a surname and an address, which the model counts as
        # independent evidence; fixing how rarely one person's forenames differ outright keeps
        # a brother or sister from being taken for the same person
        rest = rest.configure(m_probability=m_else, fix_m_probability=True)
    levels.append(rest)
    return levels


def _with_priors(levels: list[Any], priors: list[list[float]] | None) -> list[Any]:
    """Set starting m and u on the non-null levels, in order (a fixed m stays as set)."""
    if not priors:
        return levels
    real = [lv for lv in levels if not _is_null(lv)]
    if len(real) != len(priors):
        raise ValueError(f"linkage.toml [priors]: {len(priors)} pairs given for {len(real)} levels")
    for level, (m, u) in zip(real, priors, strict=True):
        fixed = getattr(level, "_fix_m_probability", False) or getattr(level, "fix_m_probability", False)
        if fixed is True:
            level.configure(u_probability=float(u))
        else:
            level.configure(m_probability=float(m), u_probability=float(u))
    return levels


def _is_null(level: Any) -> bool:
    import splink.comparison_level_library as cll

    return isinstance(level, cll.NullLevel) or getattr(level, "is_null_level", False) is True


def comparisons(config: LinkConfig) -> list[Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    c = config.comparisons
    out: list[Any] = []
    fore = c.get("forename", {})
    nick: Any = None
    if fore.get("nicknames", True):
        nick = cll.ArrayIntersectLevel("forename_names", min_intersection=1).configure(
            label_for_charts="Shares a formal name (nickname list)")
    priors = config.priors
    forename = cl.CustomComparison(
        comparison_levels=_with_priors(_jw_levels("forename", list(fore.get("jaro_winkler", [0.92, 0.8])), nick,
                                       tf=bool(fore.get("term_frequency", True)), initials=True,
                                       m_else=float(fore["m_else"]) if "m_else" in fore else None),
                                       priors.get("forename")),
        output_column_name="forename", comparison_description="Forename")
    sur = c.get("surname", {})
    surname = cl.CustomComparison(
        comparison_levels=_with_priors(_jw_levels("surname", list(sur.get("jaro_winkler", [0.92, 0.8])),
                                                  tf=bool(sur.get("term_frequency", True))), priors.get("surname")),
        output_column_name="surname", comparison_description="Surname")
    out += [forename, surname]
    dob = c.get("dob", {})
    years = list(dob.get("year_thresholds", [1]))
    dob_levels: list[Any] = [
        cll.NullLevel("dob"),
        cll.ExactMatchLevel("dob").configure(label_for_charts="same date of birth"),
        cll.LevenshteinLevel("dob", 1).configure(label_for_charts="one character apart (a typo)"),
        cll.DamerauLevenshteinLevel("dob", 2).configure(label_for_charts="two characters apart or swapped"),
    ]
    for y in years:
        dob_levels.append(cll.AbsoluteDateDifferenceLevel("dob", input_is_string=True, threshold=y, metric="year")
                          .configure(label_for_charts=f"within {y} year(s)"))
    rest: Any = cll.ElseLevel()
    if "m_else" in dob:
        # households hold namesakes (a parent and child of one name at one address), which
        # expectation-maximisation mistakes for matches with a wrong date of birth; the
        # chance a true match's dates differ by more is therefore set, not estimated
        rest = rest.configure(m_probability=float(dob["m_else"]), fix_m_probability=True)
    dob_levels.append(rest)
    out.append(cl.CustomComparison(comparison_levels=_with_priors(dob_levels, priors.get("dob")), output_column_name="dob",
                                   comparison_description="Date of birth"))
    other_edits = int(c.get("postcode", {}).get("other_levenshtein", 1))
    jw = float(c.get("address", {}).get("jaro_winkler", [0.9])[0])
    same_address = f"jaro_winkler_similarity(address_l, address_r) >= {jw}"
    same_code = ("(postcode_uk_l = postcode_uk_r OR postcode_other_l = postcode_other_r "
                 f"OR levenshtein(postcode_other_l, postcode_other_r) <= {other_edits})")
    no_code = "(coalesce(postcode_uk_l, postcode_other_l) IS NULL OR coalesce(postcode_uk_r, postcode_other_r) IS NULL)"
    # one comparison for where someone lives: postcode and address agree together for people
    # of one household, so two comparisons would count the same evidence twice
    out.append(cl.CustomComparison(
        comparison_levels=_with_priors([
            cll.CustomLevel("coalesce(postcode_uk_l, postcode_other_l, address_l) IS NULL OR "
                            "coalesce(postcode_uk_r, postcode_other_r, address_r) IS NULL",
                            label_for_charts="no postcode or address").configure(is_null_level=True),
            cll.CustomLevel(f"{same_address} AND ({same_code} OR {no_code})",
                            label_for_charts="same address (and postcode, where both have one)"),
            cll.CustomLevel(same_code, label_for_charts="same postcode, address differs or missing"),
            cll.CustomLevel(same_address, label_for_charts="same address, postcode differs"),
            cll.ExactMatchLevel("postcode_sector").configure(label_for_charts="UK postcode: same sector"),
            cll.ExactMatchLevel("postcode_district").configure(label_for_charts="UK postcode: same district"),
            cll.ExactMatchLevel("postcode_area").configure(label_for_charts="UK postcode: same area"),
            cll.ElseLevel(),
        ], priors.get("location")),
        output_column_name="location", comparison_description="Postcode and address"))
    for column in ("identifier", "sex"):
        out.append(cl.CustomComparison(
            comparison_levels=_with_priors([cll.NullLevel(column), cll.ExactMatchLevel(column), cll.ElseLevel()],
                                           priors.get(column)),
            output_column_name=column, comparison_description=column.title()))
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
