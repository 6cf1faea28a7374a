"""RS-1 firmware tooling: signing, versions, test images and the simulated device OTA client."""
