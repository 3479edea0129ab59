"""The ``thrv`` command: small verbs over the library, with progress bars and clear exits.

Every command takes ``--db`` (default ``./thrv.duckdb``). Exit codes: 0 success, 1 the
work ran but something was refused or failed a check, 2 bad usage.

Each module of this package holds the commands of one job and registers them on the one
:data:`app` when imported; a new module is found on its own (no list to edit). ``--help``
lists the workflow's commands first, in the order an analyst uses them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from thrv.cli._app import app

#: the order commands appear in ``thrv --help``: the workflow first, then any other module
_FIRST = ("ingest", "status", "pack", "assess", "demand", "serve")

for _name in (*_FIRST, *sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _FIRST)):
    if not _name.startswith("_"):
        importlib.import_module(f"{__name__}.{_name}")

__all__ = ["app"]


def run() -> None:  # pragma: no cover - console entry point wrapper
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
