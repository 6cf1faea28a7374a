"""Racing requests over HTTP against the running Workers: the database decides who wins.

(tests/unit/test_check_then_write.py explores the interleavings of each path statement by
statement; these show the same rules hold through the whole stack.)
"""

import uuid

from helpers import at_once, random_mac
from rs1.identity.claim import claim_code


def test_racing_claims_make_one_owner(as_user, enroll) -> None:
    device = enroll()
    me = device["device_id"]
    body = {"device_id": me, "claim_code": claim_code(device["device_secret"])}
    users = {f"racer{i}-{uuid.uuid4().hex[:6]}": None for i in range(10)}
    clients = {sub: as_user(sub) for sub in users}
    answers = at_once(
        [lambda c=c: c.post("/api/devices/claim", json=body) for c in clients.values()]
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 9, codes
    assert all(a.json()["error"] == "already_claimed" for a in answers if a.status_code == 409)
    roles = [c.get(f"/api/devices/{me}") for c in clients.values()]
    assert sorted(r.status_code for r in roles) == [200] + [404] * 9
    assert [r.json()["role"] for r in roles if r.status_code == 200] == ["owner"]


def test_racing_enrolments_of_one_mac_enrol_it_once(admin, system) -> None:
    mac = random_mac()
    clients = [system.client("device_api") for _ in range(6)]
    for c in clients:
        c.headers.update(admin.headers)
    answers = at_once(
        [lambda c=c: c.post("/admin/devices", json={"mac_address": mac}) for c in clients]
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 5, codes  # never a 503 for the loser of the race


def test_racing_shares_make_one_viewer(as_user, enroll) -> None:
    device = enroll()
    me = device["device_id"]
    owner = as_user(f"sharer-{uuid.uuid4().hex[:6]}")
    body = {"device_id": me, "claim_code": claim_code(device["device_secret"])}
    assert owner.post("/api/devices/claim", json=body).status_code == 201
    viewer = f"viewer-{uuid.uuid4().hex[:6]}"
    answers = at_once(
        [lambda: owner.post(f"/api/devices/{me}/share", json={"user_id": viewer})] * 8
    )
    assert [a.status_code for a in answers] == [200] * 8
    assert as_user(viewer).get(f"/api/devices/{me}").json()["role"] == "viewer"
