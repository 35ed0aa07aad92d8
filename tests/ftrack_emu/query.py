# SPDX-License-Identifier: Apache-2.0
"""The query language: tokenizer, parser (expression -> Query) and literals.

The parser only builds the syntax tree; select.py gives it meaning.
"""

import re

from .errors import ApiError, validation_error


class _ParseFail(Exception):
    pass


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
