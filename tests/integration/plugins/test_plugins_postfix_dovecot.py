"""The protocol checks against a real Postfix + Dovecot pair (Debian's
packages, a private instance on loopback started by postfix-dovecot.sh in
this folder): the plugins must work against any mail server, not only
postierd. Plain, STARTTLS and implicit TLS; login from an authfile; a wrong
password; certificate days, name and chain; the round trip over IMAP and
POP3."""
import os
import shutil
import subprocess
import tempfile
import unittest

import plugintest as pt
from plugintest import run
from postier_test import parse_kv

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "postfix-dovecot.sh")


def available():
    if os.geteuid() != 0:
        return "needs root (Postfix and Dovecot run as their system users)"
    for b in ("/usr/sbin/postfix", "/usr/sbin/dovecot"):
        if not os.path.exists(b):
            return "%s missing (apt: see scripts/deps/plugins.txt)" % b
    return None


@unittest.skipIf(available() is not None, available())
class PostfixDovecot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="plugins-pfdc-")
        out = subprocess.run([SCRIPT, "start", cls.dir], capture_output=True,
                             text=True, timeout=300)
        if out.returncode != 0:
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise RuntimeError("postfix-dovecot.sh start failed: " + out.stderr)
        cls.env, cls.users = parse_kv(out.stdout)
        user, pw = cls.users[0]
        cls.auth = pt.write_authfile(cls.dir, user, pw)
        cls.bad_auth = pt.write_authfile(cls.dir, user, pw + "x", "bad")
        cls.ca = cls.env["CA_FILE"]

    @classmethod
    def tearDownClass(cls):
        subprocess.run([SCRIPT, "stop", cls.dir], capture_output=True,
                       timeout=120)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def port(self, key):
        return self.env[key]

    def assertState(self, r, want):
        self.assertEqual(r.state, want, r)

    def test_smtp(self):
        r = run("check_postier_smtp", "-H", "127.0.0.1", "-p",
                self.port("SMTP_PORT"), "-e", "ESMTP", "-C", "PIPELINING",
                "-w", "5", "-c", "10")
        self.assertState(r, "OK")
        self.assertIn("220 mx.example.test ESMTP", r.stdout)
        r = run("check_postier_smtp", "-H", "localhost", "-p",
                self.port("SUBMISSION_PORT"), "--starttls", "-a", self.auth,
                "-C", "AUTH", "-D", "30,7", "--ca-file", self.ca)
        self.assertState(r, "OK")
        self.assertIn("login ok", r.stdout)
        self.assertIn("cert_days", r.perf)
        r = run("check_postier_smtp", "-H", "127.0.0.1", "-p",
                self.port("SUBMISSIONS_PORT"), "--tls=implicit", "-a",
                self.auth, "--ca-file", self.ca)
        self.assertState(r, "OK")
        r = run("check_postier_smtp", "-H", "127.0.0.1", "-p",
                self.port("SUBMISSION_PORT"), "--starttls", "-a",
                self.bad_auth)
        self.assertState(r, "CRITICAL")
        self.assertIn("AUTH refused", r.stdout)
        # the certificate is for mx.example.test, localhost, 127.0.0.1
        r = run("check_postier_smtp", "-H", "127.0.0.1", "-p",
                self.port("SUBMISSIONS_PORT"), "--ssl", "--ca-file", self.ca,
                "--servername", "mail.other.example")
        self.assertState(r, "CRITICAL")
        self.assertIn("not valid for mail.other.example", r.stdout)
        r = run("check_postier_smtp", "-H", "127.0.0.1", "-p",
                self.port("SUBMISSIONS_PORT"), "--ssl", "-D", "400,7")
        self.assertState(r, "WARNING")

    def test_imap(self):
        r = run("check_postier_imap", "-H", "127.0.0.1", "-p",
                self.port("IMAP_PORT"), "-e", "Dovecot", "-C", "IDLE")
        self.assertState(r, "OK")
        r = run("check_postier_imap", "-H", "localhost", "-p",
                self.port("IMAP_PORT"), "--starttls", "-a", self.auth,
                "-m", "INBOX", "-D", "30,7", "--ca-file", self.ca)
        self.assertState(r, "OK")
        self.assertIn("INBOX has", r.stdout)
        self.assertIn("messages", r.perf)
        r = run("check_postier_imap", "-H", "127.0.0.1", "-p",
                self.port("IMAPS_PORT"), "--ssl", "-a", self.auth,
                "--ca-file", self.ca)
        self.assertState(r, "OK")
        r = run("check_postier_imap", "-H", "127.0.0.1", "-p",
                self.port("IMAPS_PORT"), "--ssl", "-a", self.bad_auth)
        self.assertState(r, "CRITICAL")
        self.assertIn("LOGIN refused", r.stdout)

    def test_pop3(self):
        r = run("check_postier_pop3", "-H", "127.0.0.1", "-p",
                self.port("POP3_PORT"), "-C", "UIDL")
        self.assertState(r, "OK")
        r = run("check_postier_pop3", "-H", "localhost", "-p",
                self.port("POP3_PORT"), "--starttls", "-a", self.auth,
                "-D", "30,7", "--ca-file", self.ca)
        self.assertState(r, "OK")
        r = run("check_postier_pop3", "-H", "127.0.0.1", "-p",
                self.port("POP3S_PORT"), "--ssl", "-a", self.auth, "-w", "0")
        self.assertState(r, "WARNING")
        r = run("check_postier_pop3", "-H", "127.0.0.1", "-p",
                self.port("POP3S_PORT"), "--ssl", "-a", self.bad_auth)
        self.assertState(r, "CRITICAL")

    def test_roundtrip(self):
        for proto, port in (("imap", "IMAP_PORT"), ("pop3", "POP3_PORT")):
            r = run("check_postier_roundtrip", "-H", "127.0.0.1",
                    "--smtp-port", self.port("SUBMISSION_PORT"),
                    "--read-port", self.port(port), "--protocol", proto,
                    "--starttls", "-a", self.auth, "--ca-file", self.ca,
                    "-w", "10", "-c", "20", "-t", "30")
            self.assertState(r, "OK")
            self.assertIn("read back over %s" % proto.upper(), r.stdout)
            self.assertIn("roundtrip", r.perf)
        # the probes are gone
        r = run("check_postier_pop3", "-H", "127.0.0.1", "-p",
                self.port("POP3S_PORT"), "--ssl", "-a", self.auth)
        self.assertEqual(r.perf["messages"][0], 0, r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
