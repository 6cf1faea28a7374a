"""R2 reads through rs1-ota's signed download: whole, ranged (206) and past the end (416),
byte-exact, with the ETag R2 metadata gives (the image's SHA-256)."""

import base64
import time
import uuid
from urllib.parse import urlsplit

from rs1contract.topics import device_topic
from rs1fw.images import build_image
from rs1fw.signing import sign_image

from rs1.identity.keys import hour_of, mqtt_password


def test_ranged_reads_are_byte_exact(admin, webhook, ota, enroll, firmware_keys) -> None:
    model = "R" + uuid.uuid4().hex[:8]
    image = build_image(model, "1.0.1", 200_003)  # odd size: the last range is short
    manifest = sign_image(image, firmware_keys.private_pem, model, "1.0.1")
    header = {"x-rs1-manifest": base64.b64encode(manifest.model_dump_json().encode()).decode()}
    assert (
        admin.put(f"/admin/firmware/{model}/1.0.1", content=image, headers=header).status_code
        == 201
    )
    device = enroll(model=model)
    me, now = device["device_id"], int(time.time() * 1000)
    state = {"clientid": me, "username": me, "topic": device_topic(me, "state"),
             "payload": '{"online": true, "firmware_version": "1.0.0"}',
             "timestamp": now, "publish_received_at": now}  # fmt: skip
    assert webhook.post("/webhook/device-state", json=state).status_code == 200
    body = {
        "firmware_version": "1.0.1",
        "model": model,
        "stages": [{"percent": 100}],
        "policy": {"health": {"soak_minutes": 0}},
    }
    assert admin.post("/admin/rollouts", json=body).status_code == 201
    password = mqtt_password(device["device_secret"], me, hour_of(time.time()))
    offer = ota.get(
        f"/firmware/{model}/offer", headers={"x-device-id": me, "x-device-password": password}
    )
    link = urlsplit(offer.json()["url"])
    path = f"{link.path}?{link.query}"
    whole = ota.get(path)
    assert whole.status_code == 200 and whole.content == image
    assert whole.headers["etag"] == f'"{manifest.sha256}"'
    for first, last in ((0, 0), (65_536, 131_071), (199_999, None)):
        spec = f"bytes={first}-{'' if last is None else last}"
        part = ota.get(path, headers={"range": spec})
        end = len(image) - 1 if last is None else last
        assert part.status_code == 206 and part.content == image[first : end + 1], spec
        assert part.headers["content-range"] == f"bytes {first}-{end}/{len(image)}"
    assert ota.get(path, headers={"range": f"bytes={len(image)}-"}).status_code == 416
