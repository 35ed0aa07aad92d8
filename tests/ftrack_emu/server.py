# SPDX-License-Identifier: Apache-2.0
"""HTTP: the request handler (framing, routing, the /api request) and the
threaded server."""

import http.server
import json
import socket
import sys
import time
import urllib.parse

from . import faults
from .control import control
from .errors import ApiError, validation_error


END_OF_TRAILER = (b"\r\n", b"\n", b"")


def is_strict(config, headers):
    """Strict error statuses for this request (ftrack-strict-api)?"""
    v = headers.get("ftrack-strict-api")
    if v is None:
        return config.strict_default
    return v.strip().lower() in ("true", "1", "yes")


def summarize(ops, entry):
    """Note each operation's action and target in the log entry."""
    for op in ops:
        if isinstance(op, dict):
            entry["actions"].append(op.get("action"))
            summary = {"action": op.get("action")}
            for k in ("entity_type", "expression", "entity_key"):
                if k in op:
                    summary[k] = op[k]
            data = op.get("entity_data")
            if isinstance(data, dict) and "key" in data:
                summary["key"] = data["key"]  # a Metadata create's key
            entry["ops"].append(summary)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ftrack-emulator/1.0"
    sys_version = ""

    def setup(self):
        http.server.BaseHTTPRequestHandler.setup(self)
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.emu = self.server.emulator
        self.conn_id = self.emu.stats.on_connection()
        self.api_gen = None

    def log_message(self, fmt, *args):
        if self.emu.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def head(self, status, length, ctype, extra):
        """The status line and headers of an answer of length bytes."""
        reason = self.responses.get(status, ("Unknown",))[0]
        lines = [
            "HTTP/1.1 %d %s" % (status, reason),
            "Server: %s" % self.server_version,
            "Date: %s" % self.date_time_string(),
            "Content-Type: %s" % ctype,
            "Content-Length: %d" % length,
        ]
        for k, v in (extra or {}).items():
            lines.append("%s: %s" % (k, v))
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send(self, status, body, ctype="application/json", extra=None):
        data = self.head(status, len(body), ctype, extra)
        if self.command != "HEAD":
            data += body
        self.wfile.write(data)
        self.wfile.flush()
        self.log_request(status, len(body))

    def send_chunks(self, status, length, chunks, ctype="application/json",
                    extra=None):
        """send() of a body of length bytes given as an iterable of bytes,
        so that a large one need not be held whole."""
        self.wfile.write(self.head(status, length, ctype, extra))
        if self.command != "HEAD":
            for c in chunks:
                self.wfile.write(c)
        self.wfile.flush()
        self.log_request(status, length)

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in END_OF_TRAILER:
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def dispatch(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        if path.startswith("/_emulator/"):
            return control(self.emu, self, self.command, path,
                           urllib.parse.parse_qs(parts.query), body)
        if path in ("/api", "/api/"):
            if self.command != "POST":
                err = {"exception": "MethodNotAllowed",
                       "content": "The method %s is not allowed for %s; "
                       "use POST." % (self.command, path),
                       "error_code": None}
                self.emu.stats.record({"time": time.time(),
                                       "method": self.command,
                                       "path": self.path,
                                       "status": 405,
                                       "exception": "MethodNotAllowed",
                                       "actions": []})
                self.send(405, json.dumps(err).encode(), "application/json",
                          {"Allow": "POST"})
                return
            return self.handle_api(body)
        err = {"exception": "NotFound",
               "content": "The requested URL %s was not found on the server."
               % path,
               "error_code": None}
        self.emu.stats.record({"time": time.time(), "method": self.command,
                               "path": self.path,
                               "status": 404, "exception": "NotFound",
                               "actions": []})
        self.send(404, json.dumps(err).encode(), "application/json")

    do_GET = do_POST = do_PUT = do_DELETE = dispatch
    do_PATCH = do_HEAD = do_OPTIONS = dispatch

    def handle_api(self, body):
        """POST /api: a fault if one is queued, else authenticate and run
        the batch; every request is logged before its answer goes out."""
        emu = self.emu
        t0 = time.monotonic()
        self.api_gen = emu.stats.api_connection(self.api_gen)
        username = self.headers.get("ftrack-user")
        entry = {"time": time.time(), "method": self.command,
                 "path": self.path, "user": username,
                 "connection": self.conn_id, "actions": [], "ops": [],
                 "status": None, "exception": None}
        strict = is_strict(emu.config, self.headers)
        fault = emu.faults.take()
        if fault is not None and faults.answer(self, fault, entry, strict, t0,
                                               emu.stats.record):
            return
        latency = emu.config.latency_ms
        if latency:
            time.sleep(latency / 1000.0)
        try:
            payload = self.run_api(username, body, entry)
            status = 200
        except ApiError as err:
            payload = json.dumps(err.body()).encode("utf-8")
            status = err.status if strict else 200
            entry["exception"] = err.exception
            entry["content"] = err.content
        entry["status"] = status
        entry["duration_ms"] = round((time.monotonic() - t0) * 1000, 3)
        # Recorded before the answer goes out, so that a client reading the
        # stats right after its answer always sees its own request counted.
        emu.stats.record(entry)
        self.send(status, payload, "application/json")

    def run_api(self, username, body, entry):
        """The answer body of a successful /api request, or raise ApiError."""
        key = self.headers.get("ftrack-api-key")
        user, is_global = self.emu.authenticate(username, key)
        try:
            ops = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            raise validation_error("The request body is not valid JSON.")
        if not isinstance(ops, list):
            raise validation_error(
                "The request body must be a JSON array of operations.")
        summarize(ops, entry)
        ctx = {"user": user, "is_global": is_global, "key": key}
        results = self.emu.execute_batch(ops, ctx)
        return json.dumps(results, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
