"""Daily logical backups of D1 to R2 (D1's dump() is not available to Workers)."""
