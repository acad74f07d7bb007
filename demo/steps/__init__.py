"""Each step's demo rows, in the flow's order; `seed_demo` calls them after the store."""
