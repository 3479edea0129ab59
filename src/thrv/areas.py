"""One rule for an ``--area`` name, shared by every command (pack, assess, demand, forecast).

A name matches, ignoring case: a force as published ("Cambridgeshire Constabulary") or by
its slug or Police Force Area name ("Cambridgeshire"), then a district (a 2024 local
authority district of a force held), then an area configured in ``areas.toml``. A name that
matches nothing is refused with the closest names (difflib), never a list of hundreds.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from thrv.indicators.hierarchy import AreaError
from thrv.reference import force_by_name

#: how many "did you mean" names an error offers
SUGGESTIONS = 5


def match_force(name: str, forces: Sequence[str]) -> str | None:
    """The force held that ``name`` names (published name, slug or PFA name), or None."""
    wanted = name.strip().lower()
    for f in forces:
        if f.lower() == wanted:
            return f
    found = force_by_name(name)
    if found is not None and found.name in forces:
        return found.name
    return None


def match_area(
    name: str,
    forces: Sequence[str],
    districts: Iterable[tuple[str, str]],
    areas: Iterable[tuple[str, str]] = (),
) -> tuple[str, str, str]:
    """(level, force, name) for an ``--area``: level is "force", "district" or "area".

    ``districts`` and ``areas`` are (force, name) pairs for the forces held.
    """
    districts, areas = list(districts), list(areas)
    force = match_force(name, forces)
    if force is not None:
        return "force", force, force
    wanted = name.strip().lower()
    for level, pairs in (("district", districts), ("area", areas)):
        for f, n in pairs:
            if str(n).lower() == wanted:
                return level, str(f), str(n)
    choices = sorted({*forces, *(str(n) for _, n in districts), *(str(n) for _, n in areas)})
    raise AreaError(area_message(name, choices))


def area_message(name: str, choices: Sequence[str]) -> str:
    """'--area X is not ...; did you mean A, B?' with the closest names only."""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.strip().lower(), list(lowered), n=SUGGESTIONS, cutoff=0.6)
    # a name that is part of another ("Cambs" in nothing, "Peterborough" in "City of Peterborough")
    close += [c for lc, c in lowered.items() if name.strip().lower() in lc and c.lower() not in close]
    hint = [lowered.get(c, c) for c in close][:SUGGESTIONS]
    text = f"--area {name!r} is not a force, area or district in the store"
    if hint:
        return text + "; did you mean " + ", ".join(repr(h) for h in hint) + "?"
    if len(choices) <= 12:
        return text + "; choose from: " + ", ".join(choices)
    return text + f" ({len(choices)} names are held; `thrv status` lists the forces)"


__all__ = ["AreaError", "area_message", "match_area", "match_force"]
