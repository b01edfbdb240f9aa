"""POP3 and IMAP against a dev server: python poplib/imaplib over plain,
STARTTLS and implicit TLS, curl's pop3/imap URLs, two concurrent sessions,
IDLE woken by an SMTP delivery, untagged updates after every command (EXPUNGE
held back after non-UID FETCH/STORE/SEARCH), and misbehaving peers. Every message read
back must end with exactly the bytes sent over SMTP (delivery prepends
Return-Path and Received)."""
import imaplib
import os
import poplib
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
import unittest

from postier_test import DevServer, wait_for

SRV = None


def setUpModule():
    global SRV
    SRV = DevServer(["--users", "11"]).start()


def tearDownModule():
    if SRV is not None:
        SRV.stop()


def port(key):
    return SRV.port(key)


def ctx():
    return ssl.create_default_context(cafile=SRV.env["CA_FILE"])


def send(rcpt, subject, body=b"hello\r\n"):
    msg = (b"From: sender@example.test\r\nTo: " + rcpt.encode() +
           b"\r\nSubject: " + subject.encode() + b"\r\nMessage-ID: <" +
           subject.encode() + b"@example.test>\r\n\r\n" + body)
    with smtplib.SMTP("127.0.0.1", port("SMTP_PORT"), timeout=30) as s:
        s.sendmail("sender@example.test", [rcpt], msg)
    return msg


def imap_login(user, pw, tls="starttls"):
    if tls == "implicit":
        m = imaplib.IMAP4_SSL("127.0.0.1", port("IMAPS_PORT"),
                              ssl_context=ctx(), timeout=30)
    else:
        m = imaplib.IMAP4("127.0.0.1", port("IMAP_PORT"), timeout=30)
        m.starttls(ctx())
    m.login(user, pw)
    return m


def wait_count(user, pw, n):
    def ok():
        m = imap_login(user, pw)
        typ, data = m.select("INBOX", readonly=True)
        m.logout()
        return int(data[0]) >= n
    assert wait_for(ok, timeout=15), "delivery did not arrive"


class Pop3Test(unittest.TestCase):
    def test_pop3_plain_stls_and_pop3s(self):
        user, pw = SRV.users[0]
        sent = [send(user, "pop-%d" % i, b"line\r\n.dot\r\n" * (i + 1))
                for i in range(3)]
        wait_count(user, pw, 3)
        p = poplib.POP3("127.0.0.1", port("POP3_PORT"), timeout=30)
        self.assertIn("STLS", p.capa())
        # plaintext login refused before TLS (pop3.plaintext_auth = no)
        with self.assertRaises(poplib.error_proto):
            p.user(user)
        p.stls(ctx())
        self.assertIn("USER", p.capa())
        p.user(user)
        p.pass_(pw)
        count, size = p.stat()
        self.assertEqual(count, 3)
        _, uidl, _ = p.uidl()
        uidls = [l.split()[1].decode() for l in uidl]
        for u in uidls:
            self.assertRegex(u, r"^[0-9a-f]{16}$")
        _, lines, octets = p.retr(2)
        body = b"\r\n".join(lines) + b"\r\n"
        self.assertTrue(body.endswith(sent[1]), body)
        _, listing, _ = p.list()
        self.assertEqual(int(listing[1].split()[1]), len(body))
        _, top, _ = p.top(3, 1)
        self.assertIn(b"Subject: pop-2", top)
        self.assertEqual(top[-1], b"line")
        p.dele(1)
        with self.assertRaises(poplib.error_proto):
            p.retr(1)
        p.rset()
        p.dele(1)
        p.quit()
        # POP3S: UIDLs are stable, the deleted one is gone
        p = poplib.POP3_SSL("127.0.0.1", port("POP3S_PORT"), context=ctx(),
                            timeout=30)
        p.user(user)
        p.pass_(pw)
        _, uidl2, _ = p.uidl()
        self.assertEqual([l.split()[1].decode() for l in uidl2], uidls[1:])
        with self.assertRaises(poplib.error_proto):
            p.retr(99)
        p.quit()

    def test_pop3_auth_plain_and_bad_password(self):
        user, pw = SRV.users[1]
        p = poplib.POP3_SSL("127.0.0.1", port("POP3S_PORT"), context=ctx(),
                            timeout=30)
        with self.assertRaises(poplib.error_proto):
            p.user(user)
            p.pass_("wrong")
        import base64
        ir = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode())
        resp = p._shortcmd("AUTH PLAIN " + ir.decode())
        self.assertTrue(resp.startswith(b"+OK"))
        p.quit()
        self.assertIn("auth.fail", SRV.log_text())


