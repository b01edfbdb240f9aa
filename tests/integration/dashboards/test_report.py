"""postier-dash report: a load-test run's page from its JSON and CSV
(fixtures/ follow the postier-loadgen-result/1 schema): every graph and the
page are written, graphs are not blank, Chromium loads the page with no
failed image; a truncated JSON, a wrong schema, a missing or bad CSV give a
clear one-line message and no crash."""
import os
import shutil
import unittest

import dashtest

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def fixture(name):
    return os.path.join(FIX, name)


class ReportTest(unittest.TestCase):

    def test_pass_run(self):
        with dashtest.TempDir() as t:
            out = os.path.join(t, "report")
            r = dashtest.run_dash("report", fixture("run-pass.json"), "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(out, "index.html"))
            for g in ("rate", "latency", "errors"):
                dashtest.assert_graph_not_blank(self, os.path.join(out, g + ".png"))
            html = open(os.path.join(out, "index.html")).read()
            for want in ("20261124T050000Z-ramp", "PASS",
                         "sustains 2.4x the documented peak, p99 under 80 ms",
                         "platform-a-default", "60,000 mailboxes: assumed",
                         "1,000,000 messages/day: assumed",
                         "smtp_transaction p99 &lt;= 80 ms", "multiple_of_peak",
                         "delivery_e2e", "127.0.0.1:22525", "Assumptions"):
                self.assertIn(want, html)
            res = dashtest.browser_check(os.path.join(out, "index.html"), width=390)
            self.assertIsNone(res["error"], res)
            self.assertEqual(res["failed"], [])
            self.assertEqual(res["images"], 3, res)
            shots = dashtest.artifacts_dir("report")
            dashtest.screenshot(os.path.join(out, "index.html"),
                                os.path.join(shots, "run-pass-desktop.png"), 1280, 2200)
            phone = dashtest.screenshot(os.path.join(out, "index.html"),
                                        os.path.join(shots, "run-pass-phone.png"), 390, 844)
            self.assertFalse(dashtest.screenshot_is_blank(phone)[0])

    def test_default_out_dir_next_to_json(self):
        with dashtest.TempDir() as t:
            for f in ("run-pass.json", "run-pass.csv"):
                shutil.copy(fixture(f), t)
            r = dashtest.run_dash("report", os.path.join(t, "run-pass.json"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.exists(os.path.join(t, "run-pass-report", "index.html")))

    def test_truncated_json(self):
        with dashtest.TempDir() as t:
            out = os.path.join(t, "report")
            r = dashtest.run_dash("report", fixture("run-truncated.json"), "--out", out)
            self.assertEqual(r.returncode, 3)
            self.assertRegex(r.stderr, r"^postier-dash: report: .*run-truncated.json: "
                             r"line \d+ column \d+: premature end of input")
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
            self.assertFalse(os.path.exists(out))

    def test_not_json_and_missing_file(self):
        with dashtest.TempDir() as t:
            bad = os.path.join(t, "x.json")
            open(bad, "w").write("<html>not json</html>")
            r = dashtest.run_dash("report", bad, "--out", os.path.join(t, "o"))
            self.assertEqual(r.returncode, 3)
            self.assertIn("line 1 column", r.stderr)
            r = dashtest.run_dash("report", os.path.join(t, "nope.json"))
            self.assertEqual(r.returncode, 3)
            self.assertIn("nope.json", r.stderr)
            r = dashtest.run_dash("report")
            self.assertEqual(r.returncode, 2)

    def test_wrong_schema(self):
        with dashtest.TempDir() as t:
            r = dashtest.run_dash("report", fixture("run-badschema.json"), "--out",
                                  os.path.join(t, "o"))
            self.assertEqual(r.returncode, 3)
            self.assertIn("expected postier-loadgen-result/1", r.stderr)

    def test_missing_and_bad_csv(self):
        with dashtest.TempDir() as t:
            for name, why in (("run-nocsv.json", "does-not-exist.csv: No such file"),
                              ("run-badcsv.json", "line 3: achieved_per_s: not a number")):
                out = os.path.join(t, name)
                r = dashtest.run_dash("report", fixture(name), "--out", out)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(why, r.stderr)
                html = open(os.path.join(out, "index.html")).read()
                self.assertIn("No graphs", html)
                self.assertIn("PASS", html)   # the rest of the page is there
                res = dashtest.browser_check(os.path.join(out, "index.html")) \
                    if name == "run-nocsv.json" else None
                if res is not None:
                    self.assertIsNone(res["error"], res)
                    self.assertEqual(res["images"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
