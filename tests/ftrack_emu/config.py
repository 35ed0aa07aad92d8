# SPDX-License-Identifier: Apache-2.0
"""The settings that can change at run time (/_emulator/config)."""

WRITE_ANSWERS = ("full", "id")
ROLE_ANSWERS = ("data", "null", "empty")


class Config:
    def __init__(self, args):
        self.latency_ms = args.latency_ms
        self.page_max = args.page_max
        self.seat_cap = args.seat_cap
        # None: a write past the cap keeps is_active false silently; else
        # the exception class that refuses it (and its whole batch)
        self.seat_cap_exception = getattr(args, "seat_cap_exception", None)
        # "full": create/update answers carry the entity; "id": only its key
        self.write_answers = getattr(args, "write_answers", "full")
        self.strict_default = args.strict_default
        self.omit_nulls = args.omit_nulls
        self.case_insensitive = args.case_insensitive
        # False: a second User with an existing username is accepted (the
        # unique key of the schema is not enforced; the primary key is)
        self.unique_usernames = not getattr(args, "no_unique_usernames",
                                            False)
        self.server_version = args.server_version
        # ftrack-api.md section 12's [UNKNOWN]s (roles.py)
        self.default_role = getattr(args, "default_role", None)
        self.default_role_all_open = True
        self.add_role_grants_all_open = False
        self.role_answers = "data"
        self.unique_memberships = False
        # older servers: IntegrityError
        self.duplicate_exception = "DuplicateEntryError"
        self.personal_keys = {}  # username -> key
        self.global_keys = []
        if args.api_key:
            self.personal_keys[args.api_user] = args.api_key
        if args.global_key:
            self.global_keys.append(args.global_key)

    def as_dict(self):
        return {
            "latency_ms": self.latency_ms,
            "page_max": self.page_max,
            "seat_cap": self.seat_cap,
            "seat_cap_exception": self.seat_cap_exception,
            "write_answers": self.write_answers,
            "strict_default": self.strict_default,
            "omit_nulls": self.omit_nulls,
            "case_insensitive": self.case_insensitive,
            "unique_usernames": self.unique_usernames,
            "server_version": self.server_version,
            "default_role": self.default_role,
            "default_role_all_open": self.default_role_all_open,
            "add_role_grants_all_open": self.add_role_grants_all_open,
            "role_answers": self.role_answers,
            "unique_memberships": self.unique_memberships,
            "duplicate_exception": self.duplicate_exception,
            "personal_keys": dict(self.personal_keys),
            "global_keys": list(self.global_keys),
        }

    def update(self, cfg):
        """Apply the members of cfg that are present, in a fixed order (a
        bad value raises ValueError or TypeError, keeping those before it)."""
        for k in ("latency_ms", "page_max", "seat_cap"):
            if k in cfg:
                v = cfg[k]
                setattr(self, k, None if v is None else int(v))
        if self.latency_ms is None:
            self.latency_ms = 0
        for k in ("strict_default", "omit_nulls", "case_insensitive",
                  "unique_usernames", "default_role_all_open",
                  "add_role_grants_all_open", "unique_memberships"):
            if k in cfg:
                setattr(self, k, bool(cfg[k]))
        if "seat_cap_exception" in cfg:
            v = cfg["seat_cap_exception"]
            self.seat_cap_exception = None if v is None else str(v)
        if "write_answers" in cfg:
            if cfg["write_answers"] not in WRITE_ANSWERS:
                raise ValueError("write_answers: one of %s"
                                 % ", ".join(WRITE_ANSWERS))
            self.write_answers = cfg["write_answers"]
        if "default_role" in cfg:
            v = cfg["default_role"]
            self.default_role = None if v is None else str(v)
        if "role_answers" in cfg:
            if cfg["role_answers"] not in ROLE_ANSWERS:
                raise ValueError("role_answers: one of %s"
                                 % ", ".join(ROLE_ANSWERS))
            self.role_answers = cfg["role_answers"]
        if "server_version" in cfg:
            self.server_version = str(cfg["server_version"])
        if "duplicate_exception" in cfg:
            self.duplicate_exception = str(cfg["duplicate_exception"])
        if "personal_keys" in cfg:
            for u, k in (cfg["personal_keys"] or {}).items():
                if k is None:
                    self.personal_keys.pop(u, None)
                else:
                    self.personal_keys[u] = str(k)
        if "global_keys" in cfg:
            self.global_keys = [str(k) for k in (cfg["global_keys"] or [])]
