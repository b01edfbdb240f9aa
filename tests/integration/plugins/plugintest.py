"""Helpers for the check_postier_* integration tests: run a plugin and parse
its output, hostile and fake servers (threads on 127.0.0.1, kernel-chosen
ports), and throwaway certificates made with the openssl CLI (good, expired,
wrong name, other CA).

Every server here is a context manager that stops its thread and closes its
sockets; nothing is left behind.
"""
import http.server
import os
import re
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time

from postier_test import BUILD_DIR, SOURCE_DIR

PLUGIN_DIR = os.path.join(BUILD_DIR, "nagios-plugins")
STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}
PLUGINS = ["check_postier_smtp", "check_postier_imap", "check_postier_pop3",
           "check_postier_roundtrip", "check_postier_health",
           "check_postier_queue", "check_postier_metric", "check_postier_ha"]


class Result:
    def __init__(self, argv, proc, elapsed):
        self.argv = argv
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.elapsed = elapsed
        lines = self.stdout.splitlines()
        self.line = lines[0] if lines else ""
        self.text, _, perf = self.line.partition(" | ")
        self.perf = parse_perfdata(perf)

    @property
    def state(self):
        return STATES.get(self.rc, "rc=%d" % self.rc)

    def __repr__(self):
        return "rc=%d %.2fs stdout=%r stderr=%r argv=%r" % (
            self.rc, self.elapsed, self.stdout, self.stderr, self.argv)


PERF_RE = re.compile(r"'((?:[^']|'')*)'=([-0-9.]+|U)([a-zA-Z%]*)((?:;[^; ]*){0,4})")


def parse_perfdata(text):
    """{'label': (value, uom, warn, crit, min, max)}; checks the syntax of the
    Monitoring Plugins guidelines strictly (every item must match)."""
    out = {}
    text = text.strip()
    pos = 0
    while pos < len(text):
        m = PERF_RE.match(text, pos)
        if not m:
            raise AssertionError("bad perfdata at %r" % text[pos:])
        fields = (m.group(4).split(";")[1:] + ["", "", "", ""])[:4]
        value = float(m.group(2)) if m.group(2) != "U" else None
        out[m.group(1).replace("''", "'")] = (value, m.group(3), *fields)
        pos = m.end()
        while pos < len(text) and text[pos] == " ":
            pos += 1
    return out


def plugin(name):
    return os.path.join(PLUGIN_DIR, name)


def run(name, *args, timeout=60, env=None):
    argv = [plugin(name)] + [str(a) for a in args]
    t0 = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, env=env)
    return Result(argv, proc, time.monotonic() - t0)


# ---------------------------------------------------------------- servers

class _Server:
    """A TCP server on a kernel-chosen 127.0.0.1 port; handler(conn) runs in
    a thread per connection. Optional TLS context wraps accepted sockets
    (implicit TLS)."""

    def __init__(self, handler, tls_ctx=None):
        self.handler = handler
        self.tls_ctx = tls_ctx
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stop_event = threading.Event()
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        self.sock.settimeout(0.1)
        while not self.stop_event.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        try:
            if self.tls_ctx is not None:
                conn.settimeout(5)
                conn = self.tls_ctx.wrap_socket(conn, server_side=True)
                self.conns.append(conn)
            self.handler(conn, self.stop_event)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.sock.close()
        self.thread.join(2)
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def silent_server():
    """Accepts and never says a word."""
    def handler(conn, stop):
        while not stop.is_set():
            time.sleep(0.05)
    return _Server(handler)


def garbage_server(data=b"\x00\xff garbage \x01\x02 not a protocol\r\n" * 3):
    """Sends garbage and closes."""
    def handler(conn, stop):
        conn.sendall(data)
        time.sleep(0.2)
    return _Server(handler)


def slow_banner_server(banner, delay):
    """Sends the banner after `delay` seconds, then hangs."""
    def handler(conn, stop):
        if stop.wait(delay):
            return
        conn.sendall(banner)
        while not stop.is_set():
            time.sleep(0.05)
    return _Server(handler)


def _lines(conn):
    f = conn.makefile("rb")
    for line in f:
        yield line.rstrip(b"\r\n")


def fake_smtp(tls_ctx=None, banner=b"220 fake.example ESMTP ready"):
    """A minimal SMTP server: greeting, EHLO, NOOP, QUIT."""
    def handler(conn, stop):
        conn.sendall(banner + b"\r\n")
        for line in _lines(conn):
            cmd = line[:4].upper()
            if cmd in (b"EHLO", b"HELO"):
                conn.sendall(b"250-fake.example\r\n250-PIPELINING\r\n"
                             b"250 8BITMIME\r\n")
            elif cmd == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 5.5.1 no\r\n")
    return _Server(handler, tls_ctx)


def fake_imap(tls_ctx=None):
    def handler(conn, stop):
        conn.sendall(b"* OK fake IMAP ready\r\n")
        for line in _lines(conn):
            parts = line.split(b" ", 2)
            if len(parts) < 2:
                conn.sendall(b"* BAD what\r\n")
                continue
            tag, cmd = parts[0], parts[1].upper()
            if cmd == b"CAPABILITY":
                conn.sendall(b"* CAPABILITY IMAP4rev1 IDLE\r\n" + tag +
                             b" OK done\r\n")
            elif cmd == b"LOGOUT":
                conn.sendall(b"* BYE bye\r\n" + tag + b" OK done\r\n")
                return
            else:
                conn.sendall(tag + b" BAD no\r\n")
    return _Server(handler, tls_ctx)


