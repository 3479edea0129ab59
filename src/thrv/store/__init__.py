"""thrv.store."""
