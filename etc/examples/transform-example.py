#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An example [mapping] transform program for ftrack-syncd.

Reads one JSON request a line on stdin and answers each, in order, with one
JSON line on stdout:

- people whose employeeType is "contractor" are out of scope (skipped: no
  ftrack account; a managed account of theirs is a leaver in the reconcile);
- the e-mail address follows the department: alice in "Visual Effects"
  gets alice@visual-effects.example.com;
- the first name is preferredName when that is set.

Configure it with:

    [mapping]
    transform = /etc/ftrack-syncd/transform-example.py
    transform_attributes = department, employeeType, preferredName

Anything printed to stdout must be an answer: write debugging to stderr
(it goes to the daemon's log).
"""
import json
import re
import sys

DOMAIN = "example.com"


def first(attributes, name):
    """The first value of an attribute (names compare without case)."""
    for key, values in attributes.items():
        if key.lower() == name.lower() and values:
            return values[0]
    return None


def slug(text):
    """'Visual Effects' -> 'visual-effects'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def answer(request):
    attributes = request.get("attributes") or {}
    mapped = request.get("user") or {}
    reply = {"id": request["id"], "login": request["login"]}
    kind = first(attributes, "employeeType") or ""
    if kind.strip().lower() == "contractor":
        reply["skip"] = "employeeType is contractor"
        return reply
    user = {}
    department = first(attributes, "department")
    if department and slug(department) and mapped.get("username"):
        local = mapped["username"].lower()
        user["email"] = "%s@%s.%s" % (local, slug(department), DOMAIN)
    preferred = first(attributes, "preferredName")
    if preferred and preferred.strip():
        user["first_name"] = preferred.strip()
    reply["user"] = user
    return reply


def main():
    for line in sys.stdin:
        print(json.dumps(answer(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
