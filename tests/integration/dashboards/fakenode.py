"""Simulated postierd /metrics endpoints with counters that grow at known
rates, for the postier-dash tests and benchmark (stdlib only).

One HTTP server serves any number of nodes at /NAME/metrics. Every value is a
function of the time of the request, so a collector's stored rates can be
compared with the truth:

    counter = int(rate * (now - t0)), gauge = constant,
    delivery histogram: RATE_OBS observations/s, 40% in (0.001, 0.005],
    40% in (0.01, 0.05], 20% in (0.1, 0.5]  -> per-interval p50 = 0.02,
    p90 = 0.3, p99 = 0.48 with linear interpolation inside buckets.

A node can be told to fail (HTTP 503) for a set of request numbers.
"""
import http.server
import threading
import time

RATES = {  # sample line -> per second
    "postier_smtp_messages_received_total": 125.0,
    "postier_delivered_messages_total": 200.0,
    "postier_smtp_received_bytes_total": 125.0 * 140000,
    "postier_delivered_bytes_total": 200.0 * 140000,
    'postier_auth_failures_total{proto="smtp"}': 0.5,
    'postier_auth_failures_total{proto="pop3"}': 0.25,
    'postier_auth_failures_total{proto="imap"}': 0.0,
    'postier_connections_total{proto="smtp"}': 10.0,
    'postier_connections_total{proto="pop3"}': 4.0,
    'postier_connections_total{proto="imap"}': 6.0,
    'postier_tls_connections_total{proto="smtp"}': 5.0,
    'postier_tls_connections_total{proto="pop3"}': 4.0,
    'postier_tls_connections_total{proto="imap"}': 6.0,
}
GAUGES = {
    "postier_queue_messages": 7,
    "postier_queue_oldest_age_seconds": 42.5,
    'postier_sessions{proto="smtp"}': 3,
    'postier_sessions{proto="pop3"}': 4,
    'postier_sessions{proto="imap"}': 5,
}
RATE_OBS = 10.0
BUCKETS = [(0.001, 0.0), (0.005, 0.4), (0.01, 0.4), (0.05, 0.8), (0.1, 0.8),
           (0.5, 1.0), (1.0, 1.0)]
EXPECTED_QUANTILES = {"deliv_p50": 0.02, "deliv_p90": 0.3, "deliv_p99": 0.48}
# what the RRD should hold (per-second rates, gauges), by data source name
EXPECTED = {
    "msgs_in": 125.0, "delivered": 200.0, "bytes_in": 125.0 * 140000,
    "bytes_out": 200.0 * 140000, "queue": 7, "queue_age": 42.5,
    "sess_smtp": 3, "sess_pop3": 4, "sess_imap": 5,
    "authf_smtp": 0.5, "authf_pop3": 0.25, "authf_imap": 0.0,
    "conn_smtp": 10.0, "conn_pop3": 4.0, "conn_imap": 6.0,
    "tls_smtp": 5.0, "tls_pop3": 4.0, "tls_imap": 6.0,
}
EXPECTED.update(EXPECTED_QUANTILES)


def metrics_text(elapsed):
    out = []
    for k, r in RATES.items():
        out.append("%s %d" % (k, int(r * elapsed)))
    for k, v in GAUGES.items():
        out.append("%s %s" % (k, v))
    out.append("# TYPE postier_delivery_seconds histogram")
    n = RATE_OBS * elapsed
    for le, share in BUCKETS:
        out.append('postier_delivery_seconds_bucket{le="%g"} %.6f' % (le, n * share))
    out.append('postier_delivery_seconds_bucket{le="+Inf"} %.6f' % n)
    out.append("postier_delivery_seconds_count %.6f" % n)
    out.append("postier_delivery_seconds_sum %.6f" % (n * 0.04))
    out.append("# EOF")
    return "\n".join(out) + "\n"


class FakeNodes:
    """with FakeNodes(["a", "b"]) as f: f.url("a") -> http://127.0.0.1:P/a/metrics"""

    def __init__(self, names, port=0, fail=None):
        self.names = set(names)
        self.fail = fail or {}      # name -> set of 1-based request numbers
        self.requests = {n: 0 for n in names}
        self.t0 = time.time()
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                parts = self.path.strip("/").split("/")
                if len(parts) != 2 or parts[1] != "metrics" or parts[0] not in fake.names:
                    self.send_error(404)
                    return
                with fake.lock:
                    fake.requests[parts[0]] += 1
                    nr = fake.requests[parts[0]]
                if nr in fake.fail.get(parts[0], ()):
                    self.send_error(503)
                    return
                body = metrics_text(time.time() - fake.t0).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/openmetrics-text; "
                                 "version=1.0.0; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 256   # 50 nodes are scraped at once

            def handle_error(self, request, client_address):
                pass   # a collector that gave up (timeout): not our problem

        self.server = Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name):
        return "http://127.0.0.1:%d/%s/metrics" % (self.port, name)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    # standalone (benchmark): fakenode.py PORT N  -> nodes n01..nN
    import sys
    port, n = int(sys.argv[1]), int(sys.argv[2])
    f = FakeNodes(["n%02d" % i for i in range(1, n + 1)], port=port)
    print("PORT=%d" % f.port, flush=True)
    try:
        f.server.serve_forever()
    except KeyboardInterrupt:
        pass
