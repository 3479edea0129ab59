"""thrv.report."""
