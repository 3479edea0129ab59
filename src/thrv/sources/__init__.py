"""thrv.sources."""
