"""postier-loadgen against a real postierd from scripts/dev-server: prepare
creates the population (passwd-file + users file + reload), a short
compressed run with SMTP senders and POP3, IMAP and IDLE readers (STARTTLS)
passes with zero loss, and two shards merge into their totals.

POSTIER_LOADGEN_FULL=1 also runs the command of issue 5 as written
(dgcp, --scale 0.002 --speed 600 --duration 120; a few minutes)."""
import os
import tempfile
import unittest

from lgtest import load_json, run_loadgen, write_profile
from postier_test import SOURCE_DIR, DevServer

HAVE_DEV_SERVER = os.path.exists(os.path.join(SOURCE_DIR, "scripts", "dev-server"))


@unittest.skipUnless(HAVE_DEV_SERVER, "scripts/dev-server not there yet")
class DevServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = DevServer().start()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.d = cls.tmp.name
        cls.target = cls.srv.env["TARGET"]
        # 40 mailboxes, 2 msg/s at 1x (x2 speed), 20 KiB, checks every 1 s
        cls.profile = write_profile(cls.d, name="dev", mailboxes=40,
                                    per_day=7200, size="20k", tls="starttls")
        code, out, err = run_loadgen("prepare", "--profile", cls.profile,
                                     "--target", cls.target)
        assert code == 0, out + err

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.tmp.cleanup()

    def test_prepare_extended_passwd(self):
        users = open(os.path.join(self.srv.dir, "users.txt")).read()
        self.assertEqual(users.count("lg-0000"), 40)
        passwd = open(os.path.join(self.srv.dir, "passwd")).read()
        self.assertIn("lg-000040@", passwd)
        self.assertIn("{SHA512-CRYPT}$6$", passwd)
        # again: nothing to add
        code, out, _ = run_loadgen("prepare", "--profile", self.profile,
                                   "--target", self.target)
        self.assertEqual(code, 0)
        self.assertIn("0 users added", out)

    def test_short_run_and_shards(self):
        parts = []
        for i, shard in enumerate(("1/1", "1/2", "2/2")):
            path = os.path.join(self.d, "r%d.json" % i)
            code, out, err = run_loadgen(
                "run", "--profile", self.profile, "--target", self.target,
                "--speed", "2", "--duration", "10", "--seed", "5",
                "--shard", shard, "--json", path, "-q", timeout=300)
            self.assertEqual(code, 0, out + err + self.srv.log_text()[-3000:])
            res = load_json(path)
            c = res["counts"]
            self.assertGreater(c["accepted"], 5)
            self.assertEqual(c["verified"], c["deliveries"], c)
            self.assertEqual((c["lost"], c["corrupted"], c["failed"]), (0, 0, 0))
            lat = res["latency_ms"]
            for op in ("tls", "smtp_transaction", "delivery_e2e", "login", "fetch"):
                self.assertGreater(lat[op]["count"], 0, op)
            parts.append(path)
        merged = os.path.join(self.d, "merged.json")
        code, out, err = run_loadgen("merge", "--json", merged, parts[1], parts[2])
        self.assertEqual(code, 0, out + err)
        whole, a, b, m = (load_json(p) for p in parts + [merged])
        for k in m["counts"]:
            self.assertEqual(m["counts"][k], a["counts"][k] + b["counts"][k], k)
        # the shards replay exactly the unsharded schedule
        self.assertEqual(m["counts"]["scheduled"], whole["counts"]["scheduled"])

    @unittest.skipUnless(os.environ.get("POSTIER_LOADGEN_FULL") == "1",
                         "set POSTIER_LOADGEN_FULL=1 for the issue's full command")
    def test_issue_command(self):
        code, out, err = run_loadgen("prepare", "--profile", "dgcp", "--scale",
                                     "0.002", "--target", self.target)
        self.assertEqual(code, 0, out + err)
        path = os.path.join(self.d, "dgcp.json")
        code, out, err = run_loadgen(
            "run", "--profile", "dgcp", "--scale", "0.002", "--speed", "600",
            "--duration", "120", "--target", self.target, "--json", path, "-q",
            timeout=900)
        print(out)
        self.assertIn(code, (0, 1), err)
        self.assertIn("ASSUMPTION", out)
        res = load_json(path)
        self.assertEqual(res["profile"]["name"], "dgcp")


if __name__ == "__main__":
    unittest.main()
