import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rs1.admin.sessions import SessionBody
from rs1.api.devices import ShareBody
from rs1.identity.tokens import issue_token
from rs1.text import printable
from rs1.zones.model import ZoneConfig

REFUSED = ("Cc", "Cf", "Cs", "Zl", "Zp")
shown = st.text(st.characters(exclude_categories=REFUSED))
controls = st.characters(categories=REFUSED)


@given(shown)
def test_printable_names_pass_unchanged(value: str) -> None:
    assert printable(value) == value


@given(shown, controls, shown)
def test_any_control_or_format_character_is_refused(before: str, bad: str, after: str) -> None:
    with pytest.raises(ValueError, match=f"U\\+{ord(bad):04X}"):
        printable(before + bad + after)


@pytest.mark.parametrize("name", ["a\u0000b", "\u202eevil", "zero\u200bwidth", "line\u2028"])
def test_every_name_that_reaches_a_device_or_a_screen_refuses_them(name: str) -> None:
    zone = {"name": name, "type": "include", "vertices": [[0, 1000], [500, 1000], [0, 2000]]}
    with pytest.raises(ValidationError):
        ZoneConfig.model_validate({"zones": [zone]})
    with pytest.raises(ValidationError):
        SessionBody.model_validate({"sub": name})
    with pytest.raises(ValidationError):
        ShareBody.model_validate({"user_id": name})
    with pytest.raises(ValueError):
        issue_token("s" * 32, name, "user", 1_800_000_000.0)


def test_names_in_other_scripts_and_emoji_are_fine() -> None:
    zone = {
        "name": "Küche 🛋️ 客厅",
        "type": "include",
        "vertices": [[0, 1000], [500, 1000], [0, 2000]],
    }
    assert ZoneConfig.model_validate({"zones": [zone]}).zones[0].name == "Küche 🛋️ 客厅"
