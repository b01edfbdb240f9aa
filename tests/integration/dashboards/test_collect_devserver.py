"""postier-dash collect against a real postierd (scripts/dev-server) under
known traffic: N messages sent with smtplib while collect scrapes every
second; the stored rates integrate back to N (messages in, delivered) within
the tolerance below, the delivery percentiles are filled, and a scrape gap
(postierd stopped with SIGSTOP, so scrapes time out) stays unknown.

Tolerance: sum(rate x step) over the run = N +- (2 + 3% of N): the first
scrape has no rate and librrd splits the edge steps."""
import os
import signal
import smtplib
import subprocess
import time
import unittest

import dashtest
import postier_test

N = 120           # messages
SEND_SECONDS = 6  # sent evenly over this time


class CollectDevServerTest(unittest.TestCase):

    def test_known_traffic_and_gap(self):
        if not os.path.exists(os.path.join(postier_test.SOURCE_DIR, "scripts", "dev-server")) \
                or not os.path.exists(postier_test.binary("mailserver/postierd")):
            self.skipTest("scripts/dev-server or postierd not built")
        with dashtest.TempDir() as tmp, postier_test.DevServer() as srv:
            url = "http://127.0.0.1:%d/metrics" % srv.port("ADMIN_PORT")
            rrd_dir = os.path.join(tmp, "rrd")
            t0 = time.time()
            cycles = 20
            collect = subprocess.Popen(
                [dashtest.DASH, "collect", "--rrd-dir", rrd_dir, "--step", "1",
                 "--cycles", str(cycles), "--timeout", "500ms", "--node", "dev=" + url],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                time.sleep(2.5)
                rcpt = srv.users[0][0]
                size = 0
                s = smtplib.SMTP("127.0.0.1", srv.port("SMTP_PORT"), timeout=30)
                start = time.monotonic()
                for i in range(N):
                    body = ("Subject: dash %d\r\n\r\n" % i) + ("x" * 900 + "\r\n") * 10
                    s.sendmail("load@example.test", [rcpt], body)
                    size += len(body)
                    pause = start + (i + 1) * SEND_SECONDS / N - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                s.quit()
                time.sleep(2.5)
                # a gap: postierd frozen, its /metrics times out
                os.kill(srv.pid, signal.SIGSTOP)
                try:
                    time.sleep(3.5)
                finally:
                    os.kill(srv.pid, signal.SIGCONT)
                out, err = collect.communicate(timeout=60)
            finally:
                if collect.poll() is None:
                    collect.kill()
                    collect.wait()
            t1 = time.time()
            self.assertIn("dash.scrape_failed node=dev", err)
            _, rows = dashtest.fetch(os.path.join(rrd_dir, "dev.rrd"), t0, t1)

            def integral(ds):
                return sum(d[ds] for _, d in rows if d[ds] is not None)

            tol = 2 + 0.03 * N
            print("sent %d messages (%d bytes); stored: msgs_in %.2f delivered %.2f "
                  "bytes_in %.0f; delivery p50/p99 rows %s"
                  % (N, size, integral("msgs_in"), integral("delivered"),
                     integral("bytes_in"),
                     [(round(d["deliv_p50"], 4), round(d["deliv_p99"], 4))
                      for _, d in rows if d["deliv_p50"] is not None][:4]))
            self.assertAlmostEqual(integral("msgs_in"), N, delta=tol,
                                   msg=[d["msgs_in"] for _, d in rows])
            self.assertAlmostEqual(integral("delivered"), N, delta=tol,
                                   msg=[d["delivered"] for _, d in rows])
            # the server counts the bytes it stores (it may add a header line)
            self.assertAlmostEqual(integral("bytes_in"), size, delta=size * 0.1)
            self.assertGreaterEqual(integral("conn_smtp"), 0.5)
            busy = [d["msgs_in"] for _, d in rows if d["msgs_in"]]
            self.assertGreater(max(busy), 0.5 * N / SEND_SECONDS)
            lat = [d["deliv_p50"] for _, d in rows if d["deliv_p50"] is not None]
            self.assertTrue(lat, "no delivery percentile stored")
            self.assertTrue(all(0 < v < 5 for v in lat), lat)
            # the frozen seconds are unknown, never 0
            vals = [d["msgs_in"] for _, d in rows]
            first = next(i for i, v in enumerate(vals) if v is not None)
            last = max(i for i, v in enumerate(vals) if v is not None)
            holes = [i for i in range(first, last + 1) if vals[i] is None]
            self.assertGreaterEqual(len(holes), 2, vals)
            queue = [d["queue"] for _, d in rows]
            self.assertTrue(any(q is None for q in queue[first:last + 1]), queue)


if __name__ == "__main__":
    unittest.main(verbosity=2)
