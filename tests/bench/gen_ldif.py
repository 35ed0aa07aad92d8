#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark fixtures: an LDIF of N people and the matching ftrack users.

Usage::

    gen_ldif.py --count N --out DIR [--seed S]

writes, unless DIR already holds them for the same N, seed and generator
version (DIR/stamp-N.json says which):

- DIR/people-N.ldif: the suffix dc=example,dc=com with ou=people (N
  inetOrgPerson + posixAccount + shadowAccount entries, realistic names
  drawn from a seeded generator, a few of them non-ASCII), ou=services
  with the daemon's bind account cn=ftrack-sync (password sync-secret, as
  tests/data/people.ldif) and ou=groups.  Every person carries an explicit
  entryUUID (slapadd keeps it), so that the ftrack markers can be computed
  here, before slapd ever sees the entries.
- DIR/ftrack-N-exact.json: {"users": [...], "metadata": [...]}: one
  active ftrack User per person, with the fields the daemon maps (username
  = uid, email = mail, first_name = givenName, last_name = sn) and its
  ftrack_syncd.uuid marker (Metadata) holding the entryUUID: a reconcile
  finds nothing to change.
- DIR/ftrack-N-drift.json: the same with 1% drift, in three equal parts
  (any remainder goes to the first): changed mail (ftrack holds an old
  address), leavers (managed ftrack users whose LDAP entry is gone) and
  newcomers (LDAP people with no ftrack user yet).
- DIR/info-N.json: the counts, the uids in LDIF order, and the drift
  lists, for the benchmark driver.

Deterministic: the same N and seed give byte-identical files.  Standard
library only.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import sys
import unicodedata
import uuid

GIVEN = (
    "Aaliyah Adam Adrian Aiko Alba Alejandro Alice Amara Amir Ana Andrea "
    "Anika Anton Aria Arjun Astrid Ben Bianca Bjorn Camille Carlos Chen "
    "Chloe Daniel Dario Diego Eleanor Elena Elif Emil Emma Eric Esther "
    "Fatima Felix Finn Freya Gabriel Grace Hana Hannah Hugo Ines Isaac "
    "Ivan Jack Jana Javier Julia Kai Karim Kenji Lara Leo Lena Liam Lucas "
    "Luca Maja Marco Maria Mateo Maya Mia Mohammed Nadia Nina Noah Nora "
    "Olga Oliver Omar Pablo Paula Priya Rafael Ravi Rosa Ruby Sam Sara "
    "Sofia Stefan Tariq Theo Tom Valentina Victor Yara Yusuf Zara "
    "José Zoë Jörg Søren Chloé Łukasz Renée Ingrid Björn Anaïs"
).split()

SURNAME = (
    "Abbott Adams Ahmed Alvarez Andersen Bailey Baker Becker Bennett Berg "
    "Brooks Brown Campbell Castro Chen Clarke Cohen Collins Cruz Davies "
    "Diaz Dubois Edwards Evans Fischer Fernandez Foster Garcia Gomez Gray "
    "Green Hall Hansen Harris Hoffmann Hughes Ito Jackson Jansen Johnson "
    "Jones Kaur Kelly Khan Kim King Klein Kowalski Larsen Lee Lewis Lopez "
    "Martin Meyer Miller Moore Morales Murphy Nakamura Nguyen Nielsen "
    "Novak Ortiz Park Patel Perez Peters Rossi Ruiz Sato Schmidt Schulz "
    "Scott Silva Singh Smith Suzuki Tanaka Taylor Thomas Turner Walker "
    "Wang Weber Wilson Wood Wright Young Zhang "
    "Müller Ångström Núñez Søndergaard Łęcki Öztürk Françoise D'Arcy O'Brien"
).split()

TITLES = (
    "Animator", "Compositor", "Lighting Artist", "FX Artist", "Modeller",
    "Rigger", "Texture Artist", "Layout Artist", "Matchmove Artist",
    "Roto Artist", "Producer", "Coordinator", "Pipeline TD", "Editor",
    "Supervisor", "Concept Artist", "Render Wrangler", "Systems Engineer",
)

DEPARTMENTS = ("Animation", "Comp", "Lighting", "FX", "Assets", "Layout",
               "Production", "Pipeline", "Editorial", "Systems")

SUFFIX = "dc=example,dc=com"
PEOPLE = "ou=people," + SUFFIX
MARKER_UUID = "ftrack_syncd.uuid"
# The bind account as in tests/data/people.ldif (password: sync-secret).
SYNC_PW_HASH = "{SSHA}vsTQLB9bQB4u+Waj22X5FlLfVLRG5pil"


def generator_version():
    """A digest of this file: fixtures are remade when the generator
    changes."""
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def fold(text):
    """ASCII letters only, lower case: what a studio's account naming makes."""
    manual = {"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "ss", "æ": "ae"}
    text = "".join(manual.get(c, c) for c in text)
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if c.isascii() and c.isalpha()).lower()


def ldif_line(attr, value):
    """attr: value, base64 (attr:: ...) when LDIF requires it (RFC 2849)."""
    raw = value.encode("utf-8")
    safe = (value.isascii() and value == value.strip()
            and not value.startswith((":", "<"))
            and all(32 <= b < 127 for b in raw))
    if safe:
        return "%s: %s\n" % (attr, value)
    return "%s:: %s\n" % (attr, base64.b64encode(raw).decode("ascii"))


class Person:
    __slots__ = ("uid", "given", "sn", "mail", "uid_number", "entry_uuid",
                 "ftrack_id", "title", "dept", "phone", "employee")


