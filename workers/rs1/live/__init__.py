"""Live radar targets: a device's telemetry/targets pushed to its watchers over a WebSocket.

    owner ──GET /api/devices/{id}/targets (Upgrade: websocket)──▶ rs1-device-api (auth)
          ──▶ Durable Object DeviceTargets, idFromName(id) ──101 + WebSocket──▶ owner
    device ──MQTT──▶ EMQX ──/webhook/telemetry──▶ rs1-telemetry (stored exactly once)
          ──(deferred, only if KV RS1_CACHE live:{id} is set)──▶ the same object ──▶ sockets

Runtime-free like the rest of `rs1`: the WebSocketPair, the hibernation API and the Durable
Object stub live in `rs1.platform.live_objects`; the route that opens a socket is
`rs1.api.live` (its `watcher` auth is rs1.auth.guards). This package decides who may keep
watching, what a frame looks like, when a device counts as watched and which frames a socket
gets.
"""
