"""Strategic needs assessment: threat, harm, risk and vulnerability, from the store.

Two entry points::

    model = build_assessment(store, first, last, area="Cambridgeshire Constabulary")
    write_assessment(model, Path("assessment"), formats=("html", "pdf", "xlsx"))

``build_assessment`` returns one JSON-able dict (every figure and test); every output is
rendered from it. Options are an :class:`AssessConfig`. Method: docs/assessment.md.
"""

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
