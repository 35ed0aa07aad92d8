#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Emulator of the ftrack server API, for tests.

Python 3 standard library only.  It speaks the wire protocol described in
shared/ftrack-api.md (sections 2-9 and 11): one endpoint ``POST /api``, a JSON
array of operations in, an index-aligned array of results out, or a single
``{"exception", "content", "error_code"}`` object when the request fails.

Usage::

    python3 tests/ftrack_emulator.py --port 0 --api-user ftrack-sync \\
        --api-key SECRET [--global-key KEY] [--state FILE] [--latency-ms N] \\
        [--page-max N] [--seat-cap N] [--strict-default] [--omit-nulls] \\
        [--case-insensitive] [--server-version V] [--schemas FILE] [--verbose]

The first line printed on stdout is ``listening on http://127.0.0.1:PORT``.

Entity types are kept generically from their schema (primary key, required,
immutable, computed, defaults); the emulator-only facts a schema does not
carry (server-side defaults, unique and indexed attributes, how relations
join, the seat attribute) live in an ``x-emulator`` member that is stripped
from ``query_schemas`` output.  Another type can be added with ``--schemas``
(a JSON list of schema objects, each optionally with ``x-emulator``).

Behaviour worth knowing (choices where ftrack-api.md says [INFERRED] or
[UNKNOWN]; most can be switched at run time through /_emulator/config):

- errors: HTTP 200 + exception object unless ``ftrack-strict-api: true`` (or
  --strict-default and no header); strict statuses: 401 credentials, 400
  parse/validation/invalid action/malformed body, 404 "Could not find entity",
  409 duplicate, 500 anything else.  /api with another method: 405, other
  paths: 404, always with an exception-shaped body.
- a batch runs in order in one transaction (undo journal); any failure rolls
  everything back and answers the single error object.
- strings compare case-sensitively (--case-insensitive to change, which also
  makes username uniqueness case-insensitive); ``like`` knows only ``%``;
  NULL follows SQL: ``email is_not "x"`` does not match a null email, only
  ``is None`` / ``is_not None`` test for null; order is by code point, nulls
  last ascending (first descending), primary key as the final tie-break.
- query results include null attributes (--omit-nulls to leave them out);
  create responses leave nulls out, like the JS fixture create_user.json.
- with no ``order by`` rows come in primary-key order when an index answered
  the where clause, else in insertion order.
- seat cap (--seat-cap): a create, update or bulk load that would exceed it
  silently keeps ``is_active`` false.  The API user is always active.

Test controls (no authentication, not part of ftrack):

- ``GET  /_emulator/stats`` -> {"requests", "operations": {action: n},
  "connections", "api_connections", "by_status": {"200": n, "drop": n},
  "exceptions": {name: n}, "faults_pending", "entities": {type: rows}}
- ``POST /_emulator/fault`` {"count":1, "skip":0, "status":503,
  "exception":..., "content":..., "body": raw text, "delay_ms":0,
  "drop":false, "retry_after":S}, or a list of such objects run in order.
- ``POST /_emulator/reset`` {"store": false}: counters, faults and log (and
  with store true all entities except the API user and fixed rows).
- ``GET/POST /_emulator/users``, ``/_emulator/metadata``,
  ``/_emulator/entities/<Type>``: dump all rows / bulk-load a JSON array
  (all or nothing) -> {"loaded", "total"}.
- ``GET/POST /_emulator/config`` {"latency_ms", "page_max", "seat_cap",
  "strict_default", "omit_nulls", "case_insensitive", "server_version",
  "duplicate_exception", "personal_keys": {user: key or null}, "global_keys": [..]}.
