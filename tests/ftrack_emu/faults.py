# SPDX-License-Identifier: Apache-2.0
"""Injected faults (/_emulator/fault): the queue and how a fault answers.

The lock is shared with stats.py; methods named *_locked expect the caller
to hold it, the others take it.
"""

import gzip
import io
import json
import time

from .errors import ApiError

ZEROS_CHUNK = b"0," * (512 * 1024)


def parse_fault(s):
    """One fault spec (a JSON object) with every member present."""
    if not isinstance(s, dict):
        raise ValueError("a fault must be an object")
    f = {
        "count": int(s.get("count", 1)),
        "skip": int(s.get("skip", 0)),
        "status": s.get("status"),
        "exception": s.get("exception"),
        "content": s.get("content"),
        "delay_ms": s.get("delay_ms") or 0,
        "drop": bool(s.get("drop", False)),
        "retry_after": s.get("retry_after"),
        "body": s.get("body"),
        "zeros": s.get("zeros"),
        "gzip": bool(s.get("gzip", False)),
    }
    if f["status"] is not None:
        f["status"] = int(f["status"])
    if f["zeros"] is not None:
        f["zeros"] = int(f["zeros"])
        if f["zeros"] < 3:
            raise ValueError("zeros: a body of at least 3 bytes")
    return f


def zeros_chunks(n):
    """The n bytes of the JSON array [0,0,...,0] (one space before the
    bracket when n is even), in pieces of at most 1 MiB."""
    yield b"["
    pairs = (n - 3) // 2
    while pairs > 0:
        k = min(pairs, len(ZEROS_CHUNK) // 2)
        yield ZEROS_CHUNK[:2 * k]
        pairs -= k
    yield b"0 ]" if (n - 3) % 2 else b"0]"


def fault_body(fault):
    """The length and chunks of the body of a body or zeros fault,
    gzip-compressed when the fault says so, and the extra headers that go
    with them."""
    if fault["zeros"] is not None:
        length, chunks = fault["zeros"], zeros_chunks(fault["zeros"])
    else:
        body = fault["body"].encode("utf-8")
        length, chunks = len(body), [body]
    if not fault["gzip"]:
        return length, chunks, {}
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as z:
        for c in chunks:
            z.write(c)
    body = out.getvalue()
    return len(body), [body], {"Content-Encoding": "gzip"}


class Faults:
    def __init__(self, lock):
        self.lock = lock
        self.queue = []

    def set(self, spec):
        """Replace the queue by spec (an object or a list run in order)."""
        specs = spec if isinstance(spec, list) else [spec]
        queue = []
        for s in specs:
            f = parse_fault(s)
            if f["count"] > 0:
                queue.append(f)
        with self.lock:
            self.queue = queue
        return {"faults_pending": sum(f["count"] for f in queue)}

    def take(self):
        """The fault for this request, or None."""
        with self.lock:
            while self.queue:
                f = self.queue[0]
                if f["skip"] > 0:
                    f["skip"] -= 1
                    return None
                if f["count"] <= 0:
                    self.queue.pop(0)
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.queue.pop(0)
                return f
            return None

    def clear_locked(self):
        self.queue = []

    def pending_locked(self):
        return sum(f["count"] for f in self.queue)


def answer(h, fault, entry, strict, t0, record):
    """Answer an /api request (handler h) as fault says, log it with
    record(entry) and return True; return False for a delay-only fault,
    after the delay: the request then runs normally."""
    entry["fault"] = True
    if fault.get("delay_ms"):
        time.sleep(fault["delay_ms"] / 1000.0)
    if fault.get("drop"):
        h.close_connection = True
        entry["status"] = "drop"
        entry["duration_ms"] = round((time.monotonic() - t0) * 1000, 3)
        record(entry)
        return True
    extra = {}
    if fault.get("retry_after") is not None:
        extra["Retry-After"] = str(fault["retry_after"])
    status = fault.get("status")
    if fault.get("body") is not None or fault.get("zeros") is not None:
        status = status or 200
        entry["status"] = status
        record(entry)
        length, chunks, more = fault_body(fault)
        extra.update(more)
        h.send_chunks(status, length, chunks, "application/json", extra)
        return True
    if fault.get("exception"):
        err = ApiError(fault["exception"], fault.get("content") or "", None)
        if status is None:
            status = err.status if strict else 200
        entry["status"] = status
        entry["exception"] = err.exception
        record(entry)
        h.send(status, json.dumps(err.body()).encode("utf-8"),
               "application/json", extra)
        return True
    if status is not None:
        reason = h.responses.get(status, ("Error",))[0]
        page = ("<html><head><title>%d %s</title></head>"
                "<body><h1>%d %s</h1></body></html>\n"
                % (status, reason, status, reason))
        entry["status"] = status
        record(entry)
        h.send(status, page.encode("utf-8"), "text/html; charset=utf-8",
               extra)
        return True
    return False
