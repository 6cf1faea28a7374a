"""Domain errors become HTTP answers in one place: status, code, headers."""

import pytest

from rs1 import errors
from rs1.http.error_map import STATUS, status_of, to_api_error


def kinds() -> list[type[errors.DomainError]]:
    found, todo = [], [errors.DomainError]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return [k for k in found if k.__module__ == "rs1.errors"]


def make(kind: type[errors.DomainError]) -> errors.DomainError:
    if kind is errors.RangeNotSatisfiable:
        return kind("Too far.", size=10)
    return kind("Went wrong.", details={"path": "x"})


@pytest.mark.parametrize("kind", [k for k in kinds() if k is not errors.DomainError])
def test_every_kind_has_a_4xx_or_5xx(kind: type[errors.DomainError]) -> None:
    err = to_api_error(make(kind))
    assert 400 <= err.status < 600 and err.code == kind.code
    assert err.message == make(kind).message


def test_a_finer_code_keeps_the_kinds_status() -> None:
    err = to_api_error(errors.Conflict("Taken.", code="already_claimed"))
    assert (err.status, err.code) == (409, "already_claimed")
    assert status_of(errors.TopicMismatch("x")) == STATUS[errors.Forbidden]


def test_only_a_bearer_refusal_challenges_for_a_bearer_token() -> None:
    assert to_api_error(errors.BearerRequired("x")).headers == {
        "www-authenticate": 'Bearer realm="rs1"'
    }
    assert to_api_error(errors.Unauthenticated("x")).headers == {}  # webhooks, devices


def test_an_unsatisfiable_range_names_the_size() -> None:
    assert to_api_error(make(errors.RangeNotSatisfiable)).headers == {"content-range": "bytes */10"}


@pytest.mark.parametrize("kind", kinds())
def test_prefixed_keeps_kind_code_and_details(kind: type[errors.DomainError]) -> None:
    original = make(kind)
    located = original.prefixed("envelope 3: ")
    assert type(located) is kind and located.code == original.code
    assert located.message == "envelope 3: " + original.message == str(located)
    assert located.details == original.details and original.message == str(original)
