"""A throw-away PostgreSQL cluster for the tests that need a real server.

Uses the Debian binaries (`/usr/lib/postgresql/<version>/bin`, installed by `.ci/postgres.sh` or
`apt-get install postgresql`): `initdb` into a temporary directory, served on a Unix socket in
that directory only (no TCP), run as the `postgres` user when the tests run as root, stopped and
removed at the end. Each test gets a database of its own.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_HINT = "apt-get install postgresql (or run `bash .ci/postgres.sh` as root)"


@dataclass
class Cluster:
    directory: Path
    bin: Path
    user: list[str]  # the command prefix that runs as the cluster's owner
    counter: itertools.count[int]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://openclaw@/{database}?host={self.directory}"

    def run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [*self.user, str(self.bin / tool), *args]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def _binaries() -> Path | None:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    binaries = _binaries()
    if binaries is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not installed; CI must install it: {INSTALL_HINT}")
        pytest.skip(f"PostgreSQL is not installed: {INSTALL_HINT}")
    directory = Path(tempfile.mkdtemp(prefix="openclaw-pg-"))
    user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(directory, "postgres", "postgres")
        user = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(directory, binaries, user, itertools.count(1))
    data = directory / "data"
    made = cluster.run("initdb", "-D", str(data), "-U", "openclaw", "--auth=trust", "-E", "UTF8",
                       "--no-sync")  # fmt: skip
    assert made.returncode == 0, f"initdb failed: {made.stderr}"
    options = f"-k {directory} -c listen_addresses='' -c fsync=off -c max_connections=50"
    log = directory / "server.log"
    started = cluster.run("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    assert started.returncode == 0, f"PostgreSQL did not start: {started.stderr}"
    try:
        yield cluster
    finally:
        cluster.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> str:
    """A fresh, empty database of the throw-away cluster."""
    import psycopg

    name = f"test_{next(postgres_cluster.counter)}"
    with psycopg.connect(postgres_cluster.url(), autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return postgres_cluster.url(name)
