"""postierd runtime against real clients: -n, admin endpoint, timeouts,
bounded memory against bad peers, SIGHUP, SIGTERM drain, connection limits
and the authentication ban.

Every server comes from scripts/dev-server (127.0.0.1, kernel-chosen ports).
"""
import base64
import json
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

from postier_test import DevServer, binary, wait_for

POSTIERD = binary("mailserver/postierd")
HUGE_LINE_MIB = 32


def http_get(port, path, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def metrics(srv):
    _, _, text = http_get(srv.port("ADMIN_PORT"), "/metrics")
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


class Conn:
    """A client socket and its line reader, closed together (a socket whose
    makefile() reader is still open is not really closed)."""

    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def sendall(self, data):
        self.sock.sendall(data)

    def close(self):
        self.reader.close()
        self.sock.close()


def connect(port, timeout=10):
    c = Conn(port, timeout)
    return c, c.reader


def under_asan(pid):
    """ASan keeps freed memory in quarantine: RSS bounds mean nothing."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return "libasan" in f.read()
    except OSError:
        return False


def status(srv):
    _, _, body = http_get(srv.port("ADMIN_PORT"), "/status")
    return json.loads(body)


class CheckConfig(unittest.TestCase):
    """postierd -n, --help, --version and bad usage."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="postier-runtime-")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir])

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_postierd(self, *args):
        return subprocess.run([POSTIERD, *args], capture_output=True,
                              text=True, timeout=30)

    def test_good_config_prints_effective(self):
        path = self.write("good.conf", "[server]\nthreads = 3\n"
                          f"data_dir = {self.dir}/data\n")
        r = self.run_postierd("-c", path, "-n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[server]\n", r.stdout)
        self.assertIn("threads = 3\n", r.stdout)
        # every section and the defaults are there
        for section in ("[listen]", "[tls]", "[limits]", "[smtp]", "[queue]",
                        "[directory]", "[mail]", "[pop3]", "[imap]", "[admin]"):
            self.assertIn(section, r.stdout)
        self.assertIn("auth_ban_failures = 6\n", r.stdout)
        # the printed configuration is itself a valid configuration
        again = self.write("again.conf", r.stdout)
        r2 = self.run_postierd("-c", again, "-n")
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertEqual(r2.stdout, r.stdout)

    def test_bad_configs_name_file_and_line(self):
        rows = [
            ("unknown key", "[server]\n\nbogus = 1\n",
             r":3: unknown key bogus in section \[server\]"),
            ("bad number", "[limits]\nmax_connections = many\n",
             r":2: max_connections: expected an integer"),
            ("out of range", "[smtp]\nmax_line_bytes = 10\n",
             r":2: max_line_bytes: 10 is outside 512\.\.65536"),
            ("admin off loopback", "[listen]\nadmin = 0.0.0.0:1\n",
             r":2: admin: not a loopback address"),
            ("syntax", "[smtp\n", r":1: malformed section header"),
        ]
        for name, text, want in rows:
            with self.subTest(row=name):
                path = self.write("bad.conf", text)
                r = self.run_postierd("-c", path, "-n")
                self.assertEqual(r.returncode, 1, name)
                self.assertRegex(r.stderr.strip(), "^" + re.escape(path) + want)
                self.assertEqual(r.stderr.count("\n"), 1, "one line")
                # starting with it fails the same way
                r = self.run_postierd("-c", path)
                self.assertEqual(r.returncode, 1, name)

    def test_missing_file(self):
        r = self.run_postierd("-c", os.path.join(self.dir, "none.conf"), "-n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("none.conf: No such file", r.stderr)

    def test_help_version_usage(self):
        r = self.run_postierd("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("Usage: postierd", r.stdout)
        r = self.run_postierd("-V")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^postierd \d+\.\d+\.\d+\n$")
        r = self.run_postierd("--bogus")
        self.assertEqual(r.returncode, 2)
        r = self.run_postierd("-c", "x", "extra")
        self.assertEqual(r.returncode, 2)

    def test_daemon_mode(self):
        """-d: the parent exits 0 once serving (1 if start-up fails), the
        daemon writes its pid file, runs detached, stops on SIGTERM."""
        self.write("passwd", f"a@example.test:{{PLAIN}}pw::::{self.dir}/a::\n")
        base = (f"[server]\ndata_dir = {self.dir}/data\n"
                f"pid_file = {self.dir}/postierd.pid\n"
                "[listen]\nsmtp = 127.0.0.1:0\nsubmission =\nsubmissions =\n"
                "pop3 =\npop3s =\nimap =\nimaps =\nadmin =\n"
                f"[directory]\npasswd_file = {self.dir}/")
        path = self.write("d.conf", base + "passwd\n")
        pid_file = os.path.join(self.dir, "postierd.pid")
        # files, not pipes: a daemon holding a pipe would hang the test
        with open(os.path.join(self.dir, "err"), "w+") as err:
            try:
                rc = subprocess.run([POSTIERD, "-c", path, "-d"],
                                    stdout=subprocess.DEVNULL, stderr=err,
                                    timeout=30).returncode
            finally:
                self.addCleanup(self.kill_pid_file, pid_file)
            err.seek(0)
            self.assertEqual(rc, 0, err.read())
        with open(pid_file) as f:
            pid = int(f.read())
        try:
            self.assertTrue(alive(pid))
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            self.assertNotEqual(int(fields[3]), os.getpid(), "detached")
            os.kill(pid, signal.SIGTERM)
            self.assertTrue(wait_for(lambda: not alive(pid), timeout=15))
        finally:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "postierd.pid")))
        # a daemon that cannot start makes the parent fail
        path = self.write("d2.conf", base + "missing-passwd\n")
        with open(os.path.join(self.dir, "err2"), "w+") as err:
            rc = subprocess.run([POSTIERD, "-c", path, "-d"],
                                stdout=subprocess.DEVNULL, stderr=err,
                                timeout=30).returncode
            err.seek(0)
            self.assertEqual(rc, 1)
            self.assertIn("missing-passwd", err.read())

    @staticmethod
    def kill_pid_file(pid_file):
        """Cleanup: a daemon left behind by a failed test is stopped."""
        try:
            with open(pid_file) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return
        if alive(pid):
            os.kill(pid, signal.SIGKILL)

    def test_port_in_use_is_fatal(self):
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        path = self.write("busy.conf", f"[server]\ndata_dir = {self.dir}/d\n"
                          f"[listen]\nsmtp = 127.0.0.1:{port}\n"
                          "submission =\nsubmissions =\npop3 =\npop3s =\n"
                          "imap =\nimaps =\nadmin =\n"
                          f"[directory]\npasswd_file = {self.dir}/passwd\n")
        self.write("passwd", "")
        r = self.run_postierd("-c", path)
        blocker.close()
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", r.stderr)


