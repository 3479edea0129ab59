"""thrv: performance packs, needs assessments and multi-agency insight from police records."""

__version__ = "0.1.0"
