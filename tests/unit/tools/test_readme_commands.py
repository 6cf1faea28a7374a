"""Every shell command a README shows runs as written, from the repository root.

A reader types README commands into a plain shell on a fresh clone, after the bootstrap
(`make setup`): no PYTHONPATH, no `.venv/bin` or the bootstrap's Node on PATH, perhaps no
`python` at all (only `python3`), and the Python dependencies only in `.venv`. So each shell
block of each README (fenced as bash/sh/shell/zsh, or an indented code block) runs here
with what that reader has:

- in a sandbox: a copy of the clone's files (tracked and untracked-but-not-ignored) in a
  temporary directory, with the bootstrap's `.venv`, `node_modules` and `python_modules`
  linked in. Other gitignored state (`firmware/keys/`, `.dev.vars`, `.state`) is absent.
  Files a command writes (`f.bin`, keys) land in the sandbox;
- with a clean environment: PATH without this checkout's directories or an active
  virtualenv, no PYTHONPATH, no VIRTUAL_ENV; cwd = the sandbox's root;
- as one bash script per block (`set -euxo pipefail`), so a block's `export`s and `cd`s
  carry over to its later lines as they do in the reader's shell. One command per line; a
  trailing backslash continues it.

Placeholders. `[optional parts]` make the block run twice in the same sandbox: first with
every bracketed part dropped (what a fresh clone runs first), then with every one kept, an
`a|b` inside one kept as `a` (the second pass sees the first one's files, as a machine after
setup has its keypair). `<name>` is replaced from PLACEHOLDERS; an unknown one fails.

Commands that cannot run in a unit test are listed in SKIPPED with the reason; each still
gets the offline check given there, if any (`make -n`, `--dry-run`, `--help`, test
collection), so its interpreter, PYTHONPATH and imports are checked as written. Everything
else runs (with a timeout), except that make/npm/npx/wrangler/pip commands fail unless listed
in SKIPPED: a README that gains a command either runs it here or lists it in SKIPPED. Python
run from PATH (`python`, `python3`, `pytest`) and a `cd` to an absolute path fail before
anything runs. A code block in a language this file does not know, an unlabelled block not in
NOT_COMMANDS, and a SKIPPED or NOT_COMMANDS entry that nothing uses all fail.
"""

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

# Linked into each sandbox: what `make setup` makes, too big to copy.
BOOTSTRAP_OUTPUTS = (".venv", "node_modules", "python_modules")

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "zsh"})
OTHER_LANGUAGES = frozenset(
    {"json", "python", "py", "js", "javascript", "ts", "toml", "yaml", "ini", "sql", "text"}
)

# Unlabelled fences that show no command: (README, start of the block's first line) -> what.
NOT_COMMANDS = {
    ("README.md", "RS-1 devices ──MQTT/TLS──▶ EMQX"): "the architecture diagram",
}

# `<name>` in a command -> the value the test uses.
PLACEHOLDERS = {
    "emqx": "emqx.example.com",  # README.md, Deploying: your EMQX's host
}

BLOCK_TIMEOUT_S = 60

# Never run, whatever their arguments: every make target bootstraps through scripts/setup.sh
# and npm/npx install or reach the network, which would write through the sandbox's links
# into this checkout's .venv and node_modules. Such a command must be listed in SKIPPED.
NEVER_RUN = frozenset({"make", "npm", "npx", "wrangler", "pip", "pip3"})


def _make_dry_run(tokens: list[str]) -> list[str]:
    return ["make", "-n", *tokens[1:]]


def _python_help(tokens: list[str]) -> list[str]:
    return [*tokens[: tokens.index("-m") + 2], "--help"]


def _append(*extra: str) -> Callable[[list[str]], list[str]]:
    return lambda tokens: [*tokens, *extra]


@dataclass(frozen=True)
class Skip:
    """A command that is not run: its words after any leading VAR=value, and why."""

    prefix: tuple[str, ...]
    reason: str
    check: Callable[[list[str]], list[str]] | None  # the offline stand-in, from its words


