"""The reference tables shipped with thrv (forces, LSOA lookups, populations, categories).

They are plain CSV files under ``thrv/data/reference`` (see docs/reference-data.md for where
each came from); this module only finds and reads them, so both the readers and the store
use one copy.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

DATA = Path(str(resources.files("thrv") / "data"))
REFERENCE = DATA / "reference"


def reference_path(name: str) -> Path:
    """Path of a shipped reference file, e.g. ``reference_path("forces.csv")``."""
    path = REFERENCE / name
    if not path.exists():
        raise RuntimeError(f"reference file missing from the installation: {path}; reinstall thrv")
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a (possibly gzipped) CSV as dicts of text."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


@dataclass(frozen=True)
class Force:
    slug: str
    name: str
    pfa_code: str
    pfa_name: str
    region: str


@cache
def forces() -> tuple[Force, ...]:
    return tuple(
        Force(r["slug"], r["name"], r.get("pfa_code", ""), r.get("pfa_name", ""), r.get("region", ""))
        for r in read_rows(reference_path("forces.csv"))
    )


def force_by_slug(slug: str) -> Force | None:
    wanted = slug.strip().lower()
    return next((f for f in forces() if f.slug == wanted), None)


def force_by_name(name: str) -> Force | None:
    """Match a force by its published name, slug or PFA name, ignoring case and punctuation."""
    wanted = _squash(name)
    for force in forces():
        if wanted in {_squash(force.name), _squash(force.slug), _squash(force.pfa_name)}:
            return force
    return None


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("&", "and"))


@cache
def crime_type_slugs() -> dict[str, str]:
    """Published crime type -> snake_case slug, for every type data.police.uk uses."""
    return {r["crime_type"]: r["slug"] for r in read_rows(reference_path("crime_types.csv"))}


def slugify(text: str) -> str:
    """snake_case slug of a published category, as used for indicator ids."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower().replace("&", "and")).strip("_")
