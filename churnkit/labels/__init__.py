"""churnkit.labels."""
