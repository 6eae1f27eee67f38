"""churnkit.data."""
