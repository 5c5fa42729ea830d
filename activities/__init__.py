"""Activity blueprints: one thin adapter per activity over durableml.service."""
