# SPDX-License-Identifier: Apache-2.0
"""Emulator of the ftrack server API, for tests (run tests/ftrack_emulator.py).

One module per job:

- cli: the command line (flags, serve until a signal, save the state file)
- emulator: the parts wired together
- server: HTTP handler and server, the /api request
- control: the /_emulator/ test controls
- auth: ftrack-user + ftrack-api-key
- faults: injected faults (queue, answers)
- stats: request counters and log
- config: the settings /_emulator/config changes
- ops: the /api operations; a batch is one transaction
- query: the query language (tokenizer, parser)
- execute: a parsed query run against the store (index, order, page,
  projection)
- where: compiled where conditions
- store: the tables, undo journal and state file
- table: one type's rows with indexes and sort orders
- schema: built-in schemas and entity types
- values: how values compare, sort and type-check
- errors: ApiError and its common cases
"""

from .cli import main, make_parser
from .emulator import Emulator
from .errors import ApiError
from .query import coerce_literal, parse_query
from .schema import DEFAULT_USER_TYPE_ID, LDAP_USER_TYPE_ID
from .server import Handler, Server

__all__ = [
    "ApiError",
    "DEFAULT_USER_TYPE_ID",
    "Emulator",
    "Handler",
    "LDAP_USER_TYPE_ID",
    "Server",
    "coerce_literal",
    "main",
    "make_parser",
    "parse_query",
]