- ``GET  /_emulator/log[?since=SEQ]``: the last 1000 non-control requests.
- ``POST /_emulator/save`` {"path": optional}: write the state file now.
"""

import argparse
import bisect
import collections
import copy
import hashlib
import http.server
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
import uuid

DEFAULT_USER_TYPE_ID = "ac9fa5aa-4361-11e0-b7cc-0019bb4983d8"
# Invented by the emulator: a second fixed UserType row.
LDAP_USER_TYPE_ID = "ac9fa5aa-4361-11e0-b7cc-0019bb4983d9"

INVALID_CREDENTIALS_CONTENT = (
    "The supplied API key is not valid. API keys are created from Settings "
    "under the page API keys. The api key should be passed in the request "
    'header "ftrack-api-key".'
)

# HTTP status used for an exception in strict mode when nothing else says.
STRICT_STATUS = {
    "InvalidCredentialsError": 401,
    "FTAuthenticationError": 401,
    "PermissionError": 403,
    "ParseError": 400,
    "ValidationError": 400,
    "ValueError": 400,
    "DuplicateEntryError": 409,
    "IntegrityError": 409,
}


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class ApiError(Exception):
    """An ftrack error: becomes the single error object of a response."""

    def __init__(self, exception, content, status=None):
        Exception.__init__(self, "%s(%s)" % (exception, content))
        self.exception = exception
        self.content = content
        self.status = status if status is not None else STRICT_STATUS.get(exception, 500)

    def body(self):
        return {"exception": self.exception, "content": self.content, "error_code": None}


def validation_error(msg):
    return ApiError("ValidationError", msg, 400)


def unknown_attribute(attr, type_name):
    return validation_error('Unknown attribute "%s" on entity type "%s".' % (attr, type_name))


def not_found(type_name, key):
    return ApiError(
        "ValueError",
        "Could not find entity %s with entity_key %r." % (type_name, list(key)),
        404,
    )


def duplicate_entry(msg, exception="DuplicateEntryError"):
    return ApiError(exception, msg, 409)


class _ParseFail(Exception):
    pass


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------


def _s(**kw):
    d = {"type": "string"}
    d.update(kw)
    return d


def _b(**kw):
    d = {"type": "boolean"}
    d.update(kw)
    return d


def builtin_schemas():
    """The schemas served by query_schemas, with x-emulator extensions."""
    return [
        {
            "id": "User",
            "type": "object",
            "primary_key": ["id"],
            "required": ["username", "is_active", "resource_type", "id"],
            "immutable": ["resource_type", "thumbnail_url", "id"],
            "computed": ["thumbnail_url"],
            "default_projections": ["id"],
            "system_projections": ["resource_type"],
            "properties": {
                "id": _s(default="{uid}"),
                "username": _s(),
                "first_name": _s(alias_for="firstname"),
                "last_name": _s(alias_for="lastname"),
                "email": _s(),
                "is_active": _b(alias_for="isactive"),
                "resource_type": _s(default="user"),
                "user_type_id": _s(
                    format="foreign_key",
                    description="Foreign key(s): UserType.id",
                    alias_for="typeid",
                ),
                "user_type": {"$ref": "UserType", "alias_for": "type"},
                "is_otp_enabled": _b(),
                "is_totp_enabled": _b(),
                "require_details_update": _b(),
                "thumbnail_id": _s(
                    format="foreign_key",
                    description="Foreign key(s): Component.id",
                    alias_for="thumbid",
                ),
                "thumbnail_url": {"type": "object"},
                "metadata": {
                    "type": "mapped_array",
                    "key_value_attributes": {"key": "key", "value": "value"},
                    "alias_for": "meta",
                    "items": {"$ref": "Metadata"},
                },
            },
            "x-emulator": {
                "unique": ["username"],
                "index": ["username", "email", "is_active", "user_type_id"],
                "server_defaults": {
                    "is_active": False,
                    "first_name": "first",
                    "last_name": "last",
                    "resource_type": "user",
                    "user_type_id": DEFAULT_USER_TYPE_ID,
                    "is_otp_enabled": False,
                    "is_totp_enabled": False,
                    "require_details_update": False,
                },
                "generate": {"username": "aaa-NEWUSER{uuid1}"},
                "relations": {
                    "user_type": {"type": "UserType", "local": "user_type_id", "remote": "id"},
                    "metadata": {
                        "type": "Metadata",
                        "local": "id",
                        "remote": "parent_id",
                        "many": True,
                        "cascade": True,
                    },
                },
                "seat": "is_active",
            },
        },
        {
            "id": "UserType",
            "type": "object",
            "primary_key": ["id"],
            "required": ["name", "id"],
            "immutable": ["name", "id"],
            "default_projections": ["id", "name"],
            "properties": {
                "id": _s(default="{uid}"),
                "name": _s(),
                "users": {"type": "array", "items": {"$ref": "User"}},
            },
            "x-emulator": {
                "index": ["name"],
                "relations": {
                    "users": {"type": "User", "local": "id", "remote": "user_type_id", "many": True}
                },
                "rows": [
                    {"id": DEFAULT_USER_TYPE_ID, "name": "user"},
                    {"id": LDAP_USER_TYPE_ID, "name": "ldap"},
                ],
            },
        },
        {
            "id": "Metadata",
            "type": "object",
            "primary_key": ["parent_id", "key"],
            "required": ["parent_id", "key", "value", "parent_type"],
            "immutable": ["parent_id", "key"],
            "default_projections": ["parent_id", "key", "value"],
            "system_projections": ["parent_type"],
            "properties": {
                "parent_id": _s(),
                "parent_type": _s(),
                "key": _s(),
                "value": _s(),
            },
            "x-emulator": {"index": ["parent_id", "key"]},
        },
        {
            "id": "Location",
            "type": "object",
            "primary_key": ["id"],
            "required": ["name", "id"],
            "immutable": ["id"],
            "default_projections": ["id", "name"],
            "properties": {
                "id": _s(default="{uid}"),
                "name": _s(),
                "label": _s(),
                "description": _s(),
                "location_components": {"type": "array", "items": {"$ref": "ComponentLocation"}},
            },
            "x-emulator": {"index": ["name"]},
        },
    ]


SCALAR_TYPES = ("string", "boolean", "integer", "number", "object", "variable")


class EntityType:
    """What the emulator knows about one entity type, derived from its schema."""

    def __init__(self, schema):
        ext = schema.get("x-emulator") or {}
        self.name = schema["id"]
        self.public_schema = {k: v for k, v in schema.items() if k != "x-emulator"}
        self.pk = list(schema.get("primary_key") or ["id"])
        self.required = list(schema.get("required") or [])
        self.immutable = set(schema.get("immutable") or [])
        self.computed = set(schema.get("computed") or [])
        self.default_projections = list(schema.get("default_projections") or self.pk)
        self.system_projections = list(schema.get("system_projections") or [])
        props = schema.get("properties") or {}
        self.scalars = {}
        self.relation_props = {}
        for name, prop in props.items():
            if "$ref" in prop or prop.get("type") in ("array", "mapped_array"):
                self.relation_props[name] = prop
            else:
                self.scalars[name] = prop
        for a in self.pk:
            if a not in self.scalars:
                self.scalars[a] = {"type": "string"}
        self.stored = [a for a in self.scalars if a not in self.computed]
        self.relations = dict(ext.get("relations") or {})
        # Infer simple many-to-one relations: "x": {"$ref": T} with an "x_id" scalar.
        for name, prop in self.relation_props.items():
            if name not in self.relations and "$ref" in prop and (name + "_id") in self.scalars:
                self.relations[name] = {"type": prop["$ref"], "local": name + "_id", "remote": "id"}
        self.unique = list(ext.get("unique") or [])
        idx = []
        for a in list(self.pk) + self.unique + list(ext.get("index") or []):
            if a not in idx and a in self.scalars:
                idx.append(a)
        self.index_attrs = idx
        self.server_defaults = dict(ext.get("server_defaults") or {})
        self.generate = dict(ext.get("generate") or {})
        self.seat_attr = ext.get("seat")
        self.fixed_rows = list(ext.get("rows") or [])

    def default_for(self, attr):
        if attr in self.generate:
            return self.generate[attr].format(uuid1=uuid.uuid1(), uuid4=uuid.uuid4())
        if attr in self.server_defaults:
            d = self.server_defaults[attr]
            return copy.deepcopy(d) if isinstance(d, (dict, list)) else d
        prop = self.scalars.get(attr) or {}
        if "default" in prop:
            d = prop["default"]
            if d == "{uid}":
                return str(uuid.uuid4())
            return copy.deepcopy(d) if isinstance(d, (dict, list)) else d
        return None

    def key_of(self, rec):
        return tuple(rec.get(a) for a in self.pk)


# ---------------------------------------------------------------------------
# Value helpers
# ---------------------------------------------------------------------------


def norm(v, ci):
    """Equality key: two values are equal when their norm() is equal."""
    if isinstance(v, str):
        return v.lower() if ci else v
    if isinstance(v, bool):
        return ("b", v)
    if v is None:
        return ("n",)
    if isinstance(v, (int, float)):
        return ("f", v)
    if isinstance(v, dict) and "__type__" in v:
        return ("d", str(v.get("value")))
    return ("j", json.dumps(v, sort_keys=True))


def ikey(v):
    """Index key: case-folded, so that both comparison modes can use it."""
    return norm(v, True)


def sort_value(v, ci):
    if v is None:
        return (3,)
    if isinstance(v, bool):
        return (0, v)
    if isinstance(v, (int, float)):
        return (1, v)
    if isinstance(v, str):
        return (2, v.lower(), v) if ci else (2, v)
    if isinstance(v, dict) and "__type__" in v:
        return (2, str(v.get("value")))
    return (2, json.dumps(v, sort_keys=True))


def order_value(v):
    """Value used by <, >, <=, >=."""
    if isinstance(v, dict) and "__type__" in v:
        return v.get("value")
    return v


def check_type(type_name, attr, prop, value):
    if value is None:
        return
    ty = prop.get("type")
    ok = True
    if ty == "string":
        if prop.get("format") in ("date-time", "date"):
            ok = isinstance(value, (str, dict))
        else:
            ok = isinstance(value, str)
    elif ty == "boolean":
        ok = isinstance(value, bool)
    elif ty == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif ty == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        raise validation_error(
            'Invalid value %s for attribute "%s" on entity type "%s": expected %s.'
            % (json.dumps(value), attr, type_name, ty)
        )


def coerce_literal(lit, prop):
    kind, text = lit
    ty = prop.get("type")
    if kind == "word":
        low = text.lower()
        if low in ("none", "null"):
            return None
        if ty == "string":
            return text
        if low == "true":
            return True
        if low == "false":
            return False
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return text
    if ty == "boolean":
        low = text.lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
    elif ty in ("integer", "number"):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    return text


# ---------------------------------------------------------------------------
# Query language
# ---------------------------------------------------------------------------

_OP_RE = re.compile(r"!=|>=|<=|=|>|<|\(|\)|,")
_WORD_RE = re.compile(r"[^\s()\"',=!<>]+")
_PATH_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_OPS = {
    "=": "eq", "is": "eq",
    "!=": "ne", "is_not": "ne",
    ">": "gt", "after": "gt", "greater_than": "gt",
    "<": "lt", "before": "lt", "less_than": "lt",
    ">=": "ge", "<=": "le",
    "in": "in", "not_in": "not_in",
    "like": "like", "not_like": "not_like",
    "has": "has", "any": "any",
}


def tokenize(expr):
    toks = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
            continue
        if c in "\"'":
            j = i + 1
            buf = []
            while True:
                if j >= n:
                    raise _ParseFail("unterminated string")
                d = expr[j]
                if d == "\\":
                    if j + 1 >= n:
                        raise _ParseFail("dangling backslash")
                    buf.append(expr[j + 1])
                    j += 2
                    continue
                if d == c:
                    j += 1
                    break
                buf.append(d)
                j += 1
            toks.append(("str", "".join(buf)))
            i = j
            continue
        m = _OP_RE.match(expr, i)
        if m:
            toks.append(("op", m.group()))
            i = m.end()
            continue
        m = _WORD_RE.match(expr, i)
        if not m:
            raise _ParseFail("unexpected character")
        toks.append(("word", m.group()))
        i = m.end()
    return toks


class Query:
    def __init__(self):
        self.type_name = None
        self.select = None  # list of paths (lists of segments) or None
        self.where = None  # AST
        self.order = []  # [(segments, desc)]
        self.offset = None
        self.limit = None


class _Parser:
    def __init__(self, toks):
        self.toks = toks
        self.pos = 0

    def peek(self, k=0):
        p = self.pos + k
        return self.toks[p] if p < len(self.toks) else (None, None)

    def next(self):
        t = self.peek()
        if t[0] is None:
            raise _ParseFail("unexpected end")
        self.pos += 1
        return t

    def at_kw(self, kw, k=0):
        t = self.peek(k)
        return t[0] == "word" and t[1].lower() == kw

    def expect_kw(self, kw):
        if not self.at_kw(kw):
            raise _ParseFail("expected %s" % kw)
        self.pos += 1

    def expect_op(self, op):
        t = self.next()
        if t != ("op", op):
            raise _ParseFail("expected %s" % op)

    def path(self):
        t = self.next()
        if t[0] != "word" or not _PATH_RE.match(t[1]):
            raise _ParseFail("expected attribute")
        return t[1].split(".")

    def integer(self):
        t = self.next()
        if t[0] != "word" or not t[1].isdigit():
            raise _ParseFail("expected integer")
        return int(t[1])

    def query(self, nested=False):
        q = Query()
        if self.at_kw("select"):
            self.pos += 1
            q.select = [self.path()]
            while self.peek() == ("op", ","):
                self.pos += 1
                q.select.append(self.path())
            self.expect_kw("from")
        t = self.next()
        if t[0] != "word" or not _IDENT_RE.match(t[1]):
            raise _ParseFail("expected entity type")
        q.type_name = t[1]
        if self.at_kw("where"):
            self.pos += 1
            q.where = self.or_expr()
        if self.at_kw("order"):
            self.pos += 1
            self.expect_kw("by")
            while True:
                p = self.path()
                desc = False
                if self.at_kw("asc") or self.at_kw("ascending"):
                    self.pos += 1
                elif self.at_kw("desc") or self.at_kw("descending"):
                    self.pos += 1
                    desc = True
                q.order.append((p, desc))
                if self.peek() == ("op", ","):
                    self.pos += 1
                    continue
                break
        while True:
            if self.at_kw("offset") and q.offset is None:
                self.pos += 1
                q.offset = self.integer()
            elif self.at_kw("limit") and q.limit is None:
                self.pos += 1
                q.limit = self.integer()
            else:
                break
        if not nested and self.peek()[0] is not None:
            raise _ParseFail("trailing input")
        return q

    def or_expr(self):
        items = [self.and_expr()]
        while self.at_kw("or"):
            self.pos += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else ("or", items)

    def and_expr(self):
        items = [self.not_expr()]
        while self.at_kw("and"):
            self.pos += 1
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else ("and", items)

    def not_expr(self):
        if self.at_kw("not") and not self._is_attr_not():
            self.pos += 1
            return ("not", self.not_expr())
        if self.peek() == ("op", "("):
            self.pos += 1
            e = self.or_expr()
            self.expect_op(")")
            return e
        return self.condition()

    def _is_attr_not(self):
        # "not is ..." would be an attribute called "not"; treat "not" as the
        # operator unless it is directly followed by an operator token.
        t = self.peek(1)
        return t[0] == "op" and t[1] not in ("(",)

    def value(self):
        t = self.next()
        if t[0] == "str":
            return ("str", t[1])
        if t[0] == "word":
            return ("word", t[1])
        raise _ParseFail("expected value")

    def condition(self):
        p = self.path()
        t = self.next()
        if t[0] not in ("op", "word"):
            raise _ParseFail("expected operator")
        op = _OPS.get(t[1].lower() if t[0] == "word" else t[1])
        if op is None:
            raise _ParseFail("unknown operator")
        if op in ("in", "not_in"):
            self.expect_op("(")
            if self.at_kw("select"):
                sub = self.query(nested=True)
                self.expect_op(")")
                return ("cmp", p, op, ("subquery", sub))
            vals = []
            if self.peek() != ("op", ")"):
                vals.append(self.value())
                while self.peek() == ("op", ","):
                    self.pos += 1
                    vals.append(self.value())
            self.expect_op(")")
            return ("cmp", p, op, vals)
        if op in ("has", "any"):
            self.expect_op("(")
            sub = self.or_expr()
            self.expect_op(")")
            return ("rel", p, op, sub)
        return ("cmp", p, op, self.value())


def parse_query(expr):
    """Parse an expression into a Query; raises ApiError(ParseError)."""
    if not isinstance(expr, str):
        raise validation_error("The query expression must be a string.")
    try:
        return _Parser(tokenize(expr)).query()
    except _ParseFail:
        raise ApiError("ParseError", "Failed to parse: %s" % expr, 400)


# ---------------------------------------------------------------------------
# Compiled conditions
# ---------------------------------------------------------------------------


class CmpCond:
    def __init__(self, attr, op, values, ci):
        self.attr = attr
        self.op = op
        self.values = values
        self.ci = ci
        if op in ("eq", "ne"):
            nv = norm(values[0], ci)
            pos = lambda x: norm(x, ci) == nv  # noqa: E731
        elif op in ("in", "not_in"):
            nset = set(norm(v, ci) for v in values)
            pos = lambda x: norm(x, ci) in nset  # noqa: E731
        elif op in ("like", "not_like"):
            pat = values[0]
            if not isinstance(pat, str):
                pat = "" if pat is None else str(pat)
            rx = re.compile(
                "".join(".*" if ch == "%" else re.escape(ch) for ch in pat),
                re.DOTALL | (re.IGNORECASE if ci else 0),
            )
            pos = lambda x: isinstance(x, str) and rx.fullmatch(x) is not None  # noqa: E731
        else:
            ref = order_value(values[0])
            if ci and isinstance(ref, str):
                ref = ref.lower()

            def pos(x, ref=ref, op=op):
                x = order_value(x)
                if x is None or ref is None:
                    return False
                if ci and isinstance(x, str):
                    x = x.lower()
                try:
                    if op == "gt":
                        return x > ref
                    if op == "lt":
                        return x < ref
                    if op == "ge":
                        return x >= ref
                    return x <= ref
                except TypeError:
                    return False

        self.positive = pos
        self.negated = op in ("ne", "not_in", "not_like")
        # SQL semantics: comparing NULL with a value is unknown (None), except
        # "is None" / "is_not None" (IS NULL / IS NOT NULL).
        self.null_result = None
        if op in ("eq", "ne") and values[0] is None:
            self.null_result = op == "eq"

    def match(self, rec):
        """True, False, or None (SQL unknown)."""
        x = rec.get(self.attr)
        if x is None:
            return self.null_result
        r = self.positive(x)
        return not r if self.negated else r

    def plan(self, emu, table):
        if self.op not in ("eq", "in") or self.attr not in table.idx:
            return None
        idx = table.idx[self.attr]
        out = set()
        for v in self.values:
            s = idx.get(ikey(v))
            if s:
                out |= s
        return out


class RelCond:
    def __init__(self, rel, sub):
        self.rel = rel
        self.sub = sub

    def match(self, rec):
        for r in self.emu.related(self.rel, rec):
            if self.sub.match(r) is True:
                return True
        return False

    def plan(self, emu, table):
        rel = self.rel
        if rel["local"] not in table.idx:
            return None
        target = emu.tables.get(rel["type"])
        if target is None:
            return None
        sub = self.sub.plan(emu, target)
        if sub is None:
            return None
        idx = table.idx[rel["local"]]
        out = set()
        for pk in sub:
            r = target.rows.get(pk)
            if r is None:
                continue
            s = idx.get(ikey(r.get(rel["remote"])))
            if s:
                out |= s
        return out


class AndCond:
    def __init__(self, items):
        self.items = items

    def match(self, rec):
        result = True
        for c in self.items:
            r = c.match(rec)
            if r is False:
                return False
            if r is None:
                result = None
        return result

    def plan(self, emu, table):
        best = None
        for c in self.items:
            s = c.plan(emu, table)
            if s is not None and (best is None or len(s) < len(best)):
                best = s
        return best


class OrCond:
    def __init__(self, items):
        self.items = items

    def match(self, rec):
        result = False
        for c in self.items:
            r = c.match(rec)
            if r is True:
                return True
            if r is None:
                result = None
        return result

    def plan(self, emu, table):
        out = set()
        for c in self.items:
            s = c.plan(emu, table)
            if s is None:
                return None
            out |= s
        return out


class NotCond:
    def __init__(self, item):
        self.item = item

    def match(self, rec):
        r = self.item.match(rec)
        return None if r is None else not r

    def plan(self, emu, table):
        return None


# ---------------------------------------------------------------------------
# Store
# ---------------------------------------------------------------------------


class Table:
    def __init__(self, etype):
        self.t = etype
        self.rows = {}  # pk tuple -> record dict (all stored scalars)
        self.idx = {a: {} for a in etype.index_attrs}  # attr -> ikey -> set(pk)
        self.orders = {}  # attrs tuple -> [keys, pks] sorted ascending
        self.ci = False
        self.version = 0  # bumped on every write

    def sort_key(self, rec, attrs, pk):
        ci = self.ci
        return tuple(sort_value(rec.get(a), ci) for a in attrs) + (tuple(sort_value(v, ci) for v in pk),)

    def _idx_add(self, pk, rec):
        for a, ix in self.idx.items():
            k = ikey(rec.get(a))
            s = ix.get(k)
            if s is None:
                ix[k] = {pk}
            else:
                s.add(pk)

    def _idx_remove(self, pk, rec, attrs=None):
        for a in attrs if attrs is not None else self.idx:
            ix = self.idx.get(a)
            if ix is None:
                continue
            k = ikey(rec.get(a))
            s = ix.get(k)
            if s is not None:
                s.discard(pk)
                if not s:
                    del ix[k]

    def _order_add(self, pk, rec):
        for attrs, (keys, pks) in self.orders.items():
            k = self.sort_key(rec, attrs, pk)
            i = bisect.bisect_left(keys, k)
            keys.insert(i, k)
            pks.insert(i, pk)

    def _order_remove(self, pk, rec, only=None):
        for attrs, (keys, pks) in self.orders.items():
            if only is not None and not (set(attrs) & only):
                continue
            k = self.sort_key(rec, attrs, pk)
            i = bisect.bisect_left(keys, k)
            if i < len(pks) and pks[i] == pk:
                del keys[i]
                del pks[i]
            else:  # should not happen; fall back to rebuilding later
                self.orders.clear()
                return

    def insert(self, rec):
        self.version += 1
        pk = self.t.key_of(rec)
        self.rows[pk] = rec
        self._idx_add(pk, rec)
        if self.orders:
            self._order_add(pk, rec)
        return pk

    def remove(self, pk):
        self.version += 1
        rec = self.rows.pop(pk)
        self._idx_remove(pk, rec)
        if self.orders:
            self._order_remove(pk, rec)
        return rec

    def replace(self, pk, new):
        self.version += 1
        old = self.rows[pk]
        changed = set(a for a in set(old) | set(new) if old.get(a) != new.get(a) or type(old.get(a)) is not type(new.get(a)))
        if self.orders and changed:
            touched = [attrs for attrs in self.orders if set(attrs) & changed]
            if touched:
                self._order_remove(pk, old, only=changed)
        ichanged = [a for a in changed if a in self.idx]
        self._idx_remove(pk, old, ichanged)
        self.rows[pk] = new
        for a in ichanged:
            k = ikey(new.get(a))
            s = self.idx[a].get(k)
            if s is None:
                self.idx[a][k] = {pk}
            else:
                s.add(pk)
        if self.orders and changed:
            for attrs, (keys, pks) in self.orders.items():
                if set(attrs) & changed:
                    k = self.sort_key(new, attrs, pk)
                    i = bisect.bisect_left(keys, k)
                    keys.insert(i, k)
                    pks.insert(i, pk)
        return old

    def ordered(self, attrs):
        """pks sorted ascending by attrs (pk as tie-break); cached."""
        ent = self.orders.get(attrs)
        if ent is None:
            items = sorted((self.sort_key(rec, attrs, pk), pk) for pk, rec in self.rows.items())
            ent = [[k for k, _ in items], [pk for _, pk in items]]
            self.orders[attrs] = ent
        return ent[1]

    def clear(self):
        self.version += 1
        self.rows.clear()
        for ix in self.idx.values():
            ix.clear()
        self.orders.clear()

    def lookup(self, attr, value, ci):
        """pks whose attr equals value (uses the index when there is one)."""
        nv = norm(value, ci)
        if attr in self.idx:
            cand = self.idx[attr].get(ikey(value), ())
            return [pk for pk in cand if norm(self.rows[pk].get(attr), ci) == nv]
        return [pk for pk, r in self.rows.items() if norm(r.get(attr), ci) == nv]


# ---------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------


class Config:
    def __init__(self, args):
        self.latency_ms = args.latency_ms
        self.page_max = args.page_max
        self.seat_cap = args.seat_cap
        self.strict_default = args.strict_default
        self.omit_nulls = args.omit_nulls
        self.case_insensitive = args.case_insensitive
        self.server_version = args.server_version
        self.duplicate_exception = "DuplicateEntryError"  # older servers: IntegrityError
        self.personal_keys = {}  # username -> key
        self.global_keys = []
        if args.api_key:
            self.personal_keys[args.api_user] = args.api_key
        if args.global_key:
            self.global_keys.append(args.global_key)

    def as_dict(self):
        return {
            "latency_ms": self.latency_ms,
            "page_max": self.page_max,
            "seat_cap": self.seat_cap,
            "strict_default": self.strict_default,
            "omit_nulls": self.omit_nulls,
            "case_insensitive": self.case_insensitive,
            "server_version": self.server_version,
            "duplicate_exception": self.duplicate_exception,
            "personal_keys": dict(self.personal_keys),
            "global_keys": list(self.global_keys),
        }


class Emulator:
    def __init__(self, args):
        self.args = args
        self.api_user = args.api_user
        self.config = Config(args)
        self.verbose = args.verbose
        self.state_path = args.state
        self.lock = threading.Lock()  # the store
        self.stats_lock = threading.Lock()
        schemas = builtin_schemas()
        if args.schemas:
            with open(args.schemas, encoding="utf-8") as f:
                extra = json.load(f)
            byname = {s["id"]: i for i, s in enumerate(schemas)}
            for s in extra:
                if s["id"] in byname:
                    schemas[byname[s["id"]]] = s
                else:
                    schemas.append(s)
        self.types = {}
        self.tables = {}
        for s in schemas:
            et = EntityType(s)
            self.types[et.name] = et
            self.tables[et.name] = Table(et)
        for et in self.types.values():
            for rel in et.relations.values():
                rel.setdefault("many", False)
        self.public_schemas = [self.types[s["id"]].public_schema for s in schemas]
        self.schema_hash = hashlib.md5(
            json.dumps(self.public_schemas, sort_keys=True).encode()
        ).hexdigest()
        self.journal = None
        self.result_cache = {}
        self._apply_ci()
        self._seed_fixed_rows()
        if self.state_path and os.path.exists(self.state_path):
            self.load_state(self.state_path)
        self.ensure_api_user()
        self.fault_queue = []
        self.log = collections.deque(maxlen=1000)
        self.log_seq = 0
        self.conn_seq = 0
        self.gen = 0
        self.reset_counters()

    # -- store primitives (journaled) ------------------------------------

    def _insert(self, table, rec):
        pk = table.insert(rec)
        if self.journal is not None:
            self.journal.append(("ins", table, pk))
        return pk

    def _remove(self, table, pk):
        rec = table.remove(pk)
        if self.journal is not None:
            self.journal.append(("del", table, pk, rec))
        return rec

    def _replace(self, table, pk, new):
        old = table.replace(pk, new)
        if self.journal is not None:
            self.journal.append(("upd", table, pk, old))

    def rollback(self):
        j = self.journal
        self.journal = None
        for entry in reversed(j or []):
            kind, table, pk = entry[0], entry[1], entry[2]
            if kind == "ins":
                table.remove(pk)
            elif kind == "del":
                table.insert(entry[3])
            else:
                table.replace(pk, entry[3])

    def _apply_ci(self):
        for t in self.tables.values():
            if t.ci != self.config.case_insensitive:
                t.ci = self.config.case_insensitive
                t.orders.clear()

    def _seed_fixed_rows(self):
        for et in self.types.values():
            table = self.tables[et.name]
            for row in et.fixed_rows:
                rec = self._complete(et, dict(row))
                pk = et.key_of(rec)
                if pk not in table.rows:
                    table.insert(rec)

    def _complete(self, et, values):
        rec = {}
        for a in et.stored:
            rec[a] = values[a] if a in values else et.default_for(a)
        for a, v in values.items():
            if a not in rec and a in et.scalars and a not in et.computed:
                rec[a] = v
        return rec

    def find_user(self, username):
        table = self.tables["User"]
        pks = table.lookup("username", username, self.config.case_insensitive)
        return table.rows[pks[0]] if pks else None

    def ensure_api_user(self):
        if not self.api_user:
            return
        with_journal, self.journal = self.journal, None
        try:
            if self.find_user(self.api_user) is None:
                et = self.types["User"]
                rec = self._complete(et, {"username": self.api_user, "is_active": True,
                                          "first_name": "ftrack", "last_name": "api"})
                self.tables["User"].insert(rec)
        finally:
            self.journal = with_journal

    def active_count(self, table):
        et = table.t
        if not et.seat_attr or et.seat_attr not in table.idx:
            return sum(1 for r in table.rows.values() if r.get(et.seat_attr) is True)
        return len(table.idx[et.seat_attr].get(ikey(True), ()))

    def related(self, rel, rec):
        v = rec.get(rel["local"])
        if v is None:
            return []
        target = self.tables.get(rel["type"])
        if target is None:
            return []
        ci = self.config.case_insensitive
        if target.t.pk == [rel["remote"]]:
            r = target.rows.get((v,))
            return [r] if r is not None else []
        return [target.rows[pk] for pk in target.lookup(rel["remote"], v, ci)]

    # -- state -----------------------------------------------------------

    def snapshot(self):
        return {name: [dict(r) for r in t.rows.values()] for name, t in self.tables.items()}

    def save_state(self, path=None):
        path = path or self.state_path
        if not path:
            raise ValueError("no state file configured")
        with self.lock:
            data = self.snapshot()
        tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return {name: len(rows) for name, rows in data.items()}

    def load_state(self, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for name, rows in data.items():
            et = self.types.get(name)
            if et is None or not isinstance(rows, list):
                continue
            table = self.tables[name]
            table.clear()
            for row in rows:
                table.insert(self._complete(et, row))
        self._seed_fixed_rows()

    # -- counters, log, faults -------------------------------------------

    def reset_counters(self):
        with self.stats_lock:
            self.requests = 0
            self.operations = collections.Counter()
            self.by_status = collections.Counter()
            self.exceptions = collections.Counter()
            self.connections = 0
            self.api_connections = 0
            self.gen += 1
            self.fault_queue = []
            self.log.clear()

    def on_connection(self):
        with self.stats_lock:
            self.connections += 1
            self.conn_seq += 1
            return self.conn_seq

    def take_fault(self):
        with self.stats_lock:
            while self.fault_queue:
                f = self.fault_queue[0]
                if f["skip"] > 0:
                    f["skip"] -= 1
                    return None
                if f["count"] <= 0:
                    self.fault_queue.pop(0)
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.fault_queue.pop(0)
                return f
            return None

    def record(self, entry):
        with self.stats_lock:
            self.log_seq += 1
            self.requests += 1
            entry["seq"] = self.log_seq
            self.log.append(entry)
            self.by_status[str(entry["status"])] += 1
            if entry.get("exception"):
                self.exceptions[entry["exception"]] += 1

    def stats(self):
        with self.stats_lock:
            return {
                "requests": self.requests,
                "operations": dict(self.operations),
                "connections": self.connections,
                "api_connections": self.api_connections,
                "by_status": dict(self.by_status),
                "exceptions": dict(self.exceptions),
                "faults_pending": sum(f["count"] for f in self.fault_queue),
                "entities": {n: len(t.rows) for n, t in self.tables.items()},
            }

    # -- authentication --------------------------------------------------

    def authenticate(self, username, key):
        """Return (user record, is_global) or raise InvalidCredentialsError."""
        err = ApiError("InvalidCredentialsError", INVALID_CREDENTIALS_CONTENT, 401)
        if not username or not key:
            raise err
        user = self.find_user(username)
        if user is None:
            raise err
        owner = None
        for u, k in self.config.personal_keys.items():
            if k == key and norm(u, self.config.case_insensitive) == norm(username, self.config.case_insensitive):
                owner = u
        if owner is not None:
            if user.get("is_active") is not True:
                raise err
            return user, False
        if key in self.config.global_keys:
            if user.get("is_active") is not True:
                raise err
            return user, True
        raise err

    # -- operations ------------------------------------------------------

    def entity_type(self, name):
        et = self.types.get(name) if isinstance(name, str) else None
        if et is None:
            raise validation_error('Unknown entity type "%s".' % (name,))
        return et

    def entity_key(self, et, key):
        if key is None:
            raise validation_error('Missing "entity_key" for entity type "%s".' % et.name)
        if isinstance(key, (str, int, float)) and not isinstance(key, bool):
            key = [key]
        if not isinstance(key, list) or len(key) != len(et.pk):
            raise validation_error(
                'Invalid entity_key %s for entity type "%s" (primary key %s).'
                % (json.dumps(key), et.name, json.dumps(et.pk))
            )
        return tuple(key)

    def _check_entity_type_in_data(self, et, data):
        if not isinstance(data, dict):
            raise validation_error('"entity_data" must be an object.')
        got = data.get("__entity_type__")
        if got != et.name:
            raise validation_error(
                'The "__entity_type__" of entity_data (%s) does not match entity_type "%s".'
                % (json.dumps(got), et.name)
            )

    def _data_values(self, et, data):
        """Translate entity_data into stored scalar values."""
        values = {}
        for attr, v in data.items():
            if attr == "__entity_type__":
                continue
            if attr in et.scalars:
                if attr in et.computed:
                    raise validation_error(
                        'Attribute "%s" on entity type "%s" is computed and cannot be set.' % (attr, et.name))
                check_type(et.name, attr, et.scalars[attr], v)
                values[attr] = v
            elif attr in et.relations and not et.relations[attr]["many"]:
                rel = et.relations[attr]
                if v is None:
                    values[rel["local"]] = None
                elif isinstance(v, dict) and rel["remote"] in v:
                    values[rel["local"]] = v[rel["remote"]]
                else:
                    raise validation_error(
                        'Invalid value for relation "%s" on entity type "%s".' % (attr, et.name))
            elif attr in et.relation_props:
                raise validation_error(
                    'Attribute "%s" on entity type "%s" is a collection and cannot be set here.'
                    % (attr, et.name))
            else:
                raise unknown_attribute(attr, et.name)
        return values

    def _check_unique(self, et, table, rec, pk):
        ci = self.config.case_insensitive
        for a in et.unique:
            v = rec.get(a)
            if v is None:
                continue
            for other in table.lookup(a, v, ci):
                if other != pk:
                    raise duplicate_entry(
                        'Duplicate entry: %s with %s %s already exists.' % (et.name, a, json.dumps(v)),
                        self.config.duplicate_exception)

    def _enforce_seat(self, et, table, rec, previously_active):
        cap = self.config.seat_cap
        if et.seat_attr and cap is not None and rec.get(et.seat_attr) is True and not previously_active:
            if self.active_count(table) >= cap:
                rec[et.seat_attr] = False

    def create_record(self, et, values, entity_key=None, bulk=False):
        table = self.tables[et.name]
        if entity_key is not None:
            for a, kv in zip(et.pk, entity_key):
                if a in values and values[a] != kv:
                    raise validation_error(
                        'entity_key %s does not match "%s" in entity_data.' % (json.dumps(list(entity_key)), a))
                values[a] = kv
        rec = self._complete(et, values)
        for a in et.required:
            if rec.get(a) is None:
                raise validation_error('Missing required attribute "%s" on entity type "%s".' % (a, et.name))
        pk = et.key_of(rec)
        if pk in table.rows:
            raise duplicate_entry(
                "Duplicate entry: %s with entity_key %r already exists." % (et.name, list(pk)),
                self.config.duplicate_exception)
        self._check_unique(et, table, rec, pk)
        self._enforce_seat(et, table, rec, False)
        self._insert(table, rec)
        return rec

    def op_create(self, op, ctx):
        et = self.entity_type(op.get("entity_type"))
        data = op.get("entity_data")
        self._check_entity_type_in_data(et, data)
        values = self._data_values(et, data)
        key = op.get("entity_key")
        key = self.entity_key(et, key) if key is not None else None
        rec = self.create_record(et, values, key)
        out = {"__entity_type__": et.name}
        for a, v in rec.items():
            if v is not None:
                out[a] = v
        return {"action": "create", "data": out}

    def op_update(self, op, ctx):
        et = self.entity_type(op.get("entity_type"))
        key = self.entity_key(et, op.get("entity_key"))
        data = op.get("entity_data")
        self._check_entity_type_in_data(et, data)
        table = self.tables[et.name]
        old = table.rows.get(key)
        if old is None:
            raise not_found(et.name, key)
        values = self._data_values(et, data)
        for a, v in values.items():
            if (a in et.immutable or a in et.pk) and norm(v, False) != norm(old.get(a), False):
                raise validation_error('Attribute "%s" on entity type "%s" is immutable.' % (a, et.name))
            if a in et.required and v is None:
                raise validation_error(
                    'Attribute "%s" on entity type "%s" is required and cannot be null.' % (a, et.name))
        new = dict(old)
        new.update(values)
        self._check_unique(et, table, new, key)
        if et.seat_attr:
            self._enforce_seat(et, table, new, old.get(et.seat_attr) is True)
        self._replace(table, key, new)
        out = {"__entity_type__": et.name}
        for a in values:
            out[a] = new.get(a)
        for a in et.pk + et.system_projections:
            out[a] = new.get(a)
        return {"action": "update", "data": out}

    def _delete(self, et, key):
        table = self.tables[et.name]
        rec = table.rows.get(key)
        if rec is None:
            raise not_found(et.name, key)
        for rel in et.relations.values():
            if rel.get("cascade") and rel["type"] in self.types:
                target = self.types[rel["type"]]
                for r in list(self.related(rel, rec)):
                    self._delete(target, target.key_of(r))
        self._remove(table, key)

    def op_delete(self, op, ctx):
        et = self.entity_type(op.get("entity_type"))
        key = self.entity_key(et, op.get("entity_key"))
        self._delete(et, key)
        return {"action": "delete", "data": True}

    def op_query_server_information(self, op, ctx):
        info = {
            "version": self.config.server_version,
            "schema_hash": self.schema_hash,
            "is_timezone_support_enabled": True,
            "storage_scenario": {"scenario": "ftrack.automatic", "data": {}},
        }
        values = op.get("values")
        if values is not None and not isinstance(values, list):
            raise validation_error('"values" must be a list.')
        if values and "user_information" in values:
            user, is_global = ctx["user"], ctx["is_global"]
            info["user_information"] = {
                "id": user.get("id"),
                "username": user.get("username"),
                "is_global_access_key": is_global,
                "access_key_id": str(uuid.uuid5(uuid.NAMESPACE_OID, "key:" + ctx["key"])),
                "restricted_user": False,
            }
        return info

    def op_query_schemas(self, op, ctx):
        return copy.deepcopy(self.public_schemas)

    def op_delayed_job(self, op, ctx):
        job_type = op.get("job_type")
        if not isinstance(job_type, str):
            raise validation_error('Missing "job_type".')
        return {
            "action": "delayed_job",
            "data": {
                "__entity_type__": "Job",
                "id": str(uuid.uuid4()),
                "status": "queued",
                "type": "api_job",
                "data": json.dumps({"job_type": job_type}),
                "user_id": ctx["user"].get("id"),
            },
        }

    # -- query -----------------------------------------------------------

    def _resolve_scalar(self, et, segs):
        """Validate a path; return (first relation or None, rest) for rewriting."""
        attr = segs[0]
        if attr in et.scalars:
            if len(segs) > 1:
                raise unknown_attribute(segs[1], et.name)
            return None
        if attr in et.relations and et.relations[attr]["type"] in self.types:
            return et.relations[attr]
        if attr in et.relation_props:
            raise validation_error(
                'Attribute "%s" on entity type "%s" is not supported by the emulator.' % (attr, et.name))
        raise unknown_attribute(attr, et.name)

    def compile_where(self, et, node):
        kind = node[0]
        if kind == "and":
            return AndCond([self.compile_where(et, n) for n in node[1]])
        if kind == "or":
            return OrCond([self.compile_where(et, n) for n in node[1]])
        if kind == "not":
            return NotCond(self.compile_where(et, node[1]))
        segs = node[1]
        rel = self._resolve_scalar(et, segs)
        if rel is not None:
            if kind == "cmp" and len(segs) == 1:
                raise validation_error(
                    'Attribute "%s" on entity type "%s" is a relation; compare one of its attributes.'
                    % (segs[0], et.name))
            if len(segs) == 1:
                sub_node = node[3]
            else:
                sub_node = (node[0], segs[1:]) + tuple(node[2:])
            c = RelCond(rel, self.compile_where(self.types[rel["type"]], sub_node))
            c.emu = self
            return c
        if kind == "rel":
            raise validation_error(
                'Attribute "%s" on entity type "%s" is not a relation.' % (segs[0], et.name))
        attr = segs[0]
        prop = et.scalars[attr]
        op, raw = node[2], node[3]
        if op in ("in", "not_in"):
            if isinstance(raw, tuple) and raw[0] == "subquery":
                values = self.subquery_values(raw[1])
            else:
                values = [coerce_literal(v, prop) for v in raw]
        else:
            values = [coerce_literal(raw, prop)]
        return CmpCond(attr, op, values, self.config.case_insensitive)

    def subquery_values(self, q):
        if not q.select or len(q.select) != 1:
            raise validation_error("A subquery must select exactly one attribute.")
        et = self.entity_type(q.type_name)
        segs = q.select[0]
        if self._resolve_scalar(et, segs) is not None:
            raise validation_error("A subquery must select a scalar attribute.")
        pks, _ = self.run_select(et, q, clamp=False)
        table = self.tables[et.name]
        return [table.rows[pk].get(segs[0]) for pk in pks]

    def projection_tree(self, et, paths):
        tree = {}
        for segs in paths:
            cur_et, cur = et, tree
            for i, s in enumerate(segs):
                if s in cur_et.scalars:
                    if i != len(segs) - 1:
                        raise unknown_attribute(segs[i + 1], cur_et.name)
                    cur.setdefault(s, None)
                elif s in cur_et.relations and cur_et.relations[s]["type"] in self.types:
                    sub = cur.get(s)
                    if sub is None:
                        sub = cur[s] = {}
                    cur_et = self.types[cur_et.relations[s]["type"]]
                    cur = sub
                elif s in cur_et.relation_props:
                    raise validation_error(
                        'Attribute "%s" on entity type "%s" is not supported by the emulator.'
                        % (s, cur_et.name))
                else:
                    raise unknown_attribute(s, cur_et.name)
        return tree

    def project(self, et, rec, tree):
        out = {"__entity_type__": et.name}
        omit = self.config.omit_nulls
        for a in et.pk:
            out[a] = rec.get(a)
        for a in et.system_projections:
            v = rec.get(a)
            if v is not None or not omit:
                out[a] = v
        for a, sub in tree.items():
            if sub is None:
                v = rec.get(a)
                if v is not None or not omit or a in et.pk:
                    out[a] = v
                continue
            rel = et.relations[a]
            target = self.types[rel["type"]]
            subtree = sub if sub else {p: None for p in target.default_projections if p in target.scalars}
            rows = self.related(rel, rec)
            if rel["many"]:
                out[a] = [self.project(target, r, subtree) for r in rows]
            elif rows:
                out[a] = self.project(target, rows[0], subtree)
            elif not omit:
                out[a] = None
        return out

    def _order_getter(self, et, segs):
        if len(segs) == 1:
            a = segs[0]
            return lambda rec: rec.get(a)
        rel = et.relations[segs[0]]
        sub_et = self.types[rel["type"]]
        inner = self._order_getter(sub_et, segs[1:])

        def g(rec):
            rows = self.related(rel, rec)
            return inner(rows[0]) if rows else None
        return g

    def _validate_order_path(self, et, segs):
        cur = et
        for i, s in enumerate(segs):
            if s in cur.scalars:
                if i != len(segs) - 1:
                    raise unknown_attribute(segs[i + 1], cur.name)
                return
            if s in cur.relations and not cur.relations[s]["many"] and cur.relations[s]["type"] in self.types:
                if i == len(segs) - 1:
                    raise validation_error('Cannot order by relation "%s" on entity type "%s".' % (s, cur.name))
                cur = self.types[cur.relations[s]["type"]]
                continue
            if s in cur.relation_props or s in cur.relations:
                raise validation_error('Cannot order by "%s" on entity type "%s".' % (s, cur.name))
            raise unknown_attribute(s, cur.name)

    def _sort_pks(self, et, table, pks, order):
        ci = self.config.case_insensitive
        rows = table.rows
        pks = sorted(pks, key=lambda pk: tuple(sort_value(v, ci) for v in pk))
        for segs, desc in reversed(order):
            g = self._order_getter(et, segs)
            pks.sort(key=lambda pk: sort_value(g(rows[pk]), ci), reverse=desc)
        return pks

    def _matched(self, et, table, q, cond, order, uniform, attrs, desc):
        """All matching pks in result order; big results are cached until the next write."""
        ckey = (et.name, repr(q.where), repr(order), self.config.case_insensitive)
        versions = tuple(t.version for t in self.tables.values())
        hit = self.result_cache.get(ckey)
        if hit is not None and hit[0] == versions:
            return hit[1]
        rows = table.rows
        cand = cond.plan(self, table) if cond is not None else None
        if cand is not None and (len(cand) <= 2000 or not uniform):
            matched = [pk for pk in cand if pk in rows and cond.match(rows[pk])]
            if order:
                matched = self._sort_pks(et, table, matched, order)
            else:  # no order by: deterministic, by primary key
                matched.sort(key=lambda pk: tuple(sort_value(v, False) for v in pk))
        elif uniform:
            pks = table.ordered(attrs)
            it = reversed(pks) if desc else pks
            if cond is None:
                matched = list(it)
            elif cand is not None:
                matched = [pk for pk in it if pk in cand and cond.match(rows[pk])]
            else:
                matched = [pk for pk in it if cond.match(rows[pk])]
        else:
            if cond is None:
                matched = list(rows)
            else:
                matched = [pk for pk, r in rows.items() if cond.match(r)]
            if order:
                matched = self._sort_pks(et, table, matched, order)
        if len(matched) > 500:
            self.result_cache[ckey] = (versions, matched)
            while len(self.result_cache) > 8:
                self.result_cache.pop(next(iter(self.result_cache)))
        return matched

    def run_select(self, et, q, clamp=True):
        """Return (list of pks of the page, more_rows_remain)."""
        table = self.tables[et.name]
        for segs, _ in q.order:
            self._validate_order_path(et, segs)
        cond = self.compile_where(et, q.where) if q.where is not None else None
        offset = q.offset or 0
        limit = q.limit
        page_max = self.config.page_max if clamp else None
        if page_max is not None:
            limit = page_max if limit is None else min(limit, page_max)
        end = None if limit is None else offset + limit
        order = q.order
        simple = bool(order) and all(len(s) == 1 for s, _ in order)
        uniform = simple and len(set(d for _, d in order)) == 1
        desc = uniform and order[0][1]
        attrs = tuple(s[0] for s, _ in order) if simple else None

        if cond is None:
            if uniform:
                pks = table.ordered(attrs)
                n = len(pks)
                stop = n if end is None else min(end, n)
                if desc:
                    page = pks[max(n - stop, 0): max(n - offset, 0)][::-1]
                else:
                    page = pks[offset:stop]
                return page, stop < n
            matched = self._matched(et, table, q, None, order, uniform, attrs, desc)
        else:
            matched = self._matched(et, table, q, cond, order, uniform, attrs, desc)
        page = matched[offset:end]
        more = len(matched) > offset + len(page)
        return page, more

    def op_query(self, op, ctx):
        q = parse_query(op.get("expression"))
        et = self.entity_type(q.type_name)
        paths = q.select if q.select is not None else [[p] for p in et.default_projections]
        tree = self.projection_tree(et, paths)
        page, more = self.run_select(et, q)
        table = self.tables[et.name]
        data = [self.project(et, table.rows[pk], tree) for pk in page]
        offset = q.offset or 0
        return {
            "action": "query",
            "data": data,
            "metadata": {"next": {"offset": offset + len(data) if more else None}},
        }

    OPS = {
        "query": op_query,
        "create": op_create,
        "update": op_update,
        "delete": op_delete,
        "query_server_information": op_query_server_information,
        "query_schemas": op_query_schemas,
        "delayed_job": op_delayed_job,
    }

    def execute_batch(self, ops, ctx):
        """Run ops in one transaction. Returns results or raises ApiError."""
        with self.lock:
            self.journal = []
            try:
                results = []
                for op in ops:
                    if not isinstance(op, dict):
                        raise validation_error("Each operation must be an object.")
                    action = op.get("action")
                    with self.stats_lock:
                        self.operations[action if isinstance(action, str) else "<invalid>"] += 1
                    fn = self.OPS.get(action) if isinstance(action, str) else None
                    if fn is None:
                        raise ApiError("ValueError", "Invalid action %r" % (action,), 400)
                    results.append(fn(self, op, ctx))
            except ApiError:
                self.rollback()
                raise
            except Exception as exc:  # a bug in the emulator: still atomic
                self.rollback()
                raise ApiError("ServerError", "Internal emulator error: %r" % (exc,), 500)
            self.journal = None
            return results

    # -- bulk load (test control) -----------------------------------------

    def bulk_load(self, et, rows):
        if not isinstance(rows, list):
            raise validation_error("Expected a JSON array of objects.")
        table = self.tables[et.name]
        with self.lock:
            table.orders.clear()
            self.journal = []
            try:
                for row in rows:
                    if not isinstance(row, dict):
                        raise validation_error("Expected a JSON array of objects.")
                    data = dict(row)
                    data.pop("__entity_type__", None)
                    values = self._data_values(et, data)
                    self.create_record(et, values)
            except ApiError:
                self.rollback()
                raise
            finally:
                self.journal = None
            return {"loaded": len(rows), "total": len(table.rows)}

    def reset_store(self):
        with self.lock:
            api = self.find_user(self.api_user) if self.api_user else None
            for t in self.tables.values():
                t.clear()
            self._seed_fixed_rows()
            if api is not None:
                self.tables["User"].insert(dict(api))
            self.ensure_api_user()

    # -- HTTP entry points --------------------------------------------------

    def is_strict(self, headers):
        v = headers.get("ftrack-strict-api")
        if v is None:
            return self.config.strict_default
        return v.strip().lower() in ("true", "1", "yes")

    def handle_api(self, h, body):
        t0 = time.monotonic()
        with self.stats_lock:
            if h.api_gen != self.gen:
                h.api_gen = self.gen
                self.api_connections += 1
        username = h.headers.get("ftrack-user")
        entry = {"time": time.time(), "method": h.command, "path": h.path, "user": username,
                 "connection": h.conn_id, "actions": [], "ops": [], "status": None, "exception": None}
        strict = self.is_strict(h.headers)
        fault = self.take_fault()
        if fault is not None:
            entry["fault"] = True
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault.get("drop"):
                h.close_connection = True
                entry["status"] = "drop"
                entry["duration_ms"] = round((time.monotonic() - t0) * 1000, 3)
                self.record(entry)
                return
            extra = {}
            if fault.get("retry_after") is not None:
                extra["Retry-After"] = str(fault["retry_after"])
            status = fault.get("status")
            if fault.get("body") is not None:
                status = status or 200
                entry["status"] = status
                self.record(entry)
                h.send(status, fault["body"].encode("utf-8"), "application/json", extra)
                return
            if fault.get("exception"):
                err = ApiError(fault["exception"], fault.get("content") or "", None)
                if status is None:
                    status = err.status if strict else 200
                entry["status"] = status
                entry["exception"] = err.exception
                self.record(entry)
                h.send(status, json.dumps(err.body()).encode("utf-8"), "application/json", extra)
                return
            if status is not None:
                reason = h.responses.get(status, ("Error",))[0]
                page = "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\n" % (
                    status, reason, status, reason)
                entry["status"] = status
                self.record(entry)
                h.send(status, page.encode("utf-8"), "text/html; charset=utf-8", extra)
                return
            # delay only: continue normally
        latency = self.config.latency_ms
        if latency:
            time.sleep(latency / 1000.0)
        try:
            key = h.headers.get("ftrack-api-key")
            with self.lock:
                user, is_global = self.authenticate(username, key)
                user = dict(user)
            try:
                ops = json.loads(body.decode("utf-8")) if body else None
            except (ValueError, UnicodeDecodeError):
                raise validation_error("The request body is not valid JSON.")
            if not isinstance(ops, list):
                raise validation_error("The request body must be a JSON array of operations.")
            for op in ops:
                if isinstance(op, dict):
                    entry["actions"].append(op.get("action"))
                    summary = {"action": op.get("action")}
                    for k in ("entity_type", "expression", "entity_key"):
                        if k in op:
                            summary[k] = op[k]
                    entry["ops"].append(summary)
            ctx = {"user": user, "is_global": is_global, "key": key}
            results = self.execute_batch(ops, ctx)
            payload = json.dumps(results, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
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
        self.record(entry)
        h.send(status, payload, "application/json")

    def set_fault(self, spec):
        specs = spec if isinstance(spec, list) else [spec]
        queue = []
        for s in specs:
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
            }
            if f["status"] is not None:
                f["status"] = int(f["status"])
            if f["count"] > 0:
                queue.append(f)
        with self.stats_lock:
            self.fault_queue = queue
        return {"faults_pending": sum(f["count"] for f in queue)}

    def set_config(self, cfg):
        c = self.config
        for k in ("latency_ms", "page_max", "seat_cap"):
            if k in cfg:
                v = cfg[k]
                setattr(c, k, None if v is None else int(v))
        if c.latency_ms is None:
            c.latency_ms = 0
        for k in ("strict_default", "omit_nulls", "case_insensitive"):
            if k in cfg:
                setattr(c, k, bool(cfg[k]))
        if "server_version" in cfg:
            c.server_version = str(cfg["server_version"])
        if "duplicate_exception" in cfg:
            c.duplicate_exception = str(cfg["duplicate_exception"])
        if "personal_keys" in cfg:
            for u, k in (cfg["personal_keys"] or {}).items():
                if k is None:
                    c.personal_keys.pop(u, None)
                else:
                    c.personal_keys[u] = str(k)
        if "global_keys" in cfg:
            c.global_keys = [str(k) for k in (cfg["global_keys"] or [])]
        with self.lock:
            self._apply_ci()
        return c.as_dict()

    def control(self, h, method, path, query, body):
        """The /_emulator/ test controls."""
        name = path[len("/_emulator/"):].strip("/")

        def reply(obj, status=200):
            h.send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json")

        def read_json(default=None):
            if not body:
                return default
            return json.loads(body.decode("utf-8"))

        try:
            if name == "stats" and method == "GET":
                return reply(self.stats())
            if name == "log" and method == "GET":
                since = int(query.get("since", ["0"])[0])
                with self.stats_lock:
                    return reply([e for e in self.log if e["seq"] > since])
            if name == "config" and method == "GET":
                return reply(self.config.as_dict())
            if name == "config" and method == "POST":
                return reply(self.set_config(read_json({})))
            if name == "fault" and method == "POST":
                return reply(self.set_fault(read_json({})))
            if name == "reset" and method == "POST":
                opts = read_json({}) or {}
                self.reset_counters()
                if opts.get("store"):
                    self.reset_store()
                return reply({"reset": True, "store": bool(opts.get("store"))})
            if name == "save" and method == "POST":
                opts = read_json({}) or {}
                path_ = opts.get("path") or self.state_path
                if not path_:
                    return reply({"error": "no state file: start with --state or pass {\"path\": ...}"}, 400)
                counts = self.save_state(path_)
                return reply({"saved": path_, "entities": counts})
            m = re.match(r"^(users|metadata|entities/([A-Za-z_][A-Za-z0-9_]*))$", name)
            if m:
                tname = {"users": "User", "metadata": "Metadata"}.get(m.group(1)) or m.group(2)
                et = self.types.get(tname)
                if et is None:
                    return reply({"error": "unknown entity type %s" % tname}, 404)
                if method == "GET":
                    with self.lock:
                        rows = [dict(r) for r in self.tables[tname].rows.values()]
                    return reply(rows)
                if method == "POST":
                    try:
                        return reply(self.bulk_load(et, read_json([])))
                    except ApiError as err:
                        return reply(dict(err.body(), error=err.content), err.status)
            return reply({"error": "unknown control %s %s" % (method, path)}, 404)
        except (ValueError, TypeError) as exc:
            return reply({"error": str(exc)}, 400)


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


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
        self.conn_id = self.emu.on_connection()
        self.api_gen = None

    def log_message(self, fmt, *args):
        if self.emu.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def send(self, status, body, ctype="application/json", extra=None):
        reason = self.responses.get(status, ("Unknown",))[0]
        lines = [
            "HTTP/1.1 %d %s" % (status, reason),
            "Server: %s" % self.server_version,
            "Date: %s" % self.date_time_string(),
            "Content-Type: %s" % ctype,
            "Content-Length: %d" % len(body),
        ]
        for k, v in (extra or {}).items():
            lines.append("%s: %s" % (k, v))
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.command != "HEAD":
            data += body
        self.wfile.write(data)
        self.wfile.flush()
        self.log_request(status, len(body))

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
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
            return self.emu.control(self, self.command, path, urllib.parse.parse_qs(parts.query), body)
        if path in ("/api", "/api/"):
            if self.command != "POST":
                err = {"exception": "MethodNotAllowed",
                       "content": "The method %s is not allowed for %s; use POST." % (self.command, path),
                       "error_code": None}
                self.emu.record({"time": time.time(), "method": self.command, "path": self.path,
                                 "status": 405, "exception": "MethodNotAllowed", "actions": []})
                self.send(405, json.dumps(err).encode(), "application/json", {"Allow": "POST"})
                return
            return self.emu.handle_api(self, body)
        err = {"exception": "NotFound", "content": "The requested URL %s was not found on the server." % path,
               "error_code": None}
        self.emu.record({"time": time.time(), "method": self.command, "path": self.path,
                         "status": 404, "exception": "NotFound", "actions": []})
        self.send(404, json.dumps(err).encode(), "application/json")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = dispatch


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def make_parser():
    p = argparse.ArgumentParser(description="ftrack server emulator for tests")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: pick a free one)")
    p.add_argument("--api-user", default="ftrack-sync", help="the API account (created active if missing)")
    p.add_argument("--api-key", default=None, help="personal API key of --api-user")
    p.add_argument("--global-key", default=None, help="a global API key, valid for any active user")
    p.add_argument("--state", default=None, help="JSON file: loaded at start, saved at exit")
    p.add_argument("--latency-ms", type=int, default=0, help="sleep before answering each /api request")
    p.add_argument("--page-max", type=int, default=None, help="clamp every query limit to N")
    p.add_argument("--seat-cap", type=int, default=None, help="at most N active users")
    p.add_argument("--strict-default", action="store_true",
                   help="strict error statuses when the ftrack-strict-api header is absent")
    p.add_argument("--omit-nulls", action="store_true", help="omit null attributes from query results")
    p.add_argument("--case-insensitive", action="store_true",
                   help="compare strings case-insensitively (is, in, like, unique username)")
    p.add_argument("--server-version", default="4.13.9", help='version reported (e.g. "dev")')
    p.add_argument("--schemas", default=None, help="JSON list of extra or replacement schemas")
    p.add_argument("--verbose", action="store_true", help="log requests on stderr")
    return p


def main(argv=None):
    args = make_parser().parse_args(argv)
    if not args.api_key and not args.global_key:
        sys.stderr.write("ftrack_emulator: give --api-key and/or --global-key\n")
        return 2
    if args.page_max is not None and args.page_max < 1:
        sys.stderr.write("ftrack_emulator: --page-max must be >= 1\n")
        return 2
    emu = Emulator(args)
    server = Server(("127.0.0.1", args.port), Handler)
    server.emulator = emu
    port = server.server_address[1]
    sys.stdout.write("listening on http://127.0.0.1:%d\n" % port)
    sys.stdout.flush()
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    if emu.state_path:
        try:
            emu.save_state()
        except OSError as exc:
            sys.stderr.write("ftrack_emulator: cannot save state: %s\n" % exc)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
