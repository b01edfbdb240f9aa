"""check_postier_* against certificates made for the test (good, expired,
wrong name, untrusted chain), a fake postierd admin endpoint (healthy, 503,
garbage, silent, queue and metric thresholds, rates) and a fake HA agent
socket. Needs no postierd."""
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


class Certificates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = pt.Certs()

    @classmethod
    def tearDownClass(cls):
        cls.certs.cleanup()

    def check(self, name, pair, *args):
        fake = FAKES[name]
        with fake(self.certs.context(pair)) as srv:
            return run(name, "-H", "localhost", "-p", srv.port, "--ssl", *args)

    def test_good_certificate(self):
        for name in MAIL:
            r = self.check(name, self.certs.good, "-D", "10,5", "--ca-file",
                           self.certs.ca_file)
            self.assertEqual(r.state, "OK", r)
            days = r.perf["cert_days"][0]
            self.assertTrue(18 <= days <= 20, r)
            r = self.check(name, self.certs.good, "-D", "25,5")
            self.assertEqual(r.state, "WARNING", r)
            self.assertIn("certificate expires in", r.stdout)
            r = self.check(name, self.certs.good, "-D", "40,25")
            self.assertEqual(r.state, "CRITICAL", r)

    def test_expired(self):
        for name in MAIL:
            r = self.check(name, self.certs.expired, "-D", "30,7")
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertIn("certificate expired on 2020-02-01", r.stdout)
            self.assertLess(r.perf["cert_days"][0], 0)

    def test_wrong_name(self):
        for name in MAIL:
            r = self.check(name, self.certs.wrong_name, "--ca-file",
                           self.certs.ca_file)
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertIn("not valid for localhost", r.stdout)
            r = self.check(name, self.certs.wrong_name, "--ca-file",
                           self.certs.ca_file, "--servername",
                           "elsewhere.example")
            self.assertEqual(r.state, "OK", r)
            r = self.check(name, self.certs.wrong_name, "--ca-file",
                           self.certs.ca_file, "--ignore-name")
            self.assertEqual(r.state, "OK", r)

    def test_untrusted_chain(self):
        for name in MAIL:
            r = self.check(name, self.certs.other_ca, "--ca-file",
                           self.certs.ca_file)
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertIn("does not verify", r.stdout)

    def test_tls_to_plain_server(self):
        with pt.fake_smtp() as srv:
            r = run("check_postier_smtp", "-H", "127.0.0.1", "-p", srv.port,
                    "--ssl", "-t", "3")
            self.assertEqual(r.state, "CRITICAL", r)


METRICS = """# TYPE postier_queue_messages gauge
postier_queue_messages 150
# TYPE postier_queue_oldest_age_seconds gauge
# UNIT postier_queue_oldest_age_seconds seconds
postier_queue_oldest_age_seconds 700
# TYPE postier_connections counter
postier_connections_total{proto="smtp"} %d
postier_connections_total{proto="imap"} 5
# EOF
"""


