# SPDX-License-Identifier: Apache-2.0
"""The /_emulator/ test controls (no authentication, not part of ftrack)."""

import json
import re

from .errors import ApiError

_ROWS_RE = re.compile(r"^(users|metadata|entities/([A-Za-z_][A-Za-z0-9_]*))$")


def control(emu, h, method, path, query, body):
    """Answer one /_emulator/ request on handler h."""
    name = path[len("/_emulator/"):].strip("/")

    def reply(obj, status=200):
        h.send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"),
               "application/json")

    def read_json(default=None):
        if not body:
            return default
        return json.loads(body.decode("utf-8"))

    try:
        if name == "stats" and method == "GET":
            return reply(emu.stats_snapshot())
        if name == "log" and method == "GET":
            since = int(query.get("since", ["0"])[0])
            return reply(emu.stats.log_since(since))
        if name == "config" and method == "GET":
            return reply(emu.config.as_dict())
        if name == "config" and method == "POST":
            return reply(emu.set_config(read_json({})))
        if name == "fault" and method == "POST":
            return reply(emu.faults.set(read_json({})))
        if name == "reset" and method == "POST":
            opts = read_json({}) or {}
            emu.reset_counters()
            if opts.get("store"):
                emu.reset_store()
            return reply({"reset": True, "store": bool(opts.get("store"))})
        if name == "save" and method == "POST":
            opts = read_json({}) or {}
            path_ = opts.get("path") or emu.state_path
            if not path_:
                return reply({"error": "no state file: start with --state "
                              "or pass {\"path\": ...}"}, 400)
            counts = emu.save_state(path_)
            return reply({"saved": path_, "entities": counts})
        m = _ROWS_RE.match(name)
        if m:
            tname = {"users": "User",
                     "metadata": "Metadata"}.get(m.group(1)) or m.group(2)
            et = emu.store.types.get(tname)
            if et is None:
                return reply({"error": "unknown entity type %s" % tname}, 404)
            if method == "GET":
                return reply(emu.store.dump(tname))
            if method == "POST":
                try:
                    return reply(emu.ops.bulk_load(et, read_json([])))
                except ApiError as err:
                    return reply(dict(err.body(), error=err.content),
                                 err.status)
        return reply({"error": "unknown control %s %s" % (method, path)}, 404)
    except (ValueError, TypeError) as exc:
        return reply({"error": str(exc)}, 400)
