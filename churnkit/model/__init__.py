"""churnkit.model."""
