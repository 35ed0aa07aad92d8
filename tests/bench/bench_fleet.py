#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The fleet benchmark (issue 14): relays and a provisioner, driven by run.sh.

Usage::

    bench_fleet.py [--quick] fixtures | run
    bench_fleet.py gen SPEC OUT        (the load generator; run by ``run``)

``run`` starts a throwaway slapd of 2,000 people, the ftrack emulator and
``ftrack-syncd run`` in provisioner mode (HTTPS on 127.0.0.1, client
certificates of a throwaway CA made by tests/lib/ca.sh), plus a few real
relays (``mode = relay``, fed by datagrams as pam_ftrack sends them).  The
load generator (this file's ``gen``, a separate process so that it has
its own core and interpreter) plays 1,000 relay hosts, each with its own
client certificate (EC P-256, DNS subjectAltName = its host name) and its
own loopback source address; the hosts the real relays stand for send
their logins to those relays instead.  10,000 logins by 2,000 people in
10 s; twice: once with the seat caps raised above 2,000, once with the
defaults, where what is held is counted and ``sync --held`` releases it.

Results go to build/bench/results/9-fleet.json, which bench.py's
``report`` puts in build/bench/results.md with the other sections.  As in
bench.py nothing asserts a time: the benchmark fails only when something
it measures did not happen (a person never provisioned, a login lost).
Standard library only (and the openssl command for the certificates).
"""

import argparse
import asyncio
import http.client
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import bench
from bench import BenchError, log, percentile, row

HERE = bench.HERE
CA_SH = os.path.join(bench.ROOT, "tests", "lib", "ca.sh")
PKI = os.path.join(bench.CACHE, "fleet-pki")
PKI_STAMP = os.path.join(PKI, "stamp.json")
PKI_VERSION = 2
PKI_MAX_AGE = 20 * 86400  # ca.sh's certificates last 30 days
DOMAIN = "ws.example.com"

FULL = {"people": 2000, "hosts": 1000, "logins": 10000, "seconds": 10.0,
        "relays": 4}
QUICK = {"people": 600, "hosts": 100, "logins": 1500, "seconds": 5.0,
         "relays": 2}
RAISED = 5000  # the seat caps of the first run: above the people
DEFAULT_SEATS_TOTAL = 500  # syncd/config.c
DEFAULT_SEATS_HOST = 20

OUTCOME = re.compile(r"^ftrack-syncd: \w+: "
                     r"(created|updated|linked|renamed|reactivated|skipped|"
                     r"retry|failed|not-ldap|unchanged|held) '([^']*)'")
GOOD = ("created", "updated", "linked", "renamed", "reactivated",
        "unchanged", "skipped")


def host_name(i):
    return "h%04d.fleet.%s" % (i, DOMAIN)


def host_addr(i):
    """A loopback source address of its own for host i (127.1.0.2 on)."""
    return "127.1.%d.%d" % ((i + 2) // 250, (i + 2) % 250)


# ---------------------------------------------------------------------------
# fixtures: the people and the PKI (cached in build/bench-cache/)
# ---------------------------------------------------------------------------


def pki_ready(nhosts):
    try:
        with open(PKI_STAMP, encoding="utf-8") as f:
            st = json.load(f)
    except (OSError, ValueError):
        return False
    return (st.get("version") == PKI_VERSION and st.get("hosts", 0) >= nhosts
            and time.time() - st.get("made", 0) < PKI_MAX_AGE)


def make_pki(nhosts):
    """tests/lib/ca.sh's CA and server certificate (RSA 2048), a second
    server certificate with an EC P-256 key (server-ec), then one EC
    client certificate per host, all signed by that CA (SAN = its host
    name)."""
    if pki_ready(nhosts):
        log("fleet PKI: %d host certificates cached in %s" % (nhosts, PKI))
        return
    shutil.rmtree(PKI, ignore_errors=True)
    os.makedirs(os.path.join(PKI, "hosts"), mode=0o700)
    bench.run(["bash", CA_SH, PKI])
    t0 = time.monotonic()
    old = os.umask(0o077)
    try:
        wait_openssl(subprocess.Popen(
            ec_cert_argv(os.path.join(PKI, "server-ec"), "localhost",
                         "DNS:localhost,IP:127.0.0.1", "serverAuth"),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE))
        procs = []
        for i in range(nhosts):
            h, base = host_name(i), os.path.join(PKI, "hosts", "h%04d" % i)
            argv = ec_cert_argv(base, h, "DNS:" + h, "clientAuth")
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE))
            if len(procs) >= 4:
                wait_openssl(procs.pop(0))
        for p in procs:
            wait_openssl(p)
    finally:
        os.umask(old)
    with open(PKI_STAMP, "w", encoding="utf-8") as f:
        json.dump({"version": PKI_VERSION, "hosts": nhosts,
                   "made": time.time()}, f)
    log("fleet PKI: %d host certificates made in %.1f s"
        % (nhosts, time.monotonic() - t0))


def ec_cert_argv(base, cn, san, usage):
    """openssl req: a P-256 key (base.key) and its certificate (base.crt),
    signed by the CA of tests/lib/ca.sh."""
    return ["openssl", "req", "-x509", "-new", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=" + cn, "-addext", "subjectAltName=" + san,
            "-addext", "basicConstraints=CA:FALSE",
            "-addext", "keyUsage=digitalSignature",
            "-addext", "extendedKeyUsage=" + usage,
            "-CA", os.path.join(PKI, "ca", "ca.crt"),
            "-CAkey", os.path.join(PKI, "ca", "ca.key"),
            "-days", "30", "-keyout", base + ".key", "-out", base + ".crt"]


def wait_openssl(p):
    err = p.communicate()[1]
    if p.returncode != 0:
        raise BenchError("openssl req exited %d: %s"
                         % (p.returncode, err[-500:].decode(errors="replace")))


def make_fixtures(P):
    bench.make_fixtures([P["people"]])
    make_pki(P["hosts"])


# ---------------------------------------------------------------------------
# the schedule: who logs in where and when
# ---------------------------------------------------------------------------


def schedule(P, uids):
    """[(offset s, host, user)]: logins evenly spaced over the window,
    round-robin over the hosts (each host one login every hosts/rate s),
    the people shuffled with a fixed seed, each about logins/people
    times and every one at least once."""
    n, people = P["logins"], uids[:P["people"]]
    rnd = random.Random(14)
    who = [people[i % len(people)] for i in range(n)]
    rnd.shuffle(who)
    step = P["seconds"] / n
    return [(k * step, k % P["hosts"], who[k]) for k in range(n)]


# ---------------------------------------------------------------------------
# the load generator (a process of its own)
# ---------------------------------------------------------------------------


class HostStats:
    def __init__(self):
        self.retries = 0
        self.errors = []
        self.connects = 0
        self.posts = 0


async def read_answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    body = await reader.readexactly(n) if n else b""
    return status, hdrs, body


def login_event(i, user):
    return {"user": user, "service": "sshd",
            "rhost": "10.20.%d.%d" % (i // 250, i % 250), "tty": "ssh",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


async def one_host(spec, i, logins, t0, out, st):
    """A host as a relay behaves: each login joins its queue at its time
    (the time recorded as sent); one connection, kept alive, POSTs what
    is queued (at most 100 events) whenever it is free, and resends on a
    429, a 503 or a cut."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(os.path.join(spec["pki"], "ca.crt"))
    base = os.path.join(spec["pki"], "hosts", "h%04d" % i)
    ctx.load_cert_chain(base + ".crt", base + ".key")
    queue, more = [], asyncio.Event()

    async def feed():
        for k, off, user in logins:
            delay = t0 + off - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.append((k, time.monotonic(), login_event(i, user)))
            more.set()

    feeder = asyncio.ensure_future(feed())
    reader = writer = None
    done = attempt = 0
    while done < len(logins):
        if not queue:
            more.clear()
            await more.wait()
        batch = queue[:100]
        body = json.dumps({"events": [e for _, _, e in batch]})
        req = ("POST /v1/logins HTTP/1.1\r\nHost: localhost:%d\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n"
               "\r\n%s" % (spec["port"], len(body), body)).encode("utf-8")
        attempt += 1
        try:
            if writer is None:
                st.connects += 1
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", spec["port"], ssl=ctx,
                    server_hostname="localhost",
                    local_addr=(host_addr(i), 0))
            writer.write(req)
            status, hdrs, data = await asyncio.wait_for(read_answer(reader),
                                                        30)
            if hdrs.get("connection", "").lower() == "close":
                writer.close()
                writer = None
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, asyncio.TimeoutError,
                ValueError, IndexError) as exc:
            if writer is not None:
                writer.close()
            writer = None
            st.errors.append("%s: %s" % (type(exc).__name__, exc))
            status, data = 0, b""
        now = time.monotonic()
        if status == 202:
            try:
                results = json.loads(data)["results"]
            except (ValueError, KeyError, TypeError):
                results = []
            if len(results) != len(batch):
                results = ["unparsable"] * len(batch)
        elif attempt >= 20:
            results = ["error %d" % status] * len(batch)
        else:
            st.retries += 1
            wait = float(hdrs.get("retry-after", "1")) if status else 0.3
            await asyncio.sleep(wait * (0.8 + 0.4 * random.random()))
            continue
        for (k, sent, _), result in zip(batch, results):
            out.append([k, sent, now, status, result])
        st.posts += 1
        del queue[:len(batch)]
        done += len(batch)
        attempt = 0
    await feeder
    if writer is not None:
        writer.close()


