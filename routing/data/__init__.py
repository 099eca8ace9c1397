"""Package data: the reference network, emission factors and planning defaults (JSON)."""
