# SPDX-License-Identifier: Apache-2.0
"""Request counters and the log of the last requests (/_emulator/stats, log).

The lock is shared with faults.py so that a reset clears both at once;
methods named *_locked expect the caller to hold it, the others take it.
"""

import collections

LOG_MAX = 1000  # requests kept for /_emulator/log


class Stats:
    def __init__(self, lock):
        self.lock = lock
        self.log = collections.deque(maxlen=LOG_MAX)
        self.log_seq = 0
        self.conn_seq = 0
        self.gen = 0  # bumped by every reset: api_connections counts anew
        self.clear_locked()

    def clear_locked(self):
        self.requests = 0
        self.operations = collections.Counter()
        self.by_status = collections.Counter()
        self.exceptions = collections.Counter()
        self.connections = 0
        self.api_connections = 0
        self.gen += 1
        self.log.clear()

    def on_connection(self):
        """Count a new TCP connection; return its id."""
        with self.lock:
            self.connections += 1
            self.conn_seq += 1
            return self.conn_seq

    def api_connection(self, seen_gen):
        """Count a connection's first /api request since the last reset
        (seen_gen: what this returned last time on that connection)."""
        with self.lock:
            if seen_gen != self.gen:
                self.api_connections += 1
            return self.gen

    def count_operation(self, action):
        with self.lock:
            self.operations[action] += 1

    def record(self, entry):
        """Count a finished request and append entry to the log."""
        with self.lock:
            self.log_seq += 1
            self.requests += 1
            entry["seq"] = self.log_seq
            self.log.append(entry)
            self.by_status[str(entry["status"])] += 1
            if entry.get("exception"):
                self.exceptions[entry["exception"]] += 1

    def log_since(self, seq):
        with self.lock:
            return [e for e in self.log if e["seq"] > seq]

    def counters_locked(self):
        return {
            "requests": self.requests,
            "operations": dict(self.operations),
            "connections": self.connections,
            "api_connections": self.api_connections,
            "by_status": dict(self.by_status),
            "exceptions": dict(self.exceptions),
        }
