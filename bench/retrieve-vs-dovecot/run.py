#!/usr/bin/env python3
"""bench/retrieve-vs-dovecot: postierd against a private Dovecot 2.3 on the
same messages, same users, same password scheme (SHA512-CRYPT on both).

    bench/retrieve-vs-dovecot/run.py [--mailboxes 1000] [--messages 200]
        [--size-kib 140] [--clients 10] [--seconds 10] [--rounds 2]
        [--idle-sessions 1000] [--json FILE]

Servers: postierd (scripts/dev-server), Dovecot as Debian ships it
(shared/recipes/postfix-dovecot.sh: one process per session) and the same
Dovecot with process reuse (service_count = 0, client_limit raised),
applied with SIGHUP. Each holds the same --mailboxes users (SHA512-CRYPT
on both sides), each INBOX with the same --messages messages of --size-kib
KiB (written once per tree and hard-linked into every Maildir). Every
mailbox is selected once on each server before the runs (Dovecot builds its
index, postierd its dovecot-uidlist), then each client iteration picks a
mailbox at random.

Rows (each: --clients processes for --seconds, plain and TLS):
  imap-fetch   LOGIN, SELECT, UID FETCH 1:* BODY.PEEK[], LOGOUT  -> msg/s
  pop3-retr    USER/PASS, RETR every message, QUIT               -> msg/s
  imap-session LOGIN, SELECT INBOX, LOGOUT                       -> sessions/s
Runs alternate between servers (A/B/C, A/B/C, ...); the table gives the
median per row, and a second table the server's CPU time per message or
session (user + system of its whole process tree, reaped children included,
from /proc: this does not depend on how fast the python clients are). Then --idle-sessions authenticated IMAP sessions in IDLE are
opened against postierd and its PSS growth is reported (and Dovecot's, the
sum over its process tree). Needs root (the recipe installs and runs
Postfix/Dovecot as vmail). Prints a Markdown table; --json writes all runs.
"""
import argparse
import imaplib
import json
import multiprocessing
import os
import poplib
import random
import resource
import selectors
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RECIPE = os.environ.get("POSTIER_DOVECOT_RECIPE",
                        "/work/shared/recipes/postfix-dovecot.sh")


def kv(text):
    env, users = {}, []
    for line in text.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            if k == "USER":
                users.append(tuple(v.split(":", 1)))
            else:
                env[k] = v
    return env, users


def make_message(i, size):
    rnd = random.Random(i)
    lines = [b"From: bench@example.test", b"To: reader@example.test",
             b"Subject: bench %d" % i, b"Message-ID: <%d@bench>" % i, b""]
    total = sum(len(l) + 2 for l in lines)
    while total < size:
        l = bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(76))
        lines.append(l)
        total += 78
    return b"\r\n".join(lines) + b"\r\n"


def stage_messages(stage, msgs):
    """Writes the messages once; fill_maildir() hard-links them."""
    os.makedirs(stage, exist_ok=True)
    names = []
    for i, m in enumerate(msgs):
        name = "%d.M%dP1.bench,S=%d,W=%d:2,S" % (1700000000 + i, i, len(m),
                                                 len(m))
        with open(os.path.join(stage, name), "wb") as f:
            f.write(m)
        names.append(name)
    return names


def fill_maildir(root, stage, names):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    for name in names:
        os.link(os.path.join(stage, name), os.path.join(root, "cur", name))


