# SPDX-License-Identifier: Apache-2.0
"""Query execution: a parsed Query against the store.

Validates paths, compiles the where clause (where.py), picks an index or a
cached sort order, pages, and projects the selected attributes.  The
caller holds store.lock.
"""

from .errors import attribute_error, unknown_attribute, validation_error
from .query import coerce_literal
from .values import sort_value
from .where import AndCond, CmpCond, NotCond, OrCond, RelCond

# A result of more than CACHE_MIN_ROWS rows is kept, at most CACHE_MAX of
# them, until the next write to any table (paging through a big result).
CACHE_MIN_ROWS = 500
CACHE_MAX = 8


class Executor:
    def __init__(self, store, config):
        self.store = store
        self.config = config
        self.cache = {}

    def _relation(self, et, name):
        """et's relation name when the store has its type, else None."""
        rel = et.relations.get(name)
        if rel is not None and rel["type"] in self.store.types:
            return rel
        return None

    def _resolve_scalar(self, et, segs):
        """Validate a path; return its first relation, or None when the path
        is a scalar attribute."""
        attr = segs[0]
        if attr in et.scalars:
            if len(segs) > 1:
                raise unknown_attribute(segs[1], et.name)
            return None
        rel = self._relation(et, attr)
        if rel is not None:
            return rel
        if attr in et.relation_props:
            raise attribute_error(attr, et.name,
                                  "is not supported by the emulator")
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
                raise attribute_error(
                    segs[0], et.name,
                    "is a relation; compare one of its attributes")
            if len(segs) == 1:
                sub_node = node[3]
            else:
                sub_node = (node[0], segs[1:]) + tuple(node[2:])
            sub = self.compile_where(self.store.types[rel["type"]], sub_node)
            return RelCond(rel, sub, self.store)
        if kind == "rel":
            raise attribute_error(segs[0], et.name, "is not a relation")
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
            raise validation_error(
                "A subquery must select exactly one attribute.")
        et = self.store.entity_type(q.type_name)
        segs = q.select[0]
        if self._resolve_scalar(et, segs) is not None:
            raise validation_error(
                "A subquery must select a scalar attribute.")
        pks, _ = self.run_select(et, q, clamp=False)
        table = self.store.tables[et.name]
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
                elif self._relation(cur_et, s) is not None:
                    sub = cur.get(s)
                    if sub is None:
                        sub = cur[s] = {}
                    cur_et = self.store.types[cur_et.relations[s]["type"]]
                    cur = sub
                elif s in cur_et.relation_props:
                    raise attribute_error(s, cur_et.name,
                                          "is not supported by the emulator")
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
            target = self.store.types[rel["type"]]
            subtree = sub or {p: None for p in target.default_projections
                              if p in target.scalars}
            rows = self.store.related(rel, rec)
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
        sub_et = self.store.types[rel["type"]]
        inner = self._order_getter(sub_et, segs[1:])

        def g(rec):
            rows = self.store.related(rel, rec)
            return inner(rows[0]) if rows else None
        return g

    def _validate_order_path(self, et, segs):
        cur = et
        for i, s in enumerate(segs):
            if s in cur.scalars:
                if i != len(segs) - 1:
                    raise unknown_attribute(segs[i + 1], cur.name)
                return
            rel = self._relation(cur, s)
            if rel is not None and not rel["many"]:
                if i == len(segs) - 1:
                    raise validation_error(
                        'Cannot order by relation "%s" on entity type "%s".'
                        % (s, cur.name))
                cur = self.store.types[rel["type"]]
                continue
            if s in cur.relation_props or s in cur.relations:
                raise validation_error(
                    'Cannot order by "%s" on entity type "%s".'
                    % (s, cur.name))
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
        """All matching pks in result order; big results are cached until
        the next write."""
        ckey = (et.name, repr(q.where), repr(order),
                self.config.case_insensitive)
        versions = tuple(t.version for t in self.store.tables.values())
        hit = self.cache.get(ckey)
        if hit is not None and hit[0] == versions:
            return hit[1]
        rows = table.rows
        cand = cond.plan(self.store, table) if cond is not None else None
        if cand is not None and (len(cand) <= 2000 or not uniform):
            matched = [pk for pk in cand if pk in rows
                       and cond.match(rows[pk])]
            if order:
                matched = self._sort_pks(et, table, matched, order)
            else:  # no order by: deterministic, by primary key
                matched.sort(key=lambda pk: tuple(sort_value(v, False)
                                                  for v in pk))
        elif uniform:
            pks = table.ordered(attrs)
            it = reversed(pks) if desc else pks
            if cond is None:
                matched = list(it)
            elif cand is not None:
                matched = [pk for pk in it if pk in cand
                           and cond.match(rows[pk])]
            else:
                matched = [pk for pk in it if cond.match(rows[pk])]
        else:
            if cond is None:
                matched = list(rows)
            else:
                matched = [pk for pk, r in rows.items() if cond.match(r)]
            if order:
                matched = self._sort_pks(et, table, matched, order)
        if len(matched) > CACHE_MIN_ROWS:
            self.cache[ckey] = (versions, matched)
            while len(self.cache) > CACHE_MAX:
                self.cache.pop(next(iter(self.cache)))
        return matched

    def run_select(self, et, q, clamp=True):
        """Return (list of pks of the page, more_rows_remain)."""
        table = self.store.tables[et.name]
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
            matched = self._matched(et, table, q, None, order, uniform,
                                    attrs, desc)
        else:
            matched = self._matched(et, table, q, cond, order, uniform,
                                    attrs, desc)
        page = matched[offset:end]
        more = len(matched) > offset + len(page)
        return page, more
