"""A PostgreSQL primary and a streaming hot standby of the test's own, in a temporary folder.

initdb, then pg_basebackup -R from the running primary (a standby.signal and the
primary_conninfo it needs), both started with pg_ctl as the `postgres` OS user when run as root
(as bench/capacity.py runs its cluster), on free loopback ports. fsync is off: these clusters
prove routing, not durability, and start in about two seconds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def as_postgres(*command: str) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run([*prefix, *command], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")
    return done


class Server:
    """One cluster's folder, port and pg_ctl."""

    def __init__(self, folder: Path, port: int):
        self.folder, self.port = folder, port
        self.data = folder / "data"

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def configure(self, settings: dict) -> None:
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        log = self.folder / "postgres.log"
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(log), "-w", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def sql(self, statement: str, database: str = "postgres"):
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else None


class ReplicaPair:
    """A primary with a database `name`, and a hot standby streaming from it."""

    def __init__(self, database: str = "replicas"):
        self.database = database
        self.folder = Path(tempfile.mkdtemp(prefix="gantong-replica-"))
        os.chmod(self.folder, 0o755)
        self.primary = Server(self.folder / "primary", free_port())
        self.standby = Server(self.folder / "standby", free_port())

    def _settings(self, server: Server) -> dict:
        return {
            "port": server.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{server.folder}'",
            "fsync": "off",
            "full_page_writes": "off",
            "shared_buffers": "'16MB'",
            "max_connections": "30",
            # The standby's replies come often, so its lag is seen at once.
            "wal_receiver_status_interval": "'1s'",
        }

    def start(self) -> ReplicaPair:
        for server in (self.primary, self.standby):
            server.folder.mkdir()
            if os.geteuid() == 0:
                shutil.chown(server.folder, "postgres", "postgres")
        as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.primary.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale",
            "C.UTF-8",
        )
        self.primary.configure(self._settings(self.primary))
        self.primary.start()
        self.primary.sql(f'CREATE DATABASE "{self.database}"')
        # -R: standby.signal and primary_conninfo; -c fast: no wait for a spread checkpoint.
        as_postgres(
            str(PG_BIN / "pg_basebackup"),
            "-D",
            str(self.standby.data),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            "postgres",
            "-R",
            "-c",
            "fast",
            "--no-sync",
        )
        self.standby.configure(self._settings(self.standby))
        self.standby.start()
        return self

    def stop(self) -> None:
        for server in (self.standby, self.primary):
            try:
                server.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def primary_lsn(self) -> str:
        return self.primary.sql("SELECT pg_current_wal_insert_lsn()::text")[0][0]

    def wait_replayed(self, timeout: float = 20.0) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        target = self.primary_lsn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            caught_up = self.standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[
                0
            ][0]
            if caught_up:
                return
            time.sleep(0.02)
        raise TimeoutError(f"the standby did not replay {target}")

    def pause_replay(self) -> None:
        self.standby.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.standby.sql("SELECT pg_wal_replay_resume()")
