"""The user-facing device API (/api/*) used by the zone editor."""
