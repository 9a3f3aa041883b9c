"""Real redis-server and PostgreSQL processes on free loopback ports, for tests.

Nothing here imports pytest; `tests/support/fixtures.py` wraps these classes in fixtures.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

_PACKAGE_FOR = {"redis-server": "redis-server"}  # everything else we look up comes from `postgresql`
_live: set = set()  # servers to stop at interpreter exit if a test run forgot to (or crashed in a fixture)


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_binary(name: str) -> str:
    # Debian keeps initdb/pg_ctl/postgres only in /usr/lib/postgresql/<major>/bin; prefer the newest major.
    # Those go first because /usr/bin/psql etc. are pg_wrapper scripts that need a configured cluster.
    versioned = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                       key=lambda p: [int(n) for n in re.findall(r"\d+", p)], reverse=True)
    found = versioned[0] if versioned else shutil.which(name)
    if found:
        return found
    package = _PACKAGE_FOR.get(name, "postgresql")
    raise RuntimeError(f"{name!r} was not found in PATH or /usr/lib/postgresql/*/bin. Install it with: "
                       f"apt-get install -y {package}")


def _wait_until(ready, proc_alive, deadline_s: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if ready():
            return
        if not proc_alive():
            break
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not accept connections within {deadline_s:.0f}s. {_log_tail(log)}")


def _log_tail(log: Path) -> str:
    return f"Log {log}:\n" + (log.read_text(errors="replace")[-3000:] if log.exists() else "(none written)")


class RedisServer:
    def __init__(self, tmpdir):
        self.dir = Path(tmpdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = self.dir / f"redis-{self.port}.log"
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        cmd = [find_binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no"]
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _live.add(self)
        try:
            _wait_until(lambda: self._command(b"PING") == b"+PONG", self.is_running, 15, "redis-server",
                        self.log)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        _live.discard(self)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self) -> "RedisServer":
        self.stop()
        return self.start()  # same port: redis sets SO_REUSEADDR, so TIME_WAIT does not block the re-bind

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def flushall(self) -> None:
        if self._command(b"FLUSHALL") != b"+OK":
            raise RuntimeError(f"FLUSHALL failed on {self.url}")

    def _command(self, command: bytes) -> bytes | None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(command + b"\r\n")
                return s.recv(64).strip()
        except OSError:
            return None


class PostgresServer:
    """initdb + pg_ctl as the `postgres` user when we are root (initdb refuses to run as root)."""

    user = "helpdesk"

    def __init__(self, tmpdir):
        self.port = free_port()
        self._owner = _postgres_user() if os.geteuid() == 0 else None
        Path(tmpdir).mkdir(parents=True, exist_ok=True)
        base = Path(tmpdir) / f"pg-{self.port}"
        # The postgres user must be able to reach the directory (pytest's /tmp/pytest-of-root is 0700), and
        # the unix socket path must stay under the ~107-byte sun_path limit.
        unreachable = self._owner is not None and not _reachable_by(self._owner, Path(tmpdir))
        self._own_base = len(str(base)) > 80 or unreachable
        if self._own_base:
            base = Path(tempfile.mkdtemp(prefix="helpdesk-pg-"))
        self.base = base
        self.data = base / "data"
        self.sockets = base / "s"
        self.log = base / "postgres.log"
        self._started = False

    @property
    def url(self) -> str:
        return self._url("helpdesk")

    def _url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        owner = {}
        if self._owner:
            owner = dict(user=self._owner.pw_uid, group=self._owner.pw_gid, extra_groups=[])
        return subprocess.run(cmd, cwd=self.base, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              check=check, **owner)

    def start(self) -> "PostgresServer":
        initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        self.base.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if self._owner:
            for path in (self.base, self.sockets):
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            result = self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", self.user, "-E", "UTF8",
                               "--no-locale", "--no-sync", check=False)
            if result.returncode:
                raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        _live.add(self)
        self._started = True
        # -w waits for the postmaster to report ready (the pid-file handshake); then we check TCP ourselves.
        result = self._run(pg_ctl, "start", "-w", "-t", "30", "-D", str(self.data), "-l", str(self.log),
                           "-o", options, check=False)
        try:
            if result.returncode:
                output = result.stdout + result.stderr
                raise RuntimeError(f"pg_ctl start failed:\n{output}\n{_log_tail(self.log)}")
            _wait_until(self._accepts, self._postmaster_alive, 10, "PostgreSQL", self.log)
            if not self._accepts("helpdesk"):
                self.create_database("helpdesk")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        _live.discard(self)
        if self._started:
            self._started = False
            self._run(find_binary("pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30",
                      check=False)
        if self._own_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def is_running(self) -> bool:
        return self._started and self._postmaster_alive()

    def create_database(self, name: str) -> str:
        from psycopg import sql

        with self._connect("postgres") as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self._url(name)

    def _postmaster_alive(self) -> bool:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
            return True
        except (OSError, ValueError, IndexError):
            return False

    def _connect(self, dbname: str):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=dbname,
                               autocommit=True, connect_timeout=2)

    def _accepts(self, dbname: str = "postgres") -> bool:
        try:
            with self._connect(dbname):
                return True
        except Exception:  # psycopg.OperationalError while starting up, or the database does not exist
            return False


def _postgres_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("Running as root needs the `postgres` system user to run initdb/pg_ctl; it comes "
                           "with the Debian package: apt-get install -y postgresql") from None


def _reachable_by(owner: pwd.struct_passwd, path: Path) -> bool:
    """Whether `owner` can traverse every directory down to `path` (we only consult mode bits)."""
    for directory in [path.resolve(), *path.resolve().parents]:
        st = directory.stat()
        if st.st_uid == owner.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid == owner.pw_gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True
