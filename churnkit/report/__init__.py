"""churnkit.report."""
