"""How the repository's own CLIs run (typer + rich, like rs1ctl): `main(argv)` runs a typer
app and returns its exit code, so `python -m` and callers that pass an argv list both work."""

import typer


def run(app: typer.Typer, argv: list[str] | None, prog: str) -> int:
    try:
        app(args=argv, prog_name=prog)
    except SystemExit as exc:  # typer (click) always exits, 0 included
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
