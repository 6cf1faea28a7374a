from rs1tools.schemas import main


def test_published_json_schemas_are_current() -> None:
    # Regenerate with `python -m rs1tools.schemas` after changing a payload model.
    assert main(["--check"]) == 0