class ImapTest(unittest.TestCase):
    def test_imap_starttls_fetch_store_search(self):
        user, pw = SRV.users[2]
        sent = send(user, "imap-1", b"first body\r\n")
        wait_count(user, pw, 1)
        m = imaplib.IMAP4("127.0.0.1", port("IMAP_PORT"), timeout=30)
        self.assertIn("LOGINDISABLED", m.capabilities)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(user, pw)
        m.starttls(ctx())
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(user, "not-the-password")
        # the one shape of a failed login (fail2ban matches it)
        self.assertRegex(SRV.log_text(), r'auth\.fail sid=\S+ proto=imap '
                         r'user="?%s"? rip=127\.0\.0\.1' % re.escape(user))
        m.login(user, pw)
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK")
        typ, data = m.uid("FETCH", "1:*", "(UID RFC822.SIZE BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        head, body = data[0]
        self.assertTrue(body.endswith(sent))
        size = int(re.search(rb"RFC822\.SIZE (\d+)", head).group(1))
        self.assertEqual(size, len(body))
        typ, data = m.fetch("1", "(FLAGS)")
        self.assertNotIn(b"\\Seen", data[0])
        typ, data = m.fetch("1", "(BODY[HEADER.FIELDS (SUBJECT)] "
                                 "BODY[TEXT]<0.5> ENVELOPE BODYSTRUCTURE)")
        joined = b"".join(x if isinstance(x, bytes) else b"".join(x)
                          for x in data)
        self.assertIn(b"Subject: imap-1\r\n\r\n", joined)
        self.assertIn(b"first", joined)
        self.assertIn(b'"imap-1"', joined)
        self.assertIn(b"\\Seen", joined)  # BODY[] sets \Seen
        m.store("1", "+FLAGS", "(\\Flagged Work)")
        self.assertEqual(m.search(None, "FLAGGED")[1], [b"1"])
        self.assertEqual(m.search(None, "KEYWORD", "Work")[1], [b"1"])
        self.assertEqual(m.search(None, "NOT", "SEEN")[1], [b""])
        self.assertEqual(m.search(None, "SUBJECT", "imap-1")[1], [b"1"])
        self.assertEqual(m.search(None, "BODY", "nothing-like-it")[1], [b""])
        m.logout()

    def test_imap_folders_append_copy_move(self):
        user, pw = SRV.users[3]
        m = imap_login(user, pw, tls="implicit")
        self.assertEqual(m.create("Projects.2026")[0], "OK")
        self.assertEqual(m.create("Sent")[0], "OK")
        typ, data = m.list()
        names = b"\n".join(data)
        self.assertIn(b'"Projects.2026"', names)
        self.assertIn(b"\\Sent", names)
        self.assertIn(b'(\\Noselect \\HasChildren) "." "Projects"', names)
        msg = b"Subject: appended\r\n\r\nappended body\r\n"
        typ, data = m.append("Projects.2026", "(\\Seen)", None, msg)
        self.assertRegex(data[0], rb"\[APPENDUID \d+ 1\]")
        typ, data = m.append("Nowhere", None, None, msg)
        self.assertEqual(typ, "NO")
        self.assertIn(b"TRYCREATE", data[0])
        m.select("Projects.2026")
        typ, data = m.fetch("1", "(FLAGS BODY.PEEK[])")
        self.assertEqual(data[0][1], msg)
        typ, data = m.copy("1", "Sent")
        self.assertRegex(data[0], rb"\[COPYUID \d+ 1 1\]")
        typ, data = m.uid("MOVE", "1", "INBOX")
        self.assertEqual(typ, "OK")
        typ, data = m.status("Projects.2026", "(MESSAGES UIDNEXT)")
        self.assertIn(b"MESSAGES 0", data[0])
        self.assertIn(b"UIDNEXT 2", data[0])
        m.subscribe("Projects.2026")
        typ, data = m.lsub()
        self.assertIn(b'"Projects.2026"', b"".join(data))
        self.assertEqual(m.rename("Projects", "Old")[0], "OK")
        self.assertEqual(m.delete("Old.2026")[0], "OK")
        m.logout()

    def test_two_sessions_and_idle(self):
        user, pw = SRV.users[4]
        send(user, "two-a")
        send(user, "two-b")
        wait_count(user, pw, 2)
        a = imap_login(user, pw)
        b = imap_login(user, pw)
        n = int(a.select("INBOX")[1][0])
        b.select("INBOX")
        # a sets a flag and expunges; b sees both after NOOP
        a.store("1", "+FLAGS", "\\Answered")
        b.noop()
        untagged = b.untagged_responses
        self.assertIn(b"\\Answered", b"".join(untagged.get("FETCH", [])))
        a.store(str(n), "+FLAGS", "\\Deleted")
        a.expunge()
        typ, data = b.noop()
        self.assertIn(str(n).encode(), b.untagged_responses.get("EXPUNGE",
                                                                [b"x"])[0])
        # IDLE on b wakes up on a delivery within a second or so
        tag = b._new_tag()
        b.send(tag + b" IDLE\r\n")
        self.assertTrue(b.readline().startswith(b"+"))
        b.sock.settimeout(10)
        send(user, "idle-wakeup")
        t0 = time.monotonic()  # the SMTP 250 is in
        line = b.readline()
        waited = time.monotonic() - t0
        self.assertRegex(line, rb"^\* \d+ EXISTS")
        # issue 4: a delivery wakes IDLE within a second (seen: ~20 ms)
        self.assertLess(waited, 1.0)
        b.send(b"DONE\r\n")
        while True:
            line = b.readline()
            if line.startswith(tag):
                self.assertIn(b"OK", line)
                break
        a.logout()
        b.logout()

    def test_updates_after_every_command(self):
        # RFC 3501 7, 7.4.1 (Dovecot's behaviour): EXISTS and FETCH FLAGS
        # updates follow any command; EXPUNGE not a non-UID FETCH, STORE or
        # SEARCH (sequence numbers must not move), but NOOP and UID ones.
        user, pw = SRV.users[9]
        for i in range(3):
            send(user, "upd-%d" % i)
        wait_count(user, pw, 3)
        a = imap_login(user, pw)
        b = imap_login(user, pw)
        self.assertEqual(int(a.select("INBOX")[1][0]), 3)
        b.select("INBOX")

        def raw(m, command):
            tag = m._new_tag()
            m.send(tag + b" " + command + b"\r\n")
            lines = []
            while True:
                line = m.readline()
                if line.startswith(tag + b" "):
                    return b"".join(lines), line
                lines.append(line)

        # b flags 1, expunges 3; then a delivery
        b.store("1", "+FLAGS", "\\Flagged")
        b.store("3", "+FLAGS", "\\Deleted")
        b.expunge()
        send(user, "upd-new")
        wait_count(user, pw, 3)
        out, done = raw(a, b"FETCH 2 (UID)")
        self.assertTrue(done.split()[1] == b"OK", done)
        self.assertIn(b"* 4 EXISTS\r\n", out)  # 3 known (one gone) + 1
        self.assertRegex(out, rb"\* 1 FETCH \(UID \d+ FLAGS \([^)]*\\Flagged")
        self.assertNotIn(b"EXPUNGE", out)
        # still held back after STORE and SEARCH; numbers have not moved
        out, done = raw(a, b"STORE 2 +FLAGS.SILENT (\\Seen)")
        self.assertNotIn(b"EXPUNGE", out + done)
        out, done = raw(a, b"SEARCH ALL")
        self.assertIn(b"* SEARCH 1 2 3 4\r\n", out)
        self.assertNotIn(b"EXPUNGE", out)
        # the vanished message's body is gone: RFC 2180 4.1.2
        out, done = raw(a, b"FETCH 3 (BODY.PEEK[])")
        self.assertIn(b"EXPUNGEISSUED", done)
        self.assertNotIn(b"EXPUNGE\r\n", out)
        # NOOP delivers it; then 3 is the new message
        out, done = raw(a, b"NOOP")
        self.assertIn(b"* 3 EXPUNGE\r\n", out)
        out, done = raw(a, b"FETCH 3 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertIn(b"Subject: upd-new", out)
        self.assertEqual(a.noop()[0], "OK")
        # an expunge by b shows at once after a UID command
        b.store("1", "+FLAGS", "\\Deleted")
        b.expunge()
        out, done = raw(a, b"UID FETCH 1:* (FLAGS)")
        self.assertIn(b"* 1 EXPUNGE\r\n", out)
        # COPY may send it too (RFC 3501 7.4.1 forbids it only during
        # FETCH, STORE, SEARCH)
        b.store("1", "+FLAGS", "\\Deleted")
        b.expunge()
        out, done = raw(a, b"COPY 2 INBOX")
        self.assertTrue(done.split()[1] == b"OK", done)
        self.assertIn(b"* 1 EXPUNGE\r\n", out)
        self.assertIn(b"* 2 EXISTS\r\n", out)  # the copy
        a.logout()
        b.logout()

    def test_literals_and_bad_input(self):
        user, pw = SRV.users[5]
        s = socket.create_connection(("127.0.0.1", port("IMAPS_PORT")),
                                     timeout=30)
        s = ctx().wrap_socket(s, server_hostname="localhost")
        f = s.makefile("rb")
        f.readline()

        def cmd(data):
            s.sendall(data)
            out = []
            while True:
                line = f.readline()
                out.append(line)
                if not line or not line.startswith((b"*", b"+")):
                    return out

        # synchronizing literal: wait for "+"
        s.sendall(b"a1 LOGIN {%d}\r\n" % len(user))
        self.assertTrue(f.readline().startswith(b"+"))
        out = cmd(user.encode() + b" {%d+}\r\n" % len(pw) + pw.encode() +
                  b"\r\n")
        self.assertTrue(out[-1].startswith(b"a1 OK"), out)
        self.assertTrue(cmd(b"a2 SELECT INBOX\r\n")[-1].startswith(b"a2 OK"))
        for bad in (b"a3 FETCH 0 FLAGS\r\n", b"a4 FETCH *:* FLAGS\r\n",
                    b"a5 FETCH 99999999999 FLAGS\r\n",
                    b"a6 SELECT IN\xc3\xa9OX\r\n", b"a7 FETCH 1 (FOO)\r\n",
                    b"a8 APPEND INBOX {999999999999}\r\n"):
            out = cmd(bad)
            self.assertRegex(out[-1], rb"^a\d (BAD|NO|OK)", out)
        self.assertTrue(cmd(b"a9 NOOP\r\n")[-1].startswith(b"a9 OK"))
        # a client vanishing in the middle of a literal
        s.sendall(b"b1 APPEND INBOX {1000}\r\n")
        f.readline()
        s.sendall(b"x" * 100)
        s.close()
        # the server still serves
        m = imap_login(user, pw)
        self.assertEqual(m.noop()[0], "OK")
        m.logout()

    def test_fetch_lf_maildir_file(self):
        # Dovecot stores LF line ends: FETCH sends CRLF, counts sizes and
        # sections in that form, and large literals (queued by reference)
        # carry exactly those bytes; a file already in CRLF goes out as is
        user, pw = SRV.users[10]
        local, domain = user.split("@")
        cur = os.path.join(SRV.dir, "data", "home", domain, local, "Maildir",
                           "cur")
        os.makedirs(cur, exist_ok=True)
        body = b"".join(b"line %05d\n" % i for i in range(5000))  # 55 KB
        lf = (b"From: a@example.test\nSubject: lf\n\n" + body +
              b"lone\rcr\nlast")
        crlf = lf.replace(b"\n", b"\r\n").replace(b"lone\r", b"lone\r\n")
        with open(os.path.join(cur, "1700000001.M1P1.lf,S=%d:2," % len(lf)),
                  "wb") as f:
            f.write(lf)
        with open(os.path.join(cur, "1700000002.M2P1.crlf,S=%d:2," %
                               len(crlf)), "wb") as f:
            f.write(crlf)
        m = imap_login(user, pw)
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:2", "(RFC822.SIZE BODY.PEEK[] "
                            "BODY.PEEK[TEXT] BODY.PEEK[]<10.70000>)")
        self.assertEqual(typ, "OK")
        lits = [d for d in data if isinstance(d, tuple)]
        self.assertEqual(len(lits), 6, data)
        text = crlf[crlf.index(b"\r\n\r\n") + 4:]
        for n in (0, 1):
            head, whole = lits[3 * n]
            self.assertIn(b"RFC822.SIZE %d" % len(crlf), head)
            self.assertEqual(whole, crlf)
            self.assertEqual(lits[3 * n + 1][1], text)
            self.assertEqual(lits[3 * n + 2][1], crlf[10:70010])
        m.logout()
        # POP3 RETR of the same files, then of one where every line starts
        # with ".." (byte-stuffed to "...": poplib takes one off again) over
        # several 64 KiB output runs
        dots = (b"Subject: dots\n\n" +
                b"".join(b"..%05d\n" % i for i in range(20000)) + b"..end")
        with open(os.path.join(cur, "1700000003.M3P1.dots,S=%d:2," %
                               len(dots)), "wb") as f:
            f.write(dots)
        p = poplib.POP3_SSL("127.0.0.1", port("POP3S_PORT"), context=ctx(),
                            timeout=30)
        p.user(user)
        p.pass_(pw)
        for n, want in ((1, crlf + b"\r\n"), (2, crlf + b"\r\n"),
                        (3, dots.replace(b"\n", b"\r\n") + b"\r\n")):
            _, lines, octets = p.retr(n)
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", want)
        _, top, _ = p.top(3, 2)
        self.assertEqual(top, [b"Subject: dots", b"", b"..00000", b"..00001"])
        p.quit()

    def test_search_decodes_what_readers_see(self):
        # SEARCH matches decoded text as Dovecot does: encoded-words in
        # headers, base64 / quoted-printable bodies in their charsets,
        # case-insensitively beyond ASCII; not binary attachments
        user, pw = SRV.users[10]
        m = imap_login(user, pw)
        m.create("Recherche")
        msgs = [
            b"Subject: =?UTF-8?Q?R=C3=A9union_du_Comit=C3=A9?=\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" +
            b"Q2Fmw6kgY3LDqG1lIMOgIDEwaA==\r\n",            # Café crème à 10h
            b"Subject: =?ISO-8859-1?B?yXTp?= plain\r\n"       # Été
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            b"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            b"Bonne ann=E9e =\r\n=E0 tous\r\n"
            b"--b\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            b"c2VjcmV0IHdvcmQ=\r\n--b--\r\n",                # "secret word"
        ]
        for raw in msgs:
            self.assertEqual(m.append("Recherche", None, None, raw)[0], "OK")
        m.select("Recherche")

        def search(*crit):
            m.literal = None
            args = []
            for c in crit:
                if isinstance(c, bytes):
                    m.literal = c
                else:
                    args.append(c)
            typ, data = m.search("UTF-8", *args)
            self.assertEqual(typ, "OK", data)
            return data[0].split()

        self.assertEqual(search("SUBJECT", "r\u00e9union".encode()), [b"1"])
        self.assertEqual(search("SUBJECT", "COMIT\u00c9".encode()), [b"1"])
        self.assertEqual(search("SUBJECT", "\u00e9t\u00e9".encode()), [b"2"])
        self.assertEqual(search("BODY", "caf\u00e9 cr\u00e8me".encode()),
                         [b"1"])
        self.assertEqual(search("TEXT", "ANN\u00c9E".encode()), [b"2"])
        self.assertEqual(search("BODY", "secret"), [])     # attachment
        self.assertEqual(search("BODY", "Q2Fm"), [])       # not the raw base64
        self.assertEqual(search("OR", "SUBJECT", "plain", "BODY", "10h"),
                         [b"1", b"2"])
        m.logout()

    def test_client_that_never_reads(self):
        user, pw = SRV.users[6]
        big = b"".join(b"%06d ........................................\r\n" % i
                       for i in range(20000))  # ~1 MB
        send(user, "big", big)
        wait_count(user, pw, 1)
        s = socket.create_connection(("127.0.0.1", port("IMAPS_PORT")),
                                     timeout=30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s = ctx().wrap_socket(s, server_hostname="localhost")
        s.recv(1000)
        s.sendall(b"a LOGIN %s %s\r\n" % (user.encode(), pw.encode()))
        time.sleep(0.5)
        s.sendall(b"b SELECT INBOX\r\n")
        for i in range(30):
            s.sendall(b"f%d FETCH 1:* BODY.PEEK[]\r\n" % i)
        time.sleep(1)
        # others are served meanwhile
        m = imap_login(*SRV.users[8])
        self.assertEqual(m.select("INBOX")[0], "OK")
        m.logout()
        s.close()

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def test_curl_urls(self):
        user, pw = SRV.users[7]
        sent = send(user, "curl-me", b"curl body\r\n")
        wait_count(user, pw, 1)
        m = imap_login(user, pw)
        m.select("INBOX", readonly=True)
        uid = m.uid("SEARCH", "SUBJECT", "curl-me")[1][0].split()[-1].decode()
        m.logout()
        base = ["curl", "-s", "--cacert", SRV.env["CA_FILE"], "-u",
                "%s:%s" % (user, pw), "--max-time", "30"]
        out = subprocess.run(
            base + ["imaps://localhost:%d/INBOX;UID=%s" %
                    (port("IMAPS_PORT"), uid)],
            capture_output=True, check=True).stdout
        self.assertTrue(out.endswith(sent), out[-200:])
        out = subprocess.run(
            base + ["--ssl-reqd", "imap://localhost:%d/INBOX;UID=%s" %
                    (port("IMAP_PORT"), uid)],
            capture_output=True, check=True).stdout
        self.assertTrue(out.endswith(sent))
        out = subprocess.run(base + ["pop3s://localhost:%d/" %
                                     port("POP3S_PORT")],
                             capture_output=True, check=True).stdout
        self.assertRegex(out, rb"^1 \d+")
        n = len(out.strip().splitlines())
        out = subprocess.run(base + ["--ssl-reqd", "pop3://localhost:%d/%d" %
                                     (port("POP3_PORT"), n)],
                             capture_output=True, check=True).stdout
        self.assertTrue(out.endswith(sent))


if __name__ == "__main__":
    unittest.main(verbosity=2)
