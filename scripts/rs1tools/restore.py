"""Restore a D1 backup (backups/d1/YYYY-MM-DD.sql.gz) into a fresh local D1, and verify it.

    scripts/restore-backup --date 2026-11-22 [--from-state .state] --to-state .state-restored
    scripts/restore-backup --file backup.sql.gz --manifest backup.manifest.json --to-state DIR

Verification: row counts and per-table sha256 of the restored D1 must equal the manifest the
backup job wrote. Production (documented, not run here):
    npx wrangler r2 object get rs1-backups/backups/d1/DATE.sql.gz --remote --file b.sql.gz
    gunzip b.sql.gz && npx wrangler d1 create rs1-recovery
    npx wrangler d1 execute rs1-recovery --remote --file b.sql
then point the Workers' database_id at rs1-recovery (or export/import into rs1-production).
"""

import gzip
import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from rs1.backups.dump import TableChecksum, rows_backed_up
from rs1tools.cli import run
from rs1tools.localstack import ROOT, tool_env


def wrangler(*args: str) -> str:
    result = subprocess.run(
        ["npx", "wrangler", *args],
        cwd=ROOT,
        env=tool_env({"CI": "true"}),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"wrangler {' '.join(args[:3])} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def fetch_local(state: Path, key: str, dest: Path) -> None:
    wrangler(
        "r2",
        "object",
        "get",
        f"rs1-backups/{key}",
        "--local",
        "--persist-to",
        str(state),
        "--file",
        str(dest),
    )


def local_d1_file(state: Path) -> Path:
    """The SQLite file behind the local D1 (Miniflare keeps one per database id)."""
    d1_dir = state / "v3" / "d1"
    files = [f for f in d1_dir.rglob("*.sqlite") if f.name != "metadata.sqlite"]
    if len(files) != 1:
        raise SystemExit(f"expected one local D1 under {state}, found {len(files)}")
    return files[0]


def checksums(state: Path) -> dict[str, dict[str, Any]]:
    """Per-table row counts and sha256, computed exactly as the backup job does."""
    conn = sqlite3.connect(f"file:{local_d1_file(state)}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        result = {}
        for name in sorted(n for n in names if rows_backed_up(n)):
            checksum = TableChecksum()
            for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid'):
                checksum.add(dict(row))
            result[name] = checksum.result()
        return result
    finally:
        conn.close()


def restore(sql_gz: Path, target: Path) -> None:
    sql = gzip.decompress(sql_gz.read_bytes()).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(sql)
    wrangler(
        "d1", "execute", "DB", "--local", "--persist-to", str(target), "--file", f.name, "--yes"
    )


app = typer.Typer(add_completion=False)
Opt = typer.Option


@app.command()
def restore_backup(
    to_state: Annotated[Path, Opt(help="a fresh state directory to restore into")],
    date: Annotated[str | None, Opt(help="YYYY-MM-DD: fetch from the local rs1-backups")] = None,
    file: Annotated[Path | None, Opt(help="a downloaded .sql.gz")] = None,
    manifest: Annotated[Path | None, Opt(help="its manifest (with --file)")] = None,
    from_state: Annotated[Path, Opt(help="the local state holding the bucket")] = ROOT / ".state",
) -> None:
    """Restore a D1 backup into a fresh local D1 and verify it against its manifest."""
    if (date is None) == (file is None):
        raise typer.BadParameter("give exactly one of --date and --file", param_hint="--date")
    if (to_state / "v3" / "d1").exists():
        raise SystemExit(f"{to_state} already holds a D1: restore needs a fresh one")
    work = Path(tempfile.mkdtemp(prefix="rs1-restore-"))
    if date:
        key = f"backups/d1/{date}.sql.gz"
        sql_gz, manifest_path = work / "backup.sql.gz", work / "manifest.json"
        fetch_local(from_state, key, sql_gz)
        fetch_local(from_state, key.replace(".sql.gz", ".manifest.json"), manifest_path)
    else:
        assert file is not None
        sql_gz, manifest_path = file, manifest
    restore(sql_gz, to_state)
    restored = checksums(to_state)
    print(json.dumps({"restored_tables": restored}, indent=2))
    if manifest_path:
        expected = json.loads(manifest_path.read_text())["tables"]
        if restored != expected:
            print("[restore] MISMATCH with the backup manifest", file=sys.stderr)
            raise typer.Exit(1)
        print(f"[restore] verified: {len(expected)} tables match the manifest")


def main(argv: list[str] | None = None) -> int:
    return run(app, argv, "restore-backup")


if __name__ == "__main__":
    sys.exit(main())
