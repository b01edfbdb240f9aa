"""postier-loadgen against a misbehaving fakemail: a server that stalls
shows in p99 (no coordinated omission), a server that alters one byte
fails the run with exit 1; and the capacity search reports a multiple."""
import os
import tempfile
import unittest

from lgtest import FakeMail, load_json, run_loadgen, write_profile


class ModesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def run_ok(self, target, profile, *extra, expect=0):
        out_json = os.path.join(self.d, "out.json")
        code, out, err = run_loadgen("run", "--profile", profile, "--target",
                                     target, "--json", out_json, "-q",
                                     *extra)
        self.assertEqual(code, expect, out + err)
        return load_json(out_json), out

    def test_stalls_show_in_p99(self):
        # The server holds every end-of-data reply for the first 1 s of each
        # 4 s. Open-loop sending keeps scheduling through the stalls, so
        # about a quarter of the transactions wait, and p99 shows it.
        with FakeMail("--stall-period", "4", "--stall-ms", "1000") as fm:
            p = write_profile(self.d, size="2k", per_day=72000)
            res, _ = self.run_ok(fm.target, p, "--speed", "1",
                                 "--duration", "12", "--no-readers",
                                 expect=1)
        smtp = res["latency_ms"]["smtp_transaction"]
        self.assertGreater(smtp["count"], 150)
        self.assertGreater(smtp["p99"], 600, smtp)
        self.assertLess(smtp["p50"], 400, smtp)

    def test_saturated_server_counts_from_schedule(self):
        # 20 arrivals/s for 3 s, one connection, every end of data held
        # 100 ms: the server carries 10/s, so the scheduler parks (no
        # timer while the only connection is busy) and the arrivals due
        # meanwhile join the queue when the connection looks for work.
        # They keep their scheduled times: latencies grow to seconds (the
        # last ones wait for the whole backlog), and the CSV offers 20/s
        # while 10/s are achieved.
        with FakeMail("--data-delay-ms", "100") as fm:
            p = write_profile(self.d, size="2k", per_day=72000,
                              connections=1, per_connection=1000)
            res, _ = self.run_ok(fm.target, p, "--duration", "3",
                                 "--seed", "8", "--no-readers",
                                 "--interval", "1", expect=1)
        c = res["counts"]
        self.assertGreater(c["scheduled"], 40)
        self.assertEqual(c["scheduled"], c["accepted"])
        smtp = res["latency_ms"]["smtp_transaction"]
        self.assertGreater(smtp["max"], 1500, smtp)
        self.assertGreater(smtp["p50"], 400, smtp)
        # the generator itself was on time: parked arrivals are not late
        self.assertLess(res["schedule_lag_ms"]["p99"], 50)
        with open(res["timeseries_csv"]) as f:
            rows = [r.split(",") for r in f.read().splitlines()[1:]]
        offered = sum(float(r[1]) for r in rows[:3])
        achieved = sum(float(r[2]) for r in rows[:3])
        self.assertGreater(offered, 42, rows)
        self.assertLess(achieved, 36, rows)
        self.assertAlmostEqual(sum(float(r[1]) for r in rows),
                               c["scheduled"], delta=1)

    def test_parked_arrivals_keep_their_scheduled_times(self):
        # ~10 arrivals within 50 ms, one connection, each end of data
        # held 200 ms: the first goes at once, the rest fall due while the
        # scheduler is parked and are queued when the connection frees at
        # ~200 ms. Message k is accepted at ~(k + 1) x 200 ms and was due
        # within the first 50 ms, so the mean latency is at least
        # 100 x (N + 1) - 50 ms. Measured from when they were queued it
        # would be ~200 x (N - 1) / N ms less.
        with FakeMail("--data-delay-ms", "200") as fm:
            p = write_profile(self.d, size="2k", per_day=720000,
                              connections=1, per_connection=1000)
            res, _ = self.run_ok(fm.target, p, "--duration", "0.05",
                                 "--seed", "9", "--no-readers", expect=1)
        n = res["counts"]["accepted"]
        self.assertGreaterEqual(n, 4)
        self.assertEqual(n, res["counts"]["scheduled"])
        smtp = res["latency_ms"]["smtp_transaction"]
        count, _mn, _mx, total = (int(x) for x in
                                  smtp["hist"].split("/")[2:6])
        mean_ms = total / count / 1000
        self.assertGreaterEqual(mean_ms, 100 * (n + 1) - 50, smtp)
        self.assertGreaterEqual(smtp["max"], 200 * n - 50, smtp)

    def test_corrupted_byte_fails_the_run(self):
        with FakeMail("--corrupt-nth", "5") as fm:
            p = write_profile(self.d)
            res, out = self.run_ok(fm.target, p, "--speed", "10",
                                   "--duration", "4", expect=1)
        c = res["counts"]
        self.assertEqual(c["corrupted"], 1)
        self.assertEqual(c["lost"], 0)
        self.assertFalse(res["verdict"]["pass"])
        self.assertIn("corrupted", res["verdict"]["text"])
        self.assertIn("FAIL", out)

    def test_queued_burst_corruption_and_refusal(self):
        # 200 messages due within 1 s over one connection whose every
        # end of data takes 10 ms: they queue, and each connection takes
        # the next queued message as a transaction starts and pipelines its
        # commands after the end of data. A refused
        # one fails (its connection closes, the message already taken for
        # that connection goes back to the queue and is sent on a new
        # one) and an altered byte is still found.
        with FakeMail("--corrupt-nth", "7", "--refuse-nth", "12",
                      "--data-delay-ms", "10") as fm:
            p = write_profile(self.d, per_day=720000, connections=1,
                              per_connection=50)
            res, out = self.run_ok(fm.target, p, "--duration", "1",
                                   "--seed", "5", expect=1)
        c = res["counts"]
        self.assertGreater(c["scheduled"], 60)
        self.assertEqual(c["failed"], 1)
        self.assertEqual(c["accepted"], c["scheduled"] - 1)
        self.assertEqual(c["corrupted"], 1)
        self.assertEqual(c["lost"], 0)
        self.assertEqual(c["verified"] + c["corrupted"], c["deliveries"])
        self.assertIn("corrupted", res["verdict"]["text"])

    def test_find_capacity(self):
        with FakeMail() as fm:
            p = write_profile(self.d, size="2k")
            res, out = self.run_ok(fm.target, p, "--find-capacity",
                                   "--speed", "20", "--step-duration", "2", "--max-multiple",
                                   "2", "--drain", "5")
        cap = res["capacity"]
        self.assertEqual(cap["multiple_of_peak"], 2)
        self.assertEqual([s["multiple"] for s in cap["steps"]],
                         [0.25, 0.5, 1, 1.5, 2])
        self.assertTrue(all(s["pass"] for s in cap["steps"]))
        self.assertIn("capacity: 2x", out)


if __name__ == "__main__":
    unittest.main()
