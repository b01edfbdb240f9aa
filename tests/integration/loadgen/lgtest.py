"""Helpers for the postier-loadgen integration tests: the binary, the
fakemail test server (tests/integration/loadgen/fakemail.py) and small
profiles written on the fly."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "common"))
from postier_test import BUILD_DIR, SOURCE_DIR, binary  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LOADGEN = binary("loadgen/postier-loadgen")

PROFILE = """
[profile]
name = {name}
assumption = test profile
[population]
mailboxes = {mailboxes}
[day]
messages_per_day = {per_day}
window_hours = 1
[messages]
size = fixed
size_mean = {size}
recipients = 1:0.7, 2:0.3
attachment_share = 0.3
[readers]
pop3_share = {pop3}
imap_share = {imap}
idle_share = {idle}
pop3_interval = {interval}
imap_interval = {interval}
tls = {tls}
[smtp]
service = {service}
auth = {auth}
messages_per_connection = {per_connection}
max_connections = {connections}
[slo]
smtp_transaction = 5s
delivery = 60s
"""


def write_profile(d, name="t", mailboxes=20, per_day=3600, size="8k",
                  pop3=0.4, imap=0.4, idle=0.2, interval="1s",
                  service="smtp", auth="no", tls="none", connections=200,
                  per_connection=5):
    path = os.path.join(d, name + ".ini")
    with open(path, "w") as f:
        f.write(PROFILE.format(**locals()))
    return path


class FakeMail:
    """fakemail.py in a temp dir; .target is its target.ini."""

    def __init__(self, *args, users=40, tls=False):
        self.dir = tempfile.mkdtemp(prefix="lgtest-")
        cmd = [sys.executable, os.path.join(HERE, "fakemail.py"),
               "--dir", self.dir, "--users", str(users)] + list(args)
        if tls:
            key = os.path.join(self.dir, "key.pem")
            self.cert = os.path.join(self.dir, "cert.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                            "-nodes", "-keyout", key, "-out", self.cert,
                            "-days", "2", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                           check=True, capture_output=True)
            cmd += ["--tls-cert", self.cert, "--tls-key", key]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.env = {}
        while "TARGET" not in self.env:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("fakemail did not start")
            k, v = line.strip().split("=", 1)
            self.env[k] = v
        self.target = self.env["TARGET"]

    def close(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run_loadgen(*args, timeout=120):
    """Runs postier-loadgen; returns (exit code, stdout, stderr)."""
    p = subprocess.run([LOADGEN] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def load_json(path):
    with open(path) as f:
        return json.load(f)
