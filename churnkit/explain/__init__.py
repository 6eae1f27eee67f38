"""churnkit.explain."""
