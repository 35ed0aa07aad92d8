# SPDX-License-Identifier: Apache-2.0
"""The emulator: its parts wired together, and the few acts that span them."""

import os
import threading

from .auth import authenticate
from .config import Config
from .execute import Executor
from .faults import Faults
from .ops import Operations
from .schema import load_schemas
from .stats import Stats
from .store import Store


class Emulator:
    def __init__(self, args):
        self.args = args
        self.api_user = args.api_user
        self.config = Config(args)
        self.verbose = args.verbose
        self.state_path = args.state
        self.store = Store(load_schemas(args.schemas), self.config)
        if self.state_path and os.path.exists(self.state_path):
            self.store.load(self.state_path)
        self.store.ensure_user(self.api_user)
        self.executor = Executor(self.store, self.config)
        self.stats_lock = threading.Lock()  # counters, log and faults
        self.stats = Stats(self.stats_lock)
        self.faults = Faults(self.stats_lock)
        self.ops = Operations(self.store, self.config, self.executor,
                              self.stats)

    def authenticate(self, username, key):
        """(a copy of the user record, is_global) or raise ApiError."""
        with self.store.lock:
            user, is_global = authenticate(self.store, self.config,
                                           username, key)
            return dict(user), is_global

    def execute_batch(self, ops, ctx):
        return self.ops.execute_batch(ops, ctx)

    def stats_snapshot(self):
        with self.stats_lock:
            out = self.stats.counters_locked()
            out["faults_pending"] = self.faults.pending_locked()
            out["entities"] = {n: len(t.rows)
                               for n, t in self.store.tables.items()}
            return out

    def reset_counters(self):
        """Counters, log and faults."""
        with self.stats_lock:
            self.stats.clear_locked()
            self.faults.clear_locked()

    def reset_store(self):
        self.store.reset(self.api_user)

    def set_config(self, cfg):
        self.config.update(cfg)
        with self.store.lock:
            self.store.apply_ci()
        return self.config.as_dict()

    def save_state(self, path=None):
        path = path or self.state_path
        if not path:
            raise ValueError("no state file configured")
        return self.store.save(path)
