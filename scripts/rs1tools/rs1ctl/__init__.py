"""rs1ctl — the ops command line of RS-1 Cloud (typer + rich), `bin/rs1ctl` or
`python -m rs1tools.rs1ctl` with PYTHONPATH=workers:scripts:emqx:firmware.

    rs1ctl [--profile local|production|NAME] [--api URL] [--token T] COMMAND ... [--json]
    rs1ctl token | login | profiles
    rs1ctl devices list|search|show|tag|revoke|enable|diag|enroll|enroll-batch
    rs1ctl firmware build|sign|verify|publish|list
    rs1ctl rollouts create|list|show|pause|resume|advance|abort|watch
    rs1ctl fleet status · alerts list · audit tail|verify · keys create|list|revoke
    rs1ctl events list|deliveries|redeliver · events endpoints add|list|enable|disable|remove

The API is --api / RS1_API_URL, else the profile's (profiles.json, or built in: local =
http://127.0.0.1:8787, production = https://api.optic.works). The token is --token, else
RS1_TOKEN / RS1_ADMIN_TOKEN, else the one `rs1ctl login` saved for the profile, else (local
only) a fresh admin session written into the local state (RS1_STATE_DIR, default .state).
Tokens are signed with JWT_SECRET (environment, else .dev.vars) and live only while their
session is in KV SESSIONS: `token` writes it there with wrangler (the local state, or
Cloudflare with --remote [--env production]).

--json on any command prints exactly one JSON document on stdout (the answer, or the API's
error {"error", "message", "request_id"}); `rollouts watch` and `audit tail --follow` print
JSON lines. Human output (rich tables) goes to stdout, notes and errors to stderr.

Exit codes: 0 ok; 1 generic failure (a watched rollout aborted); 2 usage error; 3 not found
(404); 4 auth (401/403, no token); 5 conflict (409); 6 invalid input (400/413/422, invalid
MACs in enroll-batch); 7 server error or unavailable (5xx, 429, transport); 8 verification
failed (firmware verify, audit verify); 9 timeout (devices diag, rollouts watch).

The batch secrets file (`devices enroll-batch --out`) is what the factory burns into
devices: mode 0600, keep it off shared disks.
"""

from rs1tools.rs1ctl.enrolment import BATCH, admin_token, enroll_batch, read_macs, write_secrets

__all__ = ["BATCH", "admin_token", "enroll_batch", "read_macs", "write_secrets"]
