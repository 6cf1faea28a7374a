"""Live radar targets: real fleet devices publish telemetry/targets through the broker and the
telemetry webhook; real WebSocket clients on GET /api/devices/{id}/targets receive them."""

import asyncio
import json
import os
import time
import uuid

import aiohttp
import httpx
import pytest

from helpers import random_mac
from rs1.identity.claim import claim_code
from rs1tools.fleet import Fleet, FleetConfig
from rs1tools.fleet.device import SimDevice
from rs1tools.fleet.identity import identity_from_row

# The Workers' LIVE_RECHECK_S: 1 on the session's local runtime; an external system says its own.
RECHECK_S = float(os.environ.get("RS1_LIVE_RECHECK_S", "1"))

PROTOCOL = "rs1.targets.v1"


@pytest.fixture(autouse=True)
def _needs_broker(system) -> None:
    if system.mqtt_port is None:
        pytest.skip("needs the system's MQTT broker (RS1_MQTT_PORT, RS1_EMQX_API_URL)")


@pytest.fixture
def sent_targets(monkeypatch) -> dict[str, dict[str, dict]]:
    """Every telemetry/targets payload the simulated devices publish: device -> id -> payload."""
    sent: dict[str, dict[str, dict]] = {}
    publish = SimDevice._publish

    async def recording(self, client, out) -> None:
        if out.topic.endswith("/telemetry/targets"):
            payload = json.loads(out.payload)
            sent.setdefault(self.device_id, {})[payload["message_id"]] = payload
        await publish(self, client, out)

    monkeypatch.setattr(SimDevice, "_publish", recording)
    return sent


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def targets_url(system, device_id: str) -> str:
    return f"{system.urls['device_api']}/api/devices/{device_id}/targets"


async def next_json(ws: aiohttp.ClientWebSocketResponse, within_s: float = 20) -> dict:
    message = await ws.receive(timeout=within_s)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def collect_targets(ws, count: int, within_s: float) -> list[dict]:
    frames: list[dict] = []
    deadline = time.monotonic() + within_s
    while len(frames) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(frames)} of {count} frames within {within_s} s"
        frame = await next_json(ws, left)
        if frame["type"] == "targets":
            frames.append(frame)
    return frames


def test_owner_and_viewer_watch_a_fleet_device_live(
    system, enroll, user_token, sent_targets
) -> None:
    owner_sub, viewer_sub, stranger_sub = (f"{r}-{uuid.uuid4().hex[:6]}" for r in "ovs")
    tokens = {sub: user_token(sub) for sub in (owner_sub, viewer_sub, stranger_sub)}
    macs = [random_mac(), random_mac()]
    enrolled = [enroll(mac) for mac in macs]
    watched, other = (
        identity_from_row({**e, "mac_address": m}) for e, m in zip(enrolled, macs, strict=True)
    )
    with httpx.Client(base_url=system.urls["device_api"], timeout=30) as api:
        claim = {"device_id": watched.device_id, "claim_code": claim_code(watched.device_secret)}
        claimed = api.post("/api/devices/claim", json=claim, headers=bearer(tokens[owner_sub]))
        assert claimed.status_code == 201, claimed.text
        share = api.post(
            f"/api/devices/{watched.device_id}/share",
            json={"user_id": viewer_sub},
            headers=bearer(tokens[owner_sub]),
        )
        assert share.status_code == 200, share.text
        # A plain GET is told to upgrade, in the API's JSON error shape.
        plain = api.get(
            f"/api/devices/{watched.device_id}/targets", headers=bearer(tokens[owner_sub])
        )
        assert plain.status_code == 426, plain.text
        assert plain.json()["error"] == "upgrade_required"
        assert "Upgrade: websocket" in plain.json()["message"]
        assert "upgrade" not in plain.headers  # hop-by-hop: workerd never passes it on
    config = FleetConfig(
        devices=2,
        duration_s=None,
        mqtt_port=system.mqtt_port,
        api=system.urls["device_api"],
        identities=(watched, other),
        telemetry_interval_s=0.5,
        duplicate_rate=0.3,  # redelivered copies must not reach watchers twice
        ramp_s=0.5,
        seed=5,
    )
    asyncio.run(
        scenario(
            system,
            config,
            watched.device_id,
            tokens,
            owner_sub,
            viewer_sub,
            stranger_sub,
            sent_targets,
        )
    )


