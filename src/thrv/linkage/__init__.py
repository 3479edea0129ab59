"""thrv.linkage."""
