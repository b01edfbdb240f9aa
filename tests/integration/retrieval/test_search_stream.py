"""SEARCH over a large mailbox runs in slices (issue 4: "long FETCH and SEARCH
results stream and resume when the socket drains").

The server runs ONE event-loop thread, so a SEARCH that held the loop until
it finished would keep every other session waiting. Session A starts a text
search over ~5,000 messages (about 100 MB read, scanned three times); session B,
already logged in on the same loop, sends NOOP while it runs: its answer must
come back before A's search completes. The result of the search is then
checked against what was written (sequence numbers and UIDs, several slices'
worth), and a client that disconnects in the middle of a search leaves the
server serving."""
import imaplib
import os
import select
import time
import unittest

from postier_test import DevServer, imap_raw_session, imap_until

SRV = None
MESSAGES = 5000
BODY_LINES = 250  # ~20 KB each


def setUpModule():
    global SRV
    SRV = DevServer(["--users", "3", "--set", "server.threads=1",
                     "--set", "imap.plaintext_auth=yes"]).start()
    user = SRV.users[0][0]
    local, domain = user.split("@")
    maildir = os.path.join(SRV.dir, "data", "home", domain, local, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    filler = b"".join(b"line %04d of a message nobody searches for at all\n" % k
                      for k in range(BODY_LINES))
    for i in range(MESSAGES):
        # every 7th message has the needle, at its very end
        tail = b"needle-in-haystack\n" if i % 7 == 0 else b"no match here\n"
        msg = (b"From: a@example.test\nTo: %s\nSubject: msg %d\n\n" %
               (user.encode(), i) + filler + tail)
        name = "%d.M%dP1.search,S=%d:2," % (1700000000 + i, i, len(msg))
        with open(os.path.join(maildir, "cur", name), "wb") as f:
            f.write(msg)


def tearDownModule():
    if SRV is not None:
        SRV.stop()


def connect(user, pw):
    return imap_raw_session(SRV.port("IMAP_PORT"), user, pw)


class SearchStreamTest(unittest.TestCase):
    def test_other_sessions_served_during_search_and_result_exact(self):
        user, pw = SRV.users[0]
        a, fa = connect(user, pw)
        b, fb = connect(user, pw)  # same loop: there is only one
        # three scans of every message: about 0.3 s on an idle 2-core VM
        # in the optimized build, far longer than B's round trip
        a.sendall(b"x SEARCH OR BODY absent-1 OR TEXT absent-2 "
                  b"BODY needle-in-haystack\r\n")
        time.sleep(0.05)  # the server has read A's command by then
        b.sendall(b"n NOOP\r\n")
        nb = imap_until(fb, b"n")
        self.assertTrue(nb[-1].startswith(b"n OK"), nb)
        # B's NOOP came back while A's search was still running: nothing
        # of A's answer has arrived yet (a loop held by the search would
        # have written A's answer before B's, and loopback delivers at once)
        self.assertEqual(select.select([a], [], [], 0)[0], [])
        out = imap_until(fa, b"x")
        self.assertTrue(out[-1].startswith(b"x OK"), out)
        found = [l for l in out if l.startswith(b"* SEARCH")]
        self.assertEqual(len(found), 1, out)
        seqs = [int(x) for x in found[0].split()[2:]]
        # sequence numbers follow file names (times), i.e. message i is i+1
        self.assertEqual(seqs, [i + 1 for i in range(MESSAGES) if i % 7 == 0])
        # the UID form over a range, answered with UIDs
        a.sendall(b"u UID SEARCH 100:300 BODY needle-in-haystack\r\n")
        out = imap_until(fa, b"u")
        self.assertTrue(out[-1].startswith(b"u OK"), out)
        uids = [int(x) for x in
                [l for l in out if l.startswith(b"* SEARCH")][0].split()[2:]]
        self.assertEqual(uids, [i + 1 for i in range(99, 300) if i % 7 == 0])
        # index-only keys over every message
        a.sendall(b"f SEARCH NOT SEEN SMALLER 100\r\n")
        out = imap_until(fa, b"f")
        self.assertIn(b"* SEARCH\r\n", out)
        a.close()
        b.close()

    def test_client_gone_mid_search(self):
        user, pw = SRV.users[0]
        a, fa = connect(user, pw)
        a.sendall(b"x SEARCH TEXT never-there\r\n")
        time.sleep(0.2)
        a.close()
        m = imaplib.IMAP4("127.0.0.1", SRV.port("IMAP_PORT"), timeout=60)
        m.login(user, pw)
        typ, data = m.select("INBOX", readonly=True)
        self.assertEqual((typ, int(data[0])), ("OK", MESSAGES))
        self.assertEqual(m.search(None, "SUBJECT", '"msg 4998"')[1], [b"4999"])
        m.logout()


if __name__ == "__main__":
    unittest.main()
