"""Layer 5 faces that render HTML: the run report (and later the dashboard)."""