SKIPPED = (
    Skip(("bin/rs1ctl",), "talks to a running admin API", _append("--help")),
    Skip(
        ("make", "demo"),
        "starts 3 Workers, the broker and a 100-device fleet for minutes",
        _make_dry_run,  # the target exists
    ),
    Skip(("make", "test"), "lint and the whole test suite, this test included", _make_dry_run),
    Skip(
        ("npx", "wrangler", "d1", "migrations", "apply", "rs1-production", "--remote"),
        "changes the production D1: Cloudflare credentials and network",
        None,
    ),
    Skip(
        ("npx", "wrangler", "queues", "create"),
        "creates a Cloudflare Queue: Cloudflare credentials and network",
        None,
    ),
    Skip(
        ("npx", "wrangler", "deploy", "--env", "production"),
        "uploads to Cloudflare (the offline `--dry-run` of it is `make deploy-check`, tested)",
        None,
    ),
    Skip(
        ("npx", "wrangler", "pages", "deploy"),
        "uploads the console to Cloudflare Pages: Cloudflare credentials and network",
        None,
    ),
    Skip(
        (".venv/bin/python", "-m", "rs1tools.emqx_apply"),
        "configures a running EMQX over the network",
        _append("--dry-run"),  # the same command, printing its requests instead
    ),
    Skip(
        (".venv/bin/python", "-m", "rs1broker"),
        "an MQTT and HTTP server that runs until Ctrl-C",
        _python_help,
    ),
    Skip(
        ("npx", "wrangler", "d1", "migrations", "apply", "DB", "--local"),
        "the first step of running on workerd, which needs internet for its Python runtime",
        None,
    ),
    Skip(
        ("npx", "wrangler", "dev"),
        "workerd downloads its Python runtime at start: needs internet (checked here with a "
        "locally built runtime, ../shared/workerd-kit, which CI does not have)",
        None,
    ),
    Skip(
        (".venv/bin/python", "-m", "pytest"),
        "a test suite (the runtime-contract one starts or needs a running system); `make test`",
        _append("--collect-only", "-q", "-p", "no:cacheprovider"),
    ),
)


# ---- reading the READMEs ----


@dataclass(frozen=True)
class Block:
    readme: str  # relative to the repository root
    line: int  # 1-based line of the block's first line of content
    language: str  # "" for an unlabelled fence or an indented block
    indented: bool
    text: str

    @property
    def id(self) -> str:
        return f"{self.readme}:{self.line}"


FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\s`]*)")
LIST_ITEM = re.compile(r"^(?P<indent> {0,3})(?:[-*+]|\d+[.)])(?P<gap> +)\S")


def _clone_files() -> list[str]:
    """What a fresh clone has: tracked files, and untracked ones git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [n for n in listed.split("\0") if n]


def _readmes() -> list[Path]:
    names = [n for n in _clone_files() if re.fullmatch(r"(?i)readme(\.md)?", Path(n).name)]
    return sorted(REPO / n for n in names if (REPO / n).is_file())


def _blocks(path: Path) -> list[Block]:
    """Fenced blocks (also indented ones, inside list items) and indented code blocks."""
    readme = path.relative_to(REPO).as_posix()
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    list_indent: int | None = None  # content indent of the list item we are in
    previous_blank = True
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            indent, mark = len(fence["indent"]), fence["fence"]
            if indent < (list_indent or 0):
                list_indent = None  # a fence left of the item's content ends the list
            body: list[str] = []
            i += 1
            while i < len(lines) and not re.fullmatch(
                rf" *{re.escape(mark[0])}{{{len(mark)},}}\s*", lines[i]
            ):
                body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
                i += 1
            blocks.append(
                Block(readme, i - len(body) + 1, fence["info"].lower(), False, "\n".join(body))
            )
            i += 1
            previous_blank = False
            continue
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if not stripped:
            previous_blank = True
            i += 1
            continue
        item = LIST_ITEM.match(line)
        if item:
            list_indent = len(item["indent"]) + 1 + len(item["gap"])
        elif indent >= (list_indent or 0) + 4 and previous_blank:
            start = i
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" " * indent)):
                body.append(lines[i][indent:])
                i += 1
            blocks.append(Block(readme, start + 1, "", True, "\n".join(body).rstrip()))
            previous_blank = True
            continue
        elif indent == 0:
            list_indent = None
        previous_blank = False
        i += 1
    return blocks


def _all_blocks() -> list[Block]:
    return [block for path in _readmes() for block in _blocks(path)]


def _is_shell(block: Block) -> bool:
    return block.language in SHELL_LANGUAGES or block.indented


def _not_a_command(block: Block) -> tuple[str, str] | None:
    """The NOT_COMMANDS key of an unlabelled fence, if it is listed there."""
    first = block.text.strip().splitlines()[0].strip() if block.text.strip() else ""
    for readme, start in NOT_COMMANDS:
        if block.language == "" and block.readme == readme and first.startswith(start):
            return readme, start
    return None


def _commands(block: Block) -> list[str]:
    """One command per line; a trailing backslash continues it; comment lines dropped."""
    commands: list[str] = []
    pending = ""
    for line in block.text.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1].rstrip() + " "
            continue
        command = (pending + line.strip()).strip()
        pending = ""
        if command and not command.startswith("#"):
            commands.append(command)
    assert not pending.strip(), f"{block.id}: the block ends in a line continuation"
    return commands


# ---- instantiating commands ----

OPTIONAL = re.compile(r"\s*\[([^\[\]]*)\]")
PLACEHOLDER = re.compile(r"<([A-Za-z_][\w.-]*)>")
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _instantiate(command: str, keep_optional: bool) -> str:
    if keep_optional:
        command = OPTIONAL.sub(
            lambda m: " " + re.sub(r"(\S+?)(?:\|\S+)+", r"\1", m[1].strip()), command
        )
    else:
        command = OPTIONAL.sub("", command)

    def fill(m: re.Match[str]) -> str:
        if m[1] not in PLACEHOLDERS:
            raise KeyError(f"placeholder <{m[1]}> in {command!r}: add it to PLACEHOLDERS")
        return PLACEHOLDERS[m[1]]

    return PLACEHOLDER.sub(fill, command)


def _split(command: str) -> tuple[list[str], list[str]]:
    """(leading VAR=value assignments, the words after them)."""
    tokens = shlex.split(command, comments=True)
    n = 0
    while n < len(tokens) and ASSIGNMENT.match(tokens[n]):
        n += 1
    return tokens[:n], tokens[n:]


def _skip_for(command: str) -> Skip | None:
    _, words = _split(command)
    for skip in SKIPPED:
        if tuple(words[: len(skip.prefix)]) == skip.prefix:
            return skip
    return None


def _script(block: Block, keep_optional: bool) -> str:
    lines = ["set -euxo pipefail"]
    for command in _commands(block):
        command = _instantiate(command, keep_optional)
        skip = _skip_for(command)
        if skip is None:
            lines.append(command)
        elif skip.check is not None:
            assignments, words = _split(command)
            lines.append(shlex.join([*assignments, *skip.check(words)]))
    return "\n".join(lines) + "\n"


# ---- running them ----


def _user_env() -> dict[str, str]:
    """What a shell on a fresh clone has: nothing of this checkout or of a virtualenv."""
    venv = os.environ.get("VIRTUAL_ENV")
    excluded = [REPO.resolve()] + ([Path(venv).resolve()] if venv else [])
    path = [
        entry
        for entry in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
        if entry and not any(Path(entry).resolve().is_relative_to(e) for e in excluded)
    ]
    env = {"PATH": os.pathsep.join(path), "LANG": "C.UTF-8"}
    for name in ("HOME", "USER", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _sandbox(dest: Path) -> Path:
    for name in _clone_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(REPO / name, dest / name, follow_symlinks=False)
        except (FileNotFoundError, IsADirectoryError):
            continue  # deleted in the working tree (since git listed it)
    for name in BOOTSTRAP_OUTPUTS:
        if (REPO / name).exists():
            (dest / name).symlink_to(REPO / name)
    return dest


def _run(script: str, cwd: Path) -> tuple[int | None, str]:
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=cwd,
        env=_user_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output
    return process.returncode, output


# ---- the tests ----

BLOCKS = _all_blocks()
SHELL_BLOCKS = [block for block in BLOCKS if _is_shell(block)]


def test_every_code_block_is_a_known_kind() -> None:
    assert SHELL_BLOCKS, "no shell block found in any README"
    unknown = [
        f"{block.id} ({block.language or 'unlabelled'})"
        for block in BLOCKS
        if not _is_shell(block)
        and block.language not in OTHER_LANGUAGES
        and not _not_a_command(block)
    ]
    assert not unknown, (
        "code blocks of unknown kind (label shell ones bash/sh; add a language to "
        f"OTHER_LANGUAGES or an unlabelled non-command to NOT_COMMANDS): {unknown}"
    )
    used = {_not_a_command(block) for block in BLOCKS} - {None}
    assert used == set(NOT_COMMANDS), (
        f"NOT_COMMANDS entries no README has: {set(NOT_COMMANDS) - used}"
    )


def test_every_skip_is_used() -> None:
    used = set()
    for block in SHELL_BLOCKS:
        for command in _commands(block):
            with contextlib.suppress(KeyError):  # unknown placeholders fail the test below
                used.add(_skip_for(_instantiate(command, False)))
    stale = [skip.prefix for skip in SKIPPED if skip not in used]
    assert not stale, f"SKIPPED entries that match no README command (remove them): {stale}"


def _problems(block: Block, keep_optional: bool) -> list[str]:
    """What makes a command wrong before it runs (and unsafe to run in the sandbox)."""
    problems = []
    for raw in _commands(block):
        try:
            command = _instantiate(raw, keep_optional)
        except KeyError as exc:
            problems.append(f"{block.id}: {exc.args[0]}")
            continue
        _, words = _split(command)
        program = words[0] if words else ""
        if Path(program).name in NEVER_RUN and _skip_for(command) is None:
            problems.append(f"{block.id}: {raw!r} is not run here: list it in SKIPPED, with why")
        if re.fullmatch(r"python3?(\.\d+)?|pytest|ruff", program):
            problems.append(
                f"{block.id}: {raw!r} runs `{program}` from PATH; write `.venv/bin/python "
                "-m ...` (a fresh machine may have no `python`; the dependencies are in .venv)"
            )
        if str(REPO) in command or re.search(r"(^|[;&|]\s*)cd\s+/", command):
            problems.append(f"{block.id}: {raw!r} names an absolute path of one checkout")
    return problems


@pytest.mark.parametrize("keep_optional", [False, True], ids=["optional-dropped", "optional-kept"])
def test_commands_name_what_a_fresh_clone_has(keep_optional: bool) -> None:
    problems = [p for block in SHELL_BLOCKS for p in _problems(block, keep_optional)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=[block.id for block in SHELL_BLOCKS])
def test_readme_block_runs_as_written(block: Block, tmp_path: Path) -> None:
    problems = _problems(block, False) + _problems(block, True)
    assert not problems, "not run, see test_commands_name_what_a_fresh_clone_has:\n" + "\n".join(
        problems
    )
    sandbox = _sandbox(tmp_path)
    scripts = [_script(block, keep_optional=False)]
    kept = _script(block, keep_optional=True)
    if kept != scripts[0]:
        scripts.append(kept)
    for script in scripts:
        status, output = _run(script, sandbox)
        assert status is not None, (
            f"{block.id} still ran after {BLOCK_TIMEOUT_S} s; a command that starts a service "
            f"belongs in SKIPPED with its reason.\n--- script\n{script}--- output\n{output}"
        )
        assert status == 0, (
            f"{block.id} fails as written (exit {status}).\n--- script\n{script}"
            f"--- output\n{output}"
        )
