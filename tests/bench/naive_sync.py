#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""naive_sync.py: the per-user LDAP -> ftrack sync a studio typically writes.

The baseline of benchmark 5 (issue 6): Python 3 with python3-ldap (the
Debian package) and urllib from the standard library, written the way such
a script usually is: read every person from LDAP, then for each one ask
ftrack for the user with that username and, when needed, create it or
update the fields that differ.  One HTTP request per question and per
write, a new connection each time (urllib's default), no batching, no
markers, no handling of leavers.

Usage::

    naive_sync.py --ldap-uri URI --bind-dn DN --bind-pw PW --base DN
                  --server URL --api-user U --api-key K [--limit N]

--limit N processes only the first N people found (0: all), so that a slow
server can be measured on a subset and extrapolated.  Prints one JSON
object: people, processed, queries, creates, updates, requests,
ldap_seconds, loop_seconds, seconds.
"""

import argparse
import json
import sys
import time
import urllib.request

import ldap
from ldap.controls import SimplePagedResultsControl

FIELDS = {"username": "uid", "email": "mail", "first_name": "givenName",
          "last_name": "sn"}


def read_people(a):
    conn = ldap.initialize(a.ldap_uri)
    conn.protocol_version = 3
    conn.simple_bind_s(a.bind_dn, a.bind_pw)
    page = SimplePagedResultsControl(True, size=500, cookie="")
    people = []
    while True:
        msgid = conn.search_ext(a.base, ldap.SCOPE_SUBTREE,
                                "(objectClass=inetOrgPerson)",
                                list(FIELDS.values()), serverctrls=[page])
        _, data, _, ctrls = conn.result3(msgid)
        for dn, attrs in data:
            if dn:
                people.append({k: (attrs[v][0].decode("utf-8")
                                   if v in attrs else None)
                               for k, v in FIELDS.items()})
        cookie = [c for c in ctrls
                  if c.controlType == SimplePagedResultsControl.controlType]
        if not cookie or not cookie[0].cookie:
            break
        page.cookie = cookie[0].cookie
    conn.unbind_s()
    return people


class Ftrack:
    def __init__(self, a):
        self.url = a.server.rstrip("/") + "/api"
        self.headers = {"Content-Type": "application/json",
                        "ftrack-user": a.api_user,
                        "ftrack-api-key": a.api_key}
        self.requests = 0

    def call(self, ops):
        req = urllib.request.Request(self.url,
                                     data=json.dumps(ops).encode("utf-8"),
                                     headers=self.headers)
        self.requests += 1
        with urllib.request.urlopen(req, timeout=60) as r:
            result = json.load(r)
        if isinstance(result, dict) and "exception" in result:
            raise RuntimeError("%s: %s"
                               % (result["exception"], result.get("content")))
        return result


def sync(a):
    t0 = time.perf_counter()
    people = read_people(a)
    t1 = time.perf_counter()
    ft = Ftrack(a)
    todo = people[:a.limit] if a.limit else people
    queries = creates = updates = 0
    for p in todo:
        expr = ('select id, username, first_name, last_name, email, is_active '
                'from User where username is "%s"' % p["username"])
        found = ft.call([{"action": "query", "expression": expr}])[0]["data"]
        queries += 1
        if not found:
            data = dict(p, __entity_type__="User", is_active=True)
            ft.call([{"action": "create", "entity_type": "User",
                      "entity_data": data}])
            creates += 1
            continue
        user = found[0]
        changed = {k: v for k, v in p.items() if v is not None
                   and user.get(k) != v}
        if changed:
            changed["__entity_type__"] = "User"
            ft.call([{"action": "update", "entity_type": "User",
                      "entity_key": [user["id"]],
                      "entity_data": changed}])
            updates += 1
    t2 = time.perf_counter()
    return {"people": len(people), "processed": len(todo), "queries": queries,
            "creates": creates,
            "updates": updates, "requests": ft.requests,
            "ldap_seconds": t1 - t0,
            "loop_seconds": t2 - t1, "seconds": t2 - t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for opt in ("--ldap-uri", "--bind-dn", "--bind-pw", "--base", "--server",
                "--api-user", "--api-key"):
        ap.add_argument(opt, required=True)
    ap.add_argument("--limit", type=int, default=0)
    a = ap.parse_args()
    print(json.dumps(sync(a)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
