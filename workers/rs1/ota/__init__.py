"""OTA: firmware artifacts, staged rollouts with statistical auto-abort, signed download URLs
(the download route itself is rs1.downloads)."""
