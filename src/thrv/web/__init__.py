"""thrv.web."""
