"""OTA: firmware artifacts, staged rollouts with statistical auto-abort, signed downloads."""
