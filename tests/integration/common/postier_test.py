"""Shared helpers for integration tests: start a dev server, find binaries.

Every integration test starts servers through scripts/dev-server (the one way
tests, benchmarks and demos start postierd) and stops them by PID.

    with DevServer() as srv:
        srv.env["SMTP_PORT"], srv.users[0] -> ("alice@example.test", "secret")
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

SOURCE_DIR = os.environ.get(
    "POSTIER_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
BUILD_DIR = os.environ.get("POSTIER_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))


def binary(relpath):
    """Path of a built program, e.g. binary('mailserver/postierd')."""
    return os.path.join(BUILD_DIR, relpath)


def free_port():
    """A free TCP port on 127.0.0.1 (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_kv(text):
    """Parses KEY=value lines; repeated keys (USER) become lists."""
    env, users = {}, []
    for line in text.splitlines():
        if "=" not in line:
            continue
        k, v = line.split("=", 1)
        if k == "USER":
            addr, pw = v.split(":", 1)
            users.append((addr, pw))
        else:
            env[k] = v
    return env, users


class DevServer:
    """A postierd started by scripts/dev-server in a temp dir.

    extra_args are passed to `scripts/dev-server start DIR ...`.
    """

    def __init__(self, extra_args=(), keep=False):
        self.extra_args = list(extra_args)
        self.keep = keep
        self.dir = None
        self.env = {}
        self.users = []

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="postier-test-")
        out = subprocess.run(
            [os.path.join(SOURCE_DIR, "scripts", "dev-server"), "start", self.dir]
            + self.extra_args,
            check=True, capture_output=True, text=True, timeout=60,
            env=dict(os.environ, POSTIER_BUILD_DIR=BUILD_DIR))
        self.env, self.users = parse_kv(out.stdout)
        return self

    def port(self, key):
        return int(self.env[key])

    @property
    def pid(self):
        return int(self.env["PID"])

    def stop(self):
        if self.dir is None:
            return
        subprocess.run(
            [os.path.join(SOURCE_DIR, "scripts", "dev-server"), "stop", self.dir],
            capture_output=True, text=True, timeout=60)
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def log_text(self):
        """The server's log so far (dev-server logs to DIR/postierd.log)."""
        try:
            with open(os.path.join(self.dir, "postierd.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def wait_for(pred, timeout=10.0, interval=0.05):
    """Polls pred() until true or timeout; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


def imap_until(f, tag):
    """IMAP lines read from file f up to and including the one tagged tag
    (b"+": a continuation request)."""
    out = []
    while True:
        line = f.readline()
        assert line, "connection closed"
        out.append(line)
        if line.startswith(tag + b" ") or (tag == b"+" and
                                           line.startswith(b"+")):
            return out


def imap_raw_session(port, user, pw, select_inbox=True, timeout=120):
    """A plain IMAP connection logged in (LOGIN) and, by default, with INBOX
    selected: (socket, its binary file) for tests that watch the bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"l LOGIN %s %s\r\n" % (user.encode(), pw.encode()))
    out = imap_until(f, b"l")
    assert out[-1].startswith(b"l OK"), out
    if select_inbox:
        s.sendall(b"s SELECT INBOX\r\n")
        out = imap_until(f, b"s")
        assert out[-1].startswith(b"s OK"), out
    return s, f
