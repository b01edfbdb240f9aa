#!/usr/bin/env python3
"""bench/plugins/bench_plugins.py: CPU and wall time of one check, per
plugin, next to monitoring-plugins' check_smtp / check_imap / check_pop /
check_http against the same local server.

    bench/plugins/bench_plugins.py [--runs N] [--build DIR] [--server ref|dev]

--server ref (default) starts the private Postfix + Dovecot pair of
tests/integration/plugins/postfix-dovecot.sh (all three protocols, both tool
sets against the same daemons); --server dev starts postierd with
scripts/dev-server (SMTP and the admin endpoint; IMAP/POP3 when it serves
them). Each command runs N times (default 30) after 2 warm-up runs; CPU is
the child's user+system time from wait4(2) (the plugin process only, not
the server), wall is the time to exit. Medians and 90th percentiles are
printed as a markdown table.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
MP = "/usr/lib/nagios/plugins"


def parse_kv(text):
    env, users = {}, []
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if not sep:
            continue
        if k == "USER":
            users.append(tuple(v.split(":", 1)))
        else:
            env[k] = v
    return env, users


def measure(argv, runs):
    walls, cpus, rcs = [], [], set()
    for i in range(runs + 2):
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if i < 2:
            continue
        rcs.add(p.returncode)
        walls.append(wall * 1000)
        cpus.append((ru.ru_utime + ru.ru_stime) * 1000)
    def p90(v):
        return sorted(v)[int(len(v) * 0.9) - 1]
    return (statistics.median(cpus), p90(cpus), statistics.median(walls),
            p90(walls), sorted(rcs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--build", default=os.environ.get(
        "POSTIER_BUILD_DIR", os.path.join(TOP, "build")))
    ap.add_argument("--server", choices=("ref", "dev"), default="ref")
    args = ap.parse_args()
    pl = os.path.join(args.build, "nagios-plugins")
    tmp = tempfile.mkdtemp(prefix="bench-plugins-")
    os.chmod(tmp, 0o755)
    if args.server == "ref":
        script = os.path.join(TOP, "tests", "integration", "plugins",
                              "postfix-dovecot.sh")
    else:
        script = os.path.join(TOP, "scripts", "dev-server")
    out = subprocess.run([script, "start", tmp], capture_output=True,
                         text=True, timeout=300,
                         env=dict(os.environ, POSTIER_BUILD_DIR=args.build))
    if out.returncode != 0:
        sys.exit("server start failed: " + out.stderr)
    env, users = parse_kv(out.stdout)
    try:
        auth = os.path.join(tmp, "bench.auth")
        with open(auth, "w") as f:
            f.write("username=%s\npassword=%s\n" % users[0])
        h = "127.0.0.1"
        rows = []
        def pair(what, ours, theirs):
            rows.append((what, ours, theirs))
        pair("SMTP plain", [pl + "/check_postier_smtp", "-H", h, "-p",
                            env["SMTP_PORT"]],
             [MP + "/check_smtp", "-H", h, "-p", env["SMTP_PORT"]])
        pair("SMTP STARTTLS", [pl + "/check_postier_smtp", "-H", h, "-p",
                               env["SUBMISSION_PORT"], "--starttls"],
             [MP + "/check_smtp", "-H", h, "-p", env["SUBMISSION_PORT"],
              "-S"])
        pair("SMTP STARTTLS + AUTH + -D", [
            pl + "/check_postier_smtp", "-H", h, "-p",
            env["SUBMISSION_PORT"], "--starttls", "-a", auth, "-D", "5,1"],
             None)
        if "IMAP_PORT" in env:
            pair("IMAP plain", [pl + "/check_postier_imap", "-H", h, "-p",
                                env["IMAP_PORT"]],
                 [MP + "/check_imap", "-H", h, "-p", env["IMAP_PORT"]])
            pair("IMAPS", [pl + "/check_postier_imap", "-H", h, "-p",
                           env["IMAPS_PORT"], "--ssl"],
                 [MP + "/check_imap", "-H", h, "-p", env["IMAPS_PORT"],
                  "-S"])
            pair("IMAPS + LOGIN + SELECT", [
                pl + "/check_postier_imap", "-H", h, "-p", env["IMAPS_PORT"],
                "--ssl", "-a", auth, "-m", "INBOX"], None)
            pair("POP3 plain", [pl + "/check_postier_pop3", "-H", h, "-p",
                                env["POP3_PORT"]],
                 [MP + "/check_pop", "-H", h, "-p", env["POP3_PORT"]])
            pair("POP3S", [pl + "/check_postier_pop3", "-H", h, "-p",
                           env["POP3S_PORT"], "--ssl"],
                 [MP + "/check_pop", "-H", h, "-p", env["POP3S_PORT"], "-S"])
        pair("--version (start-up only)", [pl + "/check_postier_smtp", "-V"],
             [MP + "/check_smtp", "-V"])
        if "ADMIN_PORT" in env:
            pair("--version, libcurl linked", [pl + "/check_postier_health",
                                               "-V"],
                 [MP + "/check_http", "-V"])
            pair("health", [pl + "/check_postier_health", "-p",
                            env["ADMIN_PORT"]],
                 [MP + "/check_http", "-H", h, "-p", env["ADMIN_PORT"],
                  "-u", "/health"])
            pair("queue (/metrics)", [pl + "/check_postier_queue", "-p",
                                      env["ADMIN_PORT"]],
                 [MP + "/check_http", "-H", h, "-p", env["ADMIN_PORT"],
                  "-u", "/metrics"])
        print("load average before: %.1f" % os.getloadavg()[0])
        print("server: %s, %d runs each, machine: %d CPUs, %s" % (
            "Postfix 3.7 + Dovecot 2.3" if args.server == "ref" else
            "postierd (dev-server)", args.runs, os.cpu_count(),
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
        print()
        print("| check | Postier CPU ms (median / p90) | wall ms (median / p90)"
              " | monitoring-plugins CPU ms | wall ms | exit codes |")
        print("| --- | --- | --- | --- | --- | --- |")
        for what, ours, theirs in rows:
            a = measure(ours, args.runs)
            if theirs and os.path.exists(theirs[0]):
                b = measure(theirs, args.runs)
                ref = ("%.2f / %.2f" % b[:2], "%.2f / %.2f" % b[2:4],
                       "%s / %s" % (a[4], b[4]))
            else:
                ref = ("-", "-", "%s" % a[4])
            print("| %s | %.2f / %.2f | %.2f / %.2f | %s | %s | %s |" % (
                what, a[0], a[1], a[2], a[3], *ref))
    finally:
        subprocess.run([script, "stop", tmp], capture_output=True,
                       timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
