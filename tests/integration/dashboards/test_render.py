"""postier-dash render: every PNG and page is produced, no graph is blank,
headless Chromium loads each page with no failed image and no sideways
scrolling on a phone-sized screen; screenshots are kept under
BUILD/artifacts/dashboards/. Bad input: a corrupt RRD, a configured node
without RRD and a node with no data at all give clear messages and the
other nodes are still drawn."""
import glob
import os
import shutil
import time
import unittest

import dashtest

GRAPHS = ["messages", "bytes", "queue", "queue_age", "sessions", "auth_failures",
          "delivery_latency", "tls_share", "ha_state"]
PERIODS = ["day", "week", "month", "year"]


class RenderTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = dashtest.TempDir()
        t = cls.tmp.path
        cls.rrd = os.path.join(t, "rrd")
        cls.out = os.path.join(t, "html")
        os.mkdir(cls.rrd)
        # a year of history, a node with 3 days only
        dashtest.run_dash("synth", "--rrd-dir", cls.rrd, "--node", "alpha",
                          "--days", "370", "--step", "900", check=0)
        dashtest.run_dash("synth", "--rrd-dir", cls.rrd, "--node", "beta",
                          "--days", "3", "--step", "60", check=0)
        # a node whose RRD exists but never got data (unreachable from day 1)
        port = dashtest.closed_port()
        dashtest.run_dash("-q", "collect", "--once", "--rrd-dir", cls.rrd,
                          "--node", "empty=http://127.0.0.1:%d/metrics" % port, check=1)
        # a corrupt RRD, and a configured node that has no RRD at all
        with open(os.path.join(cls.rrd, "broken.rrd"), "wb") as f:
            f.write(b"this is not an RRD file\n" * 10)
        cls.config = os.path.join(t, "dash.conf")
        with open(cls.config, "w") as f:
            f.write("[dash]\nrrd_dir = %s\n[render]\nout_dir = %s\njobs = 2\n"
                    "[collect]\nnode = ghost=http://127.0.0.1:%d/metrics\n"
                    % (cls.rrd, cls.out, port))
        t0 = time.monotonic()
        cls.result = dashtest.run_dash("-c", cls.config, "render", timeout=300)
        cls.render_seconds = time.monotonic() - t0

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__()

    def test_exit_status_and_messages(self):
        r = self.result
        self.assertEqual(r.returncode, 1, r.stderr)   # some nodes failed
        self.assertIn("node broken:", r.stderr)
        self.assertIn("node ghost: no RRD file", r.stderr)
        self.assertNotIn("node alpha", r.stderr)
        self.assertNotIn("node beta", r.stderr)

    def test_every_png_and_page(self):
        for node in ("alpha", "beta", "empty"):
            for g in GRAPHS:
                for p in PERIODS:
                    png = os.path.join(self.out, node, "%s-%s.png" % (g, p))
                    self.assertTrue(os.path.getsize(png) > 1000, png)
        for page in ("index", "alpha", "beta", "empty", "broken", "ghost"):
            self.assertTrue(os.path.exists(os.path.join(self.out, page + ".html")), page)
        index = open(os.path.join(self.out, "index.html")).read()
        self.assertIn("broken", index)
        self.assertIn("no RRD file", index)
        ghost = open(os.path.join(self.out, "ghost.html")).read()
        self.assertIn("No graphs", ghost)

    def test_pngs_written_by_postier_dash(self):
        # dash_png.c (not cairo's encoder, 3x dearer) wrote every graph:
        # 8-bit RGB like cairo's, every row unfiltered
        self.assertNotIn("cairo's PNG encoder", self.result.stderr)
        for node in ("alpha", "beta", "empty"):
            for g in GRAPHS:
                for p in PERIODS:
                    png = os.path.join(self.out, node, "%s-%s.png" % (g, p))
                    self.assertEqual(dashtest.png_layout(png), (2, {0}), png)

    def test_graphs_not_blank(self):
        for g in GRAPHS:
            for p in PERIODS:
                dashtest.assert_graph_not_blank(
                    self, os.path.join(self.out, "alpha", "%s-%s.png" % (g, p)))
            dashtest.assert_graph_not_blank(
                self, os.path.join(self.out, "beta", "%s-day.png" % g))
        # the checker itself: a node without data is seen as blank (except
        # the HA graph, whose "no data" band is what it must show)
        for g in GRAPHS:
            blank, why = dashtest.graph_is_blank(
                os.path.join(self.out, "empty", "%s-day.png" % g))
            self.assertEqual(blank, g != "ha_state", "%s: %s" % (g, why))

    def test_browser(self):
        shots = dashtest.artifacts_dir("render")
        for page in ("index", "alpha", "ghost"):
            path = os.path.join(self.out, page + ".html")
            res = dashtest.browser_check(path, width=390)
            self.assertIsNone(res["error"], res)
            self.assertEqual(res["failed"], [], "%s: images failed to load" % page)
            want = {"index": 2 * 3, "alpha": len(GRAPHS) * len(PERIODS), "ghost": 0}[page]
            self.assertEqual(res["images"], want, res)
            self.assertEqual(len(res["ok"]), want)
            for src in res["ok"]:
                self.assertTrue(os.path.exists(os.path.join(self.out, src)), src)
            # phone-sized screen: no sideways scrolling
            self.assertLessEqual(res["scroll_width"], 390, res)
            phone = dashtest.screenshot(path, os.path.join(shots, page + "-phone.png"), 390, 844)
            blank, var = dashtest.screenshot_is_blank(phone)
            self.assertFalse(blank, "%s: blank screenshot (variance %.1f)" % (phone, var))
            if page != "ghost":
                dashtest.screenshot(path, os.path.join(shots, page + "-desktop.png"),
                                    1280, 1000)

    def test_rerender_is_lazy_and_force_redraws(self):
        png = os.path.join(self.out, "alpha", "messages-year.png")
        before = os.stat(png).st_mtime_ns
        out2 = os.path.join(self.tmp.path, "html2")
        shutil.copytree(self.out, out2)
        png2 = os.path.join(out2, "alpha", "messages-year.png")
        before2 = os.stat(png2).st_mtime_ns
        r = dashtest.run_dash("-c", self.config, "render", "--out", out2,
                              "--node", "alpha")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(png2).st_mtime_ns, before2, "fresh graph redrawn")
        time.sleep(0.01)
        r = dashtest.run_dash("-c", self.config, "render", "--out", out2,
                              "--node", "alpha", "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(os.stat(png2).st_mtime_ns, before2, "--force did not redraw")
        self.assertEqual(os.stat(png).st_mtime_ns, before)

    def test_unwritable_graph_is_an_error(self):
        # librrd ignores a failed PNG write; postier-dash must not: the
        # graph is an error on stderr and on the page, exit status 1
        with dashtest.TempDir() as t:
            out = os.path.join(t, "o")
            os.mkdir(out)
            open(os.path.join(out, "alpha"), "w").close()   # not a directory
            r = dashtest.run_dash("render", "--rrd-dir", self.rrd, "--out", out,
                                  "--node", "alpha", "--jobs", "2")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("node alpha graph messages-day: cannot write ", r.stderr)
            self.assertIn("Not a directory", r.stderr)
            self.assertEqual(r.stderr.count("cannot write"), len(GRAPHS) * len(PERIODS))
            with open(os.path.join(out, "alpha.html")) as f:
                page = f.read()
            self.assertEqual(page.count('class="card err"'), len(GRAPHS) * len(PERIODS))
            with open(os.path.join(out, "index.html")) as f:
                self.assertIn("some graphs could not be drawn", f.read())

    def test_empty_and_missing_directories(self):
        with dashtest.TempDir() as t:
            empty = os.path.join(t, "rrd")
            os.mkdir(empty)
            r = dashtest.run_dash("render", "--rrd-dir", empty, "--out",
                                  os.path.join(t, "o"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("No node yet", open(os.path.join(t, "o", "index.html")).read())
            r = dashtest.run_dash("render", "--rrd-dir", os.path.join(t, "nope"),
                                  "--out", os.path.join(t, "o"))
            self.assertEqual(r.returncode, 3)
            self.assertIn("RRD directory", r.stderr)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
