"""Strategic needs assessment: threat, harm, risk and vulnerability, from the store.

Two entry points::

    model = build_assessment(store, first, last, area="Cambridgeshire Constabulary")
    write_assessment(model, Path("assessment"), formats=("html", "pdf", "xlsx"))

``build_assessment`` returns one JSON-able dict (every figure and test); every output is
rendered from it. Options are an :class:`AssessConfig`. Method: docs/assessment.md.
"""

import sys as _sys
import types as _types
from typing import Any

from thrv.assess.assessment import build_assessment
from thrv.assess.config import AssessConfig
from thrv.assess.harm import HarmError
from thrv.assess.priorities import PriorityError
from thrv.assess.report import FORMATS, write_assessment
from thrv.assess.scope import AreaError
from thrv.report.files import parse_formats

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