def fake_pop3(tls_ctx=None):
    def handler(conn, stop):
        conn.sendall(b"+OK fake POP3 ready\r\n")
        for line in _lines(conn):
            cmd = line[:4].upper()
            if cmd == b"CAPA":
                conn.sendall(b"+OK\r\nUIDL\r\nTOP\r\n.\r\n")
            elif cmd == b"QUIT":
                conn.sendall(b"+OK bye\r\n")
                return
            else:
                conn.sendall(b"-ERR no\r\n")
    return _Server(handler, tls_ctx)


class FakeAdmin:
    """postierd's admin endpoint as a fake: set .health (status, body) and
    .metrics (text); .delay makes every answer late."""

    def __init__(self):
        self.health = (200, '{"status":"ok"}')
        self.metrics = ("# TYPE postier_queue_messages gauge\n"
                        "postier_queue_messages 0\n"
                        "# EOF\n")
        self.delay = 0.0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if outer.delay:
                    time.sleep(outer.delay)
                if self.path == "/health":
                    code, body = outer.health
                elif self.path == "/metrics":
                    code, body = 200, outer.metrics
                else:
                    code, body = 404, "not found"
                data = body.encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the plugin gave up (timeout tests)

            def log_message(self, *a):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(2)


class FakeHaAgent:
    """A unix-socket server answering "status" with a fixed text."""

    def __init__(self, path, text):
        self.path = path
        self.text = text.encode()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.sock.settimeout(0.1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    if conn.recv(64).startswith(b"status"):
                        conn.sendall(self.text)
                except OSError:
                    pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.sock.close()
        self.thread.join(2)
        os.unlink(self.path)


# ---------------------------------------------------------------- certificates

class Certs:
    """A throwaway CA and server certificates made with the openssl CLI:
    good (localhost, 127.0.0.1), wrong name, expired (via `openssl ca` with a
    past -startdate/-enddate), and one from another CA."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="plugin-certs-")
        d = self.dir
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        self.ec = ec
        self._ossl("req", "-x509", "-new", *ec, "-nodes",
                   "-days", "30", "-subj", "/CN=plugin test CA",
                   "-addext", "basicConstraints=critical,CA:TRUE",
                   "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                   "-keyout", d + "/ca.key", "-out", d + "/ca.pem")
        self._ossl("req", "-x509", "-new", *ec, "-nodes",
                   "-days", "30", "-subj", "/CN=other CA",
                   "-addext", "basicConstraints=critical,CA:TRUE",
                   "-keyout", d + "/other-ca.key", "-out", d + "/other-ca.pem")
        with open(d + "/index.txt", "w"):
            pass
        with open(d + "/serial", "w") as f:
            f.write("1000\n")
        with open(d + "/ca.cnf", "w") as f:
            f.write("""[ca]
default_ca = test
[test]
dir = %s
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = supplied
""" % d)
        self.good = self._leaf("good", "localhost", "DNS:localhost,IP:127.0.0.1",
                               days=20)
        self.wrong_name = self._leaf("wrong", "elsewhere.example",
                                     "DNS:elsewhere.example")
        self.expired = self._leaf("expired", "localhost",
                                  "DNS:localhost,IP:127.0.0.1",
                                  start="20200101000000Z",
                                  end="20200201000000Z")
        self.other_ca = self._leaf("other", "localhost",
                                   "DNS:localhost,IP:127.0.0.1",
                                   ca="other-ca")
        self.ca_file = d + "/ca.pem"

    def _ossl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True,
                       capture_output=True, timeout=60)

    def _leaf(self, name, cn, san, days=30, start=None, end=None, ca="ca"):
        d = self.dir
        key, csr, pem = (d + "/%s.key" % name, d + "/%s.csr" % name,
                         d + "/%s.pem" % name)
        self._ossl("req", "-new", *self.ec, "-nodes",
                   "-subj", "/CN=" + cn, "-addext", "subjectAltName=" + san,
                   "-keyout", key, "-out", csr)
        if ca == "ca":
            dates = (["-startdate", start, "-enddate", end] if start
                     else ["-days", str(days)])
            self._ossl("ca", "-batch", "-config", d + "/ca.cnf", "-notext",
                       "-cert", d + "/ca.pem", "-keyfile", d + "/ca.key",
                       "-in", csr, "-out", pem, *dates)
        else:
            self._ossl("x509", "-req", "-in", csr, "-CA", d + "/%s.pem" % ca,
                       "-CAkey", d + "/%s.key" % ca, "-set_serial", "7",
                       "-days", str(days), "-copy_extensions", "copy",
                       "-out", pem)
        return (pem, key)

    def context(self, pair):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*pair)
        return ctx

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def port_open(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def write_authfile(dirname, user, password, name="auth"):
    path = os.path.join(dirname, name)
    with open(path, "w") as f:
        f.write("# test credentials\nusername=%s\npassword=%s\n" % (user, password))
    os.chmod(path, 0o600)
    return path
