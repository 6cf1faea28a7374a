"""Telemetry: exactly-once ingestion, hourly rollups, hourly archives, retention."""
