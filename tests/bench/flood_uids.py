#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What a flood of forged logins from many uids costs the daemon.

Usage (as root, from the top of the repository)::

    python3 tests/bench/flood_uids.py [--uids 300] [--each 25]
        [--binary build/syncd/ftrack-syncd] [--user alice]

Issue 12 item 4: a user with subordinate uids (a user namespace) can send
from any of them.  This starts the daemon (LDAP and ftrack pointed at a
closed loopback port: forged events never reach them) under
``strace -f -e trace=openat`` and sends ``--each`` datagrams reporting
``--user`` from each of ``--uids`` uids starting at 100000 (root may put
any uid in SCM_CREDENTIALS), then one login of ``nobody`` by its own uid.
It waits for that login to reach the worker (whose LDAP look-up fails:
"retry 'nobody'"), stops the daemon and prints:

- log lines: lines of the daemon's log (level info) about the flood
  (forged or over a rate limit);
- NSS look-ups: opens of /etc/passwd (nsswitch ``passwd: files ...``:
  glibc's files backend opens it for each getpwnam_r/getpwuid_r), and
  the daemon's own sender_lookups_total where it has one;
- the drop counters of metrics.prom.

A count, not a time: nothing here depends on the machine's speed.
"""

import argparse
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

CONFIG = """[ldap]
uri = ldap://127.0.0.1:{port}
search_base = dc=example,dc=com
timeout = 1
[ftrack]
server = http://127.0.0.1:{port}
api_user = bench
api_key_file = {dir}/api.key
timeout = 1
[policy]
reconcile_interval = 0
[daemon]
socket = {dir}/notify.sock
state_dir = {dir}/state
log_target = stderr
log_level = info
"""


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, what, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    sys.exit("flood_uids.py: timed out waiting for " + what)


def send(sock, path, uid, gid, user):
    msg = ("FTSYNC1\nuser=%s\nservice=flood\n" % user).encode()
    cred = struct.pack("iII", os.getpid(), uid, gid)
    sock.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, cred)],
                 0, path)


def metrics(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("ftrack_syncd_"):
                    name, value = line.rsplit(" ", 1)
                    out[name[len("ftrack_syncd_"):]] = value.strip()
    except OSError:
        pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uids", type=int, default=300)
    ap.add_argument("--each", type=int, default=25)
    ap.add_argument("--first-uid", type=int, default=100000)
    ap.add_argument("--user", default="alice")
    ap.add_argument("--binary", default="build/syncd/ftrack-syncd")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("flood_uids.py: run as root (it sends as other uids)")
    d = tempfile.mkdtemp(prefix="flood-uids-")
    os.chmod(d, 0o755)
    with open(os.path.join(d, "api.key"), "w") as f:
        f.write("key\n")
    os.chmod(os.path.join(d, "api.key"), 0o600)
    os.mkdir(os.path.join(d, "state"), 0o700)
    conf = os.path.join(d, "conf")
    with open(conf, "w") as f:
        f.write(CONFIG.format(port=closed_port(), dir=d))
    trace, log = os.path.join(d, "trace"), os.path.join(d, "log")
    sockpath = os.path.join(d, "notify.sock")
    with open(log, "w") as logf:
        p = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=openat",
                              "-o", trace, args.binary, "-c", conf, "run"],
                             stdout=logf, stderr=logf)
    wait_for(lambda: os.path.exists(sockpath), "the socket")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for i in range(args.uids):
        for _ in range(args.each):
            send(s, sockpath, args.first_uid + i, args.first_uid + i,
                 args.user)
    nobody = 65534
    send(s, sockpath, nobody, nobody, "nobody")
    s.close()

    def reached():
        with open(log) as f:
            return "'nobody'" in f.read()
    wait_for(reached, "the login of 'nobody'")
    with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
        daemon = int(f.read().split()[0])
    os.kill(daemon, signal.SIGTERM)  # strace passes it on only so
    p.wait(timeout=60)
    with open(log) as f:
        lines = f.read().splitlines()
    flood = [x for x in lines if "forged" in x or "rate limit" in x]
    with open(trace) as f:
        opens = sum(1 for x in f if '"/etc/passwd"' in x)
    m = metrics(os.path.join(d, "state", "metrics.prom"))
    print("flood: %d uids x %d datagrams reporting '%s', then 'nobody'"
          % (args.uids, args.each, args.user))
    print("log lines about the flood: %d (of %d)" % (len(flood), len(lines)))
    print("opens of /etc/passwd (NSS look-ups): %d" % opens)
    for k in sorted(m):
        if k.startswith(("events_", "sender_")):
            print("%s %s" % (k, m[k]))
    print("'nobody' reached the worker: yes; folder %s" % d)


if __name__ == "__main__":
    main()
