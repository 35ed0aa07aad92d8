# SPDX-License-Identifier: Apache-2.0
"""Compiled where clauses: conditions that match a record and plan an index.

match(rec) is True, False or None (SQL unknown); plan(store, table) is the
set of candidate primary keys an index gives, or None when it gives none.
"""

import re

from .values import ikey, norm, order_value


def _equal(value, ci):
    nv = norm(value, ci)

    def positive(x):
        return norm(x, ci) == nv
    return positive


def _member(values, ci):
    nset = set(norm(v, ci) for v in values)

    def positive(x):
        return norm(x, ci) in nset
    return positive


def _like(pat, ci):
    """Only % is special: any run of characters."""
    if not isinstance(pat, str):
        pat = "" if pat is None else str(pat)
    rx = re.compile(
        "".join(".*" if ch == "%" else re.escape(ch) for ch in pat),
        re.DOTALL | (re.IGNORECASE if ci else 0),
    )

    def positive(x):
        return isinstance(x, str) and rx.fullmatch(x) is not None
    return positive


def _ordered(op, value, ci):
    """gt, lt, ge, le; values that do not compare give False."""
    ref = order_value(value)
    if ci and isinstance(ref, str):
        ref = ref.lower()

    def positive(x):
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
    return positive


class CmpCond:
    def __init__(self, attr, op, values, ci):
        self.attr = attr
        self.op = op
        self.values = values
        self.ci = ci
        if op in ("eq", "ne"):
            self.positive = _equal(values[0], ci)
        elif op in ("in", "not_in"):
            self.positive = _member(values, ci)
        elif op in ("like", "not_like"):
            self.positive = _like(values[0], ci)
        else:
            self.positive = _ordered(op, values[0], ci)
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

    def plan(self, store, table):
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
    def __init__(self, rel, sub, store):
        self.rel = rel
        self.sub = sub
        self.store = store

    def match(self, rec):
        for r in self.store.related(self.rel, rec):
            if self.sub.match(r) is True:
                return True
        return False

    def plan(self, store, table):
        rel = self.rel
        if rel["local"] not in table.idx:
            return None
        target = store.tables.get(rel["type"])
        if target is None:
            return None
        sub = self.sub.plan(store, target)
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

    def plan(self, store, table):
        best = None
        for c in self.items:
            s = c.plan(store, table)
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

    def plan(self, store, table):
        out = set()
        for c in self.items:
            s = c.plan(store, table)
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

    def plan(self, store, table):
        return None
