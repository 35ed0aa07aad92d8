# SPDX-License-Identifier: Apache-2.0
"""One entity type's rows, with equality indexes and cached sort orders.

Not journaled and not locked: store.py does both.
"""

import bisect

from .values import ikey, norm, sort_value


def _same(x, y):
    """Equal and of one type: 1 == True, but True replacing 1 is a change."""
    # isinstance() would not tell bool from int; pycodestyle 2.10 flags
    # even an `is` comparison of types.
    return x == y and type(x) is type(y)  # noqa: E721


class Table:
    def __init__(self, etype):
        self.t = etype
        self.rows = {}  # pk tuple -> record dict (all stored scalars)
        # attr -> ikey -> set(pk)
        self.idx = {a: {} for a in etype.index_attrs}
        self.orders = {}  # attrs tuple -> [keys, pks] sorted ascending
        self.ci = False
        self.version = 0  # bumped on every write

    def sort_key(self, rec, attrs, pk):
        ci = self.ci
        keys = tuple(sort_value(rec.get(a), ci) for a in attrs)
        return keys + (tuple(sort_value(v, ci) for v in pk),)

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
        changed = set(a for a in set(old) | set(new)
                      if not _same(old.get(a), new.get(a)))
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
            items = sorted((self.sort_key(rec, attrs, pk), pk)
                           for pk, rec in self.rows.items())
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
            return [pk for pk in cand
                    if norm(self.rows[pk].get(attr), ci) == nv]
        return [pk for pk, r in self.rows.items()
                if norm(r.get(attr), ci) == nv]
