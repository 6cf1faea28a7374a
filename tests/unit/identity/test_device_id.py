import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rs1.identity.device_id import InvalidMac, device_id_from_mac, is_device_id, normalize_mac

macs = st.binary(min_size=6, max_size=6)


def spellings(raw: bytes) -> list[str]:
    hexes = [f"{b:02x}" for b in raw]
    return [":".join(hexes).upper(), "-".join(hexes), "".join(hexes), ":".join(hexes)]


@given(macs)
def test_every_spelling_of_a_mac_gives_one_device_id(raw: bytes) -> None:
    ids = {device_id_from_mac(s) for s in spellings(raw)}
    assert len(ids) == 1
    (device_id,) = ids
    assert re.fullmatch(r"[0-9a-f]{32}", device_id) and is_device_id(device_id)


@given(macs, macs)
def test_different_macs_give_different_ids(a: bytes, b: bytes) -> None:
    if a != b:
        assert device_id_from_mac(a.hex()) != device_id_from_mac(b.hex())


def test_known_vector_pins_the_derivation() -> None:
    # Factory tools and firmware compute this too: changing it would orphan every device.
    assert normalize_mac("aa-bb-cc-dd-ee-ff") == "AA:BB:CC:DD:EE:FF"
    assert device_id_from_mac("AA:BB:CC:DD:EE:FF") == "6a593b44a1624982b3a5ef42a9659376"


@given(st.text(max_size=40))
def test_anything_else_is_rejected(text: str) -> None:
    try:
        normalize_mac(text)
    except InvalidMac:
        return
    assert len(text.replace(":", "").replace("-", "")) == 12


@pytest.mark.parametrize(
    "bad", ["", "AA:BB:CC:DD:EE", "AA:BB:CC:DD:EE:FG", "AA:BB-CC:DD:EE:FF", "AABBCCDDEEFF00"]
)
def test_malformed_macs(bad: str) -> None:
    with pytest.raises(InvalidMac):
        normalize_mac(bad)
