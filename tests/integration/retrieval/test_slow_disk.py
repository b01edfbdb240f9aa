"""A slow disk does not hold other sessions: the rescans that keep a selected
mailbox in step (and write dovecot-uidlist with an fsync) run in the worker
pool, not on the event loop.

postierd runs with ONE event-loop thread and a shim (slow_disk.c,
LD_PRELOAD) that makes every fsync of dovecot-uidlist take 1.5 s. New mail
lands in A's Maildir; A's NOOP then needs a rescan that assigns UIDs and
writes the uidlist. B, logged in on the same loop, sends NOOP meanwhile: its
answer must come back while A is still waiting (with the rescan on the loop,
A's answer would be written first). The same for IDLE (a delivery wakes A),
for SELECT of a folder with new mail, APPEND, MOVE, STATUS, a POP3 login
to new mail, for FETCH, SEARCH and RETR of a message that is not in the
page cache, and for POP3's deletions at QUIT. A
then gets exactly the updates it should."""
import os
import re
import select
import socket
import time
import unittest

from postier_test import BUILD_DIR, DevServer, imap_raw_session, imap_until

SLOW_MS = 1500
SHIM = os.path.join(BUILD_DIR, "tests", "integration", "retrieval",
                    "slow_disk.so")
SRV = None


def setUpModule():
    global SRV
    os.environ["LD_PRELOAD"] = SHIM
    os.environ["POSTIER_SLOW_FSYNC_MS"] = str(SLOW_MS)
    os.environ["POSTIER_COLD_MATCH"] = ".cold"
    os.environ["POSTIER_SLOW_READ_MS"] = str(SLOW_MS)
    # the ASan build wants its runtime first; the shim has no sanitizer
    os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                                  ":verify_asan_link_order=0").lstrip(":")
    try:
        SRV = DevServer(["--users", "6", "--set", "server.threads=1",
                         "--set", "imap.plaintext_auth=yes",
                         "--set", "pop3.plaintext_auth=yes"]).start()
    finally:
        del os.environ["LD_PRELOAD"]


def tearDownModule():
    if SRV is not None:
        SRV.stop()


def maildir(user):
    local, domain = user.split("@")
    return os.path.join(SRV.dir, "data", "home", domain, local, "Maildir")