class AdminEndpoint(unittest.TestCase):
    def test_health(self):
        with pt.FakeAdmin() as a:
            r = run("check_postier_health", "-p", a.port, "-w", "5", "-c", "10")
            self.assertEqual(r.state, "OK", r)
            self.assertEqual(r.perf["time"][1:4], ("s", "5", "10"))
            a.health = (503, '{"status":"fail","reason":"spool unwritable"}')
            r = run("check_postier_health", "-p", a.port)
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertIn("spool unwritable", r.stdout)
            a.health = (200, "<html>hello</html>")
            r = run("check_postier_health", "-p", a.port)
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertIn("not a JSON object", r.stdout)
            a.health = (200, '{"status":"ok"}')
            r = run("check_postier_health", "-u",
                    "http://127.0.0.1:%d/" % a.port, "-w", "0")
            self.assertEqual(r.state, "WARNING", r)
            a.delay = 3
            r = run("check_postier_health", "-p", a.port, "-t", "1:unknown")
            self.assertEqual(r.state, "UNKNOWN", r)
            self.assertIn("timeout after 1 s", r.stdout)
            self.assertLess(r.elapsed, 3.0, r)

    def test_health_closed_and_hostile(self):
        port = closed_port()
        for name, extra in (("check_postier_health", []),
                            ("check_postier_queue", []),
                            ("check_postier_metric", ["-m", "x"])):
            r = run(name, "-p", port, *extra)
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertIn("Couldn't connect", r.stdout, r)
        with pt.garbage_server() as srv:
            r = run("check_postier_health", "-p", srv.port, "-t", "3")
            self.assertEqual(r.state, "CRITICAL", r)
        with pt.silent_server() as srv:
            r = run("check_postier_queue", "-p", srv.port, "-t", "2")
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertLess(r.elapsed, 4.0, r)

    def test_queue(self):
        with pt.FakeAdmin() as a:
            a.metrics = METRICS % 100
            r = run("check_postier_queue", "-p", a.port, "-w", "200", "-c",
                    "300", "-W", "900", "-C", "1800")
            self.assertEqual(r.state, "OK", r)
            self.assertEqual(r.perf["messages"][0], 150)
            self.assertEqual(r.perf["oldest_age"][0:2], (700, "s"))
            r = run("check_postier_queue", "-p", a.port, "-w", "100", "-c",
                    "300")
            self.assertEqual(r.state, "WARNING", r)
            r = run("check_postier_queue", "-p", a.port, "-W", "60", "-C",
                    "600")
            self.assertEqual(r.state, "CRITICAL", r)
            self.assertIn("age beyond", r.stdout)
            a.metrics = "# EOF\n"
            r = run("check_postier_queue", "-p", a.port)
            self.assertEqual(r.state, "UNKNOWN", r)

    def test_metric_value_and_rate(self):
        with pt.FakeAdmin() as a, tempfile.TemporaryDirectory() as d:
            a.metrics = METRICS % 100
            r = run("check_postier_metric", "-p", a.port, "-m",
                    "postier_connections_total", "-l", "proto=smtp",
                    "-w", "50", "-c", "200")
            self.assertEqual(r.state, "WARNING", r)
            # a counter's value carries the guidelines' UOM "c"
            self.assertEqual(r.perf["postier_connections_total"][0:2],
                             (100, "c"))
            r = run("check_postier_metric", "-p", a.port, "-m",
                    "postier_connections_total")
            self.assertEqual(r.perf["postier_connections_total"][0], 105)
            r = run("check_postier_metric", "-p", a.port, "-m", "nothing")
            self.assertEqual(r.state, "UNKNOWN", r)
            state = os.path.join(d, "rate.state")
            # -w ~:10 is crossed by any rate above 10/s; the 2000 more
            # connections come at least 1 s later, so the rate is at most
            # 2000/s, under -c ~:5000 however slow the machine is
            args = ["-p", a.port, "-m", "postier_connections_total", "-l",
                    'proto="smtp"', "--rate", "--state-file", state,
                    "-w", "~:10", "-c", "~:5000"]
            t0 = time.time()
            r = run("check_postier_metric", *args)
            t0_end = time.time()
            self.assertEqual(r.state, "OK", r)
            self.assertIn("first sample stored", r.stdout)
            time.sleep(1.0)
            a.metrics = METRICS % 2100
            t1_start = time.time()
            r = run("check_postier_metric", *args)
            t1 = time.time()
            rate = r.perf["postier_connections_total_rate"][0]
            self.assertTrue(2000 / (t1 - t0) <= rate <=
                            2000 / (t1_start - t0_end), r)
            self.assertEqual(r.state, "WARNING", r)
            a.metrics = METRICS % 50
            r = run("check_postier_metric", *args)
            self.assertEqual(r.state, "OK", r)
            self.assertIn("counter reset", r.stdout)


HA_OK = ("postier-ha-status 1\nnode=mx1\nstate=MASTER\npeer=mx2\n"
         "peer_state=BACKUP\npeer_seen_ms=200\ndead_time_ms=3000\n"
         "links_up=2\nlinks_total=2\n\n")


class HaCheck(unittest.TestCase):
    def test_agent_absent_unknown(self):
        with tempfile.TemporaryDirectory() as d:
            r = run("check_postier_ha", "-S", os.path.join(d, "none.sock"))
            self.assertEqual(r.state, "UNKNOWN", r)
            self.assertIn("HA agent not available", r.stdout)
        r = run("check_postier_ha")
        self.assertEqual(r.state, "UNKNOWN", r)
        self.assertIn("HA agent not available", r.stdout)

    def test_socket_states(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ha.sock")
            for text, want in (
                    (HA_OK, "OK"),
                    (HA_OK.replace("peer_state=BACKUP", "peer_state=MASTER"),
                     "CRITICAL"),
                    (HA_OK.replace("state=MASTER\n", "state=BACKUP\n", 1),
                     "CRITICAL"),
                    (HA_OK.replace("links_up=2", "links_up=1"), "WARNING"),
                    ("garbage\n\n", "UNKNOWN")):
                with pt.FakeHaAgent(path, text):
                    r = run("check_postier_ha", "-S", path)
                    self.assertEqual(r.state, want, (text, r))
            with pt.FakeHaAgent(path, HA_OK):
                r = run("check_postier_ha", "-S", path, "--output=patrol")
                self.assertIn("PARAM masters 1 - 0", r.stdout)

    def test_status_file(self):
        src = os.path.join(pt.SOURCE_DIR, "tests", "unit", "plugins",
                           "fixtures", "ha")
        for f, want in (("normal.status", "OK"),
                        ("split_brain.status", "CRITICAL"),
                        ("no_master.status", "CRITICAL"),
                        ("peer_silent_master.status", "WARNING"),
                        ("bad_version.status", "UNKNOWN")):
            r = run("check_postier_ha", "--status-file", os.path.join(src, f))
            self.assertEqual(r.state, want, (f, r))
            if want != "UNKNOWN":
                self.assertIn("masters", r.perf)


if __name__ == "__main__":
    unittest.main(verbosity=2)
