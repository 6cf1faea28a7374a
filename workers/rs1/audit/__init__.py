"""The audit trail: one append-only record per mutating call, written in the change's batch."""
