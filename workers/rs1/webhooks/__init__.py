"""rs1-telemetry's EMQX webhooks."""
