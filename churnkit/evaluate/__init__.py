"""churnkit.evaluate."""