async def one_relay(sock_path, logins, t0, out):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        for k, off, user in logins:
            delay = t0 + off - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            msg = ("FTSYNC1\nuser=%s\nservice=bench\nrhost=10.1.2.3\n"
                   "tty=ssh\n" % user).encode("utf-8")
            sent = time.monotonic()
            try:
                s.sendto(msg, sock_path)
                out.append([k, sent, sent, -1, "sent"])
            except OSError as exc:
                out.append([k, sent, sent, 0, "datagram: %s" % exc])
    finally:
        s.close()


async def generate(spec):
    per_host = {}
    for k, (off, h, user) in enumerate(spec["schedule"]):
        per_host.setdefault(h, []).append((k, off, user))
    relays = {int(h): p for h, p in spec["relays"].items()}
    out, stats = [], {}
    t0 = time.monotonic() + 0.5
    tasks = []
    for h, logins in sorted(per_host.items()):
        if h in relays:
            tasks.append(one_relay(relays[h], logins, t0, out))
        else:
            stats[h] = HostStats()
            tasks.append(one_host(spec, h, logins, t0, out, stats[h]))
    await asyncio.gather(*tasks)
    errors = [e for s in stats.values() for e in s.errors]
    return {"t0": t0, "end": time.monotonic(), "logins": out,
            "retries": sum(s.retries for s in stats.values()),
            "connects": sum(s.connects for s in stats.values()),
            "posts": sum(s.posts for s in stats.values()),
            "errors": len(errors), "first_errors": errors[:5]}


