# SPDX-License-Identifier: Apache-2.0
"""The /api operations: create, update, delete, query, server information,
schemas, delayed_job; a batch runs as one transaction (store journal)."""

import copy
import json
import uuid

from .errors import (STRICT_STATUS, ApiError, attribute_error,
                     duplicate_entry, not_found, unknown_attribute,
                     validation_error)
from . import roles
from .query import parse_query
from .values import check_type, norm


class Operations:
    def __init__(self, store, config, executor, stats):
        self.store = store
        self.config = config
        self.executor = executor
        self.stats = stats

    def entity_key(self, et, key):
        if key is None:
            raise validation_error('Missing "entity_key" for entity type "%s".'
                                   % et.name)
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
                'The "__entity_type__" of entity_data (%s) does not match '
                'entity_type "%s".' % (json.dumps(got), et.name))

    def _data_values(self, et, data):
        """Translate entity_data into stored scalar values."""
        values = {}
        for attr, v in data.items():
            if attr == "__entity_type__":
                continue
            if attr in et.scalars:
                if attr in et.computed:
                    raise attribute_error(attr, et.name,
                                          "is computed and cannot be set")
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
                        'Invalid value for relation "%s" on entity type "%s".'
                        % (attr, et.name))
            elif attr in et.relation_props:
                raise attribute_error(
                    attr, et.name, "is a collection and cannot be set here")
            else:
                raise unknown_attribute(attr, et.name)
        return values

    def _check_unique(self, et, table, rec, pk):
        ci = self.config.case_insensitive
        for a in et.unique:
            if (et.name == "User" and a == "username"
                    and not self.config.unique_usernames):
                continue
            v = rec.get(a)
            if v is None:
                continue
            for other in table.lookup(a, v, ci):
                if other != pk:
                    raise duplicate_entry(
                        'Duplicate entry: %s with %s %s already exists.'
                        % (et.name, a, json.dumps(v)),
                        self.config.duplicate_exception)

    def _enforce_seat(self, et, table, rec, previously_active, bulk=False):
        """A write that would take a seat past the cap: kept inactive, or
        (seat_cap_exception, not for a bulk load) refused."""
        cap = self.config.seat_cap
        if (et.seat_attr and cap is not None
                and rec.get(et.seat_attr) is True and not previously_active):
            if self.store.active_count(table) >= cap:
                exc = self.config.seat_cap_exception
                if exc and not bulk:
                    raise ApiError(
                        exc, "No free seat: the licence allows %d active "
                        "users." % cap, STRICT_STATUS.get(exc, 403))
                rec[et.seat_attr] = False

    def _answer(self, et, rec, attrs):
        """The data of a create/update answer: attrs of rec (None: every
        non-null one), or only the key (write_answers "id")."""
        out = {"__entity_type__": et.name}
        if self.config.write_answers == "id":
            for a in et.pk:
                out[a] = rec.get(a)
            return out
        if attrs is None:
            for a, v in rec.items():
                if v is not None:
                    out[a] = v
            return out
        for a in attrs:
            out[a] = rec.get(a)
        return out

    def create_record(self, et, values, entity_key=None, bulk=False):
        table = self.store.tables[et.name]
        if entity_key is not None:
            for a, kv in zip(et.pk, entity_key):
                if a in values and values[a] != kv:
                    raise validation_error(
                        'entity_key %s does not match "%s" in entity_data.'
                        % (json.dumps(list(entity_key)), a))
                values[a] = kv
        rec = self.store.complete(et, values)
        for a in et.required:
            if rec.get(a) is None:
                raise validation_error(
                    'Missing required attribute "%s" on entity type "%s".'
                    % (a, et.name))
        pk = et.key_of(rec)
        if pk in table.rows:
            raise duplicate_entry(
                "Duplicate entry: %s with entity_key %r already exists."
                % (et.name, list(pk)),
                self.config.duplicate_exception)
        self._check_unique(et, table, rec, pk)
        roles.check_membership(self, et, rec)
        self._enforce_seat(et, table, rec, False, bulk)
        self.store.insert(table, rec)
        roles.after_create(self, et, rec, bulk)
        return rec

    def op_create(self, op, ctx):
        et = self.store.entity_type(op.get("entity_type"))
        data = op.get("entity_data")
        self._check_entity_type_in_data(et, data)
        values = self._data_values(et, data)
        key = op.get("entity_key")
        key = self.entity_key(et, key) if key is not None else None
        rec = self.create_record(et, values, key)
        return {"action": "create", "data": self._answer(et, rec, None)}

    def op_update(self, op, ctx):
        et = self.store.entity_type(op.get("entity_type"))
        key = self.entity_key(et, op.get("entity_key"))
        data = op.get("entity_data")
        self._check_entity_type_in_data(et, data)
        table = self.store.tables[et.name]
        old = table.rows.get(key)
        if old is None:
            raise not_found(et.name, key)
        values = self._data_values(et, data)
        for a, v in values.items():
            fixed = a in et.immutable or a in et.pk
            if fixed and norm(v, False) != norm(old.get(a), False):
                raise attribute_error(a, et.name, "is immutable")
            if a in et.required and v is None:
                raise attribute_error(a, et.name,
                                      "is required and cannot be null")
        new = dict(old)
        new.update(values)
        self._check_unique(et, table, new, key)
        if et.seat_attr:
            self._enforce_seat(et, table, new, old.get(et.seat_attr) is True)
        self.store.replace(table, key, new)
        attrs = list(values) + et.pk + et.system_projections
        return {"action": "update", "data": self._answer(et, new, attrs)}

    def _delete(self, et, key):
        table = self.store.tables[et.name]
        rec = table.rows.get(key)
        if rec is None:
            raise not_found(et.name, key)
        for rel in et.relations.values():
            if rel.get("cascade") and rel["type"] in self.store.types:
                target = self.store.types[rel["type"]]
                for r in list(self.store.related(rel, rec)):
                    self._delete(target, target.key_of(r))
        self.store.remove(table, key)

    def delete_entity(self, et, key):
        """Delete one record and what cascades from it (roles.py)."""
        self._delete(et, key)

    def op_delete(self, op, ctx):
        et = self.store.entity_type(op.get("entity_type"))
        key = self.entity_key(et, op.get("entity_key"))
        self._delete(et, key)
        return {"action": "delete", "data": True}

    def op_query_server_information(self, op, ctx):
        info = {
            "version": self.config.server_version,
            "schema_hash": self.store.schema_hash,
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
                "access_key_id": str(uuid.uuid5(uuid.NAMESPACE_OID,
                                                "key:" + ctx["key"])),
                "restricted_user": False,
            }
        return info

    def op_query_schemas(self, op, ctx):
        return copy.deepcopy(self.store.public_schemas)

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

    def op_query(self, op, ctx):
        q = parse_query(op.get("expression"))
        et = self.store.entity_type(q.type_name)
        paths = q.select
        if paths is None:
            paths = [[p] for p in et.default_projections]
        tree = self.executor.projection_tree(et, paths)
        page, more = self.executor.run_select(et, q)
        table = self.store.tables[et.name]
        data = [self.executor.project(et, table.rows[pk], tree) for pk in page]
        offset = q.offset or 0
        next_offset = offset + len(data) if more else None
        return {
            "action": "query",
            "data": data,
            "metadata": {"next": {"offset": next_offset}},
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

    def run_op(self, op, ctx):
        """One operation of a batch: its result, or raise ApiError."""
        if not isinstance(op, dict):
            raise validation_error("Each operation must be an object.")
        action = op.get("action")
        known = isinstance(action, str)
        self.stats.count_operation(action if known else "<invalid>")
        fn = self.OPS.get(action) if known else None
        if fn is None and known and action in roles.OPS:
            return roles.OPS[action](self, op, ctx)
        if fn is None:
            raise ApiError("ValueError", "Invalid action %r" % (action,), 400)
        return fn(self, op, ctx)

    def execute_batch(self, ops, ctx):
        """Run ops in one transaction. Returns results or raises ApiError."""
        with self.store.lock:
            self.store.begin()
            try:
                results = [self.run_op(op, ctx) for op in ops]
            except ApiError:
                self.store.rollback()
                raise
            except Exception as exc:  # a bug in the emulator: still atomic
                self.store.rollback()
                raise ApiError("ServerError",
                               "Internal emulator error: %r" % (exc,), 500)
            self.store.commit()
            return results

    # -- bulk load (test control) -----------------------------------------

    def _load_row(self, et, row):
        if not isinstance(row, dict):
            raise validation_error("Expected a JSON array of objects.")
        data = dict(row)
        data.pop("__entity_type__", None)
        values = self._data_values(et, data)
        self.create_record(et, values, bulk=True)

    def bulk_load(self, et, rows):
        if not isinstance(rows, list):
            raise validation_error("Expected a JSON array of objects.")
        table = self.store.tables[et.name]
        with self.store.lock:
            table.orders.clear()
            self.store.begin()
            try:
                for row in rows:
                    self._load_row(et, row)
            except ApiError:
                self.store.rollback()
                raise
            finally:
                self.store.commit()
            return {"loaded": len(rows), "total": len(table.rows)}
