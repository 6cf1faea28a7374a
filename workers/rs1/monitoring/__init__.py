"""Monitoring: the spec's alert thresholds, evaluated every 5 minutes; API request stats."""
