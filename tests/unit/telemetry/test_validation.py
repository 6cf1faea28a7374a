"""rs1.validation: untrusted JSON refused as domain errors, with the words clients always saw."""

import pytest
from rs1contract.payloads import TELEMETRY_KINDS

from rs1 import validation
from rs1.errors import DomainError, InvalidInput, Unprocessable
from rs1.zones.model import ZoneConfig

HEALTH = TELEMETRY_KINDS["health"]


def refusal(call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


def test_not_an_object() -> None:
    err = refusal(lambda: validation.validate(HEALTH, [], "invalid_payload", "payload"))
    assert type(err) is InvalidInput and err.code == "invalid_payload"
    assert (err.message, err.details) == ("The payload must be a JSON object.", None)


def test_the_first_offending_path_is_named_and_all_are_listed() -> None:
    data = {"message_id": "m", "ts": 1, "uptime_s": "long", "free_heap": 1, "rssi": -1}
    err = refusal(lambda: validation.validate(HEALTH, data, "invalid_payload", "payload"))
    assert err.message == (
        "Invalid payload at 'uptime_s': Input should be a valid integer, "
        "unable to parse string as an integer."
    )
    assert err.details == [
        {
            "path": "uptime_s",
            "message": "Input should be a valid integer, unable to parse string as an integer",
        },
        {"path": "radar_ok", "message": "Field required"},
    ]


def test_another_kind_of_refusal() -> None:
    data = {"zones": [], "sensitivity": 99}
    err = refusal(lambda: validation.validate(ZoneConfig, data, "z", "zone config", Unprocessable))
    assert type(err) is Unprocessable and err.code == "z"
    assert err.message == (
        "Invalid zone config at 'sensitivity': Input should be less than or equal to 10."
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "The payload is not JSON: Expecting property name enclosed in double quotes: "
              "line 1 column 2 (char 1)."),
        ("[1]", "The payload must be a JSON object."),
    ],
)  # fmt: skip
def test_json_object(text: str, message: str) -> None:
    err = refusal(lambda: validation.json_object(text, "invalid_payload", "payload"))
    assert (type(err), err.code, err.message) == (InvalidInput, "invalid_payload", message)
    assert validation.json_object('{"a": 1}', "c", "payload") == {"a": 1}