def proc_cpu_s(pids):
    """User + system seconds of pids, their reaped children included."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is field 3 (state): utime, stime, cutime, cstime are
        # fields 14-17
        total += sum(int(x) for x in fields[11:15])
    return total / tick


def client_loop(args):
    kind, host, port, tls, cafile, users, seconds, seed = args
    ctx = ssl.create_default_context(cafile=cafile) if tls else None
    rnd = random.Random(seed)
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        user, pw = rnd.choice(users)
        if kind == "pop3-retr":
            p = (poplib.POP3_SSL(host, port, context=ctx) if tls
                 else poplib.POP3(host, port))
            p.user(user)
            p.pass_(pw)
            n, _ = p.stat()
            for i in range(1, n + 1):
                p.retr(i)
                done += 1
                if time.monotonic() >= deadline:
                    break
            p.quit()
            continue
        m = (imaplib.IMAP4_SSL(host, port, ssl_context=ctx) if tls
             else imaplib.IMAP4(host, port))
        m.login(user, pw)
        m.select("INBOX", readonly=(kind != "imap-session"))
        if kind == "imap-fetch":
            typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
            done += sum(1 for d in data if isinstance(d, tuple))
        else:
            done += 1
        m.logout()
    return done


def run_row(kind, srv, tls, clients, seconds, seed=0):
    """Returns (units per second, server CPU seconds per unit)."""
    env, users = srv["env"], srv["users"]
    if kind.startswith("pop3"):
        port = int(env["POP3S_PORT" if tls else "POP3_PORT"])
    else:
        port = int(env["IMAPS_PORT" if tls else "IMAP_PORT"])
    jobs = [(kind, "127.0.0.1", port, tls, env["CA_FILE"], users, seconds,
             seed * 1000 + i) for i in range(clients)]
    with multiprocessing.Pool(clients) as pool:
        cpu0 = proc_cpu_s(srv["pids"]())
        t0 = time.monotonic()
        counts = pool.map(client_loop, jobs)
        elapsed = time.monotonic() - t0
        cpu1 = proc_cpu_s(srv["pids"]())
    units = max(sum(counts), 1)
    return sum(counts) / elapsed, (cpu1 - cpu0) / units


def warm_up(srv, clients):
    """Selects every mailbox once (Dovecot builds its index, postierd its
    uidlist) so that the runs measure the steady state."""
    env, users = srv["env"], srv["users"]
    jobs = [(env["IMAP_PORT"], users[i::clients]) for i in range(clients)]
    with multiprocessing.Pool(clients) as pool:
        pool.map(select_all, jobs)


def select_all(args):
    port, users = args
    for user, pw in users:
        m = imaplib.IMAP4("127.0.0.1", int(port))
        m.login(user, pw)
        m.select("INBOX", readonly=True)
        m.logout()


def pss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def tree(pid):
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True,
                         text=True).stdout.split()
    pairs = list(zip(map(int, out[0::2]), map(int, out[1::2])))
    found, todo = {pid}, [pid]
    while todo:
        p = todo.pop()
        for c, pp in pairs:
            if pp == p and c not in found:
                found.add(c)
                todo.append(c)
    return found


def idle_sessions(srv, n, pids_fn, tls=False):
    """Opens n IMAP sessions (LOGIN, SELECT, IDLE; IMAPS when tls); returns
    the server's PSS growth in KiB and how many reached IDLE."""
    env, users = srv["env"], srv["users"]
    port = int(env["IMAPS_PORT" if tls else "IMAP_PORT"])
    ctx = ssl.create_default_context(cafile=env["CA_FILE"]) if tls else None
    before = pss_kib(pids_fn())
    socks, ok = [], 0
    for i in range(n):
        user, pw = users[i % len(users)]
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            if ctx is not None:
                s = ctx.wrap_socket(s, server_hostname="localhost")
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"a LOGIN %s %s\r\nb SELECT INBOX\r\nc IDLE\r\n" %
                      (user.encode(), pw.encode()))
            while True:
                line = f.readline()
                if not line or line.startswith(b"+") or line.startswith(
                        (b"a NO", b"b NO", b"a BAD", b"b BAD")):
                    break
            if line.startswith(b"+"):
                ok += 1
            socks.append((s, f))
        except OSError:
            break
    time.sleep(2)
    after = pss_kib(pids_fn())
    for s, f in socks:
        try:
            s.sendall(b"DONE\r\nd LOGOUT\r\n")
        except OSError:
            pass
        s.close()
    return after - before, ok


