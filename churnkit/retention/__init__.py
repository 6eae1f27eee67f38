"""churnkit.retention."""
