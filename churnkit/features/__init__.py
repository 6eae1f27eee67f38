"""churnkit.features."""
