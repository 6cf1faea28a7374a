"""The device contract: what an RS-1 and the cloud agree on, imported by both sides.

MQTT topics (`topics`) and payloads (`payloads`), the OTA messages (`ota`), semantic versions
(`semver`) and the signed-firmware manifest (`manifest`). The Workers (`rs1`) and the
device-side client (`firmware/rs1fw`) import it; it imports neither.
"""
