# SPDX-License-Identifier: Apache-2.0
"""Entity types: the built-in schemas and what the emulator derives from one.

A schema is served as is by query_schemas, except its ``x-emulator`` member:
the facts a schema does not carry (server-side defaults, unique and indexed
attributes, how relations join, the seat attribute, fixed rows).
"""

import copy
import json
import uuid

DEFAULT_USER_TYPE_ID = "ac9fa5aa-4361-11e0-b7cc-0019bb4983d8"
# Invented by the emulator: a second fixed UserType row.
LDAP_USER_TYPE_ID = "ac9fa5aa-4361-11e0-b7cc-0019bb4983d9"

# The security roles a new server ships (help centre), plus an API role;
# ids made by the emulator (uuid5 of the name).
SHIPPED_ROLES = (("Administrator", "PROJECT"), ("Project Manager", "PROJECT"),
                 ("Supervisor", "PROJECT"), ("User", "PROJECT"),
                 ("Restricted User", "ASSIGNED"), ("API", "API"))


def role_id(name):
    """The fixed id of a shipped security role."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, "ftrack-emu-role:" + name))


def _s(**kw):
    d = {"type": "string"}
    d.update(kw)
    return d


def _b(**kw):
    d = {"type": "boolean"}
    d.update(kw)
    return d


def builtin_schemas():
    """The schemas served by query_schemas, with x-emulator extensions."""
    return [
        {
            "id": "User",
            "type": "object",
            "primary_key": ["id"],
            "required": ["username", "is_active", "resource_type", "id"],
            "immutable": ["resource_type", "thumbnail_url", "id"],
            "computed": ["thumbnail_url"],
            "default_projections": ["id"],
            "system_projections": ["resource_type"],
            "properties": {
                "id": _s(default="{uid}"),
                "username": _s(),
                "first_name": _s(alias_for="firstname"),
                "last_name": _s(alias_for="lastname"),
                "email": _s(),
                "is_active": _b(alias_for="isactive"),
                "resource_type": _s(default="user"),
                "user_type_id": _s(
                    format="foreign_key",
                    description="Foreign key(s): UserType.id",
                    alias_for="typeid",
                ),
                "user_type": {"$ref": "UserType", "alias_for": "type"},
                "is_otp_enabled": _b(),
                "is_totp_enabled": _b(),
                "require_details_update": _b(),
                "thumbnail_id": _s(
                    format="foreign_key",
                    description="Foreign key(s): Component.id",
                    alias_for="thumbid",
                ),
                "thumbnail_url": {"type": "object"},
                "metadata": {
                    "type": "mapped_array",
                    "key_value_attributes": {"key": "key", "value": "value"},
                    "alias_for": "meta",
                    "items": {"$ref": "Metadata"},
                },
                "memberships": {"type": "array",
                                "items": {"$ref": "Membership"}},
                "user_security_roles": {
                    "type": "array", "items": {"$ref": "UserSecurityRole"}},
            },
            "x-emulator": {
                "unique": ["username"],
                "index": ["username", "email", "is_active", "user_type_id"],
                "server_defaults": {
                    "is_active": False,
                    "first_name": "first",
                    "last_name": "last",
                    "resource_type": "user",
                    "user_type_id": DEFAULT_USER_TYPE_ID,
                    "is_otp_enabled": False,
                    "is_totp_enabled": False,
                    "require_details_update": False,
                },
                "generate": {"username": "aaa-NEWUSER{uuid1}"},
                "relations": {
                    "user_type": {"type": "UserType", "local": "user_type_id",
                                  "remote": "id"},
                    "metadata": {
                        "type": "Metadata",
                        "local": "id",
                        "remote": "parent_id",
                        "many": True,
                        "cascade": True,
                    },
                    "memberships": {"type": "Membership", "local": "id",
                                    "remote": "user_id", "many": True,
                                    "cascade": True},
                    "user_security_roles": {
                        "type": "UserSecurityRole", "local": "id",
                        "remote": "user_id", "many": True, "cascade": True},
                },
                "seat": "is_active",
            },
        },
        {
            "id": "UserType",
            "type": "object",
            "primary_key": ["id"],
            "required": ["name", "id"],
            "immutable": ["name", "id"],
            "default_projections": ["id", "name"],
            "properties": {
                "id": _s(default="{uid}"),
                "name": _s(),
                "users": {"type": "array", "items": {"$ref": "User"}},
            },
            "x-emulator": {
                "index": ["name"],
                "relations": {
                    "users": {"type": "User", "local": "id",
                              "remote": "user_type_id", "many": True}
                },
                "rows": [
                    {"id": DEFAULT_USER_TYPE_ID, "name": "user"},
                    {"id": LDAP_USER_TYPE_ID, "name": "ldap"},
                ],
            },
        },
        {
            "id": "Metadata",
            "type": "object",
            "primary_key": ["parent_id", "key"],
            "required": ["parent_id", "key", "value", "parent_type"],
            "immutable": ["parent_id", "key"],
            "default_projections": ["parent_id", "key", "value"],
            "system_projections": ["parent_type"],
            "properties": {
                "parent_id": _s(),
                "parent_type": _s(),
                "key": _s(),
                "value": _s(),
            },
            "x-emulator": {"index": ["parent_id", "key"]},
        },
        # ftrack-api.md section 12: groups, memberships, security roles.
        {
            "id": "Group",
            "type": "object",
            "primary_key": ["id"],
            "required": ["name", "local", "resource_type", "id"],
            "immutable": ["resource_type", "link", "id"],
            "computed": ["link"],
            "default_projections": ["id", "name"],
            "system_projections": ["resource_type"],
            "properties": {
                "id": _s(default="{uid}"),
                "name": _s(default=""),
                "local": _b(),
                "parent_id": _s(format="foreign_key",
                                description="Foreign key(s): Group.id"),
                "parent": {"$ref": "Group"},
                "children": {"type": "array", "items": {"$ref": "Group"}},
                "memberships": {"type": "array",
                                "items": {"$ref": "Membership"}},
                "resource_type": _s(default="group"),
                "link": {"type": "object"},
            },
            "x-emulator": {
                "index": ["name", "parent_id", "local"],
                "server_defaults": {"resource_type": "group"},
                "relations": {
                    "children": {"type": "Group", "local": "id",
                                 "remote": "parent_id", "many": True},
                    "memberships": {"type": "Membership", "local": "id",
                                    "remote": "group_id", "many": True,
                                    "cascade": True},
                },
            },
        },
        {
            "id": "Membership",
            "type": "object",
            "primary_key": ["id"],
            "required": ["group_id", "user_id", "id"],
            "immutable": ["id"],
            "default_projections": ["id", "user_id", "group_id"],
            "properties": {
                "id": _s(default="{uid}"),
                "user_id": _s(format="foreign_key",
                              description="Foreign key(s): User.id"),
                "group_id": _s(format="foreign_key",
                               description="Foreign key(s): Group.id"),
                "user": {"$ref": "User"},
                "group": {"$ref": "Group"},
            },
            "x-emulator": {"index": ["user_id", "group_id"]},
        },
        {
            "id": "SecurityRole",
            "type": "object",
            "primary_key": ["id"],
            "required": ["id"],
            "immutable": ["id"],
            "default_projections": ["id", "name", "type"],
            "properties": {
                "id": _s(default="{uid}"),
                "name": _s(),
                "type": _s(),
                "user_security_roles": {
                    "type": "array", "items": {"$ref": "UserSecurityRole"}},
            },
            "x-emulator": {
                "index": ["name", "type"],
                "relations": {
                    "user_security_roles": {
                        "type": "UserSecurityRole", "local": "id",
                        "remote": "security_role_id", "many": True},
                },
                "rows": [{"id": role_id(n), "name": n, "type": t}
                         for n, t in SHIPPED_ROLES],
            },
        },
        {
            "id": "UserSecurityRole",
            "type": "object",
            "primary_key": ["id"],
            "required": ["id"],
            "immutable": ["id"],
            "default_projections": ["id", "user_id", "security_role_id",
                                    "is_all_open_projects"],
            "properties": {
                "id": _s(default="{uid}"),
                "user_id": _s(format="foreign_key",
                              description="Foreign key(s): User.id"),
                "security_role_id": _s(
                    format="foreign_key",
                    description="Foreign key(s): SecurityRole.id"),
                "is_all_open_projects": _b(),
                "user": {"$ref": "User"},
                "security_role": {"$ref": "SecurityRole"},
                "user_security_role_projects": {
                    "type": "array",
                    "items": {"$ref": "UserSecurityRoleProject"}},
            },
            "x-emulator": {
                "index": ["user_id", "security_role_id"],
                "server_defaults": {"is_all_open_projects": False},
                "relations": {
                    "user_security_role_projects": {
                        "type": "UserSecurityRoleProject", "local": "id",
                        "remote": "user_security_role_id", "many": True,
                        "cascade": True},
                },
            },
        },
        {
            "id": "UserSecurityRoleProject",
            "type": "object",
            "primary_key": ["id"],
            "required": ["id"],
            "immutable": ["id"],
            "default_projections": ["id", "user_security_role_id",
                                    "project_id"],
            "properties": {
                "id": _s(default="{uid}"),
                "user_security_role_id": _s(
                    format="foreign_key",
                    description="Foreign key(s): UserSecurityRole.id"),
                "project_id": _s(format="foreign_key",
                                 description="Foreign key(s): Project.id"),
                "user_security_role": {"$ref": "UserSecurityRole"},
                "project": {"$ref": "Project"},
            },
            "x-emulator": {"index": ["user_security_role_id", "project_id"]},
        },
        {
            "id": "Project",
            "type": "object",
            "primary_key": ["id"],
            "required": ["name", "id"],
            "immutable": ["id"],
            "default_projections": ["id", "name"],
            "properties": {
                "id": _s(default="{uid}"),
                "name": _s(),
                "full_name": _s(),
                "is_private": _b(),
            },
            "x-emulator": {"index": ["name"],
                           "server_defaults": {"is_private": False}},
        },
        {
            "id": "Location",
            "type": "object",
            "primary_key": ["id"],
            "required": ["name", "id"],
            "immutable": ["id"],
            "default_projections": ["id", "name"],
            "properties": {
                "id": _s(default="{uid}"),
                "name": _s(),
                "label": _s(),
                "description": _s(),
                "location_components": {
                    "type": "array",
                    "items": {"$ref": "ComponentLocation"},
                },
            },
            "x-emulator": {"index": ["name"]},
        },
    ]


SCALAR_TYPES = ("string", "boolean", "integer", "number", "object", "variable")


class EntityType:
    """What the emulator knows about one entity type, from its schema."""

    def __init__(self, schema):
        ext = schema.get("x-emulator") or {}
        self.name = schema["id"]
        self.public_schema = {k: v for k, v in schema.items()
                              if k != "x-emulator"}
        self.pk = list(schema.get("primary_key") or ["id"])
        self.required = list(schema.get("required") or [])
        self.immutable = set(schema.get("immutable") or [])
        self.computed = set(schema.get("computed") or [])
        self.default_projections = list(
            schema.get("default_projections") or self.pk)
        self.system_projections = list(schema.get("system_projections") or [])
        props = schema.get("properties") or {}
        self.scalars = {}
        self.relation_props = {}
        for name, prop in props.items():
            if "$ref" in prop or prop.get("type") in ("array", "mapped_array"):
                self.relation_props[name] = prop
            else:
                self.scalars[name] = prop
        for a in self.pk:
            if a not in self.scalars:
                self.scalars[a] = {"type": "string"}
        self.stored = [a for a in self.scalars if a not in self.computed]
        self.relations = dict(ext.get("relations") or {})
        # Infer simple many-to-one relations: "x": {"$ref": T} with an
        # "x_id" scalar.
        for name, prop in self.relation_props.items():
            local = name + "_id"
            if (name not in self.relations and "$ref" in prop
                    and local in self.scalars):
                self.relations[name] = {"type": prop["$ref"], "local": local,
                                        "remote": "id"}
        self.unique = list(ext.get("unique") or [])
        idx = []
        for a in list(self.pk) + self.unique + list(ext.get("index") or []):
            if a not in idx and a in self.scalars:
                idx.append(a)
        self.index_attrs = idx
        self.server_defaults = dict(ext.get("server_defaults") or {})
        self.generate = dict(ext.get("generate") or {})
        self.seat_attr = ext.get("seat")
        self.fixed_rows = list(ext.get("rows") or [])

    def default_for(self, attr):
        if attr in self.generate:
            return self.generate[attr].format(uuid1=uuid.uuid1(),
                                              uuid4=uuid.uuid4())
        if attr in self.server_defaults:
            d = self.server_defaults[attr]
            return copy.deepcopy(d) if isinstance(d, (dict, list)) else d
        prop = self.scalars.get(attr) or {}
        if "default" in prop:
            d = prop["default"]
            if d == "{uid}":
                return str(uuid.uuid4())
            return copy.deepcopy(d) if isinstance(d, (dict, list)) else d
        return None

    def key_of(self, rec):
        return tuple(rec.get(a) for a in self.pk)


def load_schemas(path=None):
    """The built-in schemas, with those of the JSON list in path (if any)
    replacing a built-in one of the same id or added after them."""
    schemas = builtin_schemas()
    if path:
        with open(path, encoding="utf-8") as f:
            extra = json.load(f)
        byname = {s["id"]: i for i, s in enumerate(schemas)}
        for s in extra:
            if s["id"] in byname:
                schemas[byname[s["id"]]] = s
            else:
                schemas.append(s)
    return schemas
