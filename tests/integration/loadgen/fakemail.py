#!/usr/bin/env python3
"""A small in-memory SMTP + POP3 + IMAP server for client and loadgen tests.

Not a mail server: it accepts any recipient, stores messages per recipient in
memory and serves them back over POP3/IMAP. Misbehaviours for tests:
  --stall-period S --stall-ms MS   replies to end-of-DATA wait while
                                   (now mod S) < MS/1000 (a periodic stall)
  --corrupt-nth N                  flips one byte of the Nth stored message
  --refuse-nth N                   554 to the Nth end of data (not stored)
  --data-delay-ms MS               every reply to end-of-DATA waits MS
  --reply-after-store-ms MS        the message is stored (readers see it,
                                   IDLE wakes) MS before the 250 is sent, as
                                   a server whose delivery beats its reply
  --tls-cert/--tls-key             offer STARTTLS/STLS and implicit-TLS ports
Prints KEY=value lines (SMTP_PORT, POP3_PORT, IMAP_PORT, [SMTPS_PORT,
POP3S_PORT, IMAPS_PORT], TARGET) then serves until SIGTERM. --dir DIR gets
target.ini and users.txt.
"""
import argparse
import asyncio
import base64
import os
import signal
import ssl
import sys
import time


class Store:
    def __init__(self):
        self.boxes = {}
        self.next_uid = {}
        self.stored = 0
        self.ended = 0
        self.waiters = {}

    def add(self, user, data):
        uid = self.next_uid.get(user, 1)
        self.next_uid[user] = uid + 1
        self.boxes.setdefault(user, []).append([uid, data, False])
        for ev in self.waiters.get(user, []):
            ev.set()

    def box(self, user):
        return self.boxes.setdefault(user, [])


ARGS = None
STORE = Store()
TLS_CTX = None


async def readline(r):
    line = await r.readline()
    if not line:
        raise ConnectionError("eof")
    return line.rstrip(b"\r\n").decode("latin-1")


async def starttls(w):
    await w.start_tls(TLS_CTX)


async def smtp_session(r, w):
    w.write(b"220 fakemail ESMTP\r\n")
    mail_from, rcpts = None, []
    while True:
        line = await readline(r)
        verb = line.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            ext = ["250-fakemail", "250-PIPELINING", "250-SIZE 100000000"]
            if TLS_CTX is not None and w.get_extra_info("sslcontext") is None:
                ext.append("250-STARTTLS")
            ext.append("250 AUTH PLAIN LOGIN")
            w.write(("\r\n".join(ext) + "\r\n").encode())
        elif verb == "STARTTLS" and TLS_CTX is not None:
            w.write(b"220 go ahead\r\n")
            await w.drain()
            await starttls(w)
        elif verb == "AUTH":
            parts = line.split(" ")
            if parts[1].upper() == "LOGIN":
                w.write(b"334 VXNlcm5hbWU6\r\n")
                await readline(r)
                w.write(b"334 UGFzc3dvcmQ6\r\n")
                await readline(r)
            w.write(b"235 2.7.0 ok\r\n")
        elif verb == "MAIL":
            mail_from, rcpts = line, []
            w.write(b"250 2.1.0 ok\r\n")
        elif verb == "RCPT":
            addr = line[line.index("<") + 1:line.index(">")]
            rcpts.append(addr.lower())
            w.write(b"250 2.1.5 ok\r\n")
        elif verb == "DATA":
            w.write(b"354 go\r\n")
            chunks = []
            while True:
                l = await r.readline()
                if not l:
                    raise ConnectionError("eof in data")
                if l in (b".\r\n", b".\n"):
                    break
                if l.startswith(b"."):
                    l = l[1:]
                chunks.append(l)
            data = b"".join(chunks)
            if ARGS.stall_period > 0:
                while (time.time() % ARGS.stall_period) < ARGS.stall_ms / 1000:
                    await asyncio.sleep(0.01)
            if ARGS.data_delay_ms > 0:
                await asyncio.sleep(ARGS.data_delay_ms / 1000)
            STORE.ended += 1
            if STORE.ended == ARGS.refuse_nth:
                w.write(b"554 5.6.0 refused on demand\r\n")
                await w.drain()
                continue
            STORE.stored += 1
            for n, rc in enumerate(rcpts):
                if STORE.stored == ARGS.corrupt_nth and n == 0 and len(data) > 200:
                    # one byte of one copy of one message
                    b = bytearray(data)
                    i = len(b) // 2
                    b[i] = ord("x") if b[i] != ord("x") else ord("y")
                    STORE.add(rc, bytes(b))
                else:
                    STORE.add(rc, data)
            if ARGS.reply_after_store_ms > 0:
                await asyncio.sleep(ARGS.reply_after_store_ms / 1000)
            w.write(b"250 2.0.0 queued\r\n")
        elif verb == "RSET" or verb == "NOOP":
            w.write(b"250 ok\r\n")
        elif verb == "QUIT":
            w.write(b"221 bye\r\n")
            await w.drain()
            return
        else:
            w.write(b"500 unknown\r\n")
        await w.drain()


