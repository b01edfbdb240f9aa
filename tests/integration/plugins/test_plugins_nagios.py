"""A real Nagios 4 (Debian's nagios4-core, no web UI) runs the plugins as
service checks against a postierd started by scripts/dev-server (and, for the
timeout and HA cases, against peers of this test). Nagios is started on its
own configuration in a temp dir; the test forces every check through the
external command file and reads status.dat until every service has
has_been_checked=1, then compares states, output and perfdata."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import plugintest as pt
from postier_test import DevServer, SOURCE_DIR, binary

NAGIOS = "/usr/sbin/nagios4"


def available():
    if not os.path.exists(NAGIOS):
        return "nagios4 missing (apt nagios4-core, scripts/deps/plugins.txt)"
    if not os.path.exists(os.path.join(SOURCE_DIR, "scripts", "dev-server")):
        return "scripts/dev-server missing"
    if not os.path.exists(binary("mailserver/postierd")):
        return "postierd not built"
    if os.geteuid() != 0:
        return "needs root (nagios drops to the nagios user)"
    return None


def parse_status(path):
    """servicestatus blocks of status.dat as dicts keyed by description."""
    out = {}
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return out
    for block in text.split("}"):
        head, _, body = block.partition("{")
        if head.strip() != "servicestatus":
            continue
        d = {}
        for line in body.splitlines():
            k, sep, v = line.strip().partition("=")
            if sep:
                d[k] = v
        out[d.get("service_description")] = d
    return out


@unittest.skipIf(available() is not None, available())
class NagiosRunsPlugins(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="plugins-nagios-")
        os.chmod(self.tmp, 0o755)
        self.srv = DevServer().start()
        self.nagios_pid = None
        self.silent = pt.silent_server().__enter__()

    def tearDown(self):
        if self.nagios_pid:
            try:
                os.kill(self.nagios_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _ in range(100):
                try:
                    os.kill(self.nagios_pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
        if self.proc is not None:
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.silent.__exit__(None, None, None)
        self.srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    proc = None

    def write_config(self, services):
        t = self.tmp
        for d in ("checkresults", "spool"):
            os.makedirs(os.path.join(t, d))
        user = "nagios"
        with open(os.path.join(t, "nagios.cfg"), "w") as f:
            f.write("""log_file={t}/nagios.log
