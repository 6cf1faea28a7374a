"""The ops admin API on rs1-device-api (/admin/*)."""
