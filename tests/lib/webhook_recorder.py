#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A webhook receiver for the hook tests (suite hooks_e2e).

Usage: webhook_recorder.py OUT PORTFILE

Listens on 127.0.0.1 on a free port, writes the port to PORTFILE (once
it listens), appends the body of each POST as one line to OUT with the
request's Content-Type before it, and answers 204.
"""

import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        kind = self.headers.get("Content-Type", "")
        with open(self.server.out, "a", encoding="utf-8") as f:
            f.write("%s %s\n" % (kind, body.replace("\n", " ")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


def main():
    out, portfile = sys.argv[1], sys.argv[2]
    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    srv.out = out
    tmp = portfile + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
