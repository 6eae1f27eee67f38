"""churnkit.datasets."""