def gen_main(spec_path, out_path):
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    cpu0 = os.times()
    res = asyncio.run(generate(spec))
    cpu1 = os.times()
    res["cpu_s"] = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    with open(out_path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(res, f)
    os.replace(out_path + ".tmp", out_path)
    return 0


# ---------------------------------------------------------------------------
# the provisioner and the relays
# ---------------------------------------------------------------------------


def append_conf(conf, lines):
    with open(conf, "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


class Syncd:
    """`ftrack-syncd run` (any mode), its log read line by line with the
    arrival time of each person's first outcome."""

    def __init__(self, world, conf, name):
        self.conf, self.name = conf, name
        self.state = os.path.join(os.path.dirname(conf), "state")
        self.cv = threading.Condition()
        self.outcomes = {}
        self.counts = {}
        self.bad = []
        self.lines = 0
        self.logf = open(world.path(name + ".log"), "ab")
        self.proc = world.spawn([bench.DAEMON, "-c", conf, "run"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            t = time.monotonic()
            self.logf.write(raw)
            m = OUTCOME.match(raw.decode("utf-8", errors="replace"))
            with self.cv:
                self.lines += 1
                if m is None:
                    continue
                word, user = m.group(1), m.group(2)
                self.counts[word] = self.counts.get(word, 0) + 1
                if word in ("retry", "failed", "not-ldap"):
                    self.bad.append(raw.decode(errors="replace").strip())
                if word != "held":
                    self.outcomes.setdefault(user, (word, t))
                self.cv.notify_all()
        self.logf.flush()

    def queued(self, sub=None):
        """Event files in queue/ (or queue/SUB/)."""
        d = os.path.join(self.state, "queue", *([sub] if sub else []))
        try:
            return [f for f in os.listdir(d) if not f.startswith(".")
                    and os.path.isfile(os.path.join(d, f))]
        except FileNotFoundError:
            return []

    def cpu_s(self):
        """utime + stime of the process (all its threads), seconds."""
        with open("/proc/%d/stat" % self.proc.pid, encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        bench.stop_process(self.proc, timeout=10)
        self.reader.join(5)
        self.logf.close()


class FdSampler(threading.Thread):
    """Every 20 ms: the open fds of a process and its sockets; the peaks."""

    def __init__(self, pid):
        threading.Thread.__init__(self, daemon=True)
        self.pid, self.done = pid, threading.Event()
        self.peak_fds = self.peak_rss = 0

    def run(self):
        while not self.done.is_set():
            try:
                n = len(os.listdir("/proc/%d/fd" % self.pid))
            except OSError:
                n = 0
            self.peak_fds = max(self.peak_fds, n)
            self.peak_rss = max(self.peak_rss,
                                bench.proc_field(self.pid, "VmRSS"))
            time.sleep(0.02)

    def stop(self):
        self.done.set()
        self.join(5)


def https_ok(port, path, timeout=2):
    ctx = ssl.create_default_context(cafile=os.path.join(PKI, "ca.crt"))
    c = http.client.HTTPSConnection("localhost", port, context=ctx,
                                    timeout=timeout)
    try:
        c.request("GET", path)
        return c.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        c.close()


def metrics(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode("utf-8", errors="replace")
    finally:
        c.close()
    out = {}
    for line in text.splitlines():
        if line.startswith("ftrack_syncd_"):
            k, _, v = line.rpartition(" ")
            try:
                out[k[len("ftrack_syncd_"):]] = float(v)
            except ValueError:
                pass
    return out


def start_provisioner(w, name, slapd, emu, caps, server):
    d = w.path(name)
    conf = bench.write_config(d, slapd, emu)
    port, mport = bench.free_port(), bench.free_port()
    lines = ["mode = provisioner", "[provisioner]",
             "listen = 127.0.0.1:%d" % port,
             "metrics_listen = 127.0.0.1:%d" % mport,
             "tls_cert_file = %s/%s.crt" % (PKI, server),
             "tls_key_file = %s/%s.key" % (PKI, server),
             "client_ca_file = %s/ca.crt" % PKI,
             "allow_hosts = *.fleet.%s" % DOMAIN]
    if caps is not None:
        lines += ["new_seats_per_host = %d" % caps,
                  "new_seats_total = %d" % caps]
    append_conf(conf, lines)
    p = Syncd(w, conf, name)
    p.port, p.mport = port, mport
    deadline = time.monotonic() + 20
    while not https_ok(port, "/v1/health"):
        if p.proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError("the provisioner did not answer /v1/health "
                             "(see %s.log)" % name)
        time.sleep(0.1)
    return p


def start_relay(w, name, host, port):
    d = w.path(name)
    os.makedirs(os.path.join(d, "state"), mode=0o700)
    conf = os.path.join(d, "relay.conf")
    base = os.path.join(PKI, "hosts", "h%04d" % host)
    text = ["; written by tests/bench/bench_fleet.py", "[daemon]",
            "mode = relay", "socket = %s/notify.sock" % d,
            "state_dir = %s/state" % d, "log_target = stderr",
            "log_level = info", "[relay]",
            "upstream = https://127.0.0.1:%d" % port,
            "tls_cert_file = %s.crt" % base, "tls_key_file = %s.key" % base,
            "tls_ca_file = %s/ca.crt" % PKI, "timeout = 10", ""]
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(text))
    r = Syncd(w, conf, name)
    r.sock = os.path.join(d, "notify.sock")
    deadline = time.monotonic() + 15
    while not os.path.exists(r.sock):
        if r.proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError("relay %s did not start (see %s.log)"
                             % (name, name))
        time.sleep(0.05)
    return r


def wait_for(what, cond, timeout, procs):
    deadline = time.monotonic() + timeout
    while not cond():
        for p in procs:
            if p.proc.poll() is not None:
                raise BenchError("%s exited %s while waiting for %s"
                                 % (p.name, p.proc.returncode, what))
        if time.monotonic() > deadline:
            raise BenchError("timed out waiting for %s" % what)
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# one run
# ---------------------------------------------------------------------------


def fleet_run(w, P, tag, slapd, emu, sched, caps, server):
    """One storm of sched against a fresh provisioner (caps: both seat
    caps, None: the defaults) and fresh relays.  Returns the figures."""
    people = sorted({u for _, _, u in sched})
    emu.reset(True)
    prov = start_provisioner(w, "prov-" + tag, slapd, emu, caps, server)
    relays = {h: start_relay(w, "relay-%s-%d" % (tag, h), h, prov.port)
              for h in range(P["relays"])}
    procs = [prov] + list(relays.values())
    spec = {"port": prov.port, "pki": PKI,
            "schedule": [list(x) for x in sched],
            "relays": {str(h): r.sock for h, r in relays.items()}}
    spec_path, out_path = w.path("spec-%s.json" % tag), w.path("gen-%s.json"
                                                               % tag)
    with open(spec_path, "w", encoding="utf-8") as f:
        json.dump(spec, f)
    fds = FdSampler(prov.proc.pid)
    fds.start()
    s0, c0 = slapd.search_ops(), prov.cpu_s()
    est0 = emu.stats()
    e0 = est0["requests"]
    gen_log = open(w.path("gen-%s.log" % tag), "ab")
    gen = w.spawn([sys.executable, os.path.abspath(__file__), "gen",
                   spec_path, out_path], stdout=gen_log, stderr=gen_log)
    gen_log.close()
    try:
        gen.wait(P["seconds"] * 20 + 120)
    except subprocess.TimeoutExpired as exc:
        raise BenchError("the load generator did not finish") from exc
    if gen.returncode != 0:
        raise BenchError("the load generator exited %d (see gen-%s.log)"
                         % (gen.returncode, tag))
    with open(out_path, encoding="utf-8") as f:
        g = json.load(f)

    def settled():
        with prov.cv:
            done = len([u for u in people if u in prov.outcomes])
        held = len(prov.queued("held"))
        return (done + held >= len(people) and not prov.queued()
                and not any(r.queued() for r in relays.values()))

    wait_for("every login settled", settled, 300, procs)
    t_settled = time.monotonic()
    cpu = prov.cpu_s() - c0
    est = emu.stats()
    requests = est["requests"] - e0
    searches = slapd.searches_since(s0)
    fds.stop()
    m = metrics(prov.mport)
    hwm = bench.proc_field(prov.proc.pid, "VmHWM")
    ops = {k: v - est0.get("operations", {}).get(k, 0)
           for k, v in est.get("operations", {}).items()}
    res = {"tag": tag, "caps": caps, "server": server, "cpu_s": cpu,
           "requests": requests,
           "operations": ops, "user_count": emu.user_count() - 1,
           "searches": searches, "vmhwm_kib": hwm, "peak_fds": fds.peak_fds,
           "gen": {k: g[k] for k in ("retries", "connects", "posts", "errors",
                                     "first_errors", "cpu_s")},
           "window_s": g["end"] - g["t0"], "settled_s": t_settled - g["t0"],
           "metrics": {k: v for k, v in m.items()
                       if k.startswith(("prov_", "held", "events_",
                                        "seat"))}}
    statuses = {}
    for _, _, _, status, result in g["logins"]:
        key = "%s %s" % (status, result) if status > 0 else result
        statuses[key] = statuses.get(key, 0) + 1
    res["answers"] = statuses
    res["answer_ms"] = [(b - a) * 1000.0 for _, a, b, st, _ in g["logins"]
                        if st == 202]
    first = {}
    for k, sent, _, _, _ in sorted(g["logins"], key=lambda x: x[1]):
        first.setdefault(sched[k][2], sent)
    with prov.cv:
        outcomes = dict(prov.outcomes)
        res["log_counts"] = dict(prov.counts)
        res["bad"] = prov.bad[:5]
    res["provisioned"] = sorted(u for u in people
                                if outcomes.get(u, ("",))[0] in GOOD)
    res["lat_ms"] = [(outcomes[u][1] - first[u]) * 1000.0
                     for u in res["provisioned"] if u in first]
    res["held_files"] = len(prov.queued("held"))
    res["failed_files"] = len(prov.queued("failed"))
    res["relay_failed"] = sum(len(r.queued("failed"))
                              for r in relays.values())
    res["relay_logins"] = sum(1 for _, h, _ in sched if h in relays)
    res["users_after"] = emu.usernames()
    if caps is None:
        release_held(w, prov, emu, people, res)
    for p in procs:
        p.stop()
    return res


def release_held(w, prov, emu, people, res):
    """`status` lists the held logins; `sync --held` provisions them."""
    st = subprocess.run([bench.DAEMON, "-c", prov.conf, "status"],
                        stdin=subprocess.DEVNULL, capture_output=True,
                        timeout=120)
    text = st.stdout.decode("utf-8", errors="replace")
    res["status_held_lines"] = sum(1 for line in text.splitlines()
                                   if "held" in line)
    with open(w.path("status-%s.txt" % res["tag"]), "w",
              encoding="utf-8") as f:
        f.write(text)
    held_before = res["held_files"]
    t0 = time.monotonic()
    r = subprocess.run([bench.DAEMON, "-c", prov.conf, "sync", "--held"],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=600)
    res["sync_held_s"] = time.monotonic() - t0
    res["sync_held_code"] = r.returncode
    with open(w.path("sync-held.log"), "wb") as f:
        f.write(r.stdout + r.stderr)
    res["held_after_sync"] = len(prov.queued("held"))
    got = emu.usernames()
    res["users_after_sync"] = got
    res["released"] = held_before - res["held_after_sync"]
    res["missing_after_sync"] = [u for u in people if u not in got]


# ---------------------------------------------------------------------------
# the benchmark
# ---------------------------------------------------------------------------


def check_run(res, people, want_all):
    lost = [k for k in res["answers"]
            if k not in ("202 accepted", "sent")]
    if lost:
        raise BenchError("run %s: logins not accepted: %s (first errors: %s)"
                         % (res["tag"], {k: res["answers"][k] for k in lost},
                            res["gen"]["first_errors"]))
    if res["failed_files"] or res["relay_failed"]:
        raise BenchError("run %s: %d events in the provisioner's failed/, "
                         "%d in the relays'; %s"
                         % (res["tag"], res["failed_files"],
                            res["relay_failed"], res["bad"]))
    users = res["users_after_sync"] if "users_after_sync" in res \
        else res["users_after"]
    missing = [u for u in people if u not in users]
    if missing:
        raise BenchError("run %s: %d people not in ftrack (first: %s); "
                         "problems: %s" % (res["tag"], len(missing),
                                           missing[0], res["bad"]))
    if want_all and len(res["provisioned"]) != len(people):
        raise BenchError("run %s: %d of %d people provisioned"
                         % (res["tag"], len(res["provisioned"]),
                            len(people)))


# (tag, seat caps (None: the defaults), server key, ftrack's added ms)
RUNS = (("ec", RAISED, "server-ec", 0), ("rsa", RAISED, "server", 0),
        ("ec50", RAISED, "server-ec", 50),
        ("defaults", None, "server-ec", 0))
COLUMNS = ("caps 5,000, EC P-256 server key",
           "caps 5,000, RSA 2048 server key (tests/lib/ca.sh's)",
           "caps 5,000, EC key, ftrack answering in 50 ms",
           "default caps, EC P-256 server key")


def bench_fleet(P):
    make_fixtures(P)
    info = bench.load_info(P["people"])
    paths = bench.fixture_paths(P["people"])
    runs = []
    with bench.World("fleet") as w:
        slapd = bench.Slapd(w, paths["ldif"])
        emu = bench.Emulator(w)
        sched = schedule(P, info["uids"])
        people = sorted({u for _, _, u in sched})
        only = os.environ.get("BENCH_FLEET_RUNS", "").split()
        for tag, caps, server, latency in RUNS:
            if only and tag not in only:
                continue
            emu.set_latency(latency)
            r = fleet_run(w, P, tag, slapd, emu, sched, caps, server)
            r["ftrack_latency_ms"] = latency
            emu.set_latency(0)
            check_run(r, people, caps is not None)
            log("fleet, %s: %d people provisioned, %d held, %d ftrack "
                "requests, %d LDAP searches, %.2f s CPU"
                % (tag, len(r["provisioned"]), r["held_files"],
                   r["requests"], r["searches"], r["cpu_s"]))
            log("fleet, %s: login -> ftrack %s, login -> 202 %s, settled "
                "after %.1f s" % (tag, p50_p99(r["lat_ms"]),
                                  p50_p99(r["answer_ms"]), r["settled_s"]))
            if caps is None:
                log("fleet, %s: sync --held released %d in %.2f s"
                    % (tag, r["released"], r["sync_held_s"]))
            runs.append(r)
        if os.environ.get("BENCH_KEEP_LOGS") == "1":
            keep = os.path.join(bench.OUT, "logs", "fleet")
            os.makedirs(keep, exist_ok=True)
            for name in os.listdir(w.dir):
                if name.endswith((".log", ".txt")):
                    shutil.copy(os.path.join(w.dir, name), keep)
            log("logs kept in %s (BENCH_KEEP_LOGS=1)" % keep)
    if only:
        log("fleet: BENCH_FLEET_RUNS=%s: a partial run, no results saved"
            % " ".join(only))
        return
    save_results(P, runs, len(people))


def p50_p99(values, unit="ms", scale=1.0):
    if not values:
        return "-"
    return "%s / %s %s" % (bench.fmt_num(percentile(values, 50) * scale),
                           bench.fmt_num(percentile(values, 99) * scale),
                           unit)


def fleet_table(P, runs, npeople):
    n = P["logins"]

    def cells(f):
        return [f(r) for r in runs]

    def held_text(r):
        if r["caps"] is not None:
            return "%d" % r["held_files"]
        return "%d (held_seats %s)" % (r["held_files"], bench.fmt_num(
            r["metrics"].get("held_seats")))

    def sync_text(r):
        if "sync_held_s" not in r:
            return ""
        return "released %d in %.1f s (exit %d), %d left" % (
            r["released"], r["sync_held_s"], r["sync_held_code"],
            r["held_after_sync"])

    def people_text(r):
        s = "%d (%d users)" % (len(r["provisioned"]), r["user_count"])
        if "users_after_sync" in r:
            s += ", %d after `sync --held`" % (
                npeople - len(r["missing_after_sync"]))
        return s

    rows = [
        ["logins accepted (202, or sent to a real relay)"]
        + cells(lambda r: "%d of %d" % (r["answers"].get("202 accepted", 0)
                                        + r["answers"].get("sent", 0), n)),
        ["people provisioned (ftrack users)"] + cells(people_text),
        ["logins held in queue/held/"] + cells(held_text),
        ["`sync --held`"] + cells(sync_text),
        ["ftrack requests per login (in all)"]
        + cells(lambda r: "%.3f (%d)" % (r["requests"] / n, r["requests"])),
        ["LDAP searches per person"]
        + cells(lambda r: "%.2f" % (r["searches"] / npeople)),
        ["provisioner CPU per login (in all)"]
        + cells(lambda r: "%.0f us (%.1f s)" % (r["cpu_s"] * 1e6 / n,
                                                r["cpu_s"])),
        ["login -> user in ftrack, p50 / p99"]
        + cells(lambda r: p50_p99(r["lat_ms"])),
        ["login -> 202 at the host, p50 / p99"]
        + cells(lambda r: p50_p99(r["answer_ms"])),
        ["all settled after the first login"]
        + cells(lambda r: "%.1f s" % r["settled_s"]),
        ["POSTs (events per POST), TLS connections"]
        + cells(lambda r: "%d (%.2f), %d" % (
            r["gen"]["posts"], (n - r["relay_logins"])
            / max(1, r["gen"]["posts"]), r["gen"]["connects"])),
        ["provisioner peak RSS (VmHWM)"]
        + cells(lambda r: "%.0f MiB" % (r["vmhwm_kib"] / 1024.0)),
        ["provisioner peak open fds"] + cells(lambda r: "%d" % r["peak_fds"]),
        ["load generator CPU"]
        + cells(lambda r: "%.1f s" % r["gen"]["cpu_s"]),
    ]
    return {"header": ["measure"] + list(COLUMNS), "rows": rows}


def save_results(P, runs, npeople):
    n, hosts, real = P["logins"], P["hosts"], P["relays"]
    a, b = runs[0], runs[-1]
    case = ("%s logins, %s people, %s hosts, %.0f s: caps %s"
            % ("{:,}".format(n), "{:,}".format(npeople), "{:,}".format(hosts),
               P["seconds"], "{:,}".format(RAISED)))
    dcase = ("the same, default caps (%d per host, %d in all an hour)"
             % (DEFAULT_SEATS_HOST, DEFAULT_SEATS_TOTAL))
    rows = [
        row(case, "people provisioned", len(a["provisioned"]), "",
            target="%d" % npeople,
            verdict=(len(a["provisioned"]) == npeople
                     and a["user_count"] == npeople)),
        row(case, "logins lost", n - a["answers"].get("202 accepted", 0)
            - a["answers"].get("sent", 0), "", target="0",
            verdict=sum(a["answers"].values()) == n),
        row(case, "ftrack requests per login", a["requests"] / n, "",
            target="<= 0.05", verdict=a["requests"] / n <= 0.05),
    ]
    slow = [r for r in runs if r.get("ftrack_latency_ms")]
    if slow:
        rows.append(row(case + ", ftrack answering in %d ms"
                        % slow[0]["ftrack_latency_ms"],
                        "ftrack requests per login", slow[0]["requests"] / n,
                        "", target="<= 0.05",
                        verdict=slow[0]["requests"] / n <= 0.05))
    rows += [
        row(dcase, "people created within the caps",
            len(b["provisioned"]), "",
            target="<= %d" % DEFAULT_SEATS_TOTAL,
            verdict=len(b["provisioned"]) <= DEFAULT_SEATS_TOTAL),
        row(dcase, "held, then released by `sync --held`", b["released"],
            "", target="all %d held" % b["held_files"],
            verdict=(b["held_after_sync"] == 0 and b["sync_held_code"] == 0
                     and not b["missing_after_sync"])),
    ]
    notes = [
        "Provisioner: `ftrack-syncd run` with `mode = provisioner` on "
        "127.0.0.1 (TLS, client certificates required, allow_hosts = "
        "*.fleet.%s), a real slapd of %s people and the ftrack emulator "
        "(0 ms added latency but in one column); default host_rate, "
        "max_connections and "
        "per_ip_connections; login_cooldown = 600. A fresh provisioner, "
        "fresh relays and an empty ftrack for each column."
        % (DOMAIN, "{:,}".format(npeople)),
        "Load: tests/bench/bench_fleet.py `gen`, a process of its own "
        "(asyncio, Python's ssl), plays %s hosts, each with its own EC "
        "P-256 client certificate (DNS subjectAltName = its name; made "
        "once with openssl, signed by the CA of tests/lib/ca.sh, cached "
        "in build/bench-cache/fleet-pki) and its own loopback source "
        "address. Each host does what a relay does: a login joins its "
        "queue at its time, and its one keep-alive connection POSTs what "
        "is queued (at most 100 events) whenever it is free, resending "
        "on a 429, a 503 or a cut. Logins are evenly spaced, round-robin "
        "over the hosts (one login per host every %.1f s), the people "
        "shuffled (seed 14), each about %d times. The logins of hosts "
        "0-%d go as datagrams to %d real relays (`mode = relay`), which "
        "forward them with those hosts' certificates (%d logins)."
        % ("{:,}".format(hosts), hosts * P["seconds"] / n,
           n // npeople, real - 1, real, a["relay_logins"]),
        "Login -> user in ftrack: for each person, from the generator's "
        "clock reading when their first login joined a host's queue (or "
        "was sent to a real relay's socket) to the moment the benchmark "
        "read the provisioner's `created 'USER' (host ...)` log line, "
        "which the worker logs after ftrack's answer (both "
        "CLOCK_MONOTONIC, one machine): the wait in the host's queue, the "
        "TLS handshake of a host's first POST, the journal, the LDAP "
        "search, the ftrack write and the log pipe; one sample per "
        "person. Login -> 202: each login of the generator's hosts, from "
        "joining the host's queue to the provisioner's answer.",
        "ftrack requests: the emulator's request counter; LDAP searches: "
        "slapd's cn=Monitor; CPU: utime + stime of the provisioner "
        "(/proc/PID/stat, all threads) from before the first login to "
        "when every login settled; peak RSS: VmHWM; open fds: "
        "/proc/PID/fd sampled every 20 ms.",
        "Default caps: the creates beyond new_seats_total wait in "
        "queue/held/ (counted when every login settled), then `ftrack-"
        "syncd sync --held` (run while the provisioner runs) provisions "
        "them; otherwise the next hour's budget would release %d of them, "
        "oldest first." % DEFAULT_SEATS_TOTAL,
    ]
    raw = {}
    for r in runs:
        x = {k: v for k, v in r.items()
             if k not in ("users_after", "users_after_sync", "provisioned",
                          "lat_ms", "answer_ms")}
        x["lat_ms"] = sorted(round(v, 2) for v in r["lat_ms"])
        raw[r["tag"]] = x
    bench.save("9-fleet", "9. Fleet: relays and a provisioner", rows,
               notes, raw, tables=[fleet_table(P, runs, npeople)])


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        return gen_main(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(
        description="ftrack-ldap-sync fleet benchmark (issue 14)")
    ap.add_argument("--quick", action="store_true",
                    default=os.environ.get("BENCH_QUICK") == "1")
    ap.add_argument("what", choices=["fixtures", "run"])
    a = ap.parse_args()
    P = dict(QUICK if a.quick else FULL)
    try:
        if a.what == "fixtures":
            make_fixtures(P)
        else:
            bench_fleet(P)
    except BenchError as exc:
        log("fleet: FAILED: %s" % exc)
        return 1
    except (OSError, ValueError, KeyError, http.client.HTTPException,
            subprocess.SubprocessError) as exc:
        log("fleet: FAILED: %s: %s" % (type(exc).__name__, exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