async def pop3_session(r, w):
    w.write(b"+OK fakemail\r\n")
    user, box, dele = None, None, set()
    while True:
        line = await readline(r)
        parts = line.split(" ")
        verb = parts[0].upper()
        if verb == "CAPA":
            caps = ["USER", "UIDL", "TOP"]
            if TLS_CTX is not None:
                caps.append("STLS")
            w.write(("+OK\r\n" + "\r\n".join(caps) + "\r\n.\r\n").encode())
        elif verb == "STLS" and TLS_CTX is not None:
            w.write(b"+OK begin\r\n")
            await w.drain()
            await starttls(w)
        elif verb == "USER":
            user = parts[1].lower()
            w.write(b"+OK\r\n")
        elif verb == "PASS":
            box = [m for m in STORE.box(user) if not m[2]]
            w.write(b"+OK logged in\r\n")
        elif verb == "STAT":
            w.write(("+OK %d %d\r\n" % (len(box), sum(len(m[1]) for m in box))).encode())
        elif verb == "UIDL":
            out = ["+OK"] + ["%d %d" % (i + 1, m[0]) for i, m in enumerate(box)]
            w.write(("\r\n".join(out) + "\r\n.\r\n").encode())
        elif verb == "RETR":
            m = box[int(parts[1]) - 1]
            body = b"".join((b"." + l if l.startswith(b".") else l)
                            for l in m[1].splitlines(True))
            if not body.endswith(b"\n"):
                body += b"\r\n"
            w.write(b"+OK\r\n" + body + b".\r\n")
        elif verb == "DELE":
            dele.add(int(parts[1]))
            w.write(b"+OK\r\n")
        elif verb == "NOOP":
            w.write(b"+OK\r\n")
        elif verb == "QUIT":
            for n in dele:
                box[n - 1][2] = True
            w.write(b"+OK bye\r\n")
            await w.drain()
            return
        else:
            w.write(b"-ERR unknown\r\n")
        await w.drain()


