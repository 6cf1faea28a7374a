"""The root of rs1ctl: global options, the command groups, and error reporting (a CtlError
anywhere becomes the API's error JSON and rs1ctl's exit code)."""

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from rs1tools.cli import run as run_cli
from rs1tools.rs1ctl import (
    alerts,
    audit,
    auth,
    devices,
    events,
    firmware,
    fleet,
    keys,
    output,
    profiles,
    rollouts,
)
from rs1tools.rs1ctl.exits import MEANING, CtlError, Exit
from rs1tools.rs1ctl.state import Ctl, JsonOpt, ctl

HELP = """Ops command line for RS-1 Cloud's admin API.

Which API: --profile (local, production, or one saved by login) or --api URL / RS1_API_URL.
Which token: --token, else RS1_TOKEN / RS1_ADMIN_TOKEN, else the one `rs1ctl login` saved for
the profile, else (local profile only) a fresh admin session minted into the local state.

Every command takes --json: exactly one JSON document on stdout (errors too: the API's
{"error", "message", "request_id"}); watch and --follow print JSON lines."""

EPILOG = "**Exit codes**\n\n" + "\n".join(f"- {int(c)} {m}" for c, m in MEANING.items())


class CtlGroup(TyperGroup):
    """Reports errors raised anywhere below: as JSON on stdout with --json, else on stderr."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except CtlError as exc:
            output.report_error(ctl(ctx), exc)
            if exc.exit_code == Exit.AUTH and not ctl(ctx).json:
                output.note(f"sign in: rs1ctl --profile {ctl(ctx).profile} login")
            raise typer.Exit(exc.exit_code) from None
        except TyperException as exc:  # usage errors of subcommands
            if not ctl(ctx).json:
                raise
            error = "usage" if exc.exit_code == Exit.USAGE else "failure"
            output.json_line({"error": error, "message": exc.format_message(), "request_id": None})
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=CtlGroup,
    name="rs1ctl",
    help=HELP,
    epilog=EPILOG,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,  # locals hold tokens
)
app.add_typer(devices.app, name="devices")
app.add_typer(firmware.app, name="firmware")
app.add_typer(rollouts.app, name="rollouts")
app.add_typer(fleet.app, name="fleet")
app.add_typer(alerts.app, name="alerts")
app.add_typer(audit.app, name="audit")
app.add_typer(events.app, name="events")
app.add_typer(keys.app, name="keys")
app.command("token")(auth.token_cmd)
app.command("login")(auth.login_cmd)
app.command("profiles")(auth.profiles_cmd)


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str, typer.Option(envvar="RS1_PROFILE", help="local, production or a saved name")
    ] = profiles.LOCAL,
    api: Annotated[
        str | None, typer.Option(envvar="RS1_API_URL", help="API base URL (beats the profile's)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(help="Bearer token or API key (beats RS1_TOKEN)", show_default=False),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    state = Ctl(profile=profile, api_override=api, token_override=token, json=json_out)
    ctx.obj = state
    ctx.call_on_close(state.close)


def main(argv: list[str] | None = None) -> int:
    return run_cli(app, argv, "rs1ctl")


if __name__ == "__main__":
    sys.exit(main())