class Runtime(unittest.TestCase):
    """One dev server with short timeouts, shared by tests that leave it
    serving."""

    @classmethod
    def setUpClass(cls):
        cls.srv = DevServer(["--set", "smtp.timeout_command=2s",
                             "--set", "smtp.timeout_data_block=2s"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def smtp_port(self):
        return self.srv.port("SMTP_PORT")

    def assert_serving(self):
        s, f = connect(self.smtp_port())
        self.assertTrue(f.readline().startswith(b"220 "))
        s.sendall(b"QUIT\r\n")
        self.assertTrue(f.readline().startswith(b"221"))
        s.close()

    def test_admin_endpoints(self):
        port = self.srv.port("ADMIN_PORT")
        code, headers, body = http_get(port, "/health")
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body), {"status": "ok"})
        code, headers, body = http_get(port, "/status")
        self.assertEqual(code, 200)
        st = json.loads(body)
        for key in ("version", "uptime_s", "sessions", "queue", "config",
                    "connections", "listeners", "draining"):
            self.assertIn(key, st)
        self.assertEqual(st["config"], self.srv.env["CONFIG"])
        self.assertEqual(set(st["sessions"]), {"smtp", "pop3", "imap"})
        self.assertTrue(st["listeners"]["smtp"])
        self.assertFalse(st["draining"])
        code, headers, body = http_get(port, "/metrics")
        self.assertEqual(code, 200)
        self.assertTrue(headers["Content-Type"].startswith(
            "application/openmetrics-text; version=1.0.0"))
        self.assertTrue(body.endswith("# EOF\n"))
        self.assertIn('postier_connections_total{proto="smtp"}', body)
        self.assertIn("# TYPE postier_connections counter", body)
        self.assertIn("postier_info 1", body)
        code, _, _ = http_get(port, "/nope")
        self.assertEqual(code, 404)

    def test_metrics_count_sessions(self):
        # sessions of earlier tests may still be winding down
        self.assertTrue(wait_for(lambda: status(self.srv)["connections"] == 0))
        before = metrics(self.srv)
        s, f = connect(self.smtp_port())
        f.readline()
        m = metrics(self.srv)
        self.assertEqual(m['postier_sessions{proto="smtp"}'],
                         before['postier_sessions{proto="smtp"}'] + 1)
        self.assertEqual(m['postier_connections_total{proto="smtp"}'],
                         before['postier_connections_total{proto="smtp"}'] + 1)
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
        self.assertTrue(wait_for(lambda: metrics(self.srv)[
            'postier_sessions{proto="smtp"}'] <=
            before['postier_sessions{proto="smtp"}']))

    def test_tls_both_ways(self):
        ctx = ssl.create_default_context(cafile=self.srv.env["CA_FILE"])
        # implicit TLS (submissions), verified against the dev CA
        with socket.create_connection(
                ("127.0.0.1", self.srv.port("SUBMISSIONS_PORT")),
                timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                self.assertTrue(t.makefile("rb").readline().startswith(b"220"))
                self.assertIn(t.version(), ("TLSv1.2", "TLSv1.3"))
        # STARTTLS (submission)
        with smtplib.SMTP("127.0.0.1", self.srv.port("SUBMISSION_PORT"),
                          timeout=10) as c:
            c.ehlo("client.test")
            self.assertTrue(c.has_extn("starttls"))
            c.starttls(context=ctx)
            code, _ = c.ehlo("client.test")
            self.assertEqual(code, 250)
            self.assertFalse(c.has_extn("starttls"))
        # TLS 1.1 is refused
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        try:
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        except (ValueError, AttributeError):
            return
        with socket.create_connection(
                ("127.0.0.1", self.srv.port("SUBMISSIONS_PORT")),
                timeout=10) as raw:
            with self.assertRaises((ssl.SSLError, OSError)):
                old.wrap_socket(raw, server_hostname="localhost")
        self.assert_serving()

    def test_starttls_drops_pipelined_plaintext(self):
        """RFC 3207 4 / CVE-2011-0411: commands sent in the same packet as
        STARTTLS are discarded, never answered inside TLS."""
        ctx = ssl.create_default_context(cafile=self.srv.env["CA_FILE"])
        s, f = connect(self.srv.port("SUBMISSION_PORT"))
        try:
            f.readline()
            s.sendall(b"EHLO client.test\r\n")
            while f.readline()[3:4] != b" ":
                pass
            s.sendall(b"STARTTLS\r\nRSET\r\nNOOP injected\r\n")
            self.assertTrue(f.readline().startswith(b"220"))
            t = ctx.wrap_socket(s.sock, server_hostname="localhost")
            t.settimeout(3)
            t.sendall(b"NOOP after\r\n")
            reply = t.recv(4096)
            # exactly one reply: to the NOOP sent inside TLS
            self.assertEqual(reply.count(b"\r\n"), 1, reply)
            self.assertTrue(reply.startswith(b"250"), reply)
            t.close()
        finally:
            s.close()

    def test_silent_client_times_out(self):
        before = metrics(self.srv)["postier_session_timeouts_total"]
        s, f = connect(self.smtp_port(), timeout=20)
        self.assertTrue(f.readline().startswith(b"220"))
        t0 = time.monotonic()
        line = f.readline()
        self.assertTrue(line.startswith(b"421 4.4.2"), line)
        self.assertEqual(f.readline(), b"", "closed after the 421")
        self.assertLess(time.monotonic() - t0, 15)
        s.close()
        self.assertGreater(metrics(self.srv)["postier_session_timeouts_total"],
                           before)

    def test_huge_line_without_newline(self):
        """32 MiB without LF: refused, memory stays bounded, still serving."""
        pid = self.srv.pid
        rss0 = rss_kib(pid)
        s, f = connect(self.smtp_port(), timeout=30)
        try:
            f.readline()
            chunk = b"A" * (1 << 20)
            peak = rss0
            for i in range(HUGE_LINE_MIB):
                try:
                    s.sendall(chunk)
                except OSError:
                    break  # the server may give up on us: fine too
                if i % 4 == 0:
                    peak = max(peak, rss_kib(pid))
                    self.assert_serving()
            peak = max(peak, rss_kib(pid))
            # bounded: far below what was sent
            if not under_asan(pid):
                self.assertLess(peak - rss0, 8 * 1024,
                                f"RSS grew {peak - rss0} KiB")
            try:
                s.sendall(b"\r\nNOOP\r\n")
                reply = f.readline()
                self.assertRegex(reply, rb"^5\d\d ",
                                 "the long line is refused")
            except OSError:
                pass
        finally:
            s.close()
        self.assert_serving()
        self.assertTrue(wait_for(lambda: status(self.srv)["connections"] == 0))

    def test_client_that_never_reads(self):
        """Replies pile up: output stays bounded and the session is dropped,
        while other clients are served."""
        pid = self.srv.pid
        rss0 = rss_kib(pid)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", self.smtp_port()))
        s.settimeout(0.5)
        sent = 0
        payload = b"NOOP\r\n" * 10000
        deadline = time.monotonic() + 8
        # 60 KiB of NOOPs are answered with ~300 KiB; keep pushing until the
        # server stops reading (our send blocks) or we have sent 8 MiB
        while sent < 8 * (1 << 20) and time.monotonic() < deadline:
            try:
                sent += s.send(payload)
            except socket.timeout:
                break
            except OSError:
                break
        if not under_asan(pid):
            self.assertLess(rss_kib(pid) - rss0, 32 * 1024)
        self.assert_serving()
        # the server drops it (write timeout = the 2 s session timeout)
        self.assertTrue(wait_for(lambda: status(self.srv)["connections"] == 0,
                                 timeout=20), "session not dropped")
        self.assertIn("reason=write_timeout", self.srv.log_text())
        s.close()
        self.assert_serving()

    def test_sighup_keeps_sessions(self):
        c = smtplib.SMTP("127.0.0.1", self.smtp_port(), timeout=10)
        c.ehlo("client.test")
        log_before = self.srv.log_text().count("config.reload ")
        os.kill(self.srv.pid, signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.srv.log_text().count(
            "config.reload ") > log_before))
        # the running session carries on
        self.assertEqual(c.noop()[0], 250)
        self.assertEqual(c.ehlo("client.test")[0], 250)
        c.quit()
        self.assert_serving()
        self.assertEqual(http_get(self.srv.port("ADMIN_PORT"), "/health")[0],
                         200)


