"""check_postier_* against fake and hostile mail peers: closed ports,
garbage and negative greetings, servers that never answer (-t N and
-t N:STATE, within the timeout), --expect and capabilities, and bad
arguments (UNKNOWN and a usage line). Needs no postierd. Certificates, the
admin endpoint and the HA socket are in test_plugins_certs_admin.py."""
import os
import socket
import tempfile
import time
import unittest

import plugintest as pt
from plugintest import run

MAIL = ["check_postier_smtp", "check_postier_imap", "check_postier_pop3"]
FAKES = {"check_postier_smtp": pt.fake_smtp, "check_postier_imap": pt.fake_imap,
         "check_postier_pop3": pt.fake_pop3}


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Arguments(unittest.TestCase):
    def test_help_and_version(self):
        for name in pt.PLUGINS:
            r = run(name, "--help")
            self.assertEqual(r.rc, 0, r)
            self.assertIn("Usage: " + name, r.stdout, r)
            r = run(name, "-V")
            self.assertEqual(r.rc, 0, r)
            self.assertTrue(r.stdout.startswith(name + " "), r)

    def test_bad_arguments_unknown_with_usage(self):
        cases = [
            ("check_postier_smtp", []),                       # no -H
            ("check_postier_smtp", ["-H", "x", "-w", "5:1"]),  # start > end
            ("check_postier_smtp", ["-H", "x", "-c", "abc"]),
            ("check_postier_smtp", ["-H", "x", "-p", "70000"]),
            ("check_postier_smtp", ["-H", "x", "-t", "0"]),
            ("check_postier_smtp", ["-H", "x", "-t", "5:sometimes"]),
            ("check_postier_smtp", ["-H", "x", "--tls=maybe"]),
            ("check_postier_smtp", ["-H", "x", "-D", "7,30"]),  # crit > warn
            ("check_postier_smtp", ["-H", "x", "-D", "30"]),    # -D needs TLS
            ("check_postier_smtp", ["-H", "x", "-a", "/nonexistent/auth"]),
            ("check_postier_imap", ["-H", "x", "--bogus"]),
            ("check_postier_imap", ["-H", "x", "-m", "INBOX"]),  # -m needs -a
            ("check_postier_pop3", ["-H", "x", "extra"]),
            ("check_postier_pop3", ["-H", "x", "--output=xml"]),
            ("check_postier_roundtrip", ["-H", "x"]),           # no -a
            ("check_postier_health", []),                     # no -p/-u
            ("check_postier_health", ["-u", "ftp://x"]),
            ("check_postier_queue", ["-p", "1", "-W", "x"]),
            ("check_postier_metric", ["-p", "1"]),            # no -m
            ("check_postier_metric", ["-p", "1", "-m", "a", "-l", "novalue"]),
            ("check_postier_ha", ["-w", "1"]),                # no thresholds
            ("check_postier_ha", ["-p"]),                     # no -H/-p
        ]
        for name, args in cases:
            r = run(name, *args)
            self.assertEqual(r.rc, 3, r)
            lines = r.stdout.splitlines()
            self.assertEqual(len(lines), 2, r)
            self.assertRegex(lines[0], r"^[A-Z0-9_]+ UNKNOWN: ", r)
            self.assertTrue(lines[1].startswith("Usage: " + name + " "), r)

    def test_authfile_problems(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad")
            with open(bad, "w") as f:
                f.write("user=alice\npassword=x\n")
            nopw = os.path.join(d, "nopw")
            with open(nopw, "w") as f:
                f.write("username=alice\n")
            for path in (bad, nopw):
                r = run("check_postier_imap", "-H", "127.0.0.1", "-a", path)
                self.assertEqual(r.rc, 3, r)
                self.assertIn("cannot use -a", r.stdout)


class HostileMailServers(unittest.TestCase):
    def test_closed_port_critical(self):
        port = closed_port()
        for name in MAIL:
            r = run(name, "-H", "127.0.0.1", "-p", port)
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertIn("Connection refused", r.stdout)

    def test_garbage_greeting_critical(self):
        with pt.garbage_server() as srv:
            for name in MAIL:
                r = run(name, "-H", "127.0.0.1", "-p", srv.port, "-t", "3")
                self.assertEqual(r.state, "CRITICAL", r)
                self.assertIn("malformed", r.stdout)

    def test_negative_greeting_critical(self):
        with pt.fake_smtp(banner=b"554 5.3.2 go away") as srv:
            r = run("check_postier_smtp", "-H", "127.0.0.1", "-p", srv.port)
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertIn("go away", r.stdout)

    def test_silent_server_times_out(self):
        cases = [(name, t, want) for name in MAIL
                 for t, want in (("2", "CRITICAL"), ("1:unknown", "UNKNOWN"))]
        cases += [("check_postier_smtp", "1:WARNING", "WARNING"),
                  ("check_postier_imap", "1:0", "OK")]
        with pt.silent_server() as srv:
            for name, t, want in cases:
                secs = int(t.split(":")[0])
                r = run(name, "-H", "127.0.0.1", "-p", srv.port, "-t", t)
                self.assertEqual(r.state, want, r)
                self.assertIn("timeout after %d s" % secs, r.stdout, r)
                # the slack is process start-up (ASan, a loaded machine)
                self.assertLess(r.elapsed, secs + 2.0, r)
                self.assertGreater(r.elapsed, secs - 0.5, r)

    def test_banner_after_timeout_is_too_late(self):
        with pt.slow_banner_server(b"220 late ESMTP\r\n", 3) as srv:
            r = run("check_postier_smtp", "-H", "127.0.0.1", "-p", srv.port,
                    "-t", "1")
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertLess(r.elapsed, 3.0, r)

    def test_patrol_timeout_output(self):
        with pt.silent_server() as srv:
            r = run("check_postier_pop3", "-H", "127.0.0.1", "-p", srv.port,
                    "-t", "1:unknown", "--output=patrol")
            self.assertEqual(r.rc, 3, r)
            self.assertEqual(r.stdout.splitlines(), [
                "POSTIER-PATROL 1", "SERVICE POP3", "STATUS 3 UNKNOWN",
                "TEXT timeout after 1 s (connect and greeting)", "END"])

    def test_fake_servers_ok_and_thresholds(self):
        for name, fake in FAKES.items():
            with fake() as srv:
                r = run(name, "-H", "127.0.0.1", "-p", srv.port, "-w", "5",
                        "-c", "10")
                self.assertEqual(r.state, "OK", r)
                self.assertIn("time", r.perf)
                self.assertEqual(r.perf["time"][2:4], ("5", "10"))
                r = run(name, "-H", "127.0.0.1", "-p", srv.port, "-w", "0",
                        "-c", "10")
                self.assertEqual(r.state, "WARNING", r)
                r = run(name, "-H", "127.0.0.1", "-p", srv.port, "-w", "0",
                        "-c", "0")
                self.assertEqual(r.state, "CRITICAL", r)
                r = run(name, "-H", "127.0.0.1", "-p", srv.port, "-e",
                        "no such text")
                self.assertEqual(r.state, "WARNING", r)
                self.assertIn("does not contain", r.stdout)
                r = run(name, "-H", "127.0.0.1", "-p", srv.port, "-C",
                        "NOSUCHCAPA")
                self.assertEqual(r.state, "WARNING", r)
                self.assertIn("NOSUCHCAPA not advertised", r.stdout)

    def test_roundtrip_closed_and_silent(self):
        with tempfile.TemporaryDirectory() as d:
            auth = pt.write_authfile(d, "probe@example.test", "x")
            r = run("check_postier_roundtrip", "-H", "127.0.0.1",
                    "--smtp-port", closed_port(), "-a", auth)
            self.assertEqual(r.state, "CRITICAL", r)
            with pt.silent_server() as srv:
                r = run("check_postier_roundtrip", "-H", "127.0.0.1",
                        "--smtp-port", srv.port, "-a", auth, "-t",
                        "1:unknown")
                self.assertEqual(r.state, "UNKNOWN", r)
                self.assertIn("timeout after 1 s (submission)", r.stdout)

    def test_starttls_not_offered(self):
        for name, fake in FAKES.items():
            with fake() as srv:
                r = run(name, "-H", "127.0.0.1", "-p", srv.port, "--starttls")
                self.assertEqual(r.state, "CRITICAL", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