def make_people(rng, count):
    """count people with unique uids, in a stable order."""
    seen = {}
    people = []
    for i in range(count):
        p = Person()
        p.given = rng.choice(GIVEN)
        p.sn = rng.choice(SURNAME)
        base = (fold(p.given)[:1] + fold(p.sn))[:8]
        n = seen.get(base, 0) + 1
        seen[base] = n
        p.uid = base if n == 1 else "%s%d" % (base, n)
        local = "%s.%s" % (fold(p.given), fold(p.sn))
        p.mail = "%s%s@example.com" % (local, "" if n == 1 else str(n))
        p.uid_number = 20000 + i
        p.entry_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        p.ftrack_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        p.title = rng.choice(TITLES)
        p.dept = rng.choice(DEPARTMENTS)
        p.phone = "+44 20 7946 %04d" % rng.randrange(10000)
        p.employee = "E%06d" % (100000 + i)
        people.append(p)
    return people


def write_ldif(path, people):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("# generated by tests/bench/gen_ldif.py: %d people\n\n"
                % len(people))
        f.write("dn: %s\nobjectClass: dcObject\nobjectClass: organization\n"
                "dc: example\no: Example Studio\n\n" % SUFFIX)
        for ou in ("people", "services", "groups"):
            f.write("dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n"
                    % (ou, SUFFIX, ou))
        f.write("dn: cn=ftrack-sync,ou=services,%s\n"
                "objectClass: organizationalRole\n"
                "objectClass: simpleSecurityObject\ncn: ftrack-sync\n"
                "userPassword: %s\n\n" % (SUFFIX, SYNC_PW_HASH))
        f.write("dn: cn=staff,ou=groups,%s\n"
                "objectClass: posixGroup\ncn: staff\n"
                "gidNumber: 10000\n\n" % SUFFIX)
        for p in people:
            cn = "%s %s" % (p.given, p.sn)
            f.write("dn: uid=%s,%s\n" % (p.uid, PEOPLE))
            f.write("objectClass: inetOrgPerson\nobjectClass: posixAccount\n"
                    "objectClass: shadowAccount\n")
            f.write("uid: %s\n" % p.uid)
            f.write(ldif_line("cn", cn))
            f.write(ldif_line("displayName", cn))
            f.write(ldif_line("givenName", p.given))
            f.write(ldif_line("sn", p.sn))
            f.write("mail: %s\n" % p.mail)
            f.write("title: %s\nou: %s\n" % (p.title, p.dept))
            f.write("telephoneNumber: %s\nemployeeNumber: %s\n"
                    % (p.phone, p.employee))
            f.write("uidNumber: %d\ngidNumber: 10000\n" % p.uid_number)
            f.write("homeDirectory: /home/%s\nloginShell: /bin/bash\n" % p.uid)
            f.write("entryUUID: %s\n\n" % p.entry_uuid)
    os.replace(tmp, path)


def ftrack_user(p, mail=None):
    return {"id": p.ftrack_id, "username": p.uid, "first_name": p.given,
            "last_name": p.sn, "email": mail or p.mail, "is_active": True}


def marker(p):
    return {"parent_id": p.ftrack_id, "parent_type": "User",
            "key": MARKER_UUID,
            "value": p.entry_uuid}


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
    os.replace(tmp, path)


def split_drift(count):
    total = count // 100
    third = total // 3
    return total - 2 * third, third, third  # changed mail, leavers, newcomers


def generate(count, seed, out):
    rng = random.Random("%d/%d" % (seed, count))
    n_mail, n_leave, n_new = split_drift(count)
    everyone = make_people(rng, count + n_leave)
    people, leavers = everyone[:count], everyone[count:]
    picked = rng.sample(range(count), n_mail + n_new)
    changed = set(picked[:n_mail])
    newcomers = set(picked[n_mail:])

    write_ldif(os.path.join(out, "people-%d.ldif" % count), people)
    write_json(os.path.join(out, "ftrack-%d-exact.json" % count),
               {"users": [ftrack_user(p) for p in people],
                "metadata": [marker(p) for p in people]})
    users, meta = [], []
    for i, p in enumerate(people):
        if i in newcomers:
            continue
        old = "%s.old@example.org" % p.uid if i in changed else None
        users.append(ftrack_user(p, old))
        meta.append(marker(p))
    for p in leavers:
        users.append(ftrack_user(p))
        meta.append(marker(p))
    write_json(os.path.join(out, "ftrack-%d-drift.json" % count),
               {"users": users, "metadata": meta})
    info = {
        "count": count, "seed": seed,
        "uids": [p.uid for p in people],
        "drift": {"changed_mail": sorted(people[i].uid for i in changed),
                  "leavers": [p.uid for p in leavers],
                  "newcomers": sorted(people[i].uid for i in newcomers)},
        "ftrack_users": {"exact": count, "drift": len(users)},
    }
    write_json(os.path.join(out, "info-%d.json" % count), info)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=6)
    a = ap.parse_args()
    if a.count < 100:
        ap.error("--count must be at least 100")
    os.makedirs(a.out, exist_ok=True)
    stamp_path = os.path.join(a.out, "stamp-%d.json" % a.count)
    stamp = {"count": a.count, "seed": a.seed, "version": generator_version()}
    try:
        with open(stamp_path, encoding="utf-8") as f:
            if json.load(f) == stamp:
                print("gen_ldif: %d people: cached in %s" % (a.count, a.out))
                return 0
    except (OSError, ValueError):
        pass
    generate(a.count, a.seed, a.out)
    write_json(stamp_path, stamp)
    print("gen_ldif: %d people: written to %s" % (a.count, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