def deliver(user, n):
    new = os.path.join(maildir(user), "new")
    os.makedirs(new, exist_ok=True)
    tmp = os.path.join(maildir(user), "tmp", "m%d" % n)
    os.makedirs(os.path.dirname(tmp), exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(b"Subject: slow %d\n\nbody\n" % n)
    os.rename(tmp, os.path.join(new, "%d.M%dP1.slow" % (1700000000 + n, n)))


def session(user, pw, select_inbox):
    return imap_raw_session(SRV.port("IMAP_PORT"), user, pw, select_inbox, 60)


def served_meanwhile(test, b, fb, waiting, delay=0.2):
    """B (a logged-in IMAP session on the same loop) gets its NOOP answered
    while the session on socket waiting has nothing back yet: that one's
    disk work runs aside (a loop held by it would have written its answer
    before B's, and loopback delivers at once)."""
    time.sleep(delay)  # the waiting session's disk work has begun
    b.sendall(b"b NOOP\r\n")
    out = imap_until(fb, b"b")
    test.assertTrue(out[-1].startswith(b"b OK"), out)
    test.assertEqual(select.select([waiting], [], [], 0)[0], [])


class SlowDiskTest(unittest.TestCase):
    def test_sync_does_not_hold_the_loop(self):
        self.assertTrue(os.path.exists(SHIM), SHIM)
        (ua, pa), (ub, pb) = SRV.users[0], SRV.users[1]
        deliver(ua, 0)
        a, fa = session(ua, pa, True)   # the first uidlist write (slow)
        b, fb = session(ub, pb, False)

        # a command's reply waits for the rescan, B does not
        deliver(ua, 1)
        a.sendall(b"x NOOP\r\n")
        served_meanwhile(self, b, fb, a)
        out = imap_until(fa, b"x")
        self.assertIn(b"* 2 EXISTS\r\n", out)
        self.assertTrue(out[-1].startswith(b"x OK"), out)
        a.sendall(b"f UID FETCH 1:* (UID)\r\n")
        out = imap_until(fa, b"f")
        self.assertEqual(len([l for l in out if b"FETCH (UID" in l]), 2, out)

        # IDLE: a delivery wakes A, the rescan runs aside, B is served
        a.sendall(b"i IDLE\r\n")
        imap_until(fa, b"+")
        deliver(ua, 2)
        served_meanwhile(self, b, fb, a)
        line = fa.readline()
        self.assertEqual(line, b"* 3 EXISTS\r\n")
        a.sendall(b"DONE\r\n")
        out = imap_until(fa, b"i")
        self.assertTrue(out[-1].startswith(b"i OK"), out)
        a.sendall(b"o LOGOUT\r\n")
        imap_until(fa, b"o")
        b.close()
        a.close()

    def test_select_and_pop3_login(self):
        (ub, pb), (uc, pc), (ud, pd) = (SRV.users[1], SRV.users[3],
                                        SRV.users[4])
        b, fb = session(ub, pb, False)
        c, fc = session(uc, pc, False)
        deliver(uc, 20)
        deliver(uc, 21)
        c.sendall(b"s SELECT INBOX\r\n")
        served_meanwhile(self, b, fb, c)
        out = imap_until(fc, b"s")
        self.assertIn(b"* 2 EXISTS\r\n", out)
        self.assertTrue(out[-1].startswith(b"s OK [READ-WRITE]"), out)
        # APPEND: written, fsynced and given its UID aside
        msg = b"Subject: appended\r\n\r\nhello\r\n"
        c.sendall(b"a APPEND INBOX (\\Seen) {%d+}\r\n%s\r\n" %
                  (len(msg), msg))
        served_meanwhile(self, b, fb, c)
        out = imap_until(fc, b"a")
        self.assertIn(b"* 3 EXISTS\r\n", out)
        self.assertRegex(out[-1], rb"^a OK \[APPENDUID \d+ 3\]")
        # MOVE: linked, numbered in the target, unlinked, aside
        c.sendall(b"r CREATE Archive\r\n")
        imap_until(fc, b"r")
        c.sendall(b"v UID MOVE 1:2 Archive\r\n")
        served_meanwhile(self, b, fb, c)
        out = imap_until(fc, b"v")
        self.assertRegex(b"".join(out), rb"\* OK \[COPYUID \d+ 1:2 1:2\]")
        exp = [l for l in out if l.endswith(b" EXPUNGE\r\n")]
        self.assertEqual(exp, [b"* 2 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"])
        self.assertTrue(out[-1].startswith(b"v OK"), out)
        # STATUS of another folder with new mail: scanned aside
        arch = os.path.join(maildir(uc), ".Archive", "new")
        with open(os.path.join(arch, "1700000099.M99P1.st"), "wb") as f:
            f.write(b"Subject: st\n\nx\n")
        c.sendall(b"t STATUS Archive (UIDNEXT MESSAGES UNSEEN)\r\n")
        served_meanwhile(self, b, fb, c)
        out = imap_until(fc, b"t")
        self.assertIn(b'* STATUS "Archive" (UIDNEXT 4 MESSAGES 3 UNSEEN 3)\r\n',
                      out)
        c.sendall(b"u STATUS Nowhere (MESSAGES)\r\n")
        self.assertTrue(imap_until(fc, b"u")[-1].startswith(b"u NO [NONEXISTENT]"))
        c.sendall(b"w STATUS INBOX (MESSAGES BOGUS)\r\n")
        self.assertTrue(imap_until(fc, b"w")[-1].startswith(b"w BAD"))
        c.sendall(b"y STATUS INBOX (MESSAGES RECENT)\r\n")
        out = imap_until(fc, b"y")
        self.assertIn(b'* STATUS "INBOX" (MESSAGES 1 RECENT 0)\r\n', out)
        # POP3: the maildrop is opened aside too
        deliver(ud, 30)
        p = socket.create_connection(("127.0.0.1", SRV.port("POP3_PORT")),
                                     timeout=60)
        fp = p.makefile("rb")
        fp.readline()
        p.sendall(b"USER %s\r\n" % ud.encode())
        self.assertTrue(fp.readline().startswith(b"+OK"))
        p.sendall(b"PASS %s\r\n" % pd.encode())
        # the password check, then the slow scan
        served_meanwhile(self, b, fb, p, 0.3)
        self.assertTrue(fp.readline().startswith(b"+OK"))
        p.sendall(b"STAT\r\n")
        self.assertTrue(fp.readline().startswith(b"+OK 1 "))
        p.sendall(b"QUIT\r\n")
        fp.readline()
        for x in (b, c, p):
            x.close()

    def test_fetch_of_a_cold_message(self):
        # a message file not in the page cache is read in the worker pool
        # (the shim says ".cold" files are not cached and reads them slowly)
        (ua, pa), (ub, pb) = SRV.users[5], SRV.users[1]
        cur = os.path.join(maildir(ua), "cur")
        os.makedirs(cur, exist_ok=True)
        texts = [b"Subject: cold\r\n\r\n" + b"c" * 200000 + b"\r\n",
                 b"Subject: warm\r\n\r\nw\r\n"]
        for name, text in (("1600000000.M1P1.cold:2,", texts[0]),
                           ("1600000001.M2P1.warm:2,", texts[1])):
            with open(os.path.join(cur, name), "wb") as f:
                f.write(text)
        a, fa = session(ua, pa, True)
        b, fb = session(ub, pb, False)
        a.sendall(b"f UID FETCH 1:2 (BODY.PEEK[])\r\n")
        served_meanwhile(self, b, fb, a)
        got = []
        while True:
            line = fa.readline()
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                got.append(fa.read(int(m.group(1))))
            elif line.startswith(b"f "):
                self.assertTrue(line.startswith(b"f OK"), line)
                break
        self.assertEqual(got, texts)
        # SEARCH reads the cold message aside too, then goes on
        a.sendall(b"s SEARCH OR BODY ccccc BODY w\r\n")
        served_meanwhile(self, b, fb, a)
        out = imap_until(fa, b"s")
        self.assertIn(b"* SEARCH 1 2\r\n", out)
        self.assertTrue(out[-1].startswith(b"s OK"), out)
        a.close()
        # POP3 RETR of the same cold message
        p = socket.create_connection(("127.0.0.1", SRV.port("POP3_PORT")),
                                     timeout=60)
        fp = p.makefile("rb")
        fp.readline()
        p.sendall(b"USER %s\r\nPASS %s\r\n" % (ua.encode(), pa.encode()))
        self.assertTrue(fp.readline().startswith(b"+OK"))
        self.assertTrue(fp.readline().startswith(b"+OK"))
        p.sendall(b"RETR 1\r\n")
        served_meanwhile(self, b, fb, p)
        self.assertTrue(fp.readline().startswith(b"+OK"))
        body = b""
        while True:
            line = fp.readline()
            if line == b".\r\n":
                break
            body += line
        self.assertEqual(body, texts[0])
        # the UPDATE state (its unlinks) runs aside too
        p.sendall(b"DELE 1\r\n")
        self.assertTrue(fp.readline().startswith(b"+OK"))
        p.sendall(b"QUIT\r\n")
        served_meanwhile(self, b, fb, p)
        self.assertEqual(fp.readline(), b"+OK Logging out, messages deleted.\r\n")
        p.close()
        b.close()
        self.assertEqual([n for n in os.listdir(cur) if ".cold" in n], [])

    def test_client_gone_during_sync(self):
        (ua, pa) = SRV.users[2]
        a, fa = session(ua, pa, True)
        deliver(ua, 10)
        a.sendall(b"x NOOP\r\n")
        time.sleep(0.1)
        a.close()  # the session ends while its mailbox is in the worker
        time.sleep(SLOW_MS / 1000.0 + 0.5)
        c, fc = session(ua, pa, True)
        c.sendall(b"n NOOP\r\n")
        out = imap_until(fc, b"n")
        self.assertTrue(out[-1].startswith(b"n OK"), out)
        c.close()
        self.assertNotIn("imap.sync_error", SRV.log_text())


if __name__ == "__main__":
    unittest.main()
