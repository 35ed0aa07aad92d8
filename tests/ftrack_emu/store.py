# SPDX-License-Identifier: Apache-2.0
"""The store: one Table per entity type, an undo journal, the state file.

Callers hold ``lock`` around anything that reads or writes the tables.
Between begin() and commit() every insert/remove/replace is journaled, and
rollback() undoes them in reverse order.
"""

import hashlib
import json
import os
import threading

from .errors import validation_error
from .schema import EntityType
from .table import Table
from .values import ikey


class Store:
    def __init__(self, schemas, config):
        self.config = config
        self.lock = threading.Lock()
        self.types = {}
        self.tables = {}
        for s in schemas:
            et = EntityType(s)
            self.types[et.name] = et
            self.tables[et.name] = Table(et)
        for et in self.types.values():
            for rel in et.relations.values():
                rel.setdefault("many", False)
        self.public_schemas = [self.types[s["id"]].public_schema
                               for s in schemas]
        self.schema_hash = hashlib.md5(
            json.dumps(self.public_schemas, sort_keys=True).encode()
        ).hexdigest()
        self.journal = None
        self.apply_ci()
        self.seed_fixed_rows()

    # -- journaled writes ----------------------------------------------------

    def begin(self):
        self.journal = []

    def commit(self):
        self.journal = None

    def insert(self, table, rec):
        pk = table.insert(rec)
        if self.journal is not None:
            self.journal.append(("ins", table, pk))
        return pk

    def remove(self, table, pk):
        rec = table.remove(pk)
        if self.journal is not None:
            self.journal.append(("del", table, pk, rec))
        return rec

    def replace(self, table, pk, new):
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

    # -- rows ----------------------------------------------------------------

    def apply_ci(self):
        """Follow config.case_insensitive (sort orders depend on it)."""
        for t in self.tables.values():
            if t.ci != self.config.case_insensitive:
                t.ci = self.config.case_insensitive
                t.orders.clear()

    def seed_fixed_rows(self):
        for et in self.types.values():
            table = self.tables[et.name]
            for row in et.fixed_rows:
                rec = self.complete(et, dict(row))
                pk = et.key_of(rec)
                if pk not in table.rows:
                    table.insert(rec)

    def complete(self, et, values):
        """A full record: values, then defaults for the stored attributes."""
        rec = {}
        for a in et.stored:
            rec[a] = values[a] if a in values else et.default_for(a)
        for a, v in values.items():
            if a not in rec and a in et.scalars and a not in et.computed:
                rec[a] = v
        return rec

    def entity_type(self, name):
        et = self.types.get(name) if isinstance(name, str) else None
        if et is None:
            raise validation_error('Unknown entity type "%s".' % (name,))
        return et

    def find_user(self, username):
        table = self.tables["User"]
        pks = table.lookup("username", username, self.config.case_insensitive)
        return table.rows[pks[0]] if pks else None

    def ensure_user(self, username):
        """Create username as an active user if missing (not journaled)."""
        if not username:
            return
        with_journal, self.journal = self.journal, None
        try:
            if self.find_user(username) is None:
                et = self.types["User"]
                rec = self.complete(et, {
                    "username": username, "is_active": True,
                    "first_name": "ftrack", "last_name": "api"})
                self.tables["User"].insert(rec)
        finally:
            self.journal = with_journal

    def active_count(self, table):
        et = table.t
        if not et.seat_attr or et.seat_attr not in table.idx:
            return sum(1 for r in table.rows.values()
                       if r.get(et.seat_attr) is True)
        return len(table.idx[et.seat_attr].get(ikey(True), ()))

    def related(self, rel, rec):
        """The records rel (a relation of rec's type) joins rec to."""
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

    def dump(self, type_name):
        """Copies of all rows of one type (takes the lock)."""
        with self.lock:
            return [dict(r) for r in self.tables[type_name].rows.values()]

    def reset(self, keep_user):
        """Remove every row except the fixed ones and keep_user's."""
        with self.lock:
            api = self.find_user(keep_user) if keep_user else None
            for t in self.tables.values():
                t.clear()
            self.seed_fixed_rows()
            if api is not None:
                self.tables["User"].insert(dict(api))
            self.ensure_user(keep_user)

    # -- state file ----------------------------------------------------------

    def snapshot(self):
        return {name: [dict(r) for r in t.rows.values()]
                for name, t in self.tables.items()}

    def save(self, path):
        """Write all rows to path atomically; return {type: rows}."""
        with self.lock:
            data = self.snapshot()
        tmp = "%s.tmp.%d.%d" % (path, os.getpid(), threading.get_ident())
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return {name: len(rows) for name, rows in data.items()}

    def load(self, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for name, rows in data.items():
            et = self.types.get(name)
            if et is None or not isinstance(rows, list):
                continue
            table = self.tables[name]
            table.clear()
            for row in rows:
                table.insert(self.complete(et, row))
        self.seed_fixed_rows()