async def imap_session(r, w):
    w.write(b"* OK [CAPABILITY IMAP4rev1 IDLE] fakemail\r\n")
    user = None
    while True:
        line = await readline(r)
        parts = line.split(" ")
        tag, verb = parts[0], parts[1].upper() if len(parts) > 1 else ""
        if verb == "CAPABILITY":
            caps = "IMAP4rev1 IDLE" + (" STARTTLS" if TLS_CTX else "")
            w.write(("* CAPABILITY %s\r\n%s OK done\r\n" % (caps, tag)).encode())
        elif verb == "STARTTLS" and TLS_CTX is not None:
            w.write(("%s OK begin\r\n" % tag).encode())
            await w.drain()
            await starttls(w)
        elif verb == "LOGIN":
            user = parts[2].strip('"').lower()
            w.write(("%s OK logged in\r\n" % tag).encode())
        elif verb == "SELECT":
            box = [m for m in STORE.box(user) if not m[2]]
            w.write(("* %d EXISTS\r\n* OK [UIDNEXT %d] next\r\n%s OK [READ-WRITE] done\r\n"
                     % (len(box), STORE.next_uid.get(user, 1), tag)).encode())
        elif verb == "UID" and parts[2].upper() == "SEARCH":
            uids = [str(m[0]) for m in STORE.box(user) if not m[2]]
            w.write(("* SEARCH %s\r\n%s OK done\r\n" % (" ".join(uids), tag)).encode())
        elif verb == "UID" and parts[2].upper() == "FETCH":
            uid = int(parts[3])
            for i, m in enumerate(STORE.box(user)):
                if m[0] == uid and not m[2]:
                    w.write(b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (i + 1, uid, len(m[1]))
                            + m[1] + b")\r\n")
            w.write(("%s OK done\r\n" % tag).encode())
        elif verb == "UID" and parts[2].upper() == "STORE":
            uid = int(parts[3])
            for m in STORE.box(user):
                if m[0] == uid:
                    m[2] = True
            w.write(("%s OK done\r\n" % tag).encode())
        elif verb in ("EXPUNGE", "NOOP"):
            w.write(("%s OK done\r\n" % tag).encode())
        elif verb == "IDLE":
            ev = asyncio.Event()
            STORE.waiters.setdefault(user, []).append(ev)
            w.write(b"+ idling\r\n")
            await w.drain()
            done = asyncio.ensure_future(r.readline())
            while True:
                waiter = asyncio.ensure_future(ev.wait())
                fin, _ = await asyncio.wait([done, waiter], return_when=asyncio.FIRST_COMPLETED)
                if done in fin:
                    waiter.cancel()
                    break
                ev.clear()
                w.write(b"* %d EXISTS\r\n" % len(STORE.box(user)))
                await w.drain()
            STORE.waiters[user].remove(ev)
            w.write(("%s OK idle done\r\n" % tag).encode())
        elif verb == "LOGOUT":
            w.write(("* BYE bye\r\n%s OK done\r\n" % tag).encode())
            await w.drain()
            return
        else:
            w.write(("%s BAD unknown\r\n" % tag).encode())
        await w.drain()


def handler(fn):
    async def run(r, w):
        try:
            await fn(r, w)
        except (ConnectionError, IndexError, ValueError, ssl.SSLError):
            pass
        finally:
            try:
                w.close()
            except Exception:
                pass
    return run


async def main():
    global ARGS, TLS_CTX
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--stall-period", type=float, default=0)
    ap.add_argument("--stall-ms", type=float, default=0)
    ap.add_argument("--corrupt-nth", type=int, default=0)
    ap.add_argument("--refuse-nth", type=int, default=0)
    ap.add_argument("--data-delay-ms", type=float, default=0)
    ap.add_argument("--reply-after-store-ms", type=float, default=0)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ARGS = ap.parse_args()
    if ARGS.tls_cert:
        TLS_CTX = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        TLS_CTX.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
    servers, ports = [], {}
    for name, fn, tls in (("SMTP", smtp_session, None), ("POP3", pop3_session, None),
                          ("IMAP", imap_session, None), ("SMTPS", smtp_session, 1),
                          ("POP3S", pop3_session, 1), ("IMAPS", imap_session, 1)):
        if tls and TLS_CTX is None:
            continue
        s = await asyncio.start_server(handler(fn), "127.0.0.1", 0,
                                       ssl=TLS_CTX if tls else None, limit=1 << 24)
        servers.append(s)
        ports[name] = s.sockets[0].getsockname()[1]
    users = os.path.join(ARGS.dir, "users.txt")
    with open(users, "w") as f:
        for i in range(ARGS.users):
            f.write("user%d@example.test:pw%d\n" % (i, i))
    target = os.path.join(ARGS.dir, "target.ini")
    with open(target, "w") as f:
        f.write("[target]\nname = fakemail\nusers_file = %s\n" % users)
        if ARGS.tls_cert:
            f.write("ca_file = %s\n" % ARGS.tls_cert)
        sub_tls = "starttls" if ARGS.tls_cert else "none"
        for sec, key, tls in (("smtp", "SMTP", "none"), ("submission", "SMTP", sub_tls),
                              ("pop3", "POP3", "none"), ("imap", "IMAP", "none"),
                              ("submissions", "SMTPS", "implicit"),
                              ("pop3s", "POP3S", "implicit"), ("imaps", "IMAPS", "implicit")):
            if key in ports:
                f.write("[%s]\nhost = 127.0.0.1\nport = %d\ntls = %s\n" % (sec, ports[key], tls))
    for k, v in ports.items():
        print("%s_PORT=%d" % (k, v))
    print("TARGET=%s" % target, flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
