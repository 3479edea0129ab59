"""Strategic needs assessment: threat, harm, risk and vulnerability, from the store.

Two entry points::

    model = build_assessment(store, first, last, area="Cambridgeshire Constabulary")
    write_assessment(model, Path("assessment"), formats=("html", "pdf", "xlsx"))

``build_assessment`` returns one JSON-able dict (every figure and test); every output is
rendered from it. Options are an :class:`AssessConfig`. Method: docs/assessment.md.
"""

import sys as _sys
import types as _types
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thrv.assess.assessment import build_assessment
    from thrv.assess.config import AssessConfig
    from thrv.assess.harm import HarmError
    from thrv.assess.priorities import PriorityError
    from thrv.assess.report import FORMATS, write_assessment
    from thrv.assess.scope import AreaError
    from thrv.report.files import parse_formats

# imported when first asked for: a performance pack uses thrv.assess.similar alone, and the
# assessment's renderers (charts) take a second to import
_LAZY = {
    "build_assessment": "thrv.assess.assessment", "AssessConfig": "thrv.assess.config", "HarmError": "thrv.assess.harm",
    "PriorityError": "thrv.assess.priorities", "FORMATS": "thrv.assess.report", "write_assessment": "thrv.assess.report",
    "AreaError": "thrv.assess.scope", "parse_formats": "thrv.report.files",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "FORMATS",
    "AreaError",
    "AssessConfig",
    "HarmError",
    "PriorityError",
    "build_assessment",
    "parse_formats",
    "write_assessment",
]


class _CallablePackage(_types.ModuleType):
    """``thrv.assess(...)`` is the Python API's function even once this package is imported.

    Importing a subpackage sets it as an attribute of its parent, which would hide the
    function :func:`thrv.assess` behind this module; calling the module calls the function.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from thrv.api import assess

        return assess(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallablePackage
