"""How rs1broker's commands run (typer + rich, like the repository's other CLIs, whose
helper this package does not import): `main(argv)` returns the exit code."""

import typer


def run(app: typer.Typer, argv: list[str] | None, prog: str) -> int:
    try:
        app(args=argv, prog_name=prog)
    except SystemExit as exc:  # typer (click) always exits, 0 included
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
