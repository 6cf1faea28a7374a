"""One invocation's state: the global options, --json, and the API client (made on first use,
so commands that never call the API need no token)."""

from dataclasses import dataclass, field
from typing import Annotated

import typer

from rs1tools.rs1ctl import profiles
from rs1tools.rs1ctl.client import Api


@dataclass
class Ctl:
    profile: str = profiles.LOCAL
    api_override: str | None = None
    token_override: str | None = None
    json: bool = False
    _api: Api | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return profiles.api_url(self.profile, self.api_override)

    def api(self) -> Api:
        if self._api is None:
            token = profiles.token(self.profile, self.token_override)
            self._api = Api.connect(self.api_url, token)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


def ctl(ctx: typer.Context) -> Ctl:
    return ctx.ensure_object(Ctl)


def _json_flag(ctx: typer.Context, value: bool) -> bool:
    # Set on the shared state while parsing, so even an error raised before the command body
    # runs (token resolution) is reported as JSON; commands need not read the parameter.
    if value:
        ctl(ctx).json = True
    return value


JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Machine output: one JSON document on stdout.", callback=_json_flag
    ),
]
