"""A PostgreSQL server of the test's own, for faults that strike the whole server (a restart, a
crash), which the session's shared server must never suffer.

    def test_x(own_postgres):                      # the fixture: migrated, stopped and removed at the end
        env = shop_environment(own_postgres.url(), ...)
        own_postgres.restart()                     # pg_ctl restart -m fast: every connection cut

    with postgres_server() as server:              # the same without pytest
        ...

A throwaway cluster in a temporary folder (initdb, fsync off: nothing in it is worth keeping),
listening on a free port of 127.0.0.1 and on a socket in that folder. initdb refuses to run as
root, so as root (CI) the cluster belongs to the `postgres` user and every command runs as it.
The server is stopped and its folder removed on exit, also when the test fails.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.serving import free_port, manage, site_environment

DATABASE = "shop"
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    if pg_config := shutil.which("pg_config"):
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(found.stdout.strip())
        if found.returncode == 0 and (bindir / "initdb").exists():
            return bindir
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


class PostgresServer:
    """One cluster in `directory` (data in `data/`, the server's log in `server.log`), on `port`."""

    def __init__(self, bindir: Path, directory: Path, port: int) -> None:
        self.bindir = bindir
        self.directory = directory
        self.port = port
        self.data = directory / "data"
        self.log = directory / "server.log"
        # initdb refuses root: the cluster is then the postgres user's.
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create(self) -> None:
        """initdb: a cluster whose superuser is `postgres`, trusted on 127.0.0.1 and the socket."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        settings = {**SETTINGS, "port": str(self.port), "unix_socket_directories": f"'{self.directory}'"}
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        """Start and wait until it accepts connections (pg_ctl -w)."""
        self._pg_ctl("start", "-l", str(self.log))  # the server's output there, not in our pipe

    def restart(self) -> None:
        """A fast restart, as an operator's or a failover's: every session is cut, open transactions
        roll back, and the server is back once it accepts connections again."""
        self._pg_ctl("restart", "-m", "fast", "-l", str(self.log))

    def stop(self) -> None:
        """Gone at once (immediate: nothing is kept), if it runs."""
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")

    def create_database(self, name: str = DATABASE) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def log_tail(self, size: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-size:] if self.log.exists() else "(no server log)"

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-w", "-t", "60", *options)

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_owner, str(self.bindir / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"


@contextmanager
def postgres_server(bindir: Path) -> Iterator[PostgresServer]:
    """A fresh cluster, started, with an empty database `shop`, for the length of the block."""
    # Not under pytest's tmp_path: its folders are root's alone, and the postgres user must reach it.
    with tempfile.TemporaryDirectory(prefix="own-postgres-") as directory:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(directory, owner.pw_uid, owner.pw_gid)
        server = PostgresServer(bindir, Path(directory), free_port())
        failed = False
        try:
            server.create()
            server.start()
            server.create_database()
            yield server
        except BaseException:
            failed = True
            raise
        finally:
            try:
                server.stop()
            finally:
                if failed:
                    sys.stderr.write(f"--- own PostgreSQL's log ---\n{server.log_tail()}\n--- end ---\n")


@pytest.fixture
def own_postgres(request) -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, its database `shop` migrated; it fails, saying what
    is missing, where the PostgreSQL server's programs are not installed (a skip would pass
    unseen). The server's log goes to stderr when the test fails."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.fail("no PostgreSQL server programs (initdb, pg_ctl): pg_config --bindir, /usr/lib/postgresql/*/bin")
    with postgres_server(bindir) as server:
        manage("migrate", "--noinput", env=site_environment(DATABASE_URL=server.url()), timeout=300)
        failures = request.session.testsfailed
        yield server
        if request.session.testsfailed > failures:
            # The test's report is written by now: past pytest's capture, or the log would be lost.
            sys.__stderr__.write(f"--- own PostgreSQL's log ---\n{server.log_tail()}\n--- end ---\n")
