#!/usr/bin/env python3
"""bench/smtp-vs-postfix: postierd against a private Postfix, same load.

Both servers get Postfix's own load tool, smtp-source: 10 sessions (10
smtp-source processes, one session each, one message per connection as
smtp-source does by default), 140 KiB messages, one recipient per message.
`-N` numbers the recipients 1u@example.test .. 1000u@example.test, so each
process covers the same 1,000 mailboxes once and a run delivers 10,000
messages, 10 per mailbox. Postfix delivers with virtual(8) into Maildirs,
postierd with its queue into Maildirs (mail.location
maildir:DIR/mail/%d/%n/Maildir). Runs alternate, 3 each.

A run's clock starts when the load starts and stops when the last message is
in its Maildir (accepted + delivered). CPU is the whole server: for Postfix
every process under the master (utime + stime of the live ones plus what the
dead ones left in their parents' cutime/cstime), for postierd its one
process. smtp-source's own CPU is not counted.

Before the measured runs, each server gets 50 messages under
`strace -f -c -e trace=fsync,fdatasync,...` to show how it syncs before 250.

Usage: bench.py [--runs 3] [--sessions 10] [--mailboxes 1000] [--size 143360]
                [--workdir DIR] [--keep]
Needs: root (Postfix's private instance, vmail user), postfix (smtp-source),
strace, a built postierd (POSTIER_BUILD_DIR or REPO/build).
"""
import argparse
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("POSTIER_BUILD_DIR", os.path.join(REPO, "build"))
DOMAIN = "example.test"
HZ = os.sysconf("SC_CLK_TCK")


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ------------------------------------------------------------ CPU accounting

