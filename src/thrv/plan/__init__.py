"""The Police and Crime Plan: a plan file, its figures, the plan on a page and theme reports.

- :mod:`thrv.plan.spec`: the plan file (themes → shared outcome → aim → priorities →
  indicators), loaded and checked;
- :mod:`thrv.plan.figures`: every plan indicator resolved for a month: thrv's own (the
  pack's row), a generic measure (:mod:`thrv.plan.measures`) or a survey split by crime
  type (:mod:`thrv.plan.surveys`);
- :mod:`thrv.plan.model` and :mod:`thrv.plan.render`: the plan on a page and the theme
  reports as JSON, HTML, PDF and Excel;
- :mod:`thrv.plan.generate`: a generated measures file for demonstrations and tests.
"""

from thrv.plan.figures import PlanFigures, build_plan_figures
from thrv.plan.model import plan_model, theme_model
from thrv.plan.spec import Plan, PlanError, load_plan

__all__ = ["Plan", "PlanError", "PlanFigures", "build_plan_figures", "load_plan", "plan_model", "theme_model"]
