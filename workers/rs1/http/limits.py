"""Request body limits: refused with 413 before the body is read or parsed.

A Worker has 128 MB; Cloudflare refuses bodies over 100 MB at the edge. Our own limits are far
smaller and per route (README, "Limits"): what the largest legitimate request needs.
"""

KIB = 1024
MIB = 1024 * KIB

JSON_BODY = 64 * KIB  # device and admin JSON calls (16 zones of 12 vertices are ~3 KiB)
WEBHOOK_BODY = 64 * KIB  # one EMQX delivery: payloads are at most 4,096 characters
TELEMETRY_BATCH_BODY = 1 * MIB  # /webhook/telemetry takes up to 200 envelopes at once
ENROL_BATCH_BODY = 2 * MIB  # /admin/devices:batch: 10,000 devices of ~100 bytes
