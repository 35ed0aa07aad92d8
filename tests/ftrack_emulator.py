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
        [--page-max N] [--seat-cap N] [--seat-cap-exception NAME] \\
        [--write-answers full|id] [--strict-default] [--omit-nulls] \\
        [--case-insensitive] [--server-version V] [--schemas FILE] [--verbose]

The first line printed on stdout is ``listening on http://127.0.0.1:PORT``.
The code is the package ftrack_emu/ next to this file (one module per job,
listed in its __init__.py); this file is only the entry point.

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
  silently keeps ``is_active`` false (the answer says so).  The API user is
  always active.  Whether a real server does that or refuses the write is
  unknown (ftrack-api.md section 5), so --seat-cap-exception NAME (config
  ``seat_cap_exception``) makes such a create or update fail with exception
  NAME instead (strict status 403), rolling its batch back; bulk loads are
  still kept inactive.
- write answers: a create answers the whole entity (nulls left out), an
  update the attributes it set plus the key and ``resource_type``, like the
  JS fixtures; --write-answers id (config ``write_answers``) answers only
  ``__entity_type__`` and the key, as a leaner server might.

Test controls (no authentication, not part of ftrack):

- ``GET  /_emulator/stats`` -> {"requests", "operations": {action: n},
  "connections", "api_connections", "by_status": {"200": n, "drop": n},
  "exceptions": {name: n}, "faults_pending", "entities": {type: rows}}
- ``POST /_emulator/fault`` {"count":1, "skip":0, "status":503,
  "exception":..., "content":..., "body": raw text, "delay_ms":0,
  "drop":false, "retry_after":S, "zeros":N, "gzip":false}, or a list of
  such objects run in order.  "zeros": the body is the JSON array
  [0,0,...,0] of N bytes (sent in pieces, never held whole); "gzip": a
  body or zeros answer is sent gzip-compressed with Content-Encoding:
  gzip (250 MiB of zeros is a 250 KiB answer).
- ``POST /_emulator/reset`` {"store": false}: counters, faults and log (and
  with store true all entities except the API user and fixed rows).
- ``GET/POST /_emulator/users``, ``/_emulator/metadata``,
  ``/_emulator/entities/<Type>``: dump all rows / bulk-load a JSON array
  (all or nothing) -> {"loaded", "total"}.
- ``GET/POST /_emulator/config`` {"latency_ms", "page_max", "seat_cap",
  "seat_cap_exception", "write_answers", "strict_default", "omit_nulls",
  "case_insensitive", "server_version", "duplicate_exception",
  "personal_keys": {user: key or null}, "global_keys": [..]}.
- ``GET  /_emulator/log[?since=SEQ]``: the last 1000 non-control requests.
- ``POST /_emulator/save`` {"path": optional}: write the state file now.
"""

import os
import sys

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ftrack_emu import (DEFAULT_USER_TYPE_ID, LDAP_USER_TYPE_ID, ApiError,
                        Emulator, coerce_literal, main, make_parser,
                        parse_query)

# Imported by tests/test_ftrack_emulator.py through this module.
__all__ = [
    "ApiError",
    "DEFAULT_USER_TYPE_ID",
    "Emulator",
    "LDAP_USER_TYPE_ID",
    "coerce_literal",
    "main",
    "make_parser",
    "parse_query",
]

if __name__ == "__main__":
    sys.exit(main())
