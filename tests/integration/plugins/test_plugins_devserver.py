"""Every check_postier_* against a real postierd started by scripts/dev-server:
OK, thresholds crossed (WARNING, CRITICAL), certificate days against the dev
CA (a 30-day certificate), login from an authfile, PATROL output. A protocol
postierd does not serve yet (its port refuses) is skipped with that reason."""
import os
import unittest

import plugintest as pt
from plugintest import run
from postier_test import DevServer, SOURCE_DIR, binary


def available():
    if not os.path.exists(os.path.join(SOURCE_DIR, "scripts", "dev-server")):
        return "scripts/dev-server missing"
    if not os.path.exists(binary("mailserver/postierd")):
        return "postierd not built"
    return None


@unittest.skipIf(available() is not None, available())
class DevServerChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = DevServer().start()
        user, pw = cls.srv.users[0]
        cls.auth = pt.write_authfile(cls.srv.dir, user, pw)
        cls.ca = cls.srv.env["CA_FILE"]

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def port(self, key):
        p = self.srv.port(key)
        if not pt.port_open(p):
            self.skipTest("postierd does not listen on %s yet" % key)
        return p

    def crossed(self, name, *args):
        """OK with loose thresholds, WARNING and CRITICAL when crossed."""
        r = run(name, *args, "-w", "5", "-c", "10")
        self.assertEqual(r.state, "OK", r)
        r = run(name, *args, "-w", "0", "-c", "10")
        self.assertEqual(r.state, "WARNING", r)
        r = run(name, *args, "-w", "0", "-c", "0")
        self.assertEqual(r.state, "CRITICAL", r)
        return r

    def test_health(self):
        admin = self.port("ADMIN_PORT")
        self.crossed("check_postier_health", "-p", admin)
        r = run("check_postier_health", "-p", admin, "--output=patrol")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("STATUS 0 OK", r.stdout)

    def test_queue(self):
        admin = self.port("ADMIN_PORT")
        r = run("check_postier_queue", "-p", admin, "-w", "100", "-c", "1000")
        self.assertEqual(r.state, "OK", r)
        q = r.perf["messages"][0]
        # "@0:q" alerts while the queue holds 0..q messages: crossed
        r = run("check_postier_queue", "-p", admin, "-w", "@0:%d" % q)
        self.assertEqual(r.state, "WARNING", r)
        r = run("check_postier_queue", "-p", admin, "-C", "@0:1e9")
        self.assertEqual(r.state, "CRITICAL", r)

    def test_metric(self):
        admin = self.port("ADMIN_PORT")
        self.port("SMTP_PORT")
        run("check_postier_smtp", "-H", "127.0.0.1", "-p",
            self.srv.port("SMTP_PORT"))
        r = run("check_postier_metric", "-p", admin, "-m",
                "postier_connections_total", "-l", "proto=smtp")
        self.assertEqual(r.state, "OK", r)
        self.assertGreaterEqual(r.perf["postier_connections_total"][0], 1)
        r = run("check_postier_metric", "-p", admin, "-m",
                "postier_connections_total", "-l", "proto=smtp", "-c", "@1:")
        self.assertEqual(r.state, "CRITICAL", r)

    def test_smtp(self):
        self.crossed("check_postier_smtp", "-H", "127.0.0.1", "-p",
                     self.port("SMTP_PORT"))
        r = run("check_postier_smtp", "-H", "localhost", "-p",
                self.port("SUBMISSION_PORT"), "--starttls", "-a", self.auth,
                "-D", "10,5", "--ca-file", self.ca)
        self.assertEqual(r.state, "OK", r)
        self.assertIn("login ok", r.stdout)
        r = run("check_postier_smtp", "-H", "127.0.0.1", "-p",
                self.port("SUBMISSIONS_PORT"), "--ssl", "-a", self.auth,
                "-D", "40,5", "--ca-file", self.ca)
        self.assertEqual(r.state, "WARNING", r)
        r = run("check_postier_smtp", "-H", "127.0.0.1", "-p",
                self.port("SUBMISSIONS_PORT"), "--ssl", "-D", "60,40")
        self.assertEqual(r.state, "CRITICAL", r)

    def test_imap(self):
        self.crossed("check_postier_imap", "-H", "127.0.0.1", "-p",
                     self.port("IMAP_PORT"))
        r = run("check_postier_imap", "-H", "localhost", "-p",
                self.port("IMAPS_PORT"), "--ssl", "-a", self.auth, "-m",
                "INBOX", "-D", "10,5", "--ca-file", self.ca)
        self.assertEqual(r.state, "OK", r)

    def test_pop3(self):
        self.crossed("check_postier_pop3", "-H", "127.0.0.1", "-p",
                     self.port("POP3_PORT"))
        r = run("check_postier_pop3", "-H", "localhost", "-p",
                self.port("POP3S_PORT"), "--ssl", "-a", self.auth, "-D",
                "10,5", "--ca-file", self.ca)
        self.assertEqual(r.state, "OK", r)

    def test_roundtrip(self):
        sub = self.port("SUBMISSION_PORT")
        imap = self.port("IMAP_PORT")
        r = run("check_postier_roundtrip", "-H", "127.0.0.1", "--smtp-port",
                sub, "--read-port", imap, "--starttls", "-a", self.auth,
                "--ca-file", self.ca, "-w", "10", "-c", "20", "-t", "30")
        self.assertEqual(r.state, "OK", r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
