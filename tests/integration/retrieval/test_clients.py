"""Real mail clients against a dev server: fetchmail (POP3 and IMAP, keep
then delete), mbsync (isync: a mailbox with folders synced both ways) and
getmail6 (IMAPS into a Maildir, POP3S deleting).
Each checks that the bytes a client stored are the bytes sent over SMTP
(clients store LF line ends; delivery prepends Return-Path and Received)."""
import glob
import imaplib
import os
import re
import poplib
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
import unittest

from postier_test import DevServer, wait_for

SRV = None


def setUpModule():
    global SRV
    SRV = DevServer(["--users", "4"]).start()


def tearDownModule():
    if SRV is not None:
        SRV.stop()


def send(rcpt, subject, body=b"hello\r\n"):
    msg = (b"From: sender@example.test\r\nTo: " + rcpt.encode() +
           b"\r\nSubject: " + subject.encode() + b"\r\n\r\n" + body)
    with smtplib.SMTP("127.0.0.1", SRV.port("SMTP_PORT"), timeout=30) as s:
        s.sendmail("sender@example.test", [rcpt], msg)
    return msg


def lf(b):
    return b.replace(b"\r\n", b"\n")


def inbox_count(user, pw):
    ctx = ssl.create_default_context(cafile=SRV.env["CA_FILE"])
    m = imaplib.IMAP4_SSL("127.0.0.1", SRV.port("IMAPS_PORT"),
                          ssl_context=ctx, timeout=30)
    m.login(user, pw)
    n = int(m.select("INBOX", readonly=True)[1][0])
    m.logout()
    return n


class ClientsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="postier-clients-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fetchmail(self, proto, port_key, user, pw, keep):
        rc = os.path.join(self.tmp, "fetchmailrc")
        out = os.path.join(self.tmp, "out")
        os.makedirs(out, exist_ok=True)
        with open(rc, "w") as f:
            f.write('set no bouncemail\n'
                    'poll localhost protocol %s port %d\n'
                    '  user "%s" password "%s"\n'
                    '  ssl sslcertck sslcertfile "%s"\n'
                    '  mda "/bin/sh -c \'cat > %s/msg.$$\'"\n' %
                    (proto, SRV.port(port_key), user, pw,
                     SRV.env["CA_FILE"], out))
        os.chmod(rc, 0o600)
        # -a: also the messages a keeping run already fetched
        r = subprocess.run(["fetchmail", "-f", rc, "--nosyslog", "-v", "-a"] +
                           (["-k"] if keep else []),
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, HOME=self.tmp))
        if os.environ.get("DEBUG_CLIENTS"):
            print(r.stdout[-3000:], r.stderr[-3000:])
        # 0: mail fetched, 1: no mail
        self.assertIn(r.returncode, (0, 1), r.stdout + r.stderr)
        got = []
        for p in sorted(glob.glob(os.path.join(out, "msg.*"))):
            with open(p, "rb") as f:
                got.append(f.read())
            os.unlink(p)
        return got

    @unittest.skipUnless(shutil.which("fetchmail"), "fetchmail not installed")
    def test_fetchmail_pop3_and_imap(self):
        for proto, port_key, (user, pw) in (
                ("POP3", "POP3S_PORT", SRV.users[0]),
                ("IMAP", "IMAPS_PORT", SRV.users[1])):
            sent = [send(user, "fm-%s-%d" % (proto, i), b"x\r\n" * (i + 1))
                    for i in range(2)]
            self.assertTrue(wait_for(lambda: inbox_count(user, pw) == 2,
                                     timeout=15))
            got = self.fetchmail(proto, port_key, user, pw, keep=True)
            self.assertEqual(len(got), 2, proto)
            for g in got:
                self.assertTrue(any(g.endswith(lf(s)) for s in sent),
                                (proto, g[-200:]))
            self.assertEqual(inbox_count(user, pw), 2)  # kept
            got = self.fetchmail(proto, port_key, user, pw, keep=False)
            self.assertEqual(len(got), 2, proto)
            self.assertTrue(wait_for(lambda: inbox_count(user, pw) == 0,
                                     timeout=10), proto)  # deleted

    @unittest.skipUnless(shutil.which("mbsync"), "isync not installed")
    def test_mbsync_both_ways(self):
        user, pw = SRV.users[2]
        sent = send(user, "mbsync-1", b"synced body\r\n")
        self.assertTrue(wait_for(lambda: inbox_count(user, pw) == 1,
                                 timeout=15))
        ctx = ssl.create_default_context(cafile=SRV.env["CA_FILE"])
        m = imaplib.IMAP4_SSL("127.0.0.1", SRV.port("IMAPS_PORT"),
                              ssl_context=ctx, timeout=30)
        m.login(user, pw)
        m.create("Archive")
        m.append("Archive", "(\\Seen)", None,
                 b"Subject: archived\r\n\r\nold\r\n")
        m.logout()
        local = os.path.join(self.tmp, "mail")
        os.makedirs(local)
        cfg = os.path.join(self.tmp, "mbsyncrc")
        with open(cfg, "w") as f:
            f.write("IMAPAccount acc\nHost localhost\nPort %d\nUser %s\n"
                    "Pass %s\nSSLType IMAPS\nCertificateFile %s\n\n"
                    "IMAPStore remote\nAccount acc\n\n"
                    "MaildirStore local\nPath %s/\nInbox %s/INBOX\n"
                    "SubFolders Verbatim\n\n"
                    "Channel ch\nFar :remote:\nNear :local:\nPatterns *\n"
                    "Create Both\nExpunge Both\nSyncState *\n" %
                    (SRV.port("IMAPS_PORT"), user, pw, SRV.env["CA_FILE"],
                     local, local))

        def mbsync():
            r = subprocess.run(["mbsync", "-c", cfg, "-a"],
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, HOME=self.tmp))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        mbsync()
        files = glob.glob(os.path.join(local, "INBOX", "cur", "*")) + \
            glob.glob(os.path.join(local, "INBOX", "new", "*"))
        self.assertEqual(len(files), 1)
        with open(files[0], "rb") as f:
            stored = f.read()
        # mbsync adds its own X-TUID header field while it syncs
        stored = re.sub(rb"X-TUID: [^\n]*\n", b"", lf(stored))
        self.assertTrue(stored.endswith(lf(sent)), stored[-300:])
        arch = glob.glob(os.path.join(local, "Archive", "cur", "*"))
        self.assertEqual(len(arch), 1)
        self.assertTrue(arch[0].endswith("S"))  # \Seen came across
        # the other way: a local folder and message go up to the server
        proj = os.path.join(local, "Projects")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(proj, sub))
        with open(os.path.join(proj, "new", "1.local.test"), "wb") as f:
            f.write(b"Subject: from mbsync\n\nlocal body\n")
        # and a flag set locally on the INBOX message
        os.rename(files[0], os.path.join(local, "INBOX", "cur",
                  os.path.basename(files[0]).split(":")[0] + ":2,FS"))
        mbsync()
        m = imaplib.IMAP4_SSL("127.0.0.1", SRV.port("IMAPS_PORT"),
                              ssl_context=ctx, timeout=30)
        m.login(user, pw)
        self.assertEqual(m.select("Projects")[0], "OK")
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(re.sub(rb"X-TUID: [^\n]*\n", b"", lf(data[0][1])),
                         b"Subject: from mbsync\n\nlocal body\n")
        m.select("INBOX")
        typ, data = m.fetch("1", "(FLAGS)")
        self.assertIn(b"\\Flagged", data[0])
        m.logout()


    @unittest.skipUnless(shutil.which("getmail"), "getmail6 not installed")
    def test_getmail(self):
        user, pw = SRV.users[3]
        sent = [send(user, "gm-%d" % i, b"getmail body %d\r\n" % i)
                for i in range(3)]
        self.assertTrue(wait_for(lambda: inbox_count(user, pw) == 3,
                                 timeout=15))
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        for kind, port_key, delete in (("SimpleIMAPSSLRetriever",
                                        "IMAPS_PORT", "false"),
                                       ("SimplePOP3SSLRetriever",
                                        "POP3S_PORT", "true")):
            rcdir = os.path.join(self.tmp, "gm-" + kind)
            os.makedirs(rcdir)
            with open(os.path.join(rcdir, "getmailrc"), "w") as f:
                f.write("[retriever]\ntype = %s\nserver = localhost\n"
                        "port = %d\nusername = %s\npassword = %s\n"
                        "ca_certs = %s\n\n[destination]\n"
                        "type = MDA_external\npath = /bin/sh\n"
                        "arguments = (\"-c\", \"cat > %s/msg.$$\")\n"
                        "allow_root_commands = true\n"
                        "\n[options]\ndelete = %s\n"
                        "read_all = true\nreceived = false\n"
                        "delivered_to = false\n" %
                        (kind, SRV.port(port_key), user, pw,
                         SRV.env["CA_FILE"], out, delete))
            r = subprocess.run(["getmail", "--getmaildir", rcdir,
                                "--rcfile", "getmailrc"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        got = []
        for p in glob.glob(os.path.join(out, "msg.*")):
            with open(p, "rb") as f:
                # getmail notes the IMAP folder in a header field of its own
                got.append(re.sub(rb"X-getmail-retrieved-from-mailbox: "
                                  rb"[^\n]*\n", b"", lf(f.read())))
        # three over IMAP (kept), the same three again over POP3 (deleted)
        self.assertEqual(len(got), 6)
        for s in sent:
            self.assertEqual(sum(1 for g in got if g.endswith(lf(s))), 2,
                             [g[-120:] for g in got])
        self.assertEqual(inbox_count(user, pw), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
