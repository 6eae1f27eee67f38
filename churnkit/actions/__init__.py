"""churnkit.actions."""