class Limits(unittest.TestCase):
    """Connection limits, reload of limits, and the auth ban."""

    # One server; test_auth_ban runs first (unittest sorts by name) and
    # waits for its ban to end, the limits test then reloads new limits.
    @classmethod
    def setUpClass(cls):
        cls.srv = DevServer([
            "--set", "limits.max_connections_per_ip=3",
            "--set", "limits.auth_ban_failures=3",
            "--set", "limits.auth_ban_time=2s",
            "--set", "smtp.plaintext_auth=yes"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def open_n(self, port, n):
        conns = []
        for _ in range(n):
            s, f = connect(port)
            line = f.readline()
            conns.append((s, f, line))
        return conns

    def test_per_ip_then_global_limit_after_reload(self):
        port = self.srv.port("SMTP_PORT")
        conns = self.open_n(port, 4)
        for _, _, line in conns[:3]:
            self.assertTrue(line.startswith(b"220"), line)
        self.assertTrue(conns[3][2].startswith(b"421 4.7.0"), conns[3][2])
        self.assertEqual(conns[3][1].readline(), b"")
        m = metrics(self.srv)
        self.assertEqual(
            m['postier_connections_rejected_total{reason="per_ip_limit"}'], 1)
        # the limit counts all roles together
        s, f = connect(self.srv.port("SUBMISSION_PORT"))
        self.assertTrue(f.readline().startswith(b"421 4.7.0"))
        s.close()
        for s, _, _ in conns:
            s.close()
        self.assertTrue(wait_for(lambda: status(self.srv)["connections"] == 0))

        # SIGHUP: a global limit of 2, no per-address limit
        conf = self.srv.env["CONFIG"]
        with open(conf) as f:
            text = f.read()
        text = text.replace("max_connections_per_ip = 3",
                            "max_connections_per_ip = 0\nmax_connections = 2")
        with open(conf, "w") as f:
            f.write(text)
        reloads = self.srv.log_text().count("config.reload ")
        os.kill(self.srv.pid, signal.SIGHUP)
        self.assertTrue(wait_for(
            lambda: self.srv.log_text().count("config.reload ") > reloads))
        self.assertRegex(self.srv.log_text(),
                         r"config\.reload .*limits\.max_connections")
        conns = self.open_n(port, 3)
        self.assertTrue(conns[1][2].startswith(b"220"))
        self.assertTrue(conns[2][2].startswith(b"421 4.7.0"), conns[2][2])
        m = metrics(self.srv)
        self.assertEqual(
            m['postier_connections_rejected_total{reason="global_limit"}'], 1)
        for s, _, _ in conns:
            s.close()

    def auth_fail(self, port):
        s, f = connect(port)
        greeting = f.readline()
        if not greeting.startswith(b"220"):
            s.close()
            return greeting
        s.sendall(b"EHLO client.test\r\n")
        while True:
            line = f.readline()
            if not line or line[3:4] == b" ":
                break
        cred = base64.b64encode(b"\0alice@example.test\0wrong-password")
        s.sendall(b"AUTH PLAIN " + cred + b"\r\n")
        reply = f.readline()
        s.close()
        return reply

    def test_auth_ban(self):
        port = self.srv.port("SMTP_PORT")
        for i in range(3):
            reply = self.auth_fail(port)
            self.assertTrue(reply.startswith(b"535") or reply.startswith(b"421"),
                            reply)
        # banned now, on every role
        for key in ("SMTP_PORT", "SUBMISSION_PORT"):
            s, f = connect(self.srv.port(key))
            line = f.readline()
            self.assertTrue(line.startswith(b"421 4.7.0"), (key, line))
            s.close()
        st = status(self.srv)
        if st["listeners"].get("pop3"):
            s, f = connect(self.srv.port("POP3_PORT"))
            self.assertTrue(f.readline().startswith(b"-ERR [SYS/TEMP]"))
            s.close()
        if st["listeners"].get("imap"):
            s, f = connect(self.srv.port("IMAP_PORT"))
            self.assertTrue(f.readline().startswith(b"* BYE"))
            s.close()
        m = metrics(self.srv)
        self.assertEqual(m["postier_auth_bans_total"], 1)
        self.assertEqual(m["postier_auth_banned_addresses"], 1)
        self.assertEqual(m['postier_auth_failures_total{proto="smtp"}'], 3)
        self.assertGreaterEqual(
            m['postier_connections_rejected_total{reason="auth_ban"}'], 2)
        log = self.srv.log_text()
        fails = re.findall(r"auth\.fail sid=[0-9a-f]{16} proto=smtp "
                           r'user="alice@example.test" rip=127\.0\.0\.1 '
                           r"reason=\S+", log)
        self.assertEqual(len(fails), 3, log[-2000:])
        self.assertNotIn("wrong-password", log)
        self.assertIn("auth.ban rip=127.0.0.1", log)
        # the ban ends after auth_ban_time
        def accepted():
            s, f, line = self.open_n(port, 1)[0]
            s.close()
            return line.startswith(b"220")
        self.assertTrue(wait_for(accepted, timeout=10))
        self.assertEqual(metrics(self.srv)["postier_auth_banned_addresses"], 0)


class Drain(unittest.TestCase):
    """SIGTERM lets the transaction in progress finish, then stops."""

    def test_sigterm_drains(self):
        srv = DevServer(["--set", "server.drain_timeout=10s"]).start()
        try:
            pid = srv.pid
            c = smtplib.SMTP("127.0.0.1", srv.port("SMTP_PORT"), timeout=15)
            c.ehlo("client.test")
            self.assertEqual(c.mail("sender@example.org")[0], 250)
            self.assertEqual(c.rcpt("bob@example.test")[0], 250)
            code, _ = c.docmd("DATA")
            self.assertEqual(code, 354)
            c.send(b"Subject: drain\r\n\r\nfirst half\r\n")
            os.kill(pid, signal.SIGTERM)
            self.assertTrue(wait_for(
                lambda: "server.drain" in srv.log_text()))
            # no new connections
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", srv.port("SMTP_PORT")),
                                         timeout=2).recv(1)
            c.send(b"second half\r\n.\r\n")
            code, msg = c.getreply()
            self.assertEqual(code, 250, msg)
            # then the session is closed politely and the process exits
            try:
                code, _ = c.noop()
                self.assertIn(code, (421, 250))
            except smtplib.SMTPServerDisconnected:
                pass
            c.close()
            self.assertTrue(wait_for(lambda: not alive(pid), timeout=15))
            log = srv.log_text()
            self.assertIn("server.stop", log)
            self.assertNotIn("drain_timeout", log)
        finally:
            srv.stop()

    def test_sigterm_deadline_closes_idle_sessions(self):
        srv = DevServer(["--set", "server.drain_timeout=3s"]).start()
        try:
            pid = srv.pid
            s, f = connect(srv.port("SMTP_PORT"), timeout=15)
            f.readline()
            os.kill(pid, signal.SIGTERM)
            # an idle session is told to go within about a second, as a
            # shutdown (4.3.2), not as a timeout of its own (4.4.2)
            line = f.readline()
            self.assertTrue(line.startswith(b"421 4.3.2"), line)
            s.close()
            self.assertTrue(wait_for(lambda: not alive(pid), timeout=10))
        finally:
            srv.stop()


class Reload(unittest.TestCase):
    """SIGHUP applies the directory, certificates and reloadable keys, and
    names the keys that need a restart."""

    # One server; unittest runs the tests in name order and each builds on
    # the configuration the previous one left (the bad file comes last).
    @classmethod
    def setUpClass(cls):
        cls.srv = DevServer().start()
        cls.dir = os.path.dirname(cls.srv.env["CONFIG"])

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def hup_and_wait(self):
        n = self.srv.log_text().count("config.reload ")
        os.kill(self.srv.pid, signal.SIGHUP)
        self.assertTrue(wait_for(
            lambda: self.srv.log_text().count("config.reload ") > n))

    def peer_cn(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(
                ("127.0.0.1", self.srv.port("SUBMISSIONS_PORT")),
                timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                der = t.getpeercert(binary_form=True)
        out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout",
                              "-subject"], input=der, capture_output=True)
        return out.stdout.decode()

    def test_2_directory_certificate_and_keys(self):
        port = self.srv.port("SMTP_PORT")
        home = os.path.join(self.srv.env["DATA_DIR"], "home", "example.test",
                            "zoe")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            c.ehlo("client.test")
            c.mail("sender@example.org")
            self.assertEqual(c.rcpt("zoe@example.test")[0], 550)
        # a new user in the passwd-file
        with open(os.path.join(self.dir, "passwd"), "a") as f:
            f.write(f"zoe@example.test:{{PLAIN}}pw::::{home}::\n")
        # a new certificate, same paths
        self.assertIn("CN = localhost", self.peer_cn())
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-keyout", os.path.join(self.dir, "server.key"),
                        "-out", os.path.join(self.dir, "server.pem"),
                        "-days", "2", "-subj", "/CN=reloaded.test"],
                       check=True, capture_output=True)
        # a reloadable key and one that needs a restart
        with open(self.srv.env["CONFIG"], "a") as f:
            f.write("\n[queue]\ndelivery_workers = 3\n"
                    "[pop3]\ntimeout = 11m\n")
        self.hup_and_wait()
        log = self.srv.log_text()
        self.assertRegex(log, r"config\.reload changed=\d+ "
                         r'applied=\S*pop3\.timeout\S* '
                         r'restart_needed=\S*queue\.delivery_workers')
        self.assertIn("config.restart_needed keys=queue.delivery_workers", log)
        self.assertIn("CN = reloaded.test", self.peer_cn())
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
            c.ehlo("client.test")
            c.mail("sender@example.org")
            self.assertEqual(c.rcpt("zoe@example.test")[0], 250)

    def test_1_admin_token(self):
        port = self.srv.port("ADMIN_PORT")
        with open(self.srv.env["CONFIG"], "a") as f:
            f.write("\n[admin]\ntoken = s3cret-token\n")
        self.hup_and_wait()
        code, headers, _ = http_get(port, "/metrics")
        self.assertEqual(code, 401)
        self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
        code, _, _ = http_get(port, "/health",
                              {"Authorization": "Bearer wrong-token!"})
        self.assertEqual(code, 401)
        code, _, body = http_get(port, "/metrics",
                                 {"Authorization": "Bearer s3cret-token"})
        self.assertEqual(code, 200)
        self.assertTrue(body.endswith("# EOF\n"))
        self.assertNotIn("s3cret-token", self.srv.log_text())

    def test_3_bad_reload_keeps_running(self):
        with open(self.srv.env["CONFIG"], "a") as f:
            f.write("\n[limits]\nbogus = 1\n")
        os.kill(self.srv.pid, signal.SIGHUP)
        self.assertTrue(wait_for(
            lambda: "config.reload_failed" in self.srv.log_text()))
        self.assertIn("unknown key bogus", self.srv.log_text())
        # (test_1 left an admin token in place)
        self.assertEqual(http_get(self.srv.port("ADMIN_PORT"), "/health",
                                  {"Authorization": "Bearer s3cret-token"})[0],
                         200)
        s, f = connect(self.srv.port("SMTP_PORT"))
        self.assertTrue(f.readline().startswith(b"220"))
        s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