def proc_stats():
    """{pid: (ppid, utime+stime, cutime+cstime)} in clock ticks."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        out[int(d)] = (int(fields[1]), int(fields[11]) + int(fields[12]),
                       int(fields[13]) + int(fields[14]))
    return out


def tree_cpu_s(root):
    """CPU seconds of root and all its descendants, including reaped ones."""
    st = proc_stats()
    kids = {}
    for pid, (ppid, _, _) in st.items():
        kids.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid not in st:
            continue
        total += st[pid][1] + st[pid][2]
        todo.extend(kids.get(pid, []))
    return total / HZ


# ------------------------------------------------------------ mailboxes

def mailbox_names(n):
    return ["%du" % i for i in range(1, n + 1)]


def make_maildirs(root, n, owner=None):
    for name in mailbox_names(n):
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(root, DOMAIN, name, "Maildir", sub),
                        exist_ok=True)
    if owner is not None:
        run(["chown", "-R", "%s:%s" % owner, root])


def count_delivered(root, n):
    total = 0
    for name in mailbox_names(n):
        total += len(os.listdir(os.path.join(root, DOMAIN, name, "Maildir",
                                             "new")))
    return total


def clear_maildirs(root, n):
    for name in mailbox_names(n):
        for sub in ("tmp", "new", "cur"):
            d = os.path.join(root, DOMAIN, name, "Maildir", sub)
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))


# ------------------------------------------------------------ Postfix

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    name = "postfix"

    def __init__(self, work, mailboxes):
        self.dir = os.path.join(work, "postfix")
        self.conf = os.path.join(self.dir, "etc")
        # unix socket paths must stay short: the queue lives in /tmp
        self.queue = tempfile.mkdtemp(prefix="pfb-")
        self.data = os.path.join(self.dir, "lib")
        self.logd = os.path.join(self.dir, "log")
        self.mail = os.path.join(self.dir, "mail")
        self.mailboxes = mailboxes
        self.port = free_port()
        self.pid = None

    def start(self):
        vm = pwd.getpwnam("vmail")
        for d in (self.conf, self.data, self.logd, self.mail):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.queue, 0o755)
        for d in (self.dir, self.mail):
            os.chmod(d, 0o755)
        run(["chown", "postfix", self.data])
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(f"""\
# private instance written by bench/smtp-vs-postfix (postfix -c {self.conf})
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
myhostname = mx.{DOMAIN}
mydomain = {DOMAIN}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
biff = no
alias_maps =
alias_database =
maillog_file_prefixes = {self.logd}
maillog_file = {self.logd}/postfix.log
local_transport = error:local delivery disabled
default_transport = error:outbound mail disabled
relay_transport = error:outbound mail disabled
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = hash:{self.conf}/vmailbox
virtual_uid_maps = static:{vm.pw_uid}
virtual_gid_maps = static:{vm.pw_gid}
virtual_minimum_uid = {min(vm.pw_uid, 100)}
# everything else (fsync, in_flow_delay, process limits) is the default
""")
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))
        with open(os.path.join(self.conf, "vmailbox"), "w") as f:
            for name in mailbox_names(self.mailboxes):
                f.write(f"{name}@{DOMAIN} {DOMAIN}/{name}/Maildir/\n")
        run(["postmap", "-c", self.conf, "hash:%s/vmailbox" % self.conf])
        make_maildirs(self.mail, self.mailboxes, ("vmail", "vmail"))
        run(["postfix", "-c", self.conf, "check"])
        run(["postfix", "-c", self.conf, "start"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pidfile = os.path.join(self.queue, "pid", "master.pid")
        for _ in range(100):
            try:
                with open(pidfile) as f:
                    self.pid = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        if self.pid is None:
            raise SystemExit("postfix master did not start")
        wait_port(self.port)

    def stop(self):
        if self.pid is None:
            shutil.rmtree(self.queue, ignore_errors=True)
            return
        subprocess.run(["postfix", "-c", self.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(150):
            if not os.path.exists("/proc/%d" % self.pid):
                break
            time.sleep(0.1)
        shutil.rmtree(self.queue, ignore_errors=True)

    def idle(self):
        """True when the queue is empty."""
        out = subprocess.run(["postqueue", "-c", self.conf, "-p"],
                             capture_output=True, text=True).stdout
        return "Mail queue is empty" in out


# ------------------------------------------------------------ postierd

class Postierd:
    name = "postierd"

    def __init__(self, work, mailboxes):
        self.dir = os.path.join(work, "postierd")
        self.mail = os.path.join(self.dir, "mail")
        self.mailboxes = mailboxes
        self.pid = None
        self.port = None
        self.admin = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        passwd = os.path.join(self.dir, "passwd.src")
        with open(passwd, "w") as f:
            for name in mailbox_names(self.mailboxes):
                f.write(f"{name}@{DOMAIN}:{{PLAIN}}x::::::\n")
        make_maildirs(self.mail, self.mailboxes)
        out = run([os.path.join(REPO, "scripts", "dev-server"), "start",
                   self.dir, "--passwd-file", passwd, "--mail-location",
                   "maildir:%s/%%d/%%n/Maildir" % self.mail],
                  capture_output=True, text=True,
                  env=dict(os.environ, POSTIER_BUILD_DIR=BUILD)).stdout
        env = dict(l.split("=", 1) for l in out.splitlines()
                   if "=" in l and not l.startswith("USER="))
        self.pid = int(env["PID"])
        self.port = int(env["SMTP_PORT"])
        self.admin = int(env["ADMIN_PORT"])

    def stop(self):
        if self.pid is None:
            return
        subprocess.run([os.path.join(REPO, "scripts", "dev-server"), "stop",
                        self.dir], capture_output=True)

    def idle(self):
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" %
                                    self.admin, timeout=5) as r:
            m = re.search(r"^postier_queue_messages (\d+)", r.read().decode(),
                          re.M)
        return m is not None and m.group(1) == "0"


def wait_port(port, timeout=15):
    end = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise SystemExit("port %d does not answer" % port)
            time.sleep(0.1)


def load(server, sessions, per_session, size):
    """Starts the smtp-source processes; returns them."""
    procs = []
    for _ in range(sessions):
        procs.append(subprocess.Popen(
            ["smtp-source", "-N", "-s", "1", "-m", str(per_session),
             "-l", str(size), "-f", "bench@example.net",
             "-t", "u@%s" % DOMAIN, "127.0.0.1:%d" % server.port],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    return procs


def one_run(server, sessions, per_session, size, timeout_s=600):
    clear_maildirs(server.mail, server.mailboxes)
    want = sessions * per_session
    cpu0 = tree_cpu_s(server.pid)
    t0 = time.monotonic()
    procs = load(server, sessions, per_session, size)
    errors = []
    for p in procs:
        _, err = p.communicate(timeout=timeout_s)
        if p.returncode != 0:
            errors.append(err.decode(errors="replace").strip()[-300:])
    t_accept = time.monotonic() - t0
    while True:
        got = count_delivered(server.mail, server.mailboxes)
        if got >= want or time.monotonic() - t0 > timeout_s:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - t0
    cpu = tree_cpu_s(server.pid) - cpu0
    return {
        "server": server.name, "messages": want, "delivered": got,
        "seconds": round(elapsed, 3), "accept_seconds": round(t_accept, 3),
        "msg_per_s": round(got / elapsed, 1),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_msg": round(1000 * cpu / max(got, 1), 3),
        "load_errors": errors,
    }


def fsync_check(server, size):
    """50 messages under strace: how the server syncs."""
    clear_maildirs(server.mail, server.mailboxes)
    out = os.path.join(os.path.dirname(server.mail), "strace.txt")
    st = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-e",
                           "trace=fsync,fdatasync,sync_file_range,rename,"
                           "link,renameat,renameat2,linkat",
                           "-p", str(server.pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    for p in load(server, 5, 10, size):
        p.wait()
    end = time.monotonic() + 60
    while count_delivered(server.mail, server.mailboxes) < 50 and \
            time.monotonic() < end:
        time.sleep(0.1)
    time.sleep(1.0)
    st.send_signal(2)
    st.wait()
    calls = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[-1].isidentifier() and \
                    parts[3].isdigit():
                calls[parts[-1]] = int(parts[3])
    return calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--mailboxes", type=int, default=1000)
    ap.add_argument("--size", type=int, default=140 * 1024)
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (private Postfix instance)")
    work = args.workdir or tempfile.mkdtemp(prefix="smtp-vs-postfix-")
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o755)
    servers = [Postfix(work, args.mailboxes), Postierd(work, args.mailboxes)]
    results, fsyncs = [], {}
    try:
        for s in servers:
            log("starting", s.name)
            s.start()
            fsyncs[s.name] = fsync_check(s, args.size)
            log(s.name, "syscalls for 50 messages:", fsyncs[s.name])
        for i in range(args.runs):
            for s in servers if i % 2 == 0 else reversed(servers):
                r = one_run(s, args.sessions, args.mailboxes, args.size)
                r["run"] = i + 1
                log(json.dumps(r))
                results.append(r)
                end = time.monotonic() + 60
                while not s.idle() and time.monotonic() < end:
                    time.sleep(0.2)
    finally:
        for s in servers:
            try:
                s.stop()
            except Exception as e:  # keep stopping the others
                log("stop", s.name, e)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def mean(name, key):
        v = [r[key] for r in results if r["server"] == name]
        return sum(v) / len(v)

    summary = {}
    for name in ("postfix", "postierd"):
        summary[name] = {"msg_per_s": round(mean(name, "msg_per_s"), 1),
                         "cpu_ms_per_msg": round(mean(name, "cpu_ms_per_msg"), 3)}
    summary["ratio_msg_per_s"] = round(
        summary["postierd"]["msg_per_s"] / summary["postfix"]["msg_per_s"], 2)
    summary["ratio_cpu_per_msg"] = round(
        summary["postierd"]["cpu_ms_per_msg"] /
        summary["postfix"]["cpu_ms_per_msg"], 3)
    print("| run | server | messages | seconds | msg/s | CPU ms/msg |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print("| %d | %s | %d | %.2f | %.1f | %.3f |" % (
            r["run"], r["server"], r["delivered"], r["seconds"],
            r["msg_per_s"], r["cpu_ms_per_msg"]))
    print()
    for name in ("postfix", "postierd"):
        print("%s: mean %.1f msg/s, %.3f CPU ms/msg" % (
            name, summary[name]["msg_per_s"], summary[name]["cpu_ms_per_msg"]))
    print("postierd/postfix: %.2fx msg/s, %.3fx CPU per message" % (
        summary["ratio_msg_per_s"], summary["ratio_cpu_per_msg"]))
    print("fsync-family syscalls for 50 messages:", json.dumps(fsyncs))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": results, "summary": summary,
                       "syscalls_50_messages": fsyncs}, f, indent=1)


if __name__ == "__main__":
    main()
