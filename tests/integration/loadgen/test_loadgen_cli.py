"""postier-loadgen: bad profiles and flags get one clear error line and exit
2; --help and --version exit 0."""
import os
import tempfile
import unittest

from lgtest import FakeMail, run_loadgen, write_profile


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.d = cls.tmp.name
        cls.target = os.path.join(cls.d, "target.ini")
        with open(cls.target, "w") as f:
            f.write("[target]\nusers_file = %s/users.txt\n[smtp]\nport = 20999\n"
                    % cls.d)
        cls.good = write_profile(cls.d)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def bad_profile(self, text):
        path = os.path.join(self.d, "bad.ini")
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_usage(self, args, needle):
        code, out, err = run_loadgen(*args)
        self.assertEqual(code, 2, (args, out, err))
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, (args, err))
        self.assertIn(needle, lines[0], args)

    def test_help_version(self):
        self.assertEqual(run_loadgen("--help")[0], 0)
        code, out, _ = run_loadgen("--version")
        self.assertEqual(code, 0)
        self.assertIn("postier-loadgen", out)

    def test_bad_flags(self):
        t, p = self.target, self.good
        rows = [
            ([], "missing subcommand"),
            (["fly"], "unknown subcommand"),
            (["run", "--target", t], "--profile and --target are required"),
            (["run", "--profile", p, "--target", t, "--speed", "0"], "--speed"),
            (["run", "--profile", p, "--target", t, "--speed", "fast"], "--speed"),
            (["run", "--profile", p, "--target", t, "--scale", "-1"], "--scale"),
            (["run", "--profile", p, "--target", t, "--shard", "3/2"], "--shard"),
            (["run", "--profile", p, "--target", t, "--shard", "0/2"], "--shard"),
            (["run", "--profile", p, "--target", t, "--bogus"], "bad option"),
            (["run", "--profile", p, "--target", t, "--run-id", "a b"], "--run-id"),
            (["run", "--profile", "nosuch", "--target", t], "nosuch"),
            (["run", "--profile", p, "--target", "/nonexistent.ini"], "nonexistent"),
            (["run", "--profile", p, "--target", t], "no users"),
            (["merge"], "at least one"),
            (["merge", "/nonexistent.json"], "nonexistent"),
        ]
        for args, needle in rows:
            with self.subTest(args=args):
                self.assert_usage(args, needle)

    def test_bad_profiles(self):
        rows = [
            ("[day]\nwindow_hours = 30\n", "window_hours"),
            ("[day]\nwindow_hours = 2\ncurve = 1,2,3\n", "curve"),
            ("[day]\nmessages_per_day = -5\n", "messages_per_day"),
            ("[readers]\npop3_share = 0.9\n", "must be 1"),
            ("[messages]\nrecipients = 9:1\n", "recipients"),
            ("[messages]\nsize = table\n", "size_table"),
            ("[messages]\nsize = gaussian\n", "size"),
            ("[nosuch]\nkey = 1\n", "nosuch"),
            ("[smtp]\nauth = maybe\n", "auth"),
            ("garbage line\n", "bad.ini"),
        ]
        for text, needle in rows:
            with self.subTest(text=text):
                p = self.bad_profile(text)
                self.assert_usage(["run", "--profile", p, "--target",
                                   self.target], needle)

    def test_bad_target(self):
        t = os.path.join(self.d, "badtarget.ini")
        for text, needle in (("[smtp]\nport = 99999\n", "port"),
                             ("[smtp]\nhost = x\n", "no port"),
                             ("[pop3]\nport = 1\ntls = maybe\n", "tls")):
            with self.subTest(text=text):
                with open(t, "w") as f:
                    f.write(text)
                self.assert_usage(["run", "--profile", self.good, "--target", t],
                                  needle)

    def test_missing_service(self):
        with FakeMail() as fm:
            p = write_profile(self.d, name="sub", service="submissions")
            self.assert_usage(["run", "--profile", p, "--target", fm.target],
                              "submissions")


if __name__ == "__main__":
    unittest.main()
