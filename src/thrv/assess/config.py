"""Options of a strategic assessment, as one frozen record.

Everything an analyst may want to change without touching code lives here or in the data
files it points at (harm weights, the priorities matrix, the area configuration), so two
assessments with the same store, period and config give the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from thrv.reference import DATA

HARM_DIR = DATA / "harm"
#: the two shipped harm schemes, shown side by side (they rank types differently)
DEFAULT_HARM_SCHEMES: tuple[Path, ...] = (HARM_DIR / "cchi_policeuk.csv", HARM_DIR / "css_policeuk.csv")
DEFAULT_PRIORITIES = DATA / "config" / "priorities.toml"


@dataclass(frozen=True)
class AssessConfig:
    """Options for :func:`thrv.assess.build_assessment`.

    ``harm_schemes``: per-type weight files (``crime_type,weight``) or offence-level tables
    (``offence_code,weight``), one scheme each; see docs/harm.md.
    ``h3_resolution``: hexagon size for hot spots (8 ≈ 0.74 km², edge ≈ 530 m: a few
    streets, the scale of a patrol beat).
    ``fdr_alpha``: Benjamini–Hochberg false discovery rate for every family of tests
    (hot-spot cells, trend tests across series, rate comparisons across places).
    ``recent_months``: the window compared with the same months a year earlier.
    ``signal_months``: an SPC special cause within this many latest months is "new".
    ``hot_share`` / ``persistent_share``: an LSOA is hot in a month when it is among the
    top ``hot_share`` of LSOAs; it is persistently hot when hot in at least
    ``persistent_share`` of the months held.
    ``harm_share_min_points``: the smallest rise in a type's share of harm, in percentage
    points, that counts as "growing" (with a significant test).
    ``min_rise_pct``: the smallest significant rise (% a year, or % on the same period last
    year) flagged as emerging, so that a statistically clear 1% rise in a large series is
    not called an emerging issue.
    ``sensitivity``: the relative change applied to each priority weight (0.2 = ±20%).
    ``gi_permutations`` / ``gi_seed``: conditional permutations behind each hot-spot
    p-value (the smallest two-sided p is 2/(P + 1)) and their seed (same seed, same map).
    ``near_repeat_file`` / ``similar_file``: near-repeat bands and similar-area groups
    (None: the shipped ``near_repeat.toml`` and ``similar.toml``).
    ``scorecard_months`` / ``scorecard_min_months``: earlier calls are made every so many
    months back and scored on the months after; a call needs this much history.
    ``hotspot_crime_types``: crime types asked for by name, each mapped as its own layer.
    """

    harm_schemes: tuple[Path, ...] = DEFAULT_HARM_SCHEMES
    priorities_file: Path = DEFAULT_PRIORITIES
    areas_file: Path | None = None
    h3_resolution: int = 8
    fdr_alpha: float = 0.05
    confidence: float = 0.95
    recent_months: int = 12
    signal_months: int = 3
    hot_share: float = 0.05
    persistent_share: float = 0.75
    min_persistence_months: int = 6
    top_fractions: tuple[float, ...] = (0.01, 0.05, 0.10)
    harm_share_min_points: float = 1.0
    min_rise_pct: float = 5.0
    sensitivity: float = 0.2
    map_layers: int = 3
    table_rows: int = 25
    gi_permutations: int = 9999
    gi_seed: int = 0
    near_repeat_file: Path | None = None
    similar_file: Path | None = None
    scorecard_months: int = 6
    scorecard_min_months: int = 6
    #: crime types that get a hot-spot layer of their own (police.uk names, e.g. "Burglary"),
    #: mapped before the priority layers
    hotspot_crime_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.h3_resolution <= 15:
            raise ValueError(f"h3_resolution must be 0..15, got {self.h3_resolution}")
        for name in ("fdr_alpha", "confidence", "hot_share", "persistent_share", "sensitivity"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
        if self.recent_months < 1 or self.signal_months < 1:
            raise ValueError("recent_months and signal_months must be at least 1")
        if self.scorecard_months < 1 or self.scorecard_min_months < 1:
            raise ValueError("scorecard_months and scorecard_min_months must be at least 1")
        if not self.harm_schemes:
            raise ValueError("at least one harm scheme is needed")
