"""Migration from a real Dovecot: a private Postfix + Dovecot 2.3
(shared/recipes/postfix-dovecot.sh, apt packages) builds a Maildir tree
(deliveries, flags and a keyword set over IMAP, folders created and
subscribed, one message expunged so UIDs have a gap); it is stopped and
postierd is started on the same passwd-file and tree. UIDVALIDITY, every
UID, flags, folders, subscriptions and POP3 UIDLs must be what Dovecot
served. Then postierd delivers and flags a message, and a restarted Dovecot
must see the same UIDs again (the tree stays Dovecot's)."""
import imaplib
import os
import poplib
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

from postier_test import DevServer, SOURCE_DIR, parse_kv, wait_for

RECIPE = os.environ.get("POSTIER_DOVECOT_RECIPE",
                        "/work/shared/recipes/postfix-dovecot.sh")


def recipe(cmd, d):
    return subprocess.run([RECIPE, cmd, d], capture_output=True, text=True,
                          timeout=900)


def list_name(line):
    """The mailbox name at the end of a LIST/LSUB line (atom or quoted)."""
    name = re.search(rb' ("(?:[^"\\]|\\.)*"|[^ ]+)$', line).group(1)
    if name.startswith(b'"'):
        name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
    return name.decode()


def snapshot(imap_port, pop3_port, user, pw, starttls_ctx=None):
    """What a client sees: per folder UIDVALIDITY and (UID, flags), LIST,
    LSUB, POP3 UIDLs."""
    m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=30)
    if starttls_ctx is not None:
        m.starttls(starttls_ctx)
    m.login(user, pw)
    folders = {}
    typ, data = m.list()
    names = sorted(list_name(l) for l in data)
    noselect = [list_name(l) for l in data if b"\\Noselect" in l]
    for name in names:
        if name in noselect:
            continue
        typ, data_sel = m.select('"%s"' % name, readonly=True)
        v = int(m.response("UIDVALIDITY")[1][0])
        fd = []
        if int(data_sel[0]) > 0:
            typ, fd = m.fetch("1:*", "(UID FLAGS)")
        msgs = []
        for l in fd:
            if l is None:
                continue
            uid = int(re.search(rb"UID (\d+)", l).group(1))
            flags = re.search(rb"FLAGS \(([^)]*)\)", l).group(1).split()
            flags = sorted(f.decode() for f in flags if f != b"\\Recent")
            msgs.append((uid, flags))
        folders[name] = (v, sorted(msgs))
        m.close()
    typ, data = m.lsub()
    lsub = sorted(list_name(l) for l in data if l)
    m.logout()
    p = poplib.POP3("127.0.0.1", pop3_port, timeout=30)
    if starttls_ctx is not None:
        p.stls(starttls_ctx)
    p.user(user)
    p.pass_(pw)
    uidls = [l.split()[1].decode() for l in p.uidl()[1]]
    p.quit()
    return {"names": names, "folders": folders, "lsub": lsub,
            "uidl": uidls}


@unittest.skipUnless(os.geteuid() == 0 and os.path.exists(RECIPE),
                     "needs root and the postfix-dovecot recipe")
class DovecotMigrationTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="postier-mig-")
        os.chmod(self.dir, 0o755)
        self.ref = os.path.join(self.dir, "ref")
        self.srv = None

    def tearDown(self):
        if self.srv is not None:
            self.srv.stop()
        recipe("stop", self.ref)
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_dovecot(self):
        r = recipe("start", self.ref)
        if r.returncode != 0:
            self.skipTest("postfix-dovecot recipe failed: " + r.stderr[-500:])
        env, users = parse_kv(r.stdout)
        return env, users

    def test_migration(self):
        env, users = self.start_dovecot()
        user, pw = users[0]
        with smtplib.SMTP("127.0.0.1", int(env["SMTP_PORT"]), timeout=30) as s:
            for i in range(5):
                s.sendmail("x@example.test", [user],
                           b"From: x@example.test\r\nSubject: m%d\r\n\r\n"
                           b"body %d\r\n" % (i, i))
        imap_port, pop3_port = int(env["IMAP_PORT"]), int(env["POP3_PORT"])

        def delivered():
            m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=30)
            m.login(user, pw)
            n = int(m.select("INBOX")[1][0])
            m.logout()
            return n == 5
        self.assertTrue(wait_for(delivered, timeout=60))
        m = imaplib.IMAP4("127.0.0.1", imap_port, timeout=30)
        m.login(user, pw)
        m.select("INBOX")
        m.store("1", "+FLAGS", "(\\Seen \\Flagged)")
        m.store("3", "+FLAGS", "(\\Answered Work)")
        m.store("4", "+FLAGS", "(\\Draft)")
        m.create("Archive")
        m.create("Archive.2024")
        m.create("Sent")
        m.copy("4:5", "Archive.2024")
        m.subscribe("Archive.2024")
        m.subscribe("Sent")
        m.store("2", "+FLAGS", "\\Deleted")
        m.expunge()
        m.logout()
        before = snapshot(imap_port, pop3_port, user, pw)
        self.assertEqual(len(before["folders"]["INBOX"][1]), 4)
        recipe("stop", self.ref)

        # postierd on the same tree and passwd-file
        dc = os.path.join(self.ref, "dovecot")
        self.srv = DevServer([
            "--passwd-file", os.path.join(dc, "users"),
            "--mail-location", "maildir:~/Maildir",
            "--users-file", os.path.join(dc, "users.plain"),
            "--set", "imap.plaintext_auth=yes",
            "--set", "pop3.plaintext_auth=yes"]).start()
        after = snapshot(self.srv.port("IMAP_PORT"),
                         self.srv.port("POP3_PORT"), user, pw)
        self.assertEqual(after, before)

        # postierd changes the tree; Dovecot must agree afterwards
        with smtplib.SMTP("127.0.0.1", self.srv.port("SMTP_PORT"),
                          timeout=30) as s:
            s.sendmail("x@example.test", [user],
                       b"Subject: via postier\r\n\r\nhi\r\n")
        time.sleep(1)
        m = imaplib.IMAP4("127.0.0.1", self.srv.port("IMAP_PORT"),
                          timeout=30)
        m.login(user, pw)
        m.select("INBOX")
        m.store("2", "+FLAGS", "(\\Seen)")
        m.logout()
        changed = snapshot(self.srv.port("IMAP_PORT"),
                           self.srv.port("POP3_PORT"), user, pw)
        self.srv.stop()
        self.srv = None
        env, users = self.start_dovecot()
        again = snapshot(int(env["IMAP_PORT"]), int(env["POP3_PORT"]),
                         user, pw)
        self.assertEqual(again, changed)


if __name__ == "__main__":
    unittest.main(verbosity=2)