async def scenario(system, config, device_id, tokens, owner_sub, viewer_sub, stranger_sub, sent):
    url = targets_url(system, device_id)
    async with aiohttp.ClientSession() as http:
        # Refusals happen before any upgrade: JSON errors with the usual statuses.
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, protocols=(PROTOCOL, f"bearer.{tokens[stranger_sub]}"))
        assert refused.value.status == 404
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, protocols=(PROTOCOL,))
        assert refused.value.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, protocols=("chat", f"bearer.{tokens[owner_sub]}"))
        assert refused.value.status == 400

        # The owner connects as a browser would (token as a subprotocol); the viewer with an
        # Authorization header. Both are greeted before any device speaks.
        owner = await http.ws_connect(url, protocols=(PROTOCOL, f"bearer.{tokens[owner_sub]}"))
        assert owner.protocol == PROTOCOL
        hello = await next_json(owner)
        assert hello == {
            "type": "hello",
            "protocol": PROTOCOL,
            "device_id": device_id,
            "watchers": 1,
        }
        viewer = await http.ws_connect(url, headers=bearer(tokens[viewer_sub]))
        assert viewer.protocol is None
        assert (await next_json(viewer))["watchers"] == 2

        async with Fleet(config) as fleet:
            assert await fleet.wait_until(lambda f: len(f.connected_ids()) == 2, within_s=30)
            owner_frames = await collect_targets(owner, 8, within_s=60)
            viewer_frames = await collect_targets(viewer, 4, within_s=30)
            await owner.send_str("ping")
            while (reply := await next_json(owner))["type"] != "pong":
                owner_frames.append(reply)

        for frames in (owner_frames, viewer_frames):
            ids = [f["message_id"] for f in frames]
            assert len(ids) == len(set(ids)), "a redelivered message reached a watcher twice"
            for frame in frames:
                assert frame["device_id"] == device_id  # never the other device's targets
                published = sent[device_id][frame["message_id"]]
                assert frame["targets"] == published["targets"]
                assert frame["ts"] == published["ts"]
        assert {f["message_id"] for f in viewer_frames} <= set(sent[device_id])

        # Clean closes, and a later watcher is greeted as the only one.
        await viewer.close()
        assert viewer.close_code == 1000
        await owner.close()
        assert owner.close_code == 1000
        again = await http.ws_connect(url, protocols=(PROTOCOL, f"bearer.{tokens[owner_sub]}"))
        assert (await next_json(again))["watchers"] == 1
        await again.close()


async def closed_with(ws: aiohttp.ClientWebSocketResponse, within_s: float) -> int | None:
    """Read frames until the server closes the socket; its close code."""
    deadline = time.monotonic() + within_s
    while (left := deadline - time.monotonic()) > 0:
        message = await ws.receive(timeout=left)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            return ws.close_code
    return None


def test_unshared_and_logged_out_watchers_are_closed(system, enroll, user_token) -> None:
    owner_sub, viewer_sub = (f"{r}-{uuid.uuid4().hex[:6]}" for r in "ov")
    tokens = {sub: user_token(sub) for sub in (owner_sub, viewer_sub)}
    mac = random_mac()
    device = identity_from_row({**enroll(mac), "mac_address": mac})
    api = httpx.Client(base_url=system.urls["device_api"], timeout=30)
    owner_auth = bearer(tokens[owner_sub])
    claim = {"device_id": device.device_id, "claim_code": claim_code(device.device_secret)}
    assert api.post("/api/devices/claim", json=claim, headers=owner_auth).status_code == 201
    share = {"user_id": viewer_sub}
    shared = api.post(f"/api/devices/{device.device_id}/share", json=share, headers=owner_auth)
    assert shared.status_code == 200
    config = FleetConfig(devices=1, duration_s=None, mqtt_port=system.mqtt_port,
                         api=system.urls["device_api"], identities=(device,),
                         telemetry_interval_s=0.5, ramp_s=0.2, seed=9)  # fmt: skip

    async def scenario() -> None:
        url = targets_url(system, device.device_id)
        async with aiohttp.ClientSession() as http:
            owner = await http.ws_connect(url, protocols=(PROTOCOL, f"bearer.{tokens[owner_sub]}"))
            viewer = await http.ws_connect(url, headers=bearer(tokens[viewer_sub]))
            async with Fleet(config):
                await collect_targets(owner, 2, within_s=60)
                await collect_targets(viewer, 2, within_s=30)
                # Unshared: the viewer's socket is closed (4403); the owner keeps watching.
                gone = await asyncio.to_thread(
                    api.delete, f"/api/devices/{device.device_id}/share/{viewer_sub}",
                    headers=owner_auth,
                )  # fmt: skip
                assert gone.status_code == 204
                assert await closed_with(viewer, within_s=RECHECK_S + 15) == 4403
                await collect_targets(owner, 2, within_s=15)
                # Logged out: the owner's own socket ends too (4401).
                out = await asyncio.to_thread(api.post, "/api/auth/logout", headers=owner_auth)
                assert out.status_code == 204
                assert await closed_with(owner, within_s=RECHECK_S + 15) == 4401

    try:
        asyncio.run(scenario())
    finally:
        api.close()
