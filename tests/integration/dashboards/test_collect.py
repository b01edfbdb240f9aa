"""postier-dash collect against simulated nodes whose counters grow at known
rates (fakenode.py): the stored rates (rrd_fetch through `rrdtool fetch`)
match within a stated tolerance, a scrape gap stays unknown (never zero), an
unreachable node is reported and does not stop the others; the same through
rrdcached with `--once` runs (cron style, percentiles kept across runs).

Tolerance: counters are integers on the wire (one step of a rate can be off
by 1.5 counts) and the collector timestamps a scrape when its reply arrives
(jitter); each row must be within 10% + 1.5/step of the truth, the mean of
all rows within 3% + 1.5/(step*rows). Rows next to an unknown one are skipped
(librrd counts unknown time in whole seconds, fractional timestamps make
those rows a few percent low)."""
import calendar
import os
import re
import subprocess
import sys
import time
import unittest

import dashtest
from fakenode import EXPECTED, FakeNodes

STEP = 1
# One row's rate is the counter's growth between two scrapes divided by the
# collector's clock between them: scheduling jitter on a loaded machine (tens
# of ms on a 1 s step) moves single rows by a few percent, not the mean.
ROW_TOLERANCE = 0.10


def check_rates(tc, rows, label, skip_edges=True, step=1, min_rows=3):
    """rows: [(t, {ds: v})] -> checks every EXPECTED data source."""
    known = [i for i, (_, d) in enumerate(rows) if d["msgs_in"] is not None]
    usable = []
    for i in known:
        if skip_edges and (i - 1 not in known or i + 1 not in known):
            continue
        usable.append(rows[i][1])
    tc.assertGreaterEqual(len(usable), min_rows, "%s: too few known rows: %s" % (label, rows))
    for ds, want in EXPECTED.items():
        vals = [d[ds] for d in usable]
        tc.assertNotIn(None, vals, "%s: %s unknown in a known row" % (label, ds))
        if ds.startswith("deliv_"):
            for v in vals:
                tc.assertAlmostEqual(v, want, delta=want * 0.02,
                                     msg="%s %s: %r" % (label, ds, vals))
            continue
        per_row = want * ROW_TOLERANCE + 1.5 / step
        for v in vals:
            tc.assertAlmostEqual(v, want, delta=per_row,
                                 msg="%s %s row: %r" % (label, ds, vals))
        mean = sum(vals) / len(vals)
        tc.assertAlmostEqual(mean, want, delta=want * 0.03 + 1.5 / (step * len(vals)),
                             msg="%s %s mean of %r" % (label, ds, vals))
    # HA state is not exported yet: unknown, never 0
    tc.assertTrue(all(d["ha_state"] is None for _, d in rows), label)


