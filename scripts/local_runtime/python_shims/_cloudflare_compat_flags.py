"""Stand-in for workerd's `_cloudflare_compat_flags` (local runtime only).

Flags named in wrangler.toml's compatibility_flags are switched on by the real runtime;
everything else reads False here, as the SDK's .pyi stub allows.
"""


def __getattr__(name: str) -> bool:
    return False
