#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The benchmarks of issue 6 (DESIGN.md section 8), driven by run.sh.

Usage::

    bench.py [--quick] fixtures | first-login | storm | reconcile | naive |
             memory | transform | groups
    bench.py [--quick] report [--seconds S] [--command CMD]

Each benchmark starts its own throwaway slapd (tests/slapd.sh, with the
cn=Monitor database added so LDAP searches can be counted), its own ftrack
emulator (tests/ftrack_emulator.py) and the built daemon, all on
127.0.0.1 and in a temp folder, and stops them whatever happens.  Results
go to build/bench/results/<name>.json; ``report`` turns them into
build/bench/results.md.  Nothing here asserts a time: a benchmark fails
only when the thing it measures did not happen (a user never provisioned,
an event lost, a reconcile that did not apply).

Standard library only, for any Python 3; naive_sync.py (the per-user
baseline) is the one script that needs python3-ldap, and run.sh hands it
the interpreter that has it.
"""

import argparse
import base64
import ctypes
import fcntl
import hashlib
import http.client
import json
import math
import os
import platform
import random
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import types
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("BENCH_BUILD", os.path.join(ROOT, "build"))
CACHE = os.path.join(BUILD, "bench-cache")
OUT = os.path.join(BUILD, "bench")
RESULTS = os.path.join(OUT, "results")
DAEMON = os.path.join(BUILD, "syncd", "ftrack-syncd")
MODULE = os.path.join(BUILD, "pam_ftrack", "pam_ftrack.so")
STORM = os.path.join(OUT, "bench_storm")
SLAPD_SH = os.path.join(ROOT, "tests", "slapd.sh")
EMULATOR = os.path.join(ROOT, "tests", "ftrack_emulator.py")
NAIVE = os.path.join(HERE, "naive_sync.py")

SUFFIX = "dc=example,dc=com"
PEOPLE = "ou=people," + SUFFIX
SYNC_DN = "cn=ftrack-sync,ou=services," + SUFFIX
SYNC_PW = "sync-secret"
API_USER = "ftrack-sync"
API_KEY = "bench-key"
LDAP_FILTER = "(objectClass=inetOrgPerson)"
LDAP_ATTRS = ["uid", "mail", "givenName", "sn", "entryUUID"]
USER_SELECT = ("select id, username, first_name, last_name, email, is_active "
               "from User")
MARKER_KEY = "ftrack_syncd.uuid"
# The reconcile's marker listing, as syncd/ftrack_query.c sends it.
MARKER_LIST = ('select parent_id, key, value from Metadata where key in '
               '("ftrack_syncd.uuid", '
               '"ftrack_syncd.deactivated") order by parent_id, key')
PAGE = 500
LEASE_REQUESTS = 4  # an applied reconcile's: read, take, renew, release
BATCH = 100
HTTP_MAX_BODY = 8 * 1024 * 1024  # syncd/http.h
REPLY_VALUES_MAX = 480000        # syncd/ftrack_json.h
REPLY_CONTAINERS_MAX = 40000     # syncd/ftrack_json.h

# Sizes and repetitions; --quick (BENCH_QUICK=1) is a smoke run.
FULL = {
    "sizes": [10000, 100000],
    "runs": {10000: 3, 100000: 3},
    "latencies": [0, 50],
    "login_fixture": 10000, "login_users": 1000, "login_rounds": 3,
    "cli_rounds": 2, "cli_users": 500,
    "storm_logins": 10000, "storm_users": 1000, "storm_rate": 5000,
    "storm_runs": 3,
    "idle_logins": 1000, "idle_rate": 1000,
    "naive_fixture": 10000, "naive_runs": 3, "naive_subset_50": 1000,
    "naive_runs_50": 2,
    "queue_files": 100000, "queue_seconds": 75, "queue_probe_ms": 10,
    "groups_runs": 2, "groups_login_rounds": 1,
}
QUICK = {
    "sizes": [1000],
    "runs": {1000: 2},
    "latencies": [0, 50],
    "login_fixture": 1000, "login_users": 50, "login_rounds": 1,
    "cli_rounds": 1, "cli_users": 50,
    "storm_logins": 1000, "storm_users": 100, "storm_rate": 5000,
    "storm_runs": 1,
    "idle_logins": 200, "idle_rate": 1000,
    "naive_fixture": 1000, "naive_runs": 1, "naive_subset_50": 100,
    "naive_runs_50": 1,
    "queue_files": 10000, "queue_seconds": 10, "queue_probe_ms": 10,
    "groups_runs": 2, "groups_login_rounds": 1,
}


class BenchError(Exception):
    """The benchmark could not measure what it set out to (not a slow
    result)."""


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------


def summary(values):
    """median, min, max of a list of numbers (None when empty)."""
    v = [x for x in values if x is not None]
    if not v:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(v), "min": min(v), "max": max(v),
            "n": len(v)}


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(math.ceil(p / 100.0 * len(v))) - 1))
    return v[k]


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


# ---------------------------------------------------------------------------
# processes and the temp world
# ---------------------------------------------------------------------------


def stop_process(p, timeout=5.0):
    """SIGTERM the process group we started (then SIGKILL), and reap it."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