cfg_file={t}/objects.cfg
object_cache_file={t}/objects.cache
precached_object_file={t}/objects.precache
resource_file={t}/resource.cfg
status_file={t}/status.dat
status_update_interval=1
nagios_user={u}
nagios_group={u}
check_external_commands=1
command_file={t}/nagios.cmd
lock_file={t}/nagios.lock
query_socket={t}/nagios.qh
temp_file={t}/nagios.tmp
temp_path={t}
check_result_path={t}/checkresults
retain_state_information=0
use_syslog=0
interval_length=1
service_check_timeout=20
check_result_reaper_frequency=1
max_check_result_reaper_time=2
enable_notifications=0
execute_host_checks=0
illegal_macro_output_chars=`~$&|'"<>
""".format(t=t, u=user))
        # the plugins run as the nagios user, which may not traverse the
        # build directory (a clone under /root): run copies from here
        plugins = os.path.join(t, "plugins")
        os.makedirs(plugins)
        for name in pt.PLUGINS:
            shutil.copy2(pt.plugin(name), plugins)
        with open(os.path.join(t, "resource.cfg"), "w") as f:
            f.write("$USER1$=%s\n" % plugins)
        objs = ["""define timeperiod {
    timeperiod_name always
    alias always
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define contact {
    contact_name nobody
    host_notifications_enabled 0
    service_notifications_enabled 0
    host_notification_period always
    service_notification_period always
    host_notification_options n
    service_notification_options n
    host_notification_commands noop
    service_notification_commands noop
}
define command {
    command_name noop
    command_line /bin/true
}
define host {
    host_name postier
    address 127.0.0.1
    max_check_attempts 1
    check_period always
    contacts nobody
    active_checks_enabled 0
}
"""]
        for name, cmdline in services:
            objs.append("""define command {
    command_name %(n)s
    command_line %(c)s
}
define service {
    host_name postier
    service_description %(n)s
    check_command %(n)s
    max_check_attempts 1
    check_interval 300
    retry_interval 300
    check_period always
    contacts nobody
}
""" % {"n": name, "c": cmdline})
        with open(os.path.join(t, "objects.cfg"), "w") as f:
            f.write("".join(objs))
        nagios_uid = pwd.getpwnam(user).pw_uid
        for root, dirs, files in os.walk(t):
            for n in dirs + files:
                os.chown(os.path.join(root, n), nagios_uid, -1)
        os.chown(t, nagios_uid, -1)

    def test_service_checks(self):
        env = self.srv.env
        user, pw = self.srv.users[0]
        auth = pt.write_authfile(self.tmp, user, pw)
        os.chmod(auth, 0o644)
        # the plugins run as the nagios user: everything they read must be
        # readable by it
        os.chmod(self.srv.dir, 0o755)
        os.chmod(env["CA_FILE"], 0o644)
        p = "$USER1$/"
        services = [
            ("health", p + "check_postier_health -p %s -w 5 -c 10"
             % env["ADMIN_PORT"]),
            ("queue_crossed", p + "check_postier_queue -p %s -w @0:1e9"
             % env["ADMIN_PORT"]),
            ("smtp", p + "check_postier_smtp -H 127.0.0.1 -p %s -w 5 -c 10"
             % env["SMTP_PORT"]),
            ("submission_login", p + "check_postier_smtp -H localhost -p %s "
             "--starttls -a %s --ca-file %s -D 10,5"
             % (env["SUBMISSION_PORT"], auth, env["CA_FILE"])),
            ("cert_critical", p + "check_postier_smtp -H 127.0.0.1 -p %s "
             "--ssl -D 60,40" % env["SUBMISSIONS_PORT"]),
            ("imaps_login", p + "check_postier_imap -H localhost -p %s --ssl "
             "-a %s -m INBOX --ca-file %s -w 5 -c 10"
             % (env["IMAPS_PORT"], auth, env["CA_FILE"])),
            ("pop3", p + "check_postier_pop3 -H 127.0.0.1 -p %s -w 0 -c 10"
             % env["POP3_PORT"]),
            ("silent_unknown", p + "check_postier_pop3 -H 127.0.0.1 -p %d "
             "-t 2:unknown" % self.silent.port),
            ("ha_absent", p + "check_postier_ha -S %s/none.sock" % self.tmp),
            ("bad_args", p + "check_postier_imap -w 5:1"),
        ]
        want = {
            "health": (0, "POSTIER_HEALTH OK", "'time'="),
            "queue_crossed": (1, "POSTIER_QUEUE WARNING", "'messages'="),
            "smtp": (0, "SMTP OK: 220 ", "'time'="),
            "submission_login": (0, "login ok", "'cert_days'="),
            "cert_critical": (2, "certificate expires in", "'cert_days'="),
            "imaps_login": (0, "INBOX has", "'messages'="),
            "pop3": (1, "POP3 WARNING", "'time'="),
            "silent_unknown": (3, "timeout after 2 s", None),
            "ha_absent": (3, "HA agent not available", None),
            "bad_args": (3, "IMAP UNKNOWN", None),
        }
        self.write_config(services)
        cfg = os.path.join(self.tmp, "nagios.cfg")
        v = subprocess.run([NAGIOS, "-v", cfg], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.proc = subprocess.Popen([NAGIOS, cfg], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        # in the foreground the process we started is the main one (its
        # workers and the command file worker are its children)
        self.nagios_pid = self.proc.pid
        cmd = os.path.join(self.tmp, "nagios.cmd")
        status = os.path.join(self.tmp, "status.dat")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not os.path.exists(cmd):
            self.assertIsNone(self.proc.poll(), "nagios exited")
            time.sleep(0.1)
        now = int(time.time())
        with open(cmd, "w") as f:
            for name, _ in services:
                f.write("[%d] SCHEDULE_FORCED_SVC_CHECK;postier;%s;%d\n"
                        % (now, name, now))
        st = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = parse_status(status)
            if len(st) == len(services) and all(
                    s.get("has_been_checked") == "1" for s in st.values()):
                break
            time.sleep(0.5)
        for name, (state, text, perf) in want.items():
            s = st.get(name)
            self.assertIsNotNone(s, "no status for %s: %s" % (name, st))
            self.assertEqual(s.get("has_been_checked"), "1", (name, s))
            self.assertEqual(int(s["current_state"]), state, (name, s))
            self.assertIn(text, s.get("plugin_output", ""), (name, s))
            if perf is not None:
                self.assertIn(perf, s.get("performance_data", ""), (name, s))
                pt.parse_perfdata(s["performance_data"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
