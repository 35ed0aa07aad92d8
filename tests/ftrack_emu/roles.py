# SPDX-License-Identifier: Apache-2.0
"""The security-role actions of ftrack-api.md section 12, the default role
of new users, and the Membership rules the docs leave open.

Each action runs inside the batch's transaction (store journal). Where the
section says [UNKNOWN], a config knob picks the behaviour:
- default_role: the role a User created through the API gets (None: none);
  default_role_all_open: whether that role is on all open projects;
- add_role_grants_all_open: what add_user_security_role grants on its own;
- role_answers: "data" ({"action": ..., "data": true}), "null" or "empty"
  ({}) as the result of an action;
- unique_memberships: a second Membership of one (user, group) is a
  DuplicateEntryError (else accepted).
"""

from .errors import duplicate_entry, validation_error

ACTIONS = ("add_user_security_role", "grant_user_security_role_project",
           "revoke_user_security_role_project", "remove_user_security_role",
           "update_user_security_role")


def _row(ops, type_name, key, what):
    if not isinstance(key, str):
        raise validation_error('Missing or invalid "%s".' % what)
    rec = ops.store.tables[type_name].rows.get((key,))
    if rec is None:
        raise validation_error('No %s with id "%s".' % (type_name, key))
    return rec


def _user_role(ops, user_id, role_id):
    """The UserSecurityRole of (user, role), or None."""
    table = ops.store.tables["UserSecurityRole"]
    for pk in table.lookup("user_id", user_id, False):
        rec = table.rows[pk]
        if rec.get("security_role_id") == role_id:
            return rec
    return None


def _args(ops, op):
    user = _row(ops, "User", op.get("user_id"), "user_id")
    role = _row(ops, "SecurityRole", op.get("role_id"), "role_id")
    return user, role


def _answer(ops, action):
    how = ops.config.role_answers
    if how == "null":
        return None
    if how == "empty":
        return {}
    return {"action": action, "data": True}


def _project_target(ops, op):
    """(all_open, project id) of a grant or revoke."""
    if op.get("all_open_projects") is True:
        return True, None
    pid = op.get("project_id")
    _row(ops, "Project", pid, "project_id or all_open_projects")
    return False, pid


def give_role(ops, user_id, role_id, all_open):
    """Give the role (a no-op when the user has it); the record."""
    rec = _user_role(ops, user_id, role_id)
    if rec is not None:
        return rec
    et = ops.store.types["UserSecurityRole"]
    return ops.create_record(et, {"user_id": user_id,
                                  "security_role_id": role_id,
                                  "is_all_open_projects": bool(all_open)})


def op_add(ops, op, ctx):
    user, role = _args(ops, op)
    if role.get("type") == "API":
        raise validation_error(
            'The role "%s" is of type API and cannot be given to a user.'
            % role.get("name"))
    give_role(ops, user["id"], role["id"], ops.config.add_role_grants_all_open)
    return _answer(ops, "add_user_security_role")


def _set_all_open(ops, rec, value):
    table = ops.store.tables["UserSecurityRole"]
    new = dict(rec)
    new["is_all_open_projects"] = value
    ops.store.replace(table, (rec["id"],), new)


def _project_rows(ops, usr_id, project_id):
    table = ops.store.tables["UserSecurityRoleProject"]
    return [pk for pk in table.lookup("user_security_role_id", usr_id, False)
            if table.rows[pk].get("project_id") == project_id]


def op_grant(ops, op, ctx):
    user, role = _args(ops, op)
    rec = _user_role(ops, user["id"], role["id"])
    if rec is None:
        raise validation_error('The user does not have the role "%s".'
                               % role.get("name"))
    all_open, pid = _project_target(ops, op)
    if all_open:
        _set_all_open(ops, rec, True)
    elif not _project_rows(ops, rec["id"], pid):
        et = ops.store.types["UserSecurityRoleProject"]
        ops.create_record(et, {"user_security_role_id": rec["id"],
                               "project_id": pid})
    return _answer(ops, "grant_user_security_role_project")


def op_revoke(ops, op, ctx):
    user, role = _args(ops, op)
    rec = _user_role(ops, user["id"], role["id"])
    all_open, pid = _project_target(ops, op)
    if rec is None:
        return _answer(ops, "revoke_user_security_role_project")
    if all_open:
        _set_all_open(ops, rec, False)
    else:
        table = ops.store.tables["UserSecurityRoleProject"]
        for pk in _project_rows(ops, rec["id"], pid):
            ops.store.remove(table, pk)
    return _answer(ops, "revoke_user_security_role_project")


def op_remove(ops, op, ctx):
    user, role = _args(ops, op)
    rec = _user_role(ops, user["id"], role["id"])
    if rec is not None:
        ops.delete_entity(ops.store.types["UserSecurityRole"], (rec["id"],))
    return _answer(ops, "remove_user_security_role")


def op_update(ops, op, ctx):
    user, role = _args(ops, op)
    new_role = _row(ops, "SecurityRole", op.get("new_role_id"), "new_role_id")
    rec = _user_role(ops, user["id"], role["id"])
    if rec is None:
        raise validation_error('The user does not have the role "%s".'
                               % role.get("name"))
    table = ops.store.tables["UserSecurityRole"]
    new = dict(rec)
    new["security_role_id"] = new_role["id"]
    ops.store.replace(table, (rec["id"],), new)
    return _answer(ops, "update_user_security_role")


OPS = {
    "add_user_security_role": op_add,
    "grant_user_security_role_project": op_grant,
    "revoke_user_security_role_project": op_revoke,
    "remove_user_security_role": op_remove,
    "update_user_security_role": op_update,
}


def after_create(ops, et, rec, bulk):
    """A new User gets default_role (not in a bulk load)."""
    name = ops.config.default_role
    if et.name != "User" or bulk or not name:
        return
    table = ops.store.tables["SecurityRole"]
    pks = table.lookup("name", name, False)
    if pks:
        give_role(ops, rec["id"], table.rows[pks[0]]["id"],
                  ops.config.default_role_all_open)


def check_membership(ops, et, rec):
    """unique_memberships: one Membership per (user, group)."""
    if et.name != "Membership" or not ops.config.unique_memberships:
        return
    table = ops.store.tables["Membership"]
    for pk in table.lookup("user_id", rec.get("user_id"), False):
        if table.rows[pk].get("group_id") == rec.get("group_id"):
            raise duplicate_entry(
                "Duplicate entry: Membership of user %s in group %s already "
                "exists." % (rec.get("user_id"), rec.get("group_id")),
                ops.config.duplicate_exception)
