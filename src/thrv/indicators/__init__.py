"""thrv.indicators."""
