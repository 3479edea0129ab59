"""thrv.demand."""
