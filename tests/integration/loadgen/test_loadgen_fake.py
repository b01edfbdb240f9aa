"""postier-loadgen against fakemail (a small in-memory SMTP/POP3/IMAP
server, tests/integration/loadgen/fakemail.py): a clean run verifies every
delivery, shards merge into their totals, TLS and AUTH paths work, prepare
writes users and SHA512-CRYPT hashes. Misbehaving servers: test_loadgen_modes.py."""
import crypt
import os
import tempfile
import unittest

from lgtest import FakeMail, load_json, run_loadgen, write_profile


class FakeMailTest(unittest.TestCase):
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

    def test_clean_run_verifies_everything(self):
        # 3600/h at 10x for 8 s: ~80 messages, read by POP3, IMAP and IDLE
        with FakeMail() as fm:
            p = write_profile(self.d)
            res, out = self.run_ok(fm.target, p, "--speed", "10",
                                   "--duration", "8", "--seed", "3")
        c = res["counts"]
        self.assertEqual(res["schema"], "postier-loadgen-result/1")
        self.assertGreater(c["scheduled"], 40)
        self.assertEqual(c["scheduled"], c["accepted"])
        self.assertEqual(c["verified"], c["deliveries"])
        self.assertEqual((c["lost"], c["corrupted"], c["duplicated"]), (0, 0, 0))
        self.assertTrue(res["verdict"]["pass"])
        lat = res["latency_ms"]
        for op in ("connect", "smtp_transaction", "delivery_e2e", "login",
                   "fetch", "idle_wake"):
            self.assertGreater(lat[op]["count"], 0, op)
            self.assertTrue(lat[op]["p50"] <= lat[op]["p99"] <= lat[op]["max"])
        self.assertEqual(res["profile"]["assumptions"], ["test profile"])
        self.assertIn("ASSUMPTION: test profile", out)
        with open(res["timeseries_csv"]) as f:
            rows = f.read().splitlines()
        self.assertEqual(rows[0], "time_unix,offered_per_s,achieved_per_s,"
                         "errors,smtp_p50_ms,smtp_p99_ms,e2e_p99_ms")
        self.assertGreaterEqual(len(rows), 8)
        self.assertTrue(os.path.getsize(res["rrd"]) > 0)

    def test_queued_messages_verify(self):
        # 300 messages due within 1 s over 2 connections, 5 ms per end of
        # data: most wait in the queue, so each connection takes the next one as a transaction
        # starts and pipelines its MAIL/RCPT/DATA after the end of data;
        # 5 per connection, then QUIT and a new connection.
        with FakeMail("--data-delay-ms", "5") as fm:
            p = write_profile(self.d, per_day=1080000, connections=2,
                              per_connection=5)
            res, _ = self.run_ok(fm.target, p, "--duration", "1",
                                 "--seed", "4")
        c = res["counts"]
        self.assertGreater(c["scheduled"], 200)
        self.assertEqual(c["scheduled"], c["accepted"])
        self.assertEqual(c["verified"], c["deliveries"])
        self.assertEqual((c["lost"], c["corrupted"], c["duplicated"],
                          c["failed"]), (0, 0, 0, 0))
        # 5 messages per connection: at least scheduled / 5 connects
        self.assertGreaterEqual(res["latency_ms"]["connect"]["count"],
                                c["scheduled"] // 5)

    def test_delivery_seen_before_its_250(self):
        # the message is visible (IDLE readers are woken) 300 ms before the
        # 250: readers verify it before the accept is read; it is neither
        # lost nor duplicated
        with FakeMail("--reply-after-store-ms", "300") as fm:
            p = write_profile(self.d, per_day=36000, pop3=0, imap=0,
                              idle=1.0)
            res, _ = self.run_ok(fm.target, p, "--duration", "2",
                                 "--seed", "5")
        c = res["counts"]
        self.assertGreater(c["accepted"], 5)
        self.assertEqual(c["verified"], c["deliveries"])
        self.assertEqual((c["lost"], c["corrupted"], c["duplicated"]),
                         (0, 0, 0))

    def test_shards_merge_to_totals(self):
        with FakeMail() as fm:
            p = write_profile(self.d, mailboxes=30)
            parts = []
            for i in (1, 2):
                path = os.path.join(self.d, "s%d.json" % i)
                code, out, err = run_loadgen(
                    "run", "--profile", p, "--target", fm.target, "--speed",
                    "10", "--duration", "5", "--seed", "11", "--shard",
                    "%d/2" % i, "--json", path, "-q", "--run-id", "shard%d" % i)
                self.assertEqual(code, 0, out + err)
                parts.append(path)
            merged = os.path.join(self.d, "merged.json")
            code, out, err = run_loadgen("merge", "--json", merged, *parts)
            self.assertEqual(code, 0, out + err)
        a, b, m = (load_json(x) for x in parts + [merged])
        self.assertEqual((a["shard"], b["shard"], m["shard"]), ("1/2", "2/2", "all"))
        for k in m["counts"]:
            self.assertEqual(m["counts"][k], a["counts"][k] + b["counts"][k], k)
        for op, v in m["latency_ms"].items():
            self.assertEqual(v["count"], a["latency_ms"][op]["count"]
                             + b["latency_ms"][op]["count"], op)
            self.assertAlmostEqual(v["max"], max(a["latency_ms"][op]["max"],
                                                 b["latency_ms"][op]["max"]))
        self.assertGreater(a["counts"]["scheduled"], 10)
        self.assertGreater(b["counts"]["scheduled"], 10)

    def test_tls_auth_paths(self):
        # submission with STARTTLS + AUTH, readers over implicit TLS
        with FakeMail(tls=True) as fm:
            p = write_profile(self.d, service="submission", auth="yes",
                              tls="implicit")
            res, _ = self.run_ok(fm.target, p, "--speed", "10",
                                 "--duration", "4")
            p2 = write_profile(self.d, name="t2", service="submissions",
                               auth="yes", tls="starttls")
            res2, _ = self.run_ok(fm.target, p2, "--speed", "10",
                                  "--duration", "3")
        for r in (res, res2):
            lat = r["latency_ms"]
            self.assertGreater(lat["tls"]["count"], 0)
            self.assertGreater(lat["auth"]["count"], 0)
            self.assertEqual(r["counts"]["lost"], 0)
            self.assertTrue(r["verdict"]["pass"])

    def test_prepare_writes_users_and_hashes(self):
        with FakeMail(users=2) as fm:
            passwd = os.path.join(self.d, "passwd")
            with open(passwd, "w") as f:
                f.write("user0@example.test:{PLAIN}pw0:1000:1000::/var/mail/x::\n")
            mark = os.path.join(self.d, "reloaded")
            with open(fm.target, "a") as f:
                pass
            text = open(fm.target).read().replace(
                "[target]\n", "[target]\npasswd_file = %s\nreload_command = "
                "touch %s\n" % (passwd, mark), 1)
            with open(fm.target, "w") as f:
                f.write(text)
            p = write_profile(self.d, mailboxes=1000)
            for _ in range(2):  # idempotent
                code, out, err = run_loadgen("prepare", "--profile", p,
                                             "--target", fm.target,
                                             "--scale", "0.01")
                self.assertEqual(code, 0, out + err)
            self.assertTrue(os.path.exists(mark))
            users = [l.split(":", 1) for l in
                     open(fm.env["TARGET"].replace("target.ini", "users.txt"))
                     .read().splitlines()]
            lg = [u for u in users if u[0].startswith("lg-")]
            self.assertEqual(len(lg), 10)
            self.assertTrue(all(u[0].endswith("@example.test") for u in lg))
            lines = open(passwd).read().splitlines()
            self.assertEqual(len(lines), 11)
            for (addr, pw), line in zip(lg, lines[1:]):
                f = line.split(":")
                self.assertEqual(f[0], addr)
                self.assertTrue(f[1].startswith("{SHA512-CRYPT}$6$"))
                h = f[1][len("{SHA512-CRYPT}"):]
                self.assertEqual(crypt.crypt(pw, h), h)
                self.assertEqual(f[2:4], ["1000", "1000"])
            # the run uses the prepared users
            res, _ = self.run_ok(fm.target, p, "--scale", "0.01", "--speed",
                                 "1000", "--duration", "2")
            self.assertEqual(res["counts"]["lost"], 0)


if __name__ == "__main__":
    unittest.main()