def add_dovecot_users(rdir, rusers, n):
    """The recipe makes 3 users; adds benchN@DOMAIN up to n, each with the
    first user's password and hash (same scheme, same cost per login)."""
    users_file = os.path.join(rdir, "dovecot", "users")
    lines = open(users_file).read().splitlines()
    first = lines[0].split(":")
    domain = first[0].split("@")[1]
    data = os.path.dirname(os.path.dirname(first[5]))
    out = list(rusers)
    extra = []
    for i in range(len(rusers), n):
        addr = "bench%d@%s" % (i, domain)
        f = list(first)
        f[0] = addr
        f[5] = os.path.join(data, domain, "bench%d" % i)
        extra.append(":".join(f))
        out.append((addr, rusers[0][1]))
    with open(users_file + ".new", "w") as fh:
        fh.write("\n".join(lines + extra) + "\n")
    shutil.copymode(users_file, users_file + ".new")
    st = os.stat(users_file)
    os.chown(users_file + ".new", st.st_uid, st.st_gid)
    os.rename(users_file + ".new", users_file)
    return out[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mailboxes", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--size-kib", type=int, default=140)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--idle-sessions", type=int, default=1000)
    ap.add_argument("--idle-tls", action="store_true",
                    help="idle sessions over IMAPS")
    ap.add_argument("--rows", default="imap-fetch,pop3-retr,imap-session")
    ap.add_argument("--json")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.idle_sessions + 100 > hard:
        sys.exit("--idle-sessions %d needs more than the %d descriptors "
                 "allowed (ulimit -Hn)" % (a.idle_sessions, hard))
    work = tempfile.mkdtemp(prefix="bench-retr-")
    os.chmod(work, 0o755)
    pdir, rdir = os.path.join(work, "postier"), os.path.join(work, "ref")
    build = os.environ.get("POSTIER_BUILD_DIR", os.path.join(TOP, "build"))
    results = []
    try:
        out = subprocess.run(
            [os.path.join(TOP, "scripts", "dev-server"), "start", pdir,
             "--set", "imap.plaintext_auth=yes",
             "--set", "pop3.plaintext_auth=yes",
             "--set", "limits.max_connections_per_ip=100000",
             "--set", "limits.max_connections=100000",
             "--users", str(a.mailboxes)],
            check=True, capture_output=True, text=True,
            env=dict(os.environ, POSTIER_BUILD_DIR=build)).stdout
        penv, pusers = kv(out)
        out = subprocess.run([RECIPE, "start", rdir], check=True,
                             capture_output=True, text=True).stdout
        renv, rusers = kv(out)
        rusers = add_dovecot_users(rdir, rusers, a.mailboxes)
        msgs = [make_message(i, a.size_kib * 1024) for i in range(a.messages)]
        pstage, rstage = (os.path.join(pdir, "stage"),
                          os.path.join(rdir, "data", "stage"))
        names = stage_messages(pstage, msgs)
        stage_messages(rstage, msgs)
        homes = {}
        for line in open(os.path.join(pdir, "passwd")):
            f = line.rstrip("\n").split(":")
            homes[f[0]] = f[5]
        for user, _ in pusers:
            fill_maildir(os.path.join(homes[user], "Maildir"), pstage, names)
        for user, _ in rusers:
            local, dom = user.split("@")
            fill_maildir(os.path.join(rdir, "data", dom, local, "Maildir"),
                         rstage, names)
        subprocess.run(["chown", "-R", "vmail:vmail",
                        os.path.join(rdir, "data")], check=True)
        print("%d mailboxes x %d messages of %d KiB on each server" %
              (len(pusers), a.messages, a.size_kib), flush=True)
        servers = {
            "postierd": {"env": penv, "users": pusers,
                         "pids": lambda: {int(penv["PID"])}},
            "dovecot": {"env": renv, "users": rusers,
                        "pids": lambda: tree(int(renv["DOVECOT_PID"]))},
        }
        variants = [("postierd", None), ("dovecot-default", None),
                    ("dovecot-reuse", None)]
        conf = os.path.join(rdir, "dovecot", "dovecot.conf")
        plain_conf = open(conf).read()
        reuse = ("\nservice imap {\n  service_count = 0\n  client_limit = 100\n"
                 "  process_limit = 64\n}\nservice pop3 {\n  service_count = 0\n"
                 "  client_limit = 100\n}\nservice imap-login {\n"
                 "  service_count = 0\n  client_limit = 1000\n"
                 "  process_min_avail = 4\n}\nservice pop3-login {\n"
                 "  service_count = 0\n  client_limit = 1000\n"
                 "  process_min_avail = 4\n}\n")

        def dovecot_mode(tuned):
            with open(conf, "w") as f:
                f.write(plain_conf + (reuse if tuned else ""))
            os.kill(int(renv["DOVECOT_PID"]), signal.SIGHUP)
            time.sleep(2)

        rows = [r for r in a.rows.split(",") if r]
        if rows:
            for name, _ in variants:
                if name.startswith("dovecot"):
                    dovecot_mode(name == "dovecot-reuse")
                warm_up(servers["postierd" if name == "postierd"
                                else "dovecot"], a.clients)
        for rnd in range(a.rounds):
            for name, _ in variants:
                if name.startswith("dovecot"):
                    dovecot_mode(name == "dovecot-reuse")
                srv = servers["postierd" if name == "postierd" else "dovecot"]
                for kind in rows:
                    for tls in (False, True):
                        rate, cpu = run_row(kind, srv, tls, a.clients,
                                            a.seconds, rnd)
                        results.append({"server": name, "row": kind,
                                        "tls": tls, "round": rnd,
                                        "rate": rate, "cpu_s": cpu})
                        print("%-16s %-13s %-5s round %d: %8.1f/s, "
                              "server CPU %.3f ms each" %
                              (name, kind, "tls" if tls else "plain", rnd,
                               rate, cpu * 1000), flush=True)
        idle = {}
        if a.idle_sessions > 0:
            for name in ("postierd", "dovecot-reuse"):
                srv = servers["postierd" if name == "postierd" else "dovecot"]
                if name.startswith("dovecot"):
                    dovecot_mode(True)
                grow, ok = idle_sessions(srv, a.idle_sessions, srv["pids"],
                                         a.idle_tls)
                idle[name] = {"sessions": ok, "pss_kib": grow,
                              "tls": a.idle_tls}
                print("%s: %d idle sessions%s, PSS +%.1f MiB" %
                      (name, ok, " (TLS)" if a.idle_tls else "",
                       grow / 1024.0), flush=True)
        print()
        if not rows:
            return
        print("| row | TLS | postierd | Dovecot default | Dovecot reuse | "
              "postierd / reuse |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for kind in rows:
            for tls in (False, True):
                med = {}
                for name, _ in variants:
                    v = [r["rate"] for r in results if r["server"] == name
                         and r["row"] == kind and r["tls"] == tls]
                    med[name] = statistics.median(v)
                print("| %s | %s | %.0f | %.0f | %.0f | %.2fx |" % (
                    kind, "yes" if tls else "no", med["postierd"],
                    med["dovecot-default"], med["dovecot-reuse"],
                    med["postierd"] / max(med["dovecot-reuse"], 1e-9)))
        print()
        print("Server CPU per message (fetch, retr) or per session, "
              "milliseconds (median):")
        print()
        print("| row | TLS | postierd | Dovecot default | Dovecot reuse | "
              "reuse / postierd |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for kind in rows:
            for tls in (False, True):
                med = {}
                for name, _ in variants:
                    v = [r["cpu_s"] for r in results if r["server"] == name
                         and r["row"] == kind and r["tls"] == tls]
                    med[name] = statistics.median(v) * 1000
                print("| %s | %s | %.3f | %.3f | %.3f | %.2fx |" % (
                    kind, "yes" if tls else "no", med["postierd"],
                    med["dovecot-default"], med["dovecot-reuse"],
                    med["dovecot-reuse"] / max(med["postierd"], 1e-9)))
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"args": vars(a), "runs": results, "idle": idle},
                          f, indent=1)
    finally:
        subprocess.run([os.path.join(TOP, "scripts", "dev-server"), "stop",
                        pdir], capture_output=True)
        subprocess.run([RECIPE, "stop", rdir], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
