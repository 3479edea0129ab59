"""thrv.assess."""
