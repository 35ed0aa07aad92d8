# SPDX-License-Identifier: Apache-2.0
"""How values compare, sort and type-check (one rule for every unit)."""

import json

from .errors import validation_error


def norm(v, ci):
    """Equality key: two values are equal when their norm() is equal."""
    if isinstance(v, str):
        return v.lower() if ci else v
    if isinstance(v, bool):
        return ("b", v)
    if v is None:
        return ("n",)
    if isinstance(v, (int, float)):
        return ("f", v)
    if isinstance(v, dict) and "__type__" in v:
        return ("d", str(v.get("value")))
    return ("j", json.dumps(v, sort_keys=True))


def ikey(v):
    """Index key: case-folded, so that both comparison modes can use it."""
    return norm(v, True)


def sort_value(v, ci):
    if v is None:
        return (3,)
    if isinstance(v, bool):
        return (0, v)
    if isinstance(v, (int, float)):
        return (1, v)
    if isinstance(v, str):
        return (2, v.lower(), v) if ci else (2, v)
    if isinstance(v, dict) and "__type__" in v:
        return (2, str(v.get("value")))
    return (2, json.dumps(v, sort_keys=True))


def order_value(v):
    """Value used by <, >, <=, >=."""
    if isinstance(v, dict) and "__type__" in v:
        return v.get("value")
    return v


def check_type(type_name, attr, prop, value):
    if value is None:
        return
    ty = prop.get("type")
    ok = True
    if ty == "string":
        if prop.get("format") in ("date-time", "date"):
            ok = isinstance(value, (str, dict))
        else:
            ok = isinstance(value, str)
    elif ty == "boolean":
        ok = isinstance(value, bool)
    elif ty == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif ty == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        raise validation_error(
            'Invalid value %s for attribute "%s" on entity type "%s": '
            'expected %s.' % (json.dumps(value), attr, type_name, ty))