class CollectTest(unittest.TestCase):

    def test_known_rates_gap_and_dead_node(self):
        cycles = 12
        with dashtest.TempDir() as tmp, \
                FakeNodes(["good", "flaky"], fail={"flaky": {5, 6, 7}}) as fake:
            self.assertTrue(dashtest.wait_port(fake.port))
            dead = "http://127.0.0.1:%d/metrics" % dashtest.closed_port()
            rrd_dir = os.path.join(tmp, "rrd")
            t0 = time.time()
            p = dashtest.run_dash(
                "collect", "--rrd-dir", rrd_dir, "--step", str(STEP),
                "--cycles", str(cycles), "--timeout", "2s",
                "--node", "good=" + fake.url("good"),
                "--node", "flaky=" + fake.url("flaky"),
                "--node", "dead=" + dead, timeout=60)
            t1 = time.time()
            # some node failed -> 1, and it says which and why
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("dash.scrape_failed node=dead", p.stderr)
            self.assertIn("node=flaky", p.stderr)
            self.assertIn("HTTP status 503", p.stderr)
            self.assertEqual(fake.requests["good"], cycles)

            _, good = dashtest.fetch(os.path.join(rrd_dir, "good.rrd"), t0, t1)
            check_rates(self, good, "good")
            inner = [d for _, d in good[3:-2]]
            self.assertTrue(all(d["msgs_in"] is not None for d in inner),
                            "good node has a hole: %r" % good)

            _, flaky = dashtest.fetch(os.path.join(rrd_dir, "flaky.rrd"), t0, t1)
            check_rates(self, flaky, "flaky")
            vals = [d["msgs_in"] for _, d in flaky]
            first = next(i for i, v in enumerate(vals) if v is not None)
            last = max(i for i, v in enumerate(vals) if v is not None)
            holes = [i for i in range(first, last) if vals[i] is None]
            # 3 failed scrapes: 3 unknown steps, +1 for the rate after the gap
            self.assertGreaterEqual(len(holes), 3, vals)
            self.assertLessEqual(len(holes), 5, vals)
            self.assertNotIn(0.0, vals, "a gap was stored as zero: %r" % vals)
            q = [d["queue"] for _, d in flaky]
            self.assertGreaterEqual(sum(1 for i in holes if q[i] is None), 2, q)
            self.assertNotIn(0.0, q, "a gauge gap was stored as zero")

            _, dead_rows = dashtest.fetch(os.path.join(rrd_dir, "dead.rrd"), t0, t1)
            for _, d in dead_rows:
                self.assertTrue(all(v is None for v in d.values()),
                                "unreachable node has data: %r" % d)

    def test_rrdcached_once_runs(self):
        """Cron style: one process per scrape, through rrdcached; the
        delivery percentiles survive between runs (RRD_DIR/NAME.hist)."""
        with dashtest.TempDir() as tmp, FakeNodes(["n1"]) as fake:
            self.assertTrue(dashtest.wait_port(fake.port))
            rrd_dir = os.path.join(tmp, "rrd")
            os.mkdir(rrd_dir)
            sock = os.path.join(tmp, "rrdcached.sock")
            daemon = "unix:" + sock
            cached = subprocess.Popen(
                ["rrdcached", "-g", "-l", daemon, "-b", rrd_dir, "-B",
                 "-p", os.path.join(tmp, "rrdcached.pid"),
                 "-w", "3600", "-z", "1", "-t", "2"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                for _ in range(100):
                    if os.path.exists(sock):
                        break
                    time.sleep(0.05)
                self.assertTrue(os.path.exists(sock), "rrdcached did not start")
                t0 = time.time()
                step = 2   # a 4 s heartbeat: slow runs (ASan, busy machine) stay known
                for i in range(7):
                    # each run in its own step, as cron would
                    time.sleep(max(0.0, (int(time.time()) // step + 1) * step + 0.2
                                   - time.time()))
                    p = dashtest.run_dash("-q", "collect", "--once", "--rrd-dir", rrd_dir,
                                          "--step", str(step), "--daemon", daemon,
                                          "--node", "n1=" + fake.url("n1"), timeout=30)
                    self.assertEqual(p.returncode, 0, p.stderr)
                t1 = time.time()
                self.assertTrue(os.path.exists(os.path.join(rrd_dir, "n1.hist")))
                _, rows = dashtest.fetch(os.path.join(rrd_dir, "n1.rrd"), t0, t1,
                                         step=step, daemon=daemon)
                # the updates were in rrdcached's memory (-w 3600): fetch --daemon
                # flushed them
                check_rates(self, rows, "n1 via rrdcached", step=step, min_rows=2)
                # render through the same daemon, two processes: each must
                # have its own rrdcached connection
                synth = dashtest.run_dash("synth", "--rrd-dir", rrd_dir, "--node", "n2",
                                          "--days", "2", check=0)
                # one more update, in rrdcached's memory only: render must
                # flush it before reading the file
                time.sleep(max(0.0, (int(time.time()) // step + 1) * step + 0.2
                               - time.time()))
                t_last = time.time()
                p = dashtest.run_dash("-q", "collect", "--once", "--rrd-dir", rrd_dir,
                                      "--step", str(step), "--daemon", daemon,
                                      "--node", "n1=" + fake.url("n1"), timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
                out = os.path.join(tmp, "html")
                r = dashtest.run_dash("render", "--rrd-dir", rrd_dir, "--out", out,
                                      "--daemon", daemon, "--jobs", "2", timeout=300)
                self.assertEqual(r.returncode, 0, r.stderr + synth.stderr)
                for n in ("n1", "n2"):
                    self.assertTrue(os.path.exists(
                        os.path.join(out, n, "messages-day.png")))
                with open(os.path.join(out, "n1.html")) as f:
                    m = re.search(r"Last data: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC",
                                  f.read())
                self.assertIsNotNone(m)
                last = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S"))
                self.assertGreaterEqual(last, int(t_last),
                                        "the update still in rrdcached was not flushed")
            finally:
                cached.terminate()
                cached.wait(timeout=10)

    def test_cacti(self):
        """Cacti data input format: one line of ds:value pairs; percentiles
        need the previous poll (--state); an unreachable node prints U."""
        with dashtest.TempDir() as tmp, FakeNodes(["c1"]) as fake:
            self.assertTrue(dashtest.wait_port(fake.port))
            state = os.path.join(tmp, "c1.state")
            lines = []
            for _ in range(2):
                p = dashtest.run_dash("cacti", "--state", state, fake.url("c1"))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stdout.count("\n"), 1)
                lines.append(dict(f.split(":", 1) for f in p.stdout.split()))
                time.sleep(0.3)
            first, second = lines
            self.assertEqual(len(first), 22)
            self.assertEqual(first["queue"], "7")
            self.assertEqual(first["sess_imap"], "5")
            self.assertEqual(first["deliv_p50"], "U")   # no previous poll yet
            self.assertEqual(first["ha_state"], "U")
            self.assertGreater(int(second["msgs_in"]), int(first["msgs_in"]))
            self.assertAlmostEqual(float(second["deliv_p50"]), 0.02, delta=0.001)
            p = dashtest.run_dash("cacti", "http://127.0.0.1:%d/metrics"
                                  % dashtest.closed_port())
            self.assertEqual(p.returncode, 1)
            self.assertTrue(all(f.endswith(":U") for f in p.stdout.split()), p.stdout)
            self.assertIn("postier-dash: cacti:", p.stderr)

    def test_daemon_stops_on_sigterm(self):
        with dashtest.TempDir() as tmp, FakeNodes(["d1"]) as fake:
            self.assertTrue(dashtest.wait_port(fake.port))
            p = subprocess.Popen([dashtest.DASH, "collect", "--rrd-dir", tmp,
                                  "--step", "1", "--node", "d1=" + fake.url("d1")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True)
            try:
                time.sleep(2.5)
                self.assertIsNone(p.poll(), "collect exited by itself")
                p.terminate()
                _, err = p.communicate(timeout=10)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
            self.assertEqual(p.returncode, 0, err)
            self.assertGreaterEqual(fake.requests["d1"], 2)

    def test_print_settings(self):
        with dashtest.TempDir() as tmp:
            conf = os.path.join(tmp, "dash.conf")
            with open(conf, "w") as f:
                f.write("[collect]\nstep = 30s\nnode = a=http://127.0.0.1:1/metrics\n")
            p = dashtest.run_dash("-c", conf, "-n", check=0)
            self.assertIn("[collect]", p.stdout)
            self.assertIn("node = a=http://127.0.0.1:1/metrics", p.stdout)
            with open(conf, "a") as f:
                f.write("bogus = 1\n")
            p = dashtest.run_dash("-c", conf, "-n")
            self.assertEqual(p.returncode, 2)
            self.assertIn("dash.conf:4", p.stderr)
            p = dashtest.run_dash("--version", check=0)
            self.assertTrue(p.stdout.startswith("postier-dash "))
            p = dashtest.run_dash("--help", check=0)
            self.assertIn("collect", p.stdout)

    def test_bad_configuration(self):
        with dashtest.TempDir() as tmp:
            p = dashtest.run_dash("collect", "--rrd-dir", tmp, "--once")
            self.assertEqual(p.returncode, 3)
            self.assertIn("no node", p.stderr)
            p = dashtest.run_dash("collect", "--rrd-dir", tmp, "--once",
                                  "--node", "../x=http://127.0.0.1:1/")
            self.assertEqual(p.returncode, 2)
            self.assertIn("node name", p.stderr)
            p = dashtest.run_dash("collect", "--rrd-dir", tmp, "--once",
                                  "--node", "a=ftp://127.0.0.1:1/")
            self.assertEqual(p.returncode, 2)
            p = dashtest.run_dash("collect", "--bogus")
            self.assertEqual(p.returncode, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