class World:
    """A temp folder and the processes started in it; all gone at exit."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="ftbench-%s." % name)
        self.procs = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def spawn(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        for p in reversed(self.procs):
            if exc_type is not None and p.poll() is not None:
                prog = p.args[0 if "python" not in p.args[0] else 2]
                log("%s exited with status %s before the end"
                    % (os.path.basename(prog), p.returncode))
            stop_process(p)
        if exc_type is not None:
            keep = os.path.join(OUT, "logs", os.path.basename(self.dir))
            os.makedirs(keep, exist_ok=True)
            for name in os.listdir(self.dir):
                if name.endswith(".log"):
                    shutil.copy(os.path.join(self.dir, name), keep)
            log("logs kept in %s" % keep)
        shutil.rmtree(self.dir, ignore_errors=True)
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, timeout=600, **kw):
    """Run to completion; raise BenchError with its output when it fails."""
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, **kw)
    if r.returncode != 0:
        out = (r.stderr or r.stdout)[-2000:].decode(errors="replace")
        raise BenchError("%s exited %d: %s"
                         % (os.path.basename(argv[0]), r.returncode, out))
    return r


def timed(argv, timeout=600, stdout=None):
    """Run to completion; seconds of wall time."""
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=stdout or subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    t = time.perf_counter() - t0
    if r.returncode != 0:
        raise BenchError("%s exited %d: %s"
                         % (os.path.basename(argv[0]), r.returncode,
                            r.stderr[-2000:].decode(errors="replace")))
    return t


def gnu_time(argv, timeout=1800, env=None, stdout=subprocess.DEVNULL,
             log_path=None):
    """Run argv under /usr/bin/time -v: exit code, wall, user, sys, max RSS
    (KiB)."""
    fd, tpath = tempfile.mkstemp(prefix="ftbench-time.")
    os.close(fd)
    try:
        errf = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            t0 = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-v", "-o", tpath] + argv,
                               stdin=subprocess.DEVNULL,
                               stdout=stdout, stderr=errf, timeout=timeout,
                               env=env)
            wall = time.perf_counter() - t0
        finally:
            if log_path:
                errf.close()
        with open(tpath, encoding="utf-8", errors="replace") as f:
            text = f.read()
    finally:
        os.unlink(tpath)

    def field(name):
        m = re.search(r"^\s*%s: (.*)$" % re.escape(name), text, re.M)
        return m.group(1).strip() if m else None

    return {
        "code": r.returncode,
        "stdout": r.stdout,
        "wall": wall,
        "user": float(field("User time (seconds)") or 0),
        "sys": float(field("System time (seconds)") or 0),
        "rss_kib": int(field("Maximum resident set size (kbytes)") or 0),
    }


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


def fixture_paths(n):
    return {
        "ldif": os.path.join(CACHE, "people-%d.ldif" % n),
        "exact": os.path.join(CACHE, "ftrack-%d-exact.json" % n),
        "drift": os.path.join(CACHE, "ftrack-%d-drift.json" % n),
        "info": os.path.join(CACHE, "info-%d.json" % n),
    }


def make_fixtures(sizes):
    for n in sizes:
        run([sys.executable, os.path.join(HERE, "gen_ldif.py"), "--count",
             str(n), "--out", CACHE])
        log("fixture %d: ready in %s" % (n, CACHE))


def load_info(n):
    with open(fixture_paths(n)["info"], encoding="utf-8") as f:
        return json.load(f)


class FtrackFixture:
    """The users and markers of ftrack-N-KIND.json, as request bodies."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        self.nusers = len(data["users"])
        self.nmarkers = len(data["metadata"])
        self.users = json.dumps(data["users"],
                                ensure_ascii=False).encode("utf-8")
        self.metadata = json.dumps(data["metadata"],
                                   ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------
# slapd
# ---------------------------------------------------------------------------


class Slapd:
    def __init__(self, world, ldif):
        self.world = world
        d = world.path("slapd")
        for attempt in range(3):
            self.port = free_port()
            run(["bash", SLAPD_SH, "conf", d, str(self.port)])
            if attempt == 0:
                with open(os.path.join(d, "slapd.conf"), "a",
                          encoding="utf-8") as f:
                    f.write("\n# added by tests/bench: operation "
                            "counters\ndatabase monitor\n")
                t0 = time.perf_counter()
                run(["slapadd", "-q", "-f", os.path.join(d, "slapd.conf"),
                     "-l", ldif])
                self.load_seconds = time.perf_counter() - t0
            self.uri = "ldap://127.0.0.1:%d" % self.port
            logf = open(world.path("slapd.log"), "ab")
            self.proc = world.spawn(["bash", SLAPD_SH, "run", d,
                                     str(self.port)], stdout=logf, stderr=logf)
            logf.close()
            if self._wait_up():
                return
            stop_process(self.proc)
        raise BenchError("slapd did not start (see %s)"
                         % world.path("slapd.log"))

    def _wait_up(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                self.search_ops()
                return True
            except BenchError:
                time.sleep(0.1)
        return False

    def search_ops(self):
        """Searches slapd has completed so far (cn=Monitor)."""
        r = subprocess.run(["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no",
                            "-H", self.uri,
                            "-b", "cn=Search,cn=Operations,cn=Monitor", "-s",
                            "base",
                            "(objectClass=*)", "monitorOpCompleted"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=30)
        m = re.search(rb"^monitorOpCompleted: (\d+)", r.stdout, re.M)
        if r.returncode != 0 or m is None:
            raise BenchError("cannot read cn=Monitor: %s"
                             % r.stderr.decode(errors="replace"))
        return int(m.group(1))

    def searches_since(self, before):
        """Searches completed since a search_ops() reading (not counting
        that reading)."""
        return self.search_ops() - before - 1

    def floor_argv(self):
        return ["ldapsearch", "-x", "-LLL", "-H", self.uri, "-D", SYNC_DN,
                "-w", SYNC_PW, "-b", PEOPLE,
                "-E", "pr=%d/noprompt" % PAGE, LDAP_FILTER] + LDAP_ATTRS


# ---------------------------------------------------------------------------
# the ftrack emulator
# ---------------------------------------------------------------------------


class Emulator:
    def __init__(self, world, latency_ms=0):
        errf = open(world.path("emulator.log"), "ab")
        self.proc = world.spawn([sys.executable, "-u", EMULATOR, "--port", "0",
                                 "--api-user", API_USER,
                                 "--api-key", API_KEY, "--latency-ms",
                                 str(latency_ms)],
                                stdout=subprocess.PIPE, stderr=errf)
        errf.close()
        line = self.proc.stdout.readline().decode(errors="replace").strip()
        m = re.match(r"listening on (http://127\.0\.0\.1:(\d+))$", line)
        if not m:
            raise BenchError("the emulator did not start: %r" % line)
        self.url = m.group(1)
        self.port = int(m.group(2))
        self.latency_ms = latency_ms
        self.conn = None

    def request(self, method, path, body=None, headers=None, timeout=600):
        """One request on a kept-alive connection; (status, parsed JSON)."""
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=timeout)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                return (r.status,
                        json.loads(data.decode("utf-8")) if data else None)
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def control(self, method, name, body=None):
        status, data = self.request(method, "/_emulator/" + name, body)
        if status != 200:
            raise BenchError("emulator %s %s: %s %s"
                             % (method, name, status, data))
        return data

    def api(self, ops):
        status, data = self.request("POST", "/api", ops,
                                    {"ftrack-user": API_USER,
                                     "ftrack-api-key": API_KEY})
        if status != 200 or not isinstance(data, list):
            raise BenchError("emulator /api: %s %s" % (status, data))
        return data

    def stats(self):
        return self.control("GET", "stats")

    def set_latency(self, ms):
        self.control("POST", "config", {"latency_ms": ms})
        self.latency_ms = ms

    def reset(self, store):
        self.control("POST", "reset", {"store": bool(store)})

    def load(self, fixture):
        """Empty the store and bulk-load the fixture; counters reset.

        A bulk load drops the emulator's sorted orders; one page of each
        listing the reconcile makes rebuilds them here, untimed, so that
        neither the daemon nor the floor pays for it.
        """
        self.reset(True)
        self.control("POST", "users", fixture.users)
        self.control("POST", "metadata", fixture.metadata)
        self.api([{"action": "query",
                   "expression": "%s order by id offset 0 limit %d"
                   % (USER_SELECT, PAGE)},
                  {"action": "query",
                   "expression": "%s offset 0 limit %d"
                   % (MARKER_LIST, PAGE)}])
        self.reset(False)

    def user_count(self):
        return self.stats()["entities"]["User"]

    def usernames(self):
        return {u["username"] for u in self.control("GET", "users")}

    def curl_config(self, path, bodies):
        """A curl --config file POSTing each body (kept in PATH.N files) in
        turn on one connection."""
        with open(path, "w", encoding="utf-8") as f:
            for i, b in enumerate(bodies):
                with open("%s.%d" % (path, i), "w", encoding="utf-8") as bf:
                    bf.write(b)
                if i:
                    f.write("next\n")
                f.write('url = "%s/api"\n' % self.url)
                f.write('header = "Content-Type: application/json"\n')
                f.write('header = "ftrack-user: %s"\nheader = '
                        '"ftrack-api-key: %s"\n' % (API_USER, API_KEY))
                f.write('data-binary = "@%s.%d"\n' % (path, i))
                f.write('output = "/dev/null"\nsilent\nshow-error\nfail\n')


# ---------------------------------------------------------------------------
# the daemon
# ---------------------------------------------------------------------------


def write_config(dirpath, slapd, emu, policy=None):
    """ftrack-syncd.conf for a daemon of slapd and emu, its secrets and
    state."""
    os.makedirs(dirpath, mode=0o700, exist_ok=True)
    for name, secret in (("ldap.secret", SYNC_PW), ("ftrack.secret", API_KEY)):
        p = os.path.join(dirpath, name)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")
    state = os.path.join(dirpath, "state")
    os.makedirs(state, mode=0o700, exist_ok=True)
    pol = {"on_login": "create", "reconcile_interval": "0",
           "reconcile_create": "yes",
           "login_cooldown": "600"}
    pol.update(policy or {})
    text = ["; written by tests/bench/bench.py",
            "[ldap]", "uri = %s" % slapd.uri, "bind_dn = %s" % SYNC_DN,
            "bind_password_file = %s/ldap.secret" % dirpath,
            "search_base = %s" % PEOPLE,
            "search_filter = %s" % LDAP_FILTER, "page_size = %d" % PAGE,
            "; plain LDAP to a high port, http:// to the emulator",
            "insecure_ldap = yes",
            "[ftrack]", "server = %s" % emu.url, "api_user = %s" % API_USER,
            "api_key_file = %s/ftrack.secret" % dirpath,
            "batch_size = %d" % BATCH, "insecure_http = yes",
            "[policy]"] + ["%s = %s" % kv for kv in pol.items()] + [
            "[daemon]", "socket = %s/notify.sock" % dirpath,
            "state_dir = %s" % state,
            "log_target = stderr", "log_level = info", ""]
    conf = os.path.join(dirpath, "ftrack-syncd.conf")
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(text))
    return conf


OUTCOME = re.compile(r"^ftrack-syncd: \w+: "
                     r"(created|updated|linked|renamed|reactivated|skipped|"
                     r"retry|failed|not-ldap|not_ldap|unchanged) '(.*)': ")


class Daemon:
    """`ftrack-syncd run`, its log read line by line with arrival times."""

    def __init__(self, world, conf):
        self.conf = conf
        self.dir = os.path.dirname(conf)
        self.sock = os.path.join(self.dir, "notify.sock")
        self.state = os.path.join(self.dir, "state")
        self.spool = os.path.join(self.state, "queue")
        self.cv = threading.Condition()
        self.outcomes = {}  # user -> (first outcome word, monotonic time)
        self.bad = []
        self.logf = open(world.path("daemon.log"), "ab")
        self.proc = world.spawn([DAEMON, "-c", conf, "run"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self._wait_listening()

    def _read(self):
        for raw in self.proc.stderr:
            t = time.monotonic()
            self.logf.write(raw)
            m = OUTCOME.match(raw.decode("utf-8", errors="replace"))
            if m is None:
                continue
            with self.cv:
                if m.group(1) in ("retry", "failed"):
                    self.bad.append(raw.decode(errors="replace").strip())
                self.outcomes.setdefault(m.group(2), (m.group(1), t))
                self.cv.notify_all()
        self.logf.flush()

    def _wait_listening(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("the daemon exited %s (see daemon.log)"
                                 % self.proc.returncode)
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                    s.connect(self.sock)
                return
            except OSError:
                time.sleep(0.05)
        raise BenchError("the daemon is not listening on %s" % self.sock)

    def login(self, user, s=None):
        msg = ("FTSYNC1\nuser=%s\nservice=bench\nrhost=10.1.2.3\ntty=ssh\n"
               % user).encode("utf-8")
        if s is None:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s2:
                s2.sendto(msg, self.sock)
        else:
            s.sendto(msg, self.sock)

    def wait_users(self, users, timeout):
        """Wait until every user has an outcome; returns the latest time."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                missing = [u for u in users if u not in self.outcomes]
                if not missing:
                    return max(self.outcomes[u][1] for u in users)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise BenchError("%d users never provisioned (first: %s); "
                                     "problems: %s"
                                     % (len(missing), missing[0],
                                        self.bad[:3]))
                self.cv.wait(left)

    def stop(self):
        stop_process(self.proc, timeout=10)
        self.reader.join(5)
        self.logf.close()

    def metrics(self):
        out = {}
        with open(os.path.join(self.state, "metrics.prom"),
                  encoding="utf-8") as f:
            for line in f:
                if line.startswith("ftrack_syncd_"):
                    k, _, v = line.rpartition(" ")
                    out[k[len("ftrack_syncd_"):]] = float(v)
        return out


# ---------------------------------------------------------------------------
# the command-line baseline of one first login
# ---------------------------------------------------------------------------


def parse_ldif(text):
    """The first entry of ldapsearch -LLL output: {attr: first value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith(" ") or ":" not in line:
            continue
        attr, _, rest = line.partition(":")
        if rest.startswith(":"):
            val = base64.b64decode(rest[1:].strip()).decode("utf-8")
        else:
            val = rest.strip()
        out.setdefault(attr, val)
    return out


def curl_api(url, ops):
    r = run(["curl", "-sS", "--fail", "-H", "Content-Type: application/json",
             "-H", "ftrack-user: " + API_USER, "-H",
             "ftrack-api-key: " + API_KEY,
             "--data-binary", json.dumps(ops), url + "/api"])
    return json.loads(r.stdout)


def cli_first_login(slapd, emu, user):
    """One ldapsearch, one curl query, one curl create (user and marker)."""
    r = run(["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", slapd.uri,
             "-D", SYNC_DN,
             "-w", SYNC_PW, "-b", PEOPLE,
             "(&%s(uid=%s))" % (LDAP_FILTER, user)] + LDAP_ATTRS)
    e = parse_ldif(r.stdout.decode("utf-8"))
    if e.get("uid") != user:
        raise BenchError("ldapsearch did not find %s" % user)
    q = curl_api(emu.url, [{"action": "query",
                            "expression": '%s where username is "%s" limit 2'
                            % (USER_SELECT, user)}])
    if q[0]["data"]:
        raise BenchError("%s already in ftrack" % user)
    uid = str(uuid.uuid4())
    ops = [{"action": "create", "entity_type": "User", "entity_key": [uid],
            "entity_data": {"__entity_type__": "User", "id": uid,
                            "username": user,
                            "first_name": e.get("givenName"),
                            "last_name": e.get("sn"),
                            "email": e.get("mail"), "is_active": True}},
           {"action": "create", "entity_type": "Metadata",
            "entity_data": {"__entity_type__": "Metadata", "parent_id": uid,
                            "parent_type": "User",
                            "key": MARKER_KEY, "value": e.get("entryUUID")}}]
    c = curl_api(emu.url, ops)
    if not isinstance(c, list) or len(c) != 2:
        raise BenchError("create of %s failed: %s" % (user, c))


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


def row(case, metric, values, unit, compare=None, target=None, verdict=None,
        note=None):
    r = {"case": case, "metric": metric, "unit": unit}
    r.update(summary(values if isinstance(values, list) else [values]))
    if compare is not None:
        r["compare"] = compare
    if target is not None:
        r["target"] = target
    if verdict is not None:
        r["verdict"] = "met" if verdict else "MISSED"
    if note is not None:
        r["note"] = note
    return r


def save(name, title, rows, notes=None, raw=None, tables=None):
    os.makedirs(RESULTS, exist_ok=True)
    obj = {"name": name, "title": title, "rows": rows, "tables": tables or [],
           "notes": notes or [],
           "raw": raw or {}}
    path = os.path.join(RESULTS, name + ".json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)
    log("%s: results in %s" % (name, path))


# ---------------------------------------------------------------------------
# 2. first login
# ---------------------------------------------------------------------------


def first_logins(w, emu, conf, users, warm, warmed=None, fill=None):
    """A fresh `run` on conf against an empty ftrack: one warm-up login
    (the LDAP and HTTP connections made before timing; then warmed() if
    given), then each of users alone, timed from its datagram to the
    daemon's `created` line (which follows the ftrack answer), in ms.
    Every user must then be in ftrack.  fill(), when given, loads what
    ftrack holds besides users (after the store is emptied)."""
    emu.reset(True)
    if fill is not None:
        fill()
    d = Daemon(w, conf)
    try:
        d.login(warm)
        d.wait_users([warm], 30)
        if warmed is not None:
            warmed()
        out = []
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            for u in users:
                t0 = time.monotonic()
                d.login(u, s)
                out.append((d.wait_users([u], 30) - t0) * 1000.0)
        got = emu.usernames()
        if (any(u not in got for u in users)
                or any(d.outcomes[u][0] != "created" for u in users)):
            raise BenchError("%s: not every user was created in ftrack"
                             % conf)
    finally:
        d.stop()
    return out


def bench_first_login(P):
    n_fix, n = P["login_fixture"], P["login_users"]
    uids = load_info(n_fix)["uids"]
    users, warm = uids[:n], uids[n]
    lat, searches, requests = [], [], []
    cli_lat, cli_searches, cli_requests = [], [], []
    with World("login") as w:
        slapd = Slapd(w, fixture_paths(n_fix)["ldif"])
        emu = Emulator(w)
        for rnd in range(P["login_rounds"]):
            conf = write_config(w.path("d%d" % rnd), slapd, emu)
            mark = {}
            one = first_logins(w, emu, conf, users, warm, lambda: mark.update(
                s0=slapd.search_ops(), e0=emu.stats()["requests"]))
            searches.append(slapd.searches_since(mark["s0"]) / n)
            requests.append((emu.stats()["requests"] - mark["e0"]) / n)
            lat.append(one)
            log("first login, round %d: p50 %.2f ms, p99 %.2f ms"
                % (rnd + 1, percentile(one, 50), percentile(one, 99)))
        for rnd in range(P["cli_rounds"]):
            emu.reset(True)
            s0, e0 = slapd.search_ops(), emu.stats()["requests"]
            one = []
            for u in users[:P["cli_users"]]:
                t0 = time.monotonic()
                cli_first_login(slapd, emu, u)
                one.append((time.monotonic() - t0) * 1000.0)
            cli_searches.append(slapd.searches_since(s0) / len(one))
            cli_requests.append((emu.stats()["requests"] - e0) / len(one))
            cli_lat.append(one)
            log("command-line baseline, round %d: p50 %.2f ms, p99 %.2f ms"
                % (rnd + 1, percentile(one, 50), percentile(one, 99)))
    p50 = [percentile(x, 50) for x in lat]
    p99 = [percentile(x, 99) for x in lat]
    c50 = [percentile(x, 50) for x in cli_lat]
    c99 = [percentile(x, 99) for x in cli_lat]
    case = "%d distinct users, one at a time, 0 ms" % n
    cli = "CLI: ldapsearch + 2 curl"
    rows = [
        row(case, "event sent -> user in ftrack, p50", p50, "ms",
            compare="%.1fx faster than CLI p50 (%.1f ms)"
            % (ratio(statistics.median(c50), statistics.median(p50)),
               statistics.median(c50))),
        row(case, "event sent -> user in ftrack, p99", p99, "ms",
            compare="CLI p99 %.1f ms" % statistics.median(c99)),
        row(case, "LDAP searches per user", searches, "",
            compare="CLI %.2f" % statistics.median(cli_searches)),
        row(case, "HTTP requests per user", requests, "",
            compare="CLI %.2f" % statistics.median(cli_requests)),
        row(cli, "same steps by hand, p50", c50, "ms"),
        row(cli, "same steps by hand, p99", c99, "ms"),
    ]
    notes = [
        "First login: a datagram (as pam_ftrack sends it, from root) to the "
        "running daemon, timed until the daemon logs `created 'USER'` (its "
        "log line follows the ftrack answer); every user is checked in the "
        "emulator afterwards. One warm-up login per round (not counted) opens "
        "the LDAP and HTTP connections. %d rounds of %d users (fresh daemon "
        "and empty ftrack each round); median/min/max are over the rounds' "
        "percentiles. Fixture: %d LDAP people."
        % (P["login_rounds"], n, n_fix),
        "CLI baseline: per user one `ldapsearch` (bind, filter on uid), one "
        "`curl` query by username and one `curl` create (user and uuid "
        "marker in one POST), run from the benchmark driver; %d rounds of "
        "the first %d of those users (same empty ftrack)."
        % (P["cli_rounds"], P["cli_users"]),
        "LDAP searches counted by slapd's cn=Monitor; HTTP requests by the "
        "emulator.",
    ]
    save("2-first-login", "2. First login (on demand, one user at a time)",
         rows, notes,
         {"lat_ms": lat, "cli_lat_ms": cli_lat})


# ---------------------------------------------------------------------------
# 3. login storm
# ---------------------------------------------------------------------------


def storm_driver(d, users_file, count, rate):
    """bench_storm through libpam and the built module; its JSON line."""
    r = run([STORM, MODULE, d.sock, d.spool, users_file, str(count),
             str(rate)], timeout=600)
    return json.loads(r.stdout.decode("utf-8").strip().splitlines()[-1])


def batched_create(emu, slapd, users, world):
    """The floor: one POST creating every user and marker (values from one
    LDAP search)."""
    r = run(["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", slapd.uri,
             "-D", SYNC_DN, "-w", SYNC_PW,
             "-b", PEOPLE, "-E", "pr=%d/noprompt" % PAGE, LDAP_FILTER]
            + LDAP_ATTRS)
    entries = {}
    for block in r.stdout.decode("utf-8").split("\n\n"):
        e = parse_ldif(block)
        if "uid" in e:
            entries[e["uid"]] = e
    ops = []
    for u in users:
        e, uid = entries[u], str(uuid.uuid4())
        ops.append({"action": "create", "entity_type": "User",
                    "entity_key": [uid],
                    "entity_data": {"__entity_type__": "User", "id": uid,
                                    "username": u,
                                    "first_name": e.get("givenName"),
                                    "last_name": e.get("sn"),
                                    "email": e.get("mail"),
                                    "is_active": True}})
        ops.append({"action": "create", "entity_type": "Metadata",
                    "entity_data": {"__entity_type__": "Metadata",
                                    "parent_id": uid, "parent_type": "User",
                                    "key": MARKER_KEY,
                                    "value": e.get("entryUUID")}})
    cfg = world.path("batched-create.curl")
    emu.curl_config(cfg, [json.dumps(ops)])
    emu.reset(True)
    seconds = timed(["curl", "--config", cfg])
    if emu.user_count() != len(users) + 1:
        raise BenchError("the batched create did not create every user")
    return seconds


def bench_storm(P):
    n_fix = P["login_fixture"]
    nusers, count = P["storm_users"], P["storm_logins"]
    users = load_info(n_fix)["uids"][:nusers]
    res = {k: []
           for k in ("all", "storm_s", "per_login", "requests", "spooled",
                     "dropped", "lost",
                     "p50", "p99", "max", "idle_p50", "idle_p99", "idle_max",
                     "floor", "received")}
    with World("storm") as w:
        slapd = Slapd(w, fixture_paths(n_fix)["ldif"])
        emu = Emulator(w)
        users_file = w.path("users.txt")
        with open(users_file, "w", encoding="utf-8") as f:
            f.write("\n".join(users) + "\n")
        for rnd in range(P["storm_runs"]):
            emu.reset(True)
            d = Daemon(w, write_config(w.path("d%d" % rnd), slapd, emu))
            e0 = emu.stats()["requests"]
            t0 = time.monotonic()
            st = storm_driver(d, users_file, count, P["storm_rate"])
            t_all = d.wait_users(users, 300) - t0
            requests = emu.stats()["requests"] - e0
            idle = storm_driver(d, users_file, P["idle_logins"],
                                P["idle_rate"])
            d.stop()
            m = d.metrics()
            sent = count - st["spooled"] - st["dropped"]
            idle_sent = P["idle_logins"] - idle["spooled"] - idle["dropped"]
            received = int(m["events_received_total"])
            lost = (st["dropped"] + idle["dropped"]
                    + max(0, sent + idle_sent - received))
            got = emu.usernames()
            if any(u not in got for u in users):
                raise BenchError("run %d: not every user is in ftrack" % rnd)
            if st["pam_errors"] or st["other_logs"]:
                raise BenchError("run %d: PAM errors or unexpected module "
                                 "messages: %s" % (rnd, st))
            for k, v in (("all", t_all), ("storm_s", st["seconds"]),
                         ("requests", requests),
                         ("per_login", requests / count),
                         ("spooled", st["spooled"]),
                         ("dropped", st["dropped"]), ("lost", lost),
                         ("received", received),
                         ("p50", st["p50_us"]), ("p99", st["p99_us"]),
                         ("max", st["max_us"]),
                         ("idle_p50", idle["p50_us"]),
                         ("idle_p99", idle["p99_us"]),
                         ("idle_max", idle["max_us"])):
                res[k].append(v)
            log("storm, run %d: %d logins in %.2f s, all %d users in ftrack "
                "after %.2f s, %d requests, %d spooled, %d lost"
                % (rnd + 1, count, st["seconds"], nusers, t_all, requests,
                   st["spooled"], lost))
            res["floor"].append(batched_create(emu, slapd, users, w))
    case = ("%s logins by %s users, paced to %.1f s"
            % ("{:,}".format(count), "{:,}".format(nusers),
               count / P["storm_rate"]))
    floor = statistics.median(res["floor"])
    rows = [
        row(case, "time until all provisioned", res["all"], "s",
            compare="%.1fx one batched create (%.3f s)"
            % (ratio(statistics.median(res["all"]), floor), floor)),
        row(case, "storm length (PAM driver)", res["storm_s"], "s"),
        row(case, "HTTP requests per login", res["per_login"], "",
            target="<= 0.2",
            verdict=max(res["per_login"]) <= 0.2),
        row(case, "HTTP requests in all", res["requests"], ""),
        row(case, "events that fell back to the spool", res["spooled"], ""),
        row(case, "events lost", res["lost"], "", target="0",
            verdict=max(res["lost"]) == 0),
        row(case, "pam_open_session during the storm, p50", res["p50"], "us"),
        row(case, "pam_open_session during the storm, p99", res["p99"], "us",
            compare="idle p99 %.0f us" % statistics.median(res["idle_p99"])),
        row(case, "pam_open_session during the storm, max", res["max"], "us"),
        row("idle (same users, all cooled)", "pam_open_session p50",
            res["idle_p50"], "us"),
        row("idle (same users, all cooled)", "pam_open_session p99",
            res["idle_p99"], "us"),
        row("floor", "one batched create of the same users (curl)",
            res["floor"], "s"),
    ]
    notes = [
        "Storm: build/bench/bench_storm drives the real libpam "
        "(pam_start_confdir, a private service with `session optional "
        "pam_ftrack.so socket=... spool=...`) as root, %d logins round-robin "
        "over %d distinct LDAP users at %d logins/s; each login is a full "
        "pam_start/open/close/end, only pam_open_session is timed. The "
        "module's fallbacks are counted from its pam_syslog messages (caught "
        "in the driver)." % (count, nusers, P["storm_rate"]),
        "Time until all provisioned: from the first login until the daemon "
        "has logged an outcome for every user; every user is checked in the "
        "emulator. Events lost = events the module dropped + datagrams sent "
        "but not received by the daemon (its events_received_total, read "
        "after it stopped). Idle: %d more logins at %d/s by the same (now "
        "cooled) users." % (P["idle_logins"], P["idle_rate"]),
        "Floor: one POST holding a create of each user and of its uuid marker "
        "(2 x %d operations), values read with one paged ldapsearch "
        "beforehand (not timed); timed with curl." % nusers,
        "%d runs, each with a fresh daemon and an empty ftrack; the socket's "
        "queue is the kernel default (net.unix.max_dgram_qlen = %s)."
        % (P["storm_runs"], read_sysctl("net/unix/max_dgram_qlen")),
    ]
    save("3-storm", "3. Login storm", rows, notes, res)


def read_sysctl(name):
    try:
        with open("/proc/sys/" + name, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return "?"


# ---------------------------------------------------------------------------
# 4. full reconcile
# ---------------------------------------------------------------------------


def clear_state(state):
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state, mode=0o700)


def write_ops(stats):
    ops = stats.get("operations", {})
    return sum(v for k, v in ops.items()
               if k in ("create", "update", "delete"))


def changes_of(report):
    counts = report.get("counts", {})
    return sum(v for k, v in counts.items()
               if k not in ("none", "skip", "conflict"))


def check_plan(report, kind, info):
    """The plan must be exactly the fixture's drift (or nothing)."""
    c = report.get("counts", {})
    d = info["drift"]
    want = {"create": 0, "update": 0, "deactivate": 0}
    if kind == "drift":
        want = {"create": len(d["newcomers"]),
                "update": len(d["changed_mail"]),
                "deactivate": len(d["leavers"])}
    got = {k: c.get(k, 0) for k in want}
    others = {k: v for k, v in c.items() if k not in want
              and k not in ("none", "skip") and v}
    if got != want or others:
        raise BenchError("%s: plan %s, expected %s" % (kind, c, want))


def reconcile_once(w, conf, emu, slapd, lat, kind, info, list_cfg):
    """One `reconcile --apply` under /usr/bin/time, then the I/O floor."""
    state = os.path.join(os.path.dirname(conf), "state")
    clear_state(state)
    m0 = emu.user_count()
    r = gnu_time([DAEMON, "-c", conf, "reconcile", "--apply"],
                 log_path=w.path("reconcile.log"))
    if r["code"] != 0:
        raise BenchError("reconcile --apply exited %d (see %s)"
                         % (r["code"], w.path("reconcile.log")))
    st = emu.stats()
    with open(os.path.join(state, "reports", "last-apply.json"),
              encoding="utf-8") as f:
        rep = json.load(f)
    if (rep.get("result") not in ("ok", "applied", "success")
            and rep.get("ldap", {}).get("error")):
        raise BenchError("reconcile report: %s" % rep.get("result"))
    check_plan(rep, kind, info)
    changes = changes_of(rep)
    emu.reset(False)
    t_ldap = timed(slapd.floor_argv(), stdout=subprocess.DEVNULL)
    t_http = timed(["curl", "--config", list_cfg[0]])
    pages = emu.stats()["requests"]
    t_pair = timed(["curl", "--config", list_cfg[1]])
    return {
        "wall": r["wall"], "cpu": r["user"] + r["sys"], "user": r["user"],
        "sys": r["sys"],
        "rss_kib": r["rss_kib"], "requests": st["requests"],
        "connections": st["api_connections"],
        # + 4: the reconcile's records on the API user (read; the lease
        # taken, renewed before the writes, released)
        "expected": (math.ceil(m0 / PAGE) + math.ceil(changes / BATCH) + 2
                     + LEASE_REQUESTS),
        "changes": changes,
        "ftrack_users": m0, "writes": write_ops(st), "floor_ldap": t_ldap,
        "floor_http": t_http,
        "floor": t_ldap + t_http, "floor_pages": pages,
        "report_seconds": rep.get("seconds"),
        "floor_pairs": t_pair,
        "timings": rep.get("timings"),
        "ldap_pages": rep.get("ldap", {}).get("pages"),
    }


def listing_config(w, emu, nusers, nmarkers, name):
    """Two curl configs: the users listing alone, and the daemon's own
    pages (users + markers per POST)."""
    def users(off):
        return {"action": "query",
                "expression": "%s order by id offset %d limit %d"
                % (USER_SELECT, off, PAGE)}

    def markers(off):
        return {"action": "query",
                "expression": "%s offset %d limit %d"
                % (MARKER_LIST, off, PAGE)}

    alone = [json.dumps([users(off)]) for off in range(0, nusers, PAGE)]
    pairs = [json.dumps(([users(off)] if off < nusers else [])
                        + ([markers(off)] if off < nmarkers else []))
             for off in range(0, max(nusers, nmarkers), PAGE)]
    paths = (w.path(name + "-users.curl"), w.path(name + "-pairs.curl"))
    emu.curl_config(paths[0], alone)
    emu.curl_config(paths[1], pairs)
    return paths


def reconcile_size(P, n, out):
    paths, info = fixture_paths(n), load_info(n)
    fx = {k: FtrackFixture(paths[k]) for k in ("exact", "drift")}
    with World("reconcile-%d" % n) as w:
        slapd = Slapd(w, paths["ldif"])
        emu = Emulator(w)
        conf = write_config(w.path("d"), slapd, emu)
        base = gnu_time([DAEMON, "-c", conf, "check"],
                        stdout=subprocess.DEVNULL)
        if base["code"] != 0:
            raise BenchError("ftrack-syncd check failed")
        out["rss_check_kib"][n] = base["rss_kib"]
        loaded, dirty = None, True
        for lat in P["latencies"]:
            emu.set_latency(lat)
            for kind in ("exact", "drift"):
                list_cfg = listing_config(w, emu, fx[kind].nusers + 1,
                                          fx[kind].nmarkers, "list-%s" % kind)
                runs = []
                for i in range(P["runs"][n]):
                    if loaded != kind or dirty:
                        emu.load(fx[kind])
                        loaded = kind
                    else:
                        emu.reset(False)
                    res = reconcile_once(w, conf, emu, slapd, lat, kind, info,
                                         list_cfg)
                    dirty = res["writes"] > 0
                    runs.append(res)
                    log("reconcile %d %s %d ms, run %d: %.2f s wall, %.2f s "
                        "CPU, %.1f MiB, floor %.2f s, "
                        "%d requests (formula %d), %d connection(s)"
                        % (n, kind, lat, i + 1, res["wall"], res["cpu"],
                           res["rss_kib"] / 1024.0,
                           res["floor"], res["requests"], res["expected"],
                           res["connections"]))
                out["runs"]["%d/%s/%d" % (n, kind, lat)] = runs


def fmt_range(values, fmt="%.2f"):
    s = summary(values)
    if s["n"] == 0:
        return "-"
    if s["n"] == 1:
        return fmt % s["median"]
    return ((fmt + " (" + fmt + "-" + fmt + ")")
            % (s["median"], s["min"], s["max"]))


def med(runs, key):
    return statistics.median([r[key] for r in runs])


def bench_reconcile(P):
    out = {"runs": {}, "rss_check_kib": {}}
    for n in P["sizes"]:
        reconcile_size(P, n, out)
    header = ["N", "ftrack vs LDAP", "latency", "wall s", "CPU s",
              "daemon's split: ldap / ftrack / apply s",
              "I/O floor s (ldapsearch + curl users)", "wall / floor",
              "curl users + markers s",
              "peak RSS MiB (extra)", "HTTP requests (formula)", "TCP conns",
              "runs"]
    table = []
    verdicts = []
    for key, runs in out["runs"].items():
        n, kind, lat = key.split("/")
        n = int(n)
        rss = med(runs, "rss_kib") / 1024.0
        extra = rss - out["rss_check_kib"][n] / 1024.0
        req_ok = all(r["requests"] <= r["expected"] for r in runs)
        conn_ok = all(r["connections"] == 1 for r in runs)
        drift = ("no change" if kind == "exact"
                 else "1%% drift (%d changes)" % runs[0]["changes"])
        phases = " / ".join(
            "%.2f" % statistics.median([(r["timings"] or {}).get(k) or 0
                                        for r in runs])
            for k in ("ldap", "ftrack", "apply"))
        table.append([
            "{:,}".format(n), drift,
            "%s ms" % lat, fmt_range([r["wall"] for r in runs]),
            fmt_range([r["cpu"] for r in runs]),
            phases,
            "%.2f (%.2f + %.2f)" % (med(runs, "floor"),
                                    med(runs, "floor_ldap"),
                                    med(runs, "floor_http")),
            "%.2f" % (med(runs, "wall") / med(runs, "floor")),
            "%.2f" % med(runs, "floor_pairs"),
            "%.1f (%+.1f)" % (rss, extra),
            "%d (%d)%s" % (med(runs, "requests"), runs[0]["expected"],
                           "" if req_ok else " MISSED"),
            "%d%s" % (max(r["connections"] for r in runs),
                      "" if conn_ok else " MISSED"),
            str(len(runs))])
        verdicts.append((key, req_ok, conn_ok, extra))
    rows = []
    sizes = sorted(P["sizes"])
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        for kind in ("exact", "drift"):
            for lat in P["latencies"]:
                a = out["runs"].get("%d/%s/%d" % (lo, kind, lat))
                b = out["runs"].get("%d/%s/%d" % (hi, kind, lat))
                if a and b:
                    g = med(b, "wall") / med(a, "wall")
                    case = "%s, %d ms" % ("no change" if kind == "exact"
                                          else "1% drift", lat)
                    compare = ("CPU %.1fx; I/O floor %.1fx, daemon's "
                               "replayed reads %.1fx; N %dx"
                               % (med(b, "cpu") / med(a, "cpu"),
                                  med(b, "floor") / med(a, "floor"),
                                  med(b, "floor_pairs")
                                  / med(a, "floor_pairs"), hi // lo))
                    rows.append(row(case,
                                    "growth %s -> %s (wall)"
                                    % ("{:,}".format(lo), "{:,}".format(hi)),
                                    [r["wall"] / med(a, "wall") for r in b],
                                    "x", compare=compare,
                                    target="<= 12", verdict=g <= 12))
        big = [v for v in verdicts if v[0].startswith("%d/" % hi)]
        worst = max(v[3] for v in big)
        rows.append(row("%s users" % "{:,}".format(hi),
                        "peak RSS over `check` (worst case)", worst, "MiB",
                        target="< 64", verdict=worst < 64))
    rows.append(row("all cases",
                    "HTTP requests <= ceil(N/500) + ceil(C/100) + 2 + 4",
                    sum(1 for v in verdicts if v[1]), "cases",
                    compare="of %d" % len(verdicts),
                    target="every case", verdict=all(v[1] for v in verdicts)))
    rows.append(row("all cases", "one TCP connection to ftrack",
                    sum(1 for v in verdicts if v[2]), "cases",
                    compare="of %d" % len(verdicts), target="1",
                    verdict=all(v[2] for v in verdicts)))
    notes = [
        "Each run: fresh state_dir, the emulator reloaded with the fixture "
        "when the previous run wrote to it, then `/usr/bin/time -v "
        "ftrack-syncd reconcile --apply` (reconcile_create = yes, page_size "
        "500, batch_size 100); the plan is checked against the fixture's "
        "drift (creates = newcomers, updates = changed mail, deactivations = "
        "leavers; nothing for no change).",
        "I/O floor, measured right after each run: one paged `ldapsearch -E "
        "pr=500/noprompt` of the same entries and attributes (output to "
        "/dev/null) plus a paged raw listing of all users (`select id, "
        "username, first_name, last_name, email, is_active from User order by "
        "id offset K limit 500`, one curl process, one connection). The "
        "daemon also reads the markers (one marker page rides in each users "
        "POST): `curl users + markers` replays exactly the daemon's read "
        "requests, for comparison. After every bulk load the emulator's "
        "sorted listings are rebuilt untimed, so all timed runs see the same "
        "warm emulator. The daemon's split comes from its report "
        "(reports/last-apply.json).",
        "Formula: N = ftrack users before the run (fixture + the API user), C "
        "= planned changes. TCP connections: the emulator's api_connections. "
        "Peak RSS extra: over `ftrack-syncd check` on the same config (%s "
        "KiB)." % ", ".join("%s: %d" % (k, v)
                            for k, v in sorted(out["rss_check_kib"].items())),
        "Values: median (min-max) over the runs.",
    ]
    save("4-reconcile", "4. Full reconcile", rows, notes, out,
         tables=[{"header": header, "rows": table}])


# ---------------------------------------------------------------------------
# 5. against a naive sync
# ---------------------------------------------------------------------------


def python_with_ldap(hint):
    """A python3 that can import ldap (Debian's python3-ldap)."""
    for cand in [hint, sys.executable, "/usr/bin/python3"]:
        if cand and subprocess.run([cand, "-c", "import ldap"],
                                   capture_output=True).returncode == 0:
            return cand
    raise BenchError("no python3 with the ldap module: install the Debian "
                     "package python3-ldap")


def bench_naive(P):
    n = P["naive_fixture"]
    paths, info = fixture_paths(n), load_info(n)
    fx = FtrackFixture(paths["drift"])
    py = python_with_ldap(P["python_ldap"])
    out = {"daemon": {}, "naive": {}}
    with World("naive") as w:
        slapd = Slapd(w, paths["ldif"])
        emu = Emulator(w)
        conf = write_config(w.path("d"), slapd, emu)
        argv = [py, NAIVE, "--ldap-uri", slapd.uri, "--bind-dn", SYNC_DN,
                "--bind-pw", SYNC_PW,
                "--base", PEOPLE, "--server", emu.url, "--api-user", API_USER,
                "--api-key", API_KEY]
        for lat in P["latencies"]:
            emu.set_latency(lat)
            d_runs, n_runs = [], []
            for i in range(P["runs"].get(n, 3)):
                emu.load(fx)
                clear_state(os.path.join(w.path("d"), "state"))
                r = gnu_time([DAEMON, "-c", conf, "reconcile", "--apply"],
                             log_path=w.path("reconcile.log"))
                if r["code"] != 0:
                    raise BenchError("reconcile --apply exited %d" % r["code"])
                d_runs.append({"wall": r["wall"], "cpu": r["user"] + r["sys"],
                               "requests": emu.stats()["requests"]})
            subset = 0 if lat == 0 else P["naive_subset_50"]
            for i in range(P["naive_runs"] if lat == 0
                           else P["naive_runs_50"]):
                emu.load(fx)
                r = gnu_time(argv + ["--limit", str(subset)],
                             stdout=subprocess.PIPE,
                             log_path=w.path("naive.log"))
                if r["code"] != 0:
                    raise BenchError("naive_sync.py exited %d (see naive.log)"
                                     % r["code"])
                res = json.loads(r["stdout"])
                res["wall"], res["cpu"] = r["wall"], r["user"] + r["sys"]
                res["measured_requests"] = emu.stats()["requests"]
                scale = res["people"] / res["processed"]
                res["est_wall"] = ((r["wall"] - res["loop_seconds"])
                                   + res["loop_seconds"] * scale)
                res["est_requests"] = res["measured_requests"] * scale
                n_runs.append(res)
                log("naive %d ms, run %d: %d of %d people, %.2f s wall (%.1f "
                    "s for all), %d requests"
                    % (lat, i + 1, res["processed"], res["people"], r["wall"],
                       res["est_wall"],
                       res["measured_requests"]))
            log("daemon %d ms: %.2f s wall, %d requests"
                % (lat, med(d_runs, "wall"), med(d_runs, "requests")))
            out["daemon"][lat], out["naive"][lat] = d_runs, n_runs
    rows = []
    for lat in P["latencies"]:
        d_runs, n_runs = out["daemon"][lat], out["naive"][lat]
        sub = n_runs[0]["processed"] < n_runs[0]["people"]
        how = (" (EXTRAPOLATED from %d of %d users x %.0f)"
               % (n_runs[0]["processed"], n_runs[0]["people"],
                  n_runs[0]["people"] / n_runs[0]["processed"])
               if sub else "")
        case = "%s users, 1%% drift, %d ms" % ("{:,}".format(n), lat)
        nreq = [r["est_requests"] for r in n_runs]
        nwall = [r["est_wall"] for r in n_runs]
        rq = statistics.median(nreq) / med(d_runs, "requests")
        sp = statistics.median(nwall) / med(d_runs, "wall")
        rows += [
            row(case, "ftrack-syncd reconcile --apply: wall",
                [r["wall"] for r in d_runs], "s"),
            row(case, "ftrack-syncd reconcile --apply: HTTP requests",
                [r["requests"] for r in d_runs], ""),
            row(case, "naive_sync.py: wall" + how, nwall, "s",
                compare="ftrack-syncd %.0fx faster" % sp,
                target=">= 50x faster" if lat == 50 else None,
                verdict=(sp >= 50) if lat == 50 else None),
            row(case, "naive_sync.py: HTTP requests" + how, nreq, "",
                compare="ftrack-syncd %.0fx fewer" % rq,
                target=">= 100x fewer", verdict=rq >= 100),
        ]
    notes = [
        "Same fixture for both: %s LDAP people, ftrack with 1%% drift (%d "
        "changed mail, %d leavers, %d newcomers), reloaded before every run. "
        "ftrack-syncd runs `reconcile --apply` (it also deactivates the "
        "leavers and writes uuid markers, which the naive script does not do)."
        % ("{:,}".format(n), len(info["drift"]["changed_mail"]),
           len(info["drift"]["leavers"]),
           len(info["drift"]["newcomers"])),
        "naive_sync.py: python3-ldap paged read of everyone, then per person "
        "one ftrack query by username and, when needed, one create or update; "
        "urllib, a new connection per request.",
        "At 50 ms the naive script runs on the first %d people only (the "
        "whole LDAP read still happens); "
        "its wall time is extrapolated as LDAP-read time + loop time x "
        "(people / processed), its requests "
        "as measured x (people / processed). Marked EXTRAPOLATED in the table."
        % P["naive_subset_50"],
    ]
    save("5-naive", "5. Against a naive per-user sync", rows, notes, out)


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------


def fmt_num(v):
    if v is None:
        return "-"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()
                              and abs(v) >= 10):
        return "{:,}".format(int(v))
    a = abs(v)
    if a >= 100:
        return "{:,.0f}".format(v)
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3f" % v


def md_table(header, rows):
    def cell(x):
        return str(x).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def machine():
    def first(path, key):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"

    def version(argv):
        try:
            r = subprocess.run(argv, capture_output=True, timeout=10)
            out = (r.stdout or r.stderr).decode(errors="replace")
            return out.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    mem = first("/proc/meminfo", "MemTotal")
    try:
        mem = "%.1f GiB" % (int(mem.split()[0]) / 1048576.0)
    except (ValueError, IndexError):
        pass
    return [
        ("nproc", str(os.cpu_count())),
        ("CPU", first("/proc/cpuinfo", "model name")),
        ("memory", mem),
        ("kernel", platform.release()),
        ("OS", os_release()),
        ("slapd", version(["slapd", "-VV"])
         .replace("@(#) $OpenLDAP: ", "").rstrip(" $")),
        ("python (emulator)", platform.python_version()),
        ("load average (1, 5, 15 min)",
         "%s at the start, %s at the end" % (loadavg(os.path.join(
            RESULTS, "loadavg-start.txt")), loadavg("/proc/loadavg"))),
    ]


def loadavg(path):
    try:
        with open(path, encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def os_release():
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "?"


def login_path_verdicts(text):
    """The DESIGN.md section 8 login-path targets, read from bench_pam's
    tables: (f) is the floor, a bare sendmsg of the same datagram."""
    cases, forks = {}, {}
    for m in re.finditer(r"^\| \((\w)\) ([^|]*)\| ([\d.]+) \| ([\d.]+) \| "
                         r"([\d.]+) \| ([-\d.]+) \| ([-\d.]+) \|", text,
                         re.M):
        d = {"p50": float(m.group(3)), "p99": float(m.group(4)),
             "max": float(m.group(5)), "added": float(m.group(6)),
             "added99": float(m.group(7))}
        # the first table is in one process, the second forks per cycle
        (forks if m.group(1) in cases else cases)[m.group(1)] = d
    if not all(k in cases for k in "abcdef") or cases["b"]["added"] <= 0:
        return []
    added, floor = cases["b"]["added"], cases["f"]["p50"]
    times = cases["e"]["added"] / added
    spool99 = max(cases["c"]["added99"], cases["d"]["added99"])
    out = [
        ("1", "(b) daemon reading vs (f) the floor",
         "pam_ftrack added p50 %.1f us / floor p50 %.1f us = %.2f"
         % (added, floor, added / floor), "<= 2",
         "met" if added / floor <= 2 else "MISSED"),
    ]
    if "b" in forks and "f" in forks and forks["f"]["p50"] > 0:
        fa, ff = forks["b"]["added"], forks["f"]["p50"]
        out.append(("1", "fork per cycle: (b) vs (f) the floor",
                    "pam_ftrack added p50 %.1f us / floor p50 %.1f us = %.2f"
                    % (fa, ff, fa / ff), "<= 2",
                    "met" if fa / ff <= 2 else "MISSED"))
    out += [
        ("1", "(b) vs (e) pam_exec /bin/true", "%.0fx cheaper at p50" % times,
         ">= 100x",
         "met" if times >= 100 else "MISSED"),
        ("1", "(c) queue full, (d) no socket: spool fallback",
         "added p99 %.0f us (c), %.0f us (d)"
         % (cases["c"]["added99"], cases["d"]["added99"]), "< 500 us",
         "met" if spool99 < 500 else "MISSED"),
    ]
    return out


def write_report(P, seconds, command):
    parts = ["# ftrack-ldap-sync benchmarks", ""]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    head = "Command: `%s`%s, %s" % (command,
                                    " (BENCH_QUICK=1: smoke run, small sizes)"
                                    if P["quick"] else "",
                                    when)
    if seconds is not None:
        head += ", %d min %02d s in all" % (int(seconds) // 60,
                                            int(seconds) % 60)
    parts += [head + ".", ""]
    parts += [md_table(["machine", ""], machine()), ""]
    parts += ["Nothing here is a pass/fail test; each benchmark says what it "
              "compares against. \"MISSED\" marks a target of DESIGN.md "
              "section 8 / issue 6 that this run did not reach.", ""]
    verdicts = []
    login_path = os.path.join(RESULTS, "1-login-path.md")
    if os.path.exists(login_path):
        with open(login_path, encoding="utf-8") as f:
            text = f.read().rstrip()
        parts += [text, ""]
        verdicts += login_path_verdicts(text)
    else:
        parts += ["## 1. Login path", "",
                  "Not measured in this run (not among BENCH=, or "
                  "build/bench/bench_pam missing).",
                  ""]
    names = os.listdir(RESULTS) if os.path.isdir(RESULTS) else []
    # in section order: "10-transform" after "9-fleet"
    for name in sorted(names, key=lambda n: (len(n.split("-")[0]), n)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(RESULTS, name), encoding="utf-8") as f:
            res = json.load(f)
        parts += ["## " + res["title"], ""]
        for t in res.get("tables", []):
            parts += [md_table(t["header"], t["rows"]), ""]
        if res["rows"]:
            body = []
            for r in res["rows"]:
                unit = (" " + r["unit"]) if r.get("unit") else ""
                verdict = r.get("verdict", "")
                target = r.get("target", "")
                if verdict:
                    verdicts.append((res["title"].split(".")[0], r["case"],
                                     r["metric"], target, verdict))
                body.append([r["case"], r["metric"],
                             fmt_num(r["median"]) + unit, fmt_num(r["min"]),
                             fmt_num(r["max"]), r["n"], r.get("compare", ""),
                             (target + " " + verdict).strip()])
            parts += [md_table(["case", "measure", "median", "min", "max",
                                "runs", "comparison", "target"],
                               body), ""]
        parts += ["- " + n for n in res.get("notes", [])] + [""]
    failed_path = os.path.join(RESULTS, "failed.txt")
    if os.path.exists(failed_path):
        with open(failed_path, encoding="utf-8") as f:
            failed = [x.strip() for x in f if x.strip()]
        if failed:
            parts += ["## Not measured", "",
                      "These benchmarks failed to run (see the output of "
                      "run.sh): "
                      + ", ".join(failed) + ".", ""]
    if verdicts:
        parts += ["## Targets", "",
                  md_table(["#", "case", "measure", "target", ""],
                           [list(v) for v in verdicts]), ""]
    text = "\n".join(parts)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "results.md")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    print(text)


# ---------------------------------------------------------------------------
# 6. memory and tasks: what MemoryMax= and TasksMax= of the units rest on
# ---------------------------------------------------------------------------

UNITS = os.path.join(ROOT, "etc", "systemd")


def unit_limit(unit, key):
    """The value of key= in etc/systemd/unit, e.g. "256M"."""
    with open(os.path.join(UNITS, unit), encoding="utf-8") as f:
        for line in f:
            if line.startswith(key + "="):
                return line.split("=", 1)[1].strip()
    raise BenchError("%s sets no %s=" % (unit, key))


def proc_field(pid, name):
    """An integer field of /proc/PID/status (KiB for Vm*), 0 when gone."""
    try:
        with open("/proc/%d/status" % pid, encoding="ascii") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def proc_children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid),
                  encoding="ascii") as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


class Sampler(threading.Thread):
    """Every 10 ms: the RSS of a process and its children together, their
    threads, and each one's peak (VmHWM)."""

    def __init__(self, pid):
        threading.Thread.__init__(self, daemon=True)
        self.pid, self.done = pid, threading.Event()
        self.peak = {"sum_kib": 0, "main_kib": 0, "child_kib": 0, "tasks": 0}

    def run(self):
        pk = self.peak
        while not self.done.is_set():
            pids = [self.pid] + proc_children(self.pid)
            pk["sum_kib"] = max(pk["sum_kib"],
                                sum(proc_field(p, "VmRSS") for p in pids))
            pk["tasks"] = max(pk["tasks"],
                              sum(proc_field(p, "Threads") for p in pids))
            pk["main_kib"] = max(pk["main_kib"],
                                 proc_field(self.pid, "VmHWM"))
            for c in pids[1:]:
                pk["child_kib"] = max(pk["child_kib"], proc_field(c, "VmHWM"))
            time.sleep(0.01)

    def stop(self):
        self.done.set()
        self.join(5)
        return self.peak


def daemon_peak(w, slapd, emu, users, logins):
    """`run` with its own reconcile (SIGUSR1) while logins arrive at about
    5,000/s; the peaks until the reconcile and the queue are done."""
    d = Daemon(w, write_config(w.path("run"), slapd, emu,
                               {"login_cooldown": "0"}))
    sampler = Sampler(d.proc.pid)
    sampler.start()
    report = os.path.join(d.state, "reports", "last-apply.json")
    os.kill(d.proc.pid, signal.SIGUSR1)
    t0 = time.monotonic()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        for i in range(logins):
            try:
                d.login(users[i % len(users)], s)
            except OSError:
                time.sleep(0.001)  # the queue is full: the module spools
            if i % 100 == 99:
                time.sleep(0.02)

    def busy():
        queued = [f for f in os.listdir(d.spool)
                  if not f.startswith(".") and f != "failed"]
        return (proc_children(d.proc.pid) or not os.path.exists(report)
                or queued)

    while busy():
        if time.monotonic() - t0 > 600 or d.proc.poll() is not None:
            raise BenchError("the daemon's reconcile did not finish")
        time.sleep(0.1)
    peak = sampler.stop()
    d.stop()
    with open(report, encoding="utf-8") as f:
        if json.load(f).get("result") not in ("ok", "applied"):
            raise BenchError("the daemon's reconcile did not apply")
    return peak


def abusive_check(w, conf, emu, spec):
    """`check` while ftrack answers as spec says: peak KiB, its line."""
    emu.control("POST", "fault", spec)
    r = gnu_time([DAEMON, "-c", conf, "check"], stdout=subprocess.PIPE)
    emu.control("POST", "fault", [])
    line = [x for x in r["stdout"].decode(errors="replace").splitlines()
            if x.startswith("ftrack:")]
    if r["code"] != 1 or not line or "FAILED" not in line[0]:
        raise BenchError("check was not refused: %s" % line)
    return r["rss_kib"], line[0]


def dearest_answer():
    """The JSON within both bounds of ftrack_reply_parse that costs the
    most to build: empty objects (about 230 bytes of tree each) up to the
    container bound, then short strings (about 90 bytes each) up to the
    value bound, then one long string up to the HTTP cap."""
    n_obj = REPLY_CONTAINERS_MAX - 10
    n_str = REPLY_VALUES_MAX - 2 * n_obj - 10
    items = ["{}"] * n_obj + ['"%015d"' % i for i in range(n_str)]
    body = "[" + ",".join(items)
    room = HTTP_MAX_BODY - len(body) - 16
    return body + ',"' + "x" * room + '"]'


def bench_memory(P):
    n = P["sizes"][-1]
    paths, info = fixture_paths(n), load_info(n)
    mem_max, tasks_max = (unit_limit("ftrack-syncd.service", "MemoryMax"),
                          unit_limit("ftrack-syncd.service", "TasksMax"))
    mem_mib = int(mem_max.rstrip("M"))
    with World("memory") as w:
        slapd = Slapd(w, paths["ldif"])
        emu = Emulator(w)
        conf = write_config(w.path("d"), slapd, emu)
        base = gnu_time([DAEMON, "-c", conf, "check"])
        if base["code"] != 0:
            raise BenchError("ftrack-syncd check failed")
        zeros = 250 * 1024 * 1024
        bomb, bomb_line = abusive_check(w, conf, emu,
                                        {"zeros": zeros, "gzip": True})
        objs = "[" + ",".join(["{}"] * (HTTP_MAX_BODY // 3 - 1)) + "]"
        dear, dear_line = abusive_check(w, conf, emu, {"body": objs})
        within, within_line = abusive_check(w, conf, emu,
                                            {"body": dearest_answer()})
        emu.load(FtrackFixture(paths["drift"]))
        logins = 10 * P["storm_users"]
        pk = daemon_peak(w, slapd, emu, info["uids"][:P["storm_users"]],
                         logins)
    extra = max(bomb, dear, within) - base["rss_kib"]
    worst = pk["sum_kib"] + 2 * extra
    case = ("run, %s people, its reconcile (SIGUSR1) while %s logins arrive"
            % ("{:,}".format(n), "{:,}".format(logins)))
    mib = 1024.0
    rows = [
        row("check", "peak RSS", base["rss_kib"] / mib, "MiB"),
        row("check, ftrack answers 250 MiB of [0,0,...] gzipped",
            "peak RSS", bomb / mib, "MiB",
            compare="refused: %s" % bomb_line),
        row("check, ftrack answers 8 MiB of [{},{},...]", "peak RSS",
            dear / mib, "MiB", compare="refused: %s" % dear_line),
        row("check, ftrack answers the dearest JSON within the bounds",
            "peak RSS", within / mib, "MiB",
            compare="parsed, then refused: %s" % within_line),
        row(case, "the daemon's peak RSS", pk["main_kib"] / mib, "MiB"),
        row(case, "the reconcile child's peak RSS", pk["child_kib"] / mib,
            "MiB"),
        row(case, "both together (sampled every 10 ms)",
            pk["sum_kib"] / mib, "MiB",
            compare="+ 2 x the worst answer's %.0f MiB = %.0f MiB"
            % (extra / mib, worst / mib),
            target="<= MemoryMax=%s" % mem_max,
            verdict=worst / mib <= mem_mib),
        row(case, "tasks (threads of both)", pk["tasks"], "",
            target="<= TasksMax=%s" % tasks_max,
            verdict=pk["tasks"] <= int(tasks_max)),
    ]
    notes = [
        "MemoryMax= and TasksMax= are read from etc/systemd/"
        "ftrack-syncd.service. The worst answer is the largest extra peak "
        "of the three abusive checks over a good check; the daemon and its "
        "reconcile child could each get one at once, hence 2 x. The "
        "dearest JSON within the bounds: %d empty objects, then short "
        "strings up to %d values, then one long string up to the 8 MiB "
        "cap." % (REPLY_CONTAINERS_MAX - 10, REPLY_VALUES_MAX),
        "Peaks: /usr/bin/time for check; for run, VmHWM of the daemon and "
        "of its child, and the sum of their VmRSS sampled every 10 ms "
        "(what the unit's cgroup holds, less the page cache it may reclaim).",
    ]
    save("6-memory", "6. Memory and tasks (MemoryMax=, TasksMax=)", rows,
         notes, {"check_kib": base["rss_kib"], "bomb_kib": bomb,
                 "dear_kib": dear, "within_kib": within, "run": pk})


# ---------------------------------------------------------------------------
# 10. the transform program
# ---------------------------------------------------------------------------

IDENTITY_PY = """#!/usr/bin/python3
import json
import sys
for line in sys.stdin:
    r = json.loads(line)
    print(json.dumps({"id": r["id"], "login": r["login"], "user": r["user"]}),
          flush=True)
"""


def with_transform(w, conf):
    """A copy of conf (its own folder and state) with [mapping] transform =
    an identity program in Python."""
    prog = w.path("identity.py")
    with open(prog, "w", encoding="utf-8") as f:
        f.write(IDENTITY_PY)
    os.chmod(prog, 0o755)
    with open(conf, encoding="utf-8") as f:
        text = f.read()
    d = w.path("t")
    os.makedirs(os.path.join(d, "state"), mode=0o700, exist_ok=True)
    text = text.replace(os.path.dirname(conf) + "/", d + "/")
    for name in ("ldap.secret", "ftrack.secret"):
        shutil.copy2(os.path.join(os.path.dirname(conf), name),
                     os.path.join(d, name))
    out = os.path.join(d, "ftrack-syncd.conf")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n[mapping]\ntransform = %s\n" % prog)
    return out


def transform_run(w, conf, info):
    """One `reconcile --apply` (no change to make) under /usr/bin/time."""
    state = os.path.join(os.path.dirname(conf), "state")
    clear_state(state)
    r = gnu_time([DAEMON, "-c", conf, "reconcile", "--apply"],
                 log_path=w.path("transform.log"))
    if r["code"] != 0:
        raise BenchError("reconcile --apply exited %d (see %s)"
                         % (r["code"], w.path("transform.log")))
    with open(os.path.join(state, "reports", "last-apply.json"),
              encoding="utf-8") as f:
        check_plan(json.load(f), "exact", info)
    return r


def bench_transform(P):
    n = max(P["sizes"])
    paths, info = fixture_paths(n), load_info(n)
    fx = FtrackFixture(paths["exact"])
    raw = {"without": [], "with": [], "sync_without": [], "sync_with": [],
           "login_without": [], "login_with": []}
    with World("transform-%d" % n) as w:
        slapd = Slapd(w, paths["ldif"])
        emu = Emulator(w)
        conf = write_config(w.path("d"), slapd, emu)
        conf_t = with_transform(w, conf)
        emu.load(fx)
        for i in range(P["runs"][n]):
            for key, c in (("without", conf), ("with", conf_t)):
                emu.reset(False)
                r = transform_run(w, c, info)
                raw[key].append(r)
                log("transform %d, run %d, %s: %.2f s wall, %.2f s CPU"
                    % (n, i + 1, key, r["wall"], r["user"] + r["sys"]))
        user = next(u for u in sorted(emu.usernames()) if u != API_USER)
        for i in range(5):
            for key, c in (("sync_without", conf), ("sync_with", conf_t)):
                raw[key].append(timed([DAEMON, "-c", c, "sync", user],
                                      stdout=subprocess.DEVNULL))
        # first logins through a running daemon, without and with the
        # program (started by the warm-up login), in alternate rounds
        uids = info["uids"]
        k = P["login_users"]
        for i in range(P["login_rounds"]):
            users = uids[1 + i * k:1 + (i + 1) * k]
            for key, c in (("login_without", conf), ("login_with", conf_t)):
                raw[key].append(first_logins(w, emu, c, users, uids[0]))
    walls = {k: [r["wall"] for r in raw[k]] for k in ("without", "with")}
    added = [b - a for a, b in zip(walls["without"], walls["with"])]
    cpu = [r["user"] + r["sys"] for r in raw["with"]]
    sync_added = [b - a for a, b in zip(raw["sync_without"],
                                        raw["sync_with"])]
    rows = [
        row("%s users, no change" % "{:,}".format(n),
            "reconcile --apply wall, with an identity transform (Python) "
            "minus without", added, "s",
            compare="without: %s s, with: %s s"
            % (fmt_range(walls["without"]), fmt_range(walls["with"])),
            target="<= 1.5", verdict=statistics.median(added) <= 1.5),
        row("%s users, no change" % "{:,}".format(n),
            "CPU of the run with the transform (daemon and program)", cpu,
            "s"),
        row("one login", "`sync USER` wall, with minus without (the "
            "program started, one request)", [x * 1000 for x in sync_added],
            "ms"),
    ]
    for q in (50, 99):
        pair = [percentile(b, q) - percentile(a, q)
                for a, b in zip(raw["login_without"], raw["login_with"])]
        rows.append(row(
            "%d first logins, running daemon" % P["login_users"],
            "event sent -> user in ftrack, p%d with minus without" % q,
            pair, "ms", compare="without: %s ms" % fmt_range(
                [percentile(a, q) for a in raw["login_without"]])))
    notes = [
        "Each pair of runs: the same fixture (ftrack already matches LDAP: "
        "nothing to change), fresh state, `reconcile --apply` without and "
        "then with `[mapping] transform` = a Python identity program "
        "(json.loads, json.dumps, flush, per line).",
        "The daemon keeps one program per run and pipelines its requests "
        "(64 in flight), so the program's own cost (about 10 us a line in "
        "CPython) runs beside the daemon's; a long-running daemon starts it "
        "once, so a login adds one request and answer (the `sync` row also "
        "counts starting python3).",
        "First logins: %d rounds of %d people, each round a fresh `run` "
        "without and one with the transform, an empty ftrack each; one "
        "warm-up login first (it also starts the program), then each person "
        "alone, timed from the datagram to the daemon's `created` line; the "
        "rows give each round's percentile with minus without."
        % (P["login_rounds"], P["login_users"]),
    ]
    save("10-transform", "10. The transform program", rows, notes,
         {k: [x if isinstance(x, (float, list)) else x.get("wall")
              for x in v]
          for k, v in raw.items()})


# ---------------------------------------------------------------------------
# 7. a large queue: the socket reader never pauses
# ---------------------------------------------------------------------------

IN_MOVED_TO = 0x00000080


class Inotify:
    """The names renamed into one folder (inotify through ctypes)."""

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or self.libc.inotify_add_watch(
                self.fd, path.encode(), IN_MOVED_TO) < 0:
            raise BenchError("inotify on %s: errno %d"
                             % (path, ctypes.get_errno()))

    def names(self, timeout):
        """The names renamed in within timeout seconds (may be none)."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        out = []
        if not r:
            return out
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            off = 0
            while off + 16 <= len(buf):
                _, _, _, n = struct.unpack_from("iIII", buf, off)
                out.append(buf[off + 16:off + 16 + n].rstrip(b"\0").decode())
                off += 16 + n

    def close(self):
        os.close(self.fd)


def fill_queue(spool, n):
    """n queue files (people LDAP does not answer for), flushed to disk."""
    os.makedirs(spool, mode=0o700, exist_ok=True)
    for i in range(n):
        user = "queued%06d" % i
        name = user.encode().hex()
        fd = os.open(os.path.join(spool, name),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, ("FTSYNC1\nuser=%s\nservice=bench\n" % user).encode())
        os.close(fd)
    os.sync()


def unread_bytes(s):
    """What the peer has not yet taken of what s sent (SIOCOUTQ: for a
    unix datagram socket, the datagrams not yet received)."""
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ,
                                          b"\0" * 4))[0]


def bench_queue(P):
    """`run` started on a queue of queue_files files (LDAP and ftrack
    unreachable, so every one stays queued on back-off), probed by one
    login every queue_probe_ms: how long each waits on the socket (from
    its sendto until the reader took it: SIOCOUTQ of the probe's socket
    back to 0), which is the reader's pause, and until its journal file is
    in queue/ (that adds the journal's write and syncfs).  Covers the
    start-up scan and, past 60 s, the first periodic rescan."""
    n, secs, every = P["queue_files"], P["queue_seconds"], P["queue_probe_ms"]
    with World("queue") as w:
        dead = types.SimpleNamespace(
            uri="ldap://127.0.0.1:%d" % free_port(),
            url="http://127.0.0.1:%d" % free_port())
        conf = write_config(w.path("d"), dead, dead, {"login_cooldown": "0"})
        # errors only: a retry line per queued person (a warning) would
        # have this process parse hundreds of thousands of lines while it
        # times the probes
        with open(conf, encoding="utf-8") as f:
            text = f.read().replace("log_level = info", "log_level = error")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(text)
        spool = os.path.join(w.path("d"), "state", "queue")
        t0 = time.monotonic()
        fill_queue(spool, n)
        log("queue: %d files in %.1f s" % (n, time.monotonic() - t0))
        ino = Inotify(spool)
        d = Daemon(w, conf)
        waits, taken, lost, sent = [], [], 0, {}
        start = time.monotonic()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            i = 0
            while time.monotonic() - start < secs:
                user = "probe%06d" % i
                i += 1
                name = user.encode().hex()
                t = time.monotonic()
                try:
                    d.login(user, s)
                except OSError:
                    lost += 1  # the socket's queue is full: the reader stalls
                    continue
                sent[name] = t
                deadline = t + 30
                while unread_bytes(s) > 0 and time.monotonic() < deadline:
                    time.sleep(0.0002)
                taken.append((t, time.monotonic()))
                while name in sent and time.monotonic() < deadline:
                    for got in ino.names(0.5):
                        if got in sent:
                            waits.append((sent.pop(got), time.monotonic()))
                if name in sent:
                    raise BenchError("probe %s never journaled" % user)
                rest = every / 1000.0 - (time.monotonic() - t)
                if rest > 0:
                    time.sleep(rest)
        ino.close()
        d.stop()
    case = ("run on %s queued files, a login every %d ms for %d s"
            % ("{:,}".format(n), every, secs))
    rows = []
    for what, pairs, target in (
            ("the reader's longest pause (a login sent until read)",
             taken, 50),
            ("a login's longest wait until journaled (+ write, syncfs)",
             waits, None)):
        ms = [(b - a) * 1000.0 for a, b in pairs]
        worst = max(ms)
        at = pairs[ms.index(worst)][0] - start
        rows.append(row(
            case, what, worst, "ms",
            compare="at %.1f s after the socket opened; p99 %.1f ms, "
            "p50 %.2f ms, %d logins, %d refused (full queue)"
            % (at, percentile(ms, 99), percentile(ms, 50), len(ms), lost),
            target=None if target is None else "<= %d ms" % target,
            verdict=None if target is None
            else worst <= target and lost == 0))
    notes = [
        "The daemon starts on the queue (LDAP and ftrack unreachable: "
        "every file stays, on back-off); a probe login is sent every %d ms "
        "and timed until the reader took it off the socket (the probe "
        "socket's SIOCOUTQ back to 0: the reader's pause) and until its "
        "journal file appears in queue/ (inotify; that adds the journal's "
        "write and its syncfs, which a burst of logins shares). The run "
        "covers the start-up scan and the first periodic rescan (60 s)."
        % every,
    ]
    save("7-queue", "7. A large queue: the socket reader never pauses",
         rows, notes, {"taken_ms": [(b - a) * 1000.0 for a, b in taken],
                       "waits_ms": [(b - a) * 1000.0 for a, b in waits],
                       "refused": lost})


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# 11. groups and roles (issue 15)
# ---------------------------------------------------------------------------

GROUPS_BASE = "ou=groups," + SUFFIX
N_GROUPS = 1000
N_MAPPED = 20
N_ROLES = 3  # of the mapped groups, the last N_ROLES go to [role_map]
ROLE_NAMES = ("Supervisor", "Project Manager", "Restricted User")


def group_sizes(n):
    """The mapped groups' sizes: geometric from 10 to 20,000 (a fifth of N
    when N is smaller)."""
    hi = min(20000, n // 5)
    return [int(round(10 * (hi / 10.0) ** (i / (N_MAPPED - 1.0))))
            for i in range(N_MAPPED)]


def group_fixture(n):
    """CACHE/groups-N.ldif: people-N.ldif plus 1,000 groupOfNames: the 20
    mapped ones (gm00..gm19, as LDAP holds them now), their 20 previous
    states (gp00..gp19: 1% of each group's members differ, at least one;
    what the sync applied last time) and 960 small unmapped ones.
    Cached with a stamp of this file; returns (path, {name: [uid]})."""
    src = fixture_paths(n)["ldif"]
    out = os.path.join(CACHE, "groups-%d.ldif" % n)
    meta = os.path.join(CACHE, "groups-%d.json" % n)
    with open(os.path.abspath(__file__), "rb") as f:
        stamp = "%s/%d" % (hashlib.sha256(f.read()).hexdigest()[:16],
                           os.path.getmtime(src))
    try:
        with open(meta, encoding="utf-8") as f:
            m = json.load(f)
        if m.get("stamp") == stamp and os.path.exists(out):
            return out, m["groups"]
    except (OSError, ValueError):
        pass
    uids = load_info(n)["uids"]
    rng = random.Random("groups/%d" % n)
    groups = {}
    for i, size in enumerate(group_sizes(n)):
        now = rng.sample(uids, size)
        k = max(1, size // 200)  # 0.5% out, 0.5% in: 1% of the pairs
        inside = set(now)
        gone = rng.sample(now, k)
        came = [u for u in rng.sample(uids, 3 * k + 10)
                if u not in inside][:k]
        prev = [u for u in now if u not in set(gone)] + came
        groups["gm%02d" % i] = now
        groups["gp%02d" % i] = prev
    for i in range(N_GROUPS - 2 * N_MAPPED):
        groups["gx%03d" % i] = rng.sample(uids, rng.randint(5, 20))
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        with open(src, encoding="utf-8") as s:
            shutil.copyfileobj(s, f)
        for name, members in groups.items():
            f.write("dn: cn=%s,%s\nobjectClass: groupOfNames\ncn: %s\n"
                    % (name, GROUPS_BASE, name))
            for u in members:
                f.write("member: uid=%s,%s\n" % (u, PEOPLE))
            f.write("\n")
    os.replace(out + ".tmp", out)
    with open(meta + ".tmp", "w", encoding="utf-8") as f:
        json.dump({"stamp": stamp, "groups": groups}, f)
    os.replace(meta + ".tmp", meta)
    return out, groups


def ftrack_group_rows():
    return [{"id": str(uuid.UUID(int=i + 1, version=4)),
             "name": "Team %02d" % i, "local": False}
            for i in range(N_MAPPED - N_ROLES)]


def groups_config(w, conf, prefix, name):
    """A copy of conf (own folder and state) with [groups] and the 20
    mapped lines: ftrack group "Team NN" (a role for the last three) =
    LDAP group PREFIX+NN."""
    with open(conf, encoding="utf-8") as f:
        text = f.read()
    d = w.path(name)
    os.makedirs(os.path.join(d, "state"), mode=0o700, exist_ok=True)
    text = text.replace(os.path.dirname(conf) + "/", d + "/")
    for s in ("ldap.secret", "ftrack.secret"):
        shutil.copy2(os.path.join(os.path.dirname(conf), s),
                     os.path.join(d, s))
    lines = ["", "[groups]", "search_base = %s" % GROUPS_BASE,
             "search_filter = (objectClass=groupOfNames)",
             "member_attribute = member", "", "[group_map]"]
    for i in range(N_MAPPED - N_ROLES):
        lines.append("Team %02d = %s%02d" % (i, prefix, i))
    lines += ["", "[role_map]"]
    for j, role in enumerate(ROLE_NAMES):
        lines.append("%s = %s%02d" % (role, prefix, N_MAPPED - N_ROLES + j))
    out = os.path.join(d, "ftrack-syncd.conf")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n".join(lines) + "\n")
    return out


def groups_run(w, conf, apply):
    """One reconcile (dry run, or --apply) under /usr/bin/time; its
    result, HTTP requests and report."""
    state = os.path.join(os.path.dirname(conf), "state")
    clear_state(state)
    w_emu = w.emu
    w_emu.reset(False)
    argv = [DAEMON, "-c", conf, "reconcile"] + (["--apply"] if apply else [])
    r = gnu_time(argv, log_path=w.path("groups.log"))
    if r["code"] not in (0, 4):
        raise BenchError("%s exited %d (see %s)"
                         % (" ".join(argv[3:]), r["code"],
                            w.path("groups.log")))
    r["requests"] = w_emu.stats()["requests"]
    name = "last-apply.json" if apply else "last-dry-run.json"
    rp = os.path.join(state, "reports", name)
    r["report"] = {}
    if os.path.exists(rp):
        with open(rp, encoding="utf-8") as f:
            r["report"] = json.load(f)
    return r


def group_changes(rep):
    """The report's group and role changes, counted by action."""
    out = dict.fromkeys(("group_add", "group_remove", "role_grant",
                         "role_revoke"), 0)
    for c in (rep.get("groups") or {}).get("changes", []):
        out[c.get("action")] = out.get(c.get("action"), 0) + 1
    return out


def bench_groups(P):
    n = max(P["sizes"])
    ldif, groups = group_fixture(n)
    fx = FtrackFixture(fixture_paths(n)["exact"])
    sizes = group_sizes(n)
    raw = {"without": [], "with": [], "apply": {}, "login_without": [],
           "login_with": [], "searches": {}, "requests": {}}
    with World("groups-%d" % n) as w:
        slapd = Slapd(w, ldif)
        emu = Emulator(w)
        w.emu = emu
        conf = write_config(w.path("d"), slapd, emu)
        conf_prev = groups_config(w, conf, "gp", "prev")
        conf_g = groups_config(w, conf, "gm", "g")
        emu.load(fx)
        emu.control("POST", "entities/Group", ftrack_group_rows())
        # what the sync applied last time: the previous membership
        t0 = time.perf_counter()
        r = groups_run(w, conf_prev, True)
        setup = time.perf_counter() - t0
        log("groups %d: previous state applied in %.1f s: %s"
            % (n, setup, group_changes(r["report"])))
        for i in range(P["groups_runs"]):
            for key, c in (("without", conf), ("with", conf_g)):
                r = groups_run(w, c, False)
                raw[key].append(r)
                log("groups %d, dry run %d, %s groups: %.2f s wall, "
                    "%d requests, %s"
                    % (n, i + 1, key, r["wall"], r["requests"],
                       group_changes(r["report"])))
        want = raw["with"][0]["report"]
        if not any(group_changes(want).values()):
            raise BenchError("the drift planned no group change: %s"
                             % want.get("counts"))
        for key, c in (("without", conf), ("with", conf_g)):
            r = groups_run(w, c, True)
            raw["apply"][key] = r
            log("groups %d, --apply, %s groups: %.2f s wall, %d requests"
                % (n, key, r["wall"], r["requests"]))
        # first logins: members of the largest mapped group
        big = groups["gm%02d" % (N_MAPPED - N_ROLES - 1)]
        k = P["login_users"]
        for i in range(P["groups_login_rounds"]):
            users = big[1 + i * k:1 + (i + 1) * k]
            for key, c in (("login_without", conf), ("login_with", conf_g)):
                mark = {}
                one = first_logins(
                    w, emu, c, users, big[0],
                    lambda: mark.update(s0=slapd.search_ops(),
                                        e0=emu.stats()["requests"]),
                    lambda: emu.control("POST", "entities/Group",
                                        ftrack_group_rows()))
                raw[key].append(one)
                raw["searches"].setdefault(key, []).append(
                    slapd.searches_since(mark["s0"]) / len(users))
                raw["requests"].setdefault(key, []).append(
                    (emu.stats()["requests"] - mark["e0"]) / len(users))
                log("groups first login, round %d, %s: p50 %.2f ms"
                    % (i + 1, key, percentile(one, 50)))
    walls = {k: [r["wall"] for r in raw[k]] for k in ("without", "with")}
    reqs = {k: [r["requests"] for r in raw[k]] for k in ("without", "with")}
    wr = [b / a for a, b in zip(walls["without"], walls["with"])]
    ch = group_changes(raw["with"][0]["report"])
    tm = raw["with"][0]["report"].get("timings") or {}
    case = ("%s users, 1,000 groups, 20 mapped, 1%% membership drift"
            % "{:,}".format(n))
    ap = raw["apply"]
    rows = [
        row(case, "reconcile (dry run) wall, with groups / without", wr, "x",
            compare="without: %s s, with: %s s"
            % (fmt_range(walls["without"]), fmt_range(walls["with"])),
            target="<= 1.3", verdict=statistics.median(wr) <= 1.3),
        row(case, "CPU of the daemon in the dry run, with groups",
            [r["user"] + r["sys"] for r in raw["with"]], "s",
            compare="without: %s s" % fmt_range(
                [r["user"] + r["sys"] for r in raw["without"]])),
        row(case, "HTTP requests of the dry run, with groups", reqs["with"],
            "", compare="without: %s" % fmt_range(reqs["without"], "%d")),
        row(case, "reconcile --apply wall, with groups / without",
            ap["with"]["wall"] / ap["without"]["wall"], "x",
            compare="without: %.2f s (%d requests), with: %.2f s "
            "(%d requests)" % (ap["without"]["wall"],
                               ap["without"]["requests"], ap["with"]["wall"],
                               ap["with"]["requests"]),
            target="<= 1.3",
            verdict=ap["with"]["wall"] / ap["without"]["wall"] <= 1.3),
    ]
    for q in (50,):
        rows.append(row(
            "%d first logins, running daemon" % P["login_users"],
            "event sent -> user in ftrack, p%d, with groups" % q,
            [percentile(x, q) for x in raw["login_with"]], "ms",
            compare="without: %s ms" % fmt_range(
                [percentile(x, q) for x in raw["login_without"]])))
    for what in ("searches", "requests"):
        rows.append(row(
            "%d first logins, running daemon" % P["login_users"],
            "%s per first login, with groups"
            % ("LDAP searches" if what == "searches" else "HTTP requests"),
            raw[what]["login_with"], "",
            compare="without: %s" % fmt_range(raw[what]["login_without"])))
    notes = [
        "Fixture: the %s people of bench 4 plus 1,000 groupOfNames under "
        "ou=groups: the 20 mapped ones (sizes %s), their previous states (1%% "
        "of each group's members differ, at least one) and 960 unmapped "
        "groups of 5 to 20 members. 17 map to ftrack groups (Team 00..16), "
        "the 3 largest to the roles %s. Before timing, a reconcile --apply "
        "mapped to the previous states made ftrack hold what the sync added "
        "last time (%.0f s, untimed)."
        % ("{:,}".format(n), ", ".join(str(s) for s in sizes),
           ", ".join(ROLE_NAMES), setup),
        "Each pair: fresh state, the same ftrack (users match LDAP), "
        "`reconcile` (dry run) without [groups] and then with; the plan "
        "with groups: %s; the daemon's split with groups: %s. Then one "
        "`--apply` each (single samples)."
        % (", ".join("%s %d" % kv for kv in ch.items()),
           ", ".join("%s %.2f s" % (k, v) for k, v in tm.items()
                     if isinstance(v, (int, float)))),
        "First logins: %d rounds of %d members of the largest mapped ftrack "
        "group, each round a fresh `run` without and one with groups, an "
        "empty ftrack (plus the 17 groups) each; one warm-up login first; "
        "LDAP searches by cn=Monitor, HTTP requests by the emulator."
        % (P["groups_login_rounds"], P["login_users"]),
    ]
    save("11-groups", "11. Groups and roles", rows, notes,
         {"without": walls["without"], "with": walls["with"],
          "requests": reqs, "login_with": raw["login_with"],
          "login_without": raw["login_without"]})


BENCHES = {
    "first-login": bench_first_login,
    "storm": bench_storm,
    "reconcile": bench_reconcile,
    "naive": bench_naive,
    "memory": bench_memory,
    "transform": bench_transform,
    "queue": bench_queue,
    "groups": bench_groups,
}


def main():
    ap = argparse.ArgumentParser(
        description="ftrack-ldap-sync benchmarks (issue 6)")
    ap.add_argument("--quick", action="store_true",
                    default=os.environ.get("BENCH_QUICK") == "1")
    ap.add_argument("what", choices=["fixtures", "report"] + sorted(BENCHES))
    ap.add_argument("--seconds", type=float, default=None,
                    help="report: the run's duration")
    ap.add_argument("--command", default="make bench",
                    help="report: the command that ran")
    ap.add_argument("--python-ldap", default=None,
                    help="naive: a python3 that has python3-ldap")
    a = ap.parse_args()
    P = dict(QUICK if a.quick else FULL)
    P["quick"] = a.quick
    P["python_ldap"] = a.python_ldap

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    try:
        if a.what == "fixtures":
            make_fixtures(sorted(set(P["sizes"]
                                     + [P["login_fixture"],
                                        P["naive_fixture"]])))
        elif a.what == "report":
            write_report(P, a.seconds, a.command)
        else:
            BENCHES[a.what](P)
    except BenchError as exc:
        log("%s: FAILED: %s" % (a.what, exc))
        return 1
    except (OSError, ValueError, KeyError, http.client.HTTPException,
            subprocess.SubprocessError) as exc:
        log("%s: FAILED: %s: %s" % (a.what, type(exc).__name__, exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
