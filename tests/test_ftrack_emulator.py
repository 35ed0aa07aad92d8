#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of the ftrack server emulator (tests/ftrack_emulator.py).

Run from the repository root with either of:

    python3 -m unittest tests.test_ftrack_emulator
    python3 tests/test_ftrack_emulator.py

Python 3 standard library only.  Each test class starts the emulator as a
subprocess on a free port and stops it whatever happens.
"""

import gzip
import http.client
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import uuid
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "ftrack_emulator.py")
sys.path.insert(0, HERE)

import ftrack_emulator  # noqa: E402

API_USER = "ftrack-sync"
API_KEY = "personal-key-1"
GLOBAL_KEY = "global-key-1"
INVALID_CREDENTIALS = {
    "exception": "InvalidCredentialsError",
    "content": (
        "The supplied API key is not valid. API keys are created from "
        "Settings under the page API keys. "
        'The api key should be passed in the request header "ftrack-api-key".'
    ),
    "error_code": None,
}


class Emulator:
    """A running emulator subprocess."""

    def __init__(self, *extra):
        self.stderr = tempfile.TemporaryFile()
        cmd = [sys.executable, EMULATOR, "--port", "0", "--api-user", API_USER,
               "--api-key", API_KEY]
        cmd += list(extra)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        try:
            ready, _, _ = select.select([self.proc.stdout], [], [], 15)
            if not ready:
                raise RuntimeError("emulator did not start")
            self.first_line = self.proc.stdout.readline().decode()
            prefix = "listening on http://127.0.0.1:"
            if not self.first_line.startswith(prefix):
                raise RuntimeError("unexpected first line %r"
                                   % self.first_line)
            self.port = int(self.first_line[len(prefix):].strip())
            self.url = "http://127.0.0.1:%d" % self.port
        except Exception:
            self.stop()
            raise

    def stop(self, sig=signal.SIGTERM):
        """Stop the process; return its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.stderr.close()
        return self.proc.returncode

    # -- helpers ----------------------------------------------------------

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def raw(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        c = conn or self.conn()
        try:
            if isinstance(body, (list, dict)):
                body = json.dumps(body)
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v)
                                  for k, v in r.getheaders()), data
        finally:
            if own:
                c.close()

    def api(self, ops, user=API_USER, key=API_KEY, strict=None, headers=None,
            conn=None, raw_body=None):
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        if user is not None:
            h["ftrack-user"] = user
        if key is not None:
            h["ftrack-api-key"] = key
        if strict is not None:
            h["ftrack-strict-api"] = "true" if strict else "false"
        h.update(headers or {})
        body = raw_body if raw_body is not None else json.dumps(ops)
        status, hdrs, data = self.raw("POST", "/api", body, h, conn)
        return status, json.loads(data.decode()) if data else None

    def ok(self, ops, **kw):
        status, body = self.api(ops, **kw)
        if status != 200 or not isinstance(body, list):
            raise AssertionError("request failed: %s %r" % (status, body))
        return body

    def query(self, expression, **kw):
        return self.ok([{"action": "query", "expression": expression}],
                       **kw)[0]

    def ctl(self, method, name, body=None):
        status, _, data = self.raw(method, "/_emulator/" + name, body,
                                   {"Content-Type": "application/json"})
        return status, json.loads(data.decode())

    def reset(self, store=True):
        self.ctl("POST", "config",
                 {"latency_ms": 0, "page_max": None, "seat_cap": None,
                  "seat_cap_exception": None, "write_answers": "full",
                  "strict_default": False, "omit_nulls": False,
                  "duplicate_exception": "DuplicateEntryError",
                  "case_insensitive": False, "server_version": "4.13.9",
                  "default_role": None, "default_role_all_open": True,
                  "add_role_grants_all_open": False, "role_answers": "data",
                  "unique_memberships": False,
                  "global_keys": [GLOBAL_KEY]})
        self.ctl("POST", "reset", {"store": store})


def create_op(username, uid=None, js=False, **attrs):
    data = {"__entity_type__": "User", "username": username}
    data.update(attrs)
    op = {"action": "create", "entity_type": "User", "entity_data": data}
    if not js:
        uid = uid or str(uuid.uuid4())
        data["id"] = uid
        data["resource_type"] = "user"
        op["entity_key"] = [uid]
    return op


def update_op(uid, **attrs):
    data = {"__entity_type__": "User"}
    data.update(attrs)
    return {"action": "update", "entity_type": "User", "entity_key": [uid],
            "entity_data": data}


class EmulatorTestCase(unittest.TestCase):
    EXTRA_ARGS = ("--global-key", GLOBAL_KEY)

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator(*cls.EXTRA_ARGS)
        cls.addClassCleanup(cls.emu.stop)

    def setUp(self):
        self.emu.reset()

    def assertError(self, status_body, exception, content=None, status=200,
                    contains=None):
        got_status, body = status_body
        self.assertEqual(got_status, status, body)
        self.assertIsInstance(body, dict, body)
        self.assertEqual(body.get("exception"), exception, body)
        self.assertIn("error_code", body)
        self.assertIsNone(body["error_code"])
        if content is not None:
            self.assertEqual(body["content"], content)
        if contains is not None:
            self.assertIn(contains, body["content"])
        return body

    def add_users(self, *specs):
        """Create users (username, attrs dict); return {username: id}."""
        ops = [create_op(name, **attrs) for name, attrs in specs]
        res = self.emu.ok(ops)
        return {r["data"]["username"]: r["data"]["id"] for r in res}


# ---------------------------------------------------------------------------


class ParserUnitTests(unittest.TestCase):
    """The query parser, in-process."""

    def parse(self, expr):
        return ftrack_emulator.parse_query(expr)

    def test_full_grammar(self):
        q = self.parse('select id, username, user_type.name from User where '
                       'username is "x" '
                       'order by username desc, id offset 5 limit 10')
        self.assertEqual(q.type_name, "User")
        self.assertEqual(q.select,
                         [["id"], ["username"], ["user_type", "name"]])
        self.assertEqual(q.where, ("cmp", ["username"], "eq", ("str", "x")))
        self.assertEqual(q.order, [(["username"], True), (["id"], False)])
        self.assertEqual((q.offset, q.limit), (5, 10))

    def test_limit_before_offset_and_bare_type(self):
        q = self.parse("User limit 3 offset 2")
        self.assertIsNone(q.select)
        self.assertEqual((q.offset, q.limit), (2, 3))

    def test_and_binds_tighter_than_or(self):
        q = self.parse("User where a is 1 or b is 2 and c is 3")
        self.assertEqual(q.where[0], "or")
        self.assertEqual(q.where[1][1][0], "and")

    def test_literals(self):
        q = self.parse(r"""User where a is "d\"q\\b\'s" and b = 'it\'s' """
                       r"""and c is jenkins """
                       r"""and d in (1, 2.5, None, True) """
                       r"""and e is 5c6060d1-2dc7-11ec-b3b6-1e00da110726""")
        items = q.where[1]
        self.assertEqual(items[0][3], ("str", 'd"q\\b\'s'))
        self.assertEqual(items[1][3], ("str", "it's"))
        self.assertEqual(items[2][3], ("word", "jenkins"))
        self.assertEqual(items[3][3],
                         [("word", "1"), ("word", "2.5"), ("word", "None"),
                          ("word", "True")])
        self.assertEqual(items[4][3],
                         ("word", "5c6060d1-2dc7-11ec-b3b6-1e00da110726"))
        prop = {"type": "integer"}
        self.assertEqual(ftrack_emulator.coerce_literal(("word", "12"), prop),
                         12)
        self.assertEqual(ftrack_emulator.coerce_literal(("word", "2.5"),
                                                        {"type": "number"}),
                         2.5)
        self.assertIs(ftrack_emulator.coerce_literal(("word", "True"),
                                                     {"type": "boolean"}),
                      True)
        self.assertIsNone(ftrack_emulator.coerce_literal(("word", "None"),
                                                         {"type": "string"}))
        self.assertEqual(ftrack_emulator.coerce_literal(("str", "None"),
                                                        {"type": "string"}),
                         "None")

    def test_parse_errors(self):
        for expr in ["select id frm User", "select from User", "User where",
                     "User where a is", 'User where a is "x',
                     "User where (a is 1", "User order username",
                     "User limit x", "User limit -1", "User where a frob 1",
                     "User extra", "", "select id, from User",
                     "User where a in 1"]:
            with self.assertRaises(ftrack_emulator.ApiError, msg=expr) as cm:
                self.parse(expr)
            self.assertEqual(cm.exception.exception, "ParseError")
            self.assertEqual(cm.exception.content, "Failed to parse: " + expr)


# ---------------------------------------------------------------------------


class StartupTests(EmulatorTestCase):
    def test_first_line(self):
        self.assertRegex(self.emu.first_line,
                         r"^listening on http://127\.0\.0\.1:\d+\n$")
        self.assertGreater(self.emu.port, 0)

    def test_api_user_exists_and_is_active(self):
        users = self.emu.ctl("GET", "users")[1]
        api = [u for u in users if u["username"] == API_USER]
        self.assertEqual(len(api), 1)
        self.assertIs(api[0]["is_active"], True)
        self.assertEqual(api[0]["resource_type"], "user")


class HandshakeTests(EmulatorTestCase):
    def test_server_information_and_schemas(self):
        info, schemas = self.emu.ok([{"action": "query_server_information"},
                                     {"action": "query_schemas"}])
        self.assertEqual(info["version"], "4.13.9")
        self.assertIn("schema_hash", info)
        self.assertIs(info["is_timezone_support_enabled"], True)
        self.assertEqual(info["storage_scenario"]["scenario"],
                         "ftrack.automatic")
        self.assertNotIn("action", info)
        self.assertNotIn("user_information", info)
        self.assertIsInstance(schemas, list)
        by_id = {s["id"]: s for s in schemas}
        for name in ("User", "UserType", "Metadata", "Location"):
            self.assertIn(name, by_id)
            for s in schemas:
                self.assertNotIn("x-emulator", s)
        user = by_id["User"]
        self.assertEqual(user["primary_key"], ["id"])
        self.assertEqual(user["required"],
                         ["username", "is_active", "resource_type", "id"])
        self.assertEqual(set(user["immutable"]),
                         {"resource_type", "thumbnail_url", "id"})
        self.assertEqual(user["default_projections"], ["id"])
        self.assertEqual(user["system_projections"], ["resource_type"])
        self.assertEqual(user["properties"]["id"]["default"], "{uid}")
        self.assertEqual(user["type"], "object")
        meta = by_id["Metadata"]
        self.assertEqual(meta["primary_key"], ["parent_id", "key"])
        self.assertEqual(set(meta["required"]),
                         {"parent_id", "key", "value", "parent_type"})
        loc = by_id["Location"]
        self.assertEqual(loc["primary_key"], ["id"])
        self.assertEqual(set(loc["required"]), {"name", "id"})
        self.assertEqual(loc["immutable"], ["id"])
        self.assertTrue({"id", "name", "label", "description",
                         "location_components"} <= set(loc["properties"]))
        self.assertEqual(by_id["UserType"]["primary_key"], ["id"])

    def test_user_information(self):
        info = self.emu.ok([{"action": "query_server_information",
                             "values": ["user_information"]}])[0]
        ui = info["user_information"]
        self.assertEqual(ui["username"], API_USER)
        self.assertIs(ui["is_global_access_key"], False)
        self.assertRegex(ui["id"], r"^[0-9a-f-]{36}$")
        ids = self.add_users(("alice", {"is_active": True}))
        info = self.emu.ok([{"action": "query_server_information",
                             "values": ["user_information"]}],
                           user="alice", key=GLOBAL_KEY)[0]
        self.assertIs(info["user_information"]["is_global_access_key"], True)
        self.assertEqual(info["user_information"]["id"], ids["alice"])

    def test_version_dev(self):
        self.emu.ctl("POST", "config", {"server_version": "dev"})
        info = self.emu.ok([{"action": "query_server_information"}])[0]
        self.assertEqual(info["version"], "dev")

    def test_python_client_shapes(self):
        """The calls the official Python client makes (ftrack-api.md
        section 11)."""
        info = self.emu.ok([{"action": "query_server_information"}])[0]
        self.assertIn("version", info)
        schemas = self.emu.ok([{"action": "query_schemas"}])[0]
        self.assertTrue({"User", "UserType", "Metadata",
                         "Location"} <= {s["id"] for s in schemas})
        uid = str(uuid.uuid4())
        body = json.dumps([{"action": "create", "entity_data": {
            "__entity_type__": "User", "id": uid, "resource_type": "user",
            "username": "bob"},
            "entity_key": [uid], "entity_type": "User"}], sort_keys=True)
        st, res = self.emu.api(None, raw_body=body, strict=False)
        self.assertEqual(res[0]["data"]["id"], uid)
        res = self.emu.query('select username from User where username is '
                             '"bob" offset 0 limit 500')
        self.assertEqual(res["data"],
                         [{"__entity_type__": "User", "id": uid,
                           "resource_type": "user",
                           "username": "bob"}])
        self.assertIsNone(res["metadata"]["next"]["offset"])
        # populate-style query with unquoted ids
        res = self.emu.query("select first_name, last_name from User where id "
                             "in (%s)" % uid)
        self.assertEqual(res["data"][0]["first_name"], "first")

    def test_empty_batch(self):
        self.assertEqual(self.emu.ok([]), [])


class AuthTests(EmulatorTestCase):
    def test_personal_key(self):
        self.emu.ok([{"action": "query", "expression": "User"}])

    def test_wrong_key_non_strict_and_strict(self):
        for strict, status in ((None, 200), (False, 200), (True, 401)):
            st, body = self.emu.api([{"action": "query",
                                      "expression": "User"}], key="nope",
                                    strict=strict)
            self.assertEqual(st, status)
            self.assertEqual(body, INVALID_CREDENTIALS)

    def test_missing_headers(self):
        for user, key in ((None, API_KEY), (API_USER, None), (None, None)):
            st, body = self.emu.api([], user=user, key=key)
            self.assertEqual((st, body), (200, INVALID_CREDENTIALS))

    def test_personal_key_of_other_user(self):
        self.add_users(("bob", {"is_active": True}))
        st, body = self.emu.api([], user="bob", key=API_KEY)
        self.assertEqual(body, INVALID_CREDENTIALS)

    def test_global_key(self):
        self.add_users(("carol", {"is_active": True}),
                       ("dave", {"is_active": False}))
        self.assertEqual(self.emu.ok([], user="carol", key=GLOBAL_KEY), [])
        self.assertEqual(self.emu.ok([], user=API_USER, key=GLOBAL_KEY), [])
        # inactive user, unknown user
        st, body = self.emu.api([], user="dave", key=GLOBAL_KEY, strict=True)
        self.assertEqual((st, body), (401, INVALID_CREDENTIALS))
        st, body = self.emu.api([], user="nobody", key=GLOBAL_KEY)
        self.assertEqual((st, body), (200, INVALID_CREDENTIALS))

    def test_header_names_case_insensitive(self):
        status, _, data = self.emu.raw("POST", "/api", "[]", {
            "FTRACK-USER": API_USER, "Ftrack-Api-Key": API_KEY,
            "Content-Type": "application/json"})
        self.assertEqual((status, json.loads(data)), (200, []))

    def test_auth_checked_on_every_request(self):
        c = self.emu.conn()
        try:
            self.assertEqual(self.emu.api([], conn=c), (200, []))
            self.assertEqual(self.emu.api([], key="bad", conn=c),
                             (200, INVALID_CREDENTIALS))
            self.assertEqual(self.emu.api([], conn=c), (200, []))
        finally:
            c.close()


class TransportTests(EmulatorTestCase):
    def test_other_paths_and_methods(self):
        for method in ("GET", "PUT", "DELETE"):
            status, hdrs, data = self.emu.raw(method, "/api")
            self.assertEqual(status, 405)
            self.assertIn("exception", json.loads(data))
        status, hdrs, data = self.emu.raw("POST", "/nope", "[]")
        self.assertEqual(status, 404)
        self.assertIn("exception", json.loads(data))

    def test_body_not_array(self):
        for raw in ('{"action": "query"}', "not json", "", '"x"'):
            st, body = self.emu.api(None, raw_body=raw)
            self.assertEqual(st, 200)
            self.assertEqual(body["exception"], "ValidationError", raw)
            st, body = self.emu.api(None, raw_body=raw, strict=True)
            self.assertEqual(st, 400)
        st, body = self.emu.api([42])
        self.assertEqual(body["exception"], "ValidationError")

    def test_strict_default(self):
        self.emu.ctl("POST", "config", {"strict_default": True})
        st, body = self.emu.api([{"action": "nope"}])
        self.assertEqual(st, 400)
        st, body = self.emu.api([{"action": "nope"}], strict=False)
        self.assertEqual(st, 200)
        self.assertEqual(body["exception"], "ValueError")

    def test_keep_alive(self):
        self.emu.ctl("POST", "reset", {})
        c = self.emu.conn()
        try:
            self.assertEqual(self.emu.api([], conn=c), (200, []))
            sock = c.sock
            self.assertIsNotNone(sock)
            self.assertEqual(self.emu.api([{"action": "query",
                                            "expression": "User"}], conn=c)[0],
                             200)
            self.assertIs(c.sock, sock)  # the same TCP connection was reused
        finally:
            c.close()
        stats = self.emu.ctl("GET", "stats")[1]
        self.assertEqual(stats["requests"], 2)
        self.assertEqual(stats["api_connections"], 1)

    def test_chunked_request_body(self):
        c = self.emu.conn()
        try:
            c.request("POST", "/api",
                      body=iter([b'[{"action": "query", ',
                                 b'"expression": "User"}]']),
                      headers={"ftrack-user": API_USER,
                               "ftrack-api-key": API_KEY,
                               "Content-Type": "application/json"},
                      encode_chunked=True)
            r = c.getresponse()
            body = json.loads(r.read())
            self.assertEqual(r.status, 200)
            self.assertEqual(body[0]["action"], "query")
        finally:
            c.close()

    def test_urllib_client(self):
        req = urllib.request.Request(self.emu.url + "/api",
                                     data=b'[{"action": "query_schemas"}]',
                                     method="POST",
                                     headers={
                                         "ftrack-user": API_USER,
                                         "ftrack-api-key": API_KEY,
                                         "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertIsInstance(json.loads(r.read())[0], list)

    def test_unknown_action(self):
        body = self.assertError(self.emu.api([{"action": "frobnicate"}]),
                                "ValueError")
        self.assertIn("Invalid action 'frobnicate'", body["content"])
        st, body = self.emu.api([{"action": "frobnicate"}], strict=True)
        self.assertEqual(st, 400)

    def test_delayed_job(self):
        res = self.emu.ok([{"action": "delayed_job",
                            "job_type": "SYNC_USERS_LDAP"}])[0]
        self.assertEqual(res["action"], "delayed_job")
        self.assertEqual(res["data"]["__entity_type__"], "Job")
        self.assertEqual(res["data"]["status"], "queued")


class CreateTests(EmulatorTestCase):
    def test_create_py_style(self):
        uid = str(uuid.uuid4())
        res = self.emu.ok([create_op("jdoe", uid=uid, first_name="John",
                                     last_name="Doe",
                                     email="jdoe@example.com",
                                     is_active=True)])
        self.assertEqual(res, [{"action": "create", "data": {
            "__entity_type__": "User", "id": uid, "username": "jdoe",
            "first_name": "John", "last_name": "Doe",
            "email": "jdoe@example.com", "is_active": True,
            "is_otp_enabled": False, "is_totp_enabled": False,
            "require_details_update": False,
            "user_type_id": "ac9fa5aa-4361-11e0-b7cc-0019bb4983d8",
            "resource_type": "user"}}])

    def test_create_js_style_and_defaults(self):
        res = self.emu.ok([create_op("js", js=True)])[0]["data"]
        self.assertRegex(res["id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                         r"[0-9a-f]{4}-[0-9a-f]{12}$")
        self.assertIs(res["is_active"], False)
        self.assertEqual((res["first_name"], res["last_name"]),
                         ("first", "last"))
        self.assertEqual(res["resource_type"], "user")
        self.assertEqual(res["user_type_id"],
                         "ac9fa5aa-4361-11e0-b7cc-0019bb4983d8")
        # null attributes are left out, as in create_user.json
        self.assertNotIn("email", res)
        stored = self.emu.query('select email, is_active from User where id '
                                'is "%s"' % res["id"])["data"][0]
        self.assertIsNone(stored["email"])

    def test_entity_key_as_string(self):
        uid = str(uuid.uuid4())
        op = create_op("s", uid=uid)
        op["entity_key"] = uid
        self.assertEqual(self.emu.ok([op])[0]["data"]["id"], uid)
        op = create_op("k", js=True)
        uid2 = str(uuid.uuid4())
        op["entity_key"] = [uid2]  # id only in entity_key
        self.assertEqual(self.emu.ok([op])[0]["data"]["id"], uid2)

    def test_entity_key_mismatch(self):
        op = create_op("m")
        op["entity_key"] = [str(uuid.uuid4())]
        self.assertError(self.emu.api([op]), "ValidationError")

    def test_username_generated(self):
        res = self.emu.ok([{"action": "create", "entity_type": "User",
                            "entity_data": {"__entity_type__": "User"}}])
        res = res[0]["data"]
        self.assertTrue(res["username"].startswith("aaa-NEWUSER"),
                        res["username"])

    def test_entity_type_mismatch(self):
        op = create_op("x")
        op["entity_data"]["__entity_type__"] = "UserType"
        self.assertError(self.emu.api([op]), "ValidationError")
        op = create_op("x")
        del op["entity_data"]["__entity_type__"]
        self.assertError(self.emu.api([op]), "ValidationError")
        st, _ = self.emu.api([op], strict=True)
        self.assertEqual(st, 400)

    def test_unknown_entity_type(self):
        self.assertError(self.emu.api([{
            "action": "create", "entity_type": "Nope",
            "entity_data": {"__entity_type__": "Nope"}}]), "ValidationError")

    def test_duplicate_username_and_id(self):
        uid = self.add_users(("dup", {}))["dup"]
        body = self.assertError(self.emu.api([create_op("dup")]),
                                "DuplicateEntryError")
        self.assertIn("dup", body["content"])
        st, body = self.emu.api([create_op("dup")], strict=True)
        self.assertEqual((st, body["exception"]), (409, "DuplicateEntryError"))
        self.assertError(self.emu.api([create_op("other", uid=uid)]),
                         "DuplicateEntryError")
        self.emu.ctl("POST", "config",
                     {"duplicate_exception": "IntegrityError"})
        st, body = self.emu.api([create_op("dup")], strict=True)
        self.assertEqual((st, body["exception"]), (409, "IntegrityError"))
        self.emu.ctl("POST", "config",
                     {"duplicate_exception": "DuplicateEntryError"})
        # duplicate inside one batch
        self.assertError(self.emu.api([create_op("twice"),
                                       create_op("twice")]),
                         "DuplicateEntryError")
        self.assertEqual(
            self.emu.query('User where username is "twice"')["data"], [])

    def test_unique_usernames_knob(self):
        """unique_usernames false: a second "same" is accepted (two users
        of one name); the id stays a primary key, refused as ftrack
        refuses it (DuplicateEntryError naming the entity_key)."""
        self.add_users(("same", {}))
        self.emu.ctl("POST", "config", {"unique_usernames": False})
        try:
            uid = str(uuid.uuid4())
            self.emu.ok([create_op("same", uid=uid)])
            self.assertEqual(
                len(self.emu.query(
                    'select id from User where username is "same"')["data"]),
                2)
            body = self.assertError(
                self.emu.api([create_op("other", uid=uid)]),
                "DuplicateEntryError")
            self.assertIn(uid, body["content"])
            self.assertEqual(
                self.emu.query('User where username is "other"')["data"], [])
        finally:
            self.emu.ctl("POST", "config", {"unique_usernames": True})
        self.assertError(self.emu.api([create_op("same")]),
                         "DuplicateEntryError")

    def test_unknown_attribute_and_types(self):
        body = self.assertError(self.emu.api([create_op("u", nickname="n")]),
                                "ValidationError")
        self.assertEqual(body["content"],
                         'Unknown attribute "nickname" on entity type "User".')
        self.assertError(self.emu.api([create_op("u", is_active="yes")]),
                         "ValidationError")
        self.assertError(self.emu.api([create_op("u", first_name=5)]),
                         "ValidationError")
        self.assertError(
            self.emu.api([create_op("u", thumbnail_url={"url": "x"})]),
            "ValidationError")
        op = create_op("u")
        op["entity_data"]["username"] = None
        self.assertError(self.emu.api([op]), "ValidationError")

    def test_user_type_reference(self):
        ldap = ftrack_emulator.LDAP_USER_TYPE_ID
        res = self.emu.ok([create_op("typed",
                                     user_type={"__entity_type__": "UserType",
                                                "id": ldap})])
        self.assertEqual(res[0]["data"]["user_type_id"], ldap)


class UpdateDeleteTests(EmulatorTestCase):
    def test_update_response_shape(self):
        uid = self.add_users(("upd",
                              {"is_active": True, "email": "a@x"}))["upd"]
        res = self.emu.ok([update_op(uid, first_name="Johnny",
                                     email="johnny@example.com")])
        self.assertEqual(res, [{"action": "update", "data": {
            "__entity_type__": "User", "id": uid, "first_name": "Johnny",
            "email": "johnny@example.com", "resource_type": "user"}}])
        res = self.emu.ok([update_op(uid, is_active=False)])
        self.assertEqual(res[0]["data"],
                         {"__entity_type__": "User", "id": uid,
                          "is_active": False,
                          "resource_type": "user"})
        row = self.emu.query('select first_name, email, is_active from User '
                             'where id is "%s"' % uid)["data"][0]
        self.assertEqual((row["first_name"], row["email"], row["is_active"]),
                         ("Johnny", "johnny@example.com", False))

    def test_update_entity_key_string(self):
        uid = self.add_users(("ks", {}))["ks"]
        op = update_op(uid, last_name="L")
        op["entity_key"] = uid
        self.assertEqual(self.emu.ok([op])[0]["data"]["last_name"], "L")

    def test_update_missing(self):
        missing = "00000000-0000-0000-0000-000000000000"
        content = ("Could not find entity User with entity_key ['%s']."
                   % missing)
        self.assertError(self.emu.api([update_op(missing, first_name="x")]),
                         "ValueError", content)
        st, body = self.emu.api([update_op(missing, first_name="x")],
                                strict=True)
        self.assertEqual((st, body["content"]), (404, content))

    def test_update_immutable_and_unknown(self):
        uid = self.add_users(("imm", {}))["imm"]
        self.assertError(self.emu.api([update_op(uid, resource_type="group")]),
                         "ValidationError",
                         contains="immutable")
        self.assertError(self.emu.api([update_op(uid, id=str(uuid.uuid4()))]),
                         "ValidationError",
                         contains="immutable")
        self.assertError(self.emu.api([update_op(uid, nickname="x")]),
                         "ValidationError",
                         'Unknown attribute "nickname" on entity type "User".')
        self.assertError(self.emu.api([update_op(uid, username=None)]),
                         "ValidationError")
        op = update_op(uid, first_name="x")
        op["entity_data"]["__entity_type__"] = "Metadata"
        self.assertError(self.emu.api([op]), "ValidationError")

    def test_update_to_duplicate_username(self):
        ids = self.add_users(("u1", {}), ("u2", {}))
        self.assertError(self.emu.api([update_op(ids["u2"], username="u1")]),
                         "DuplicateEntryError")
        # the same value is fine
        self.emu.ok([update_op(ids["u2"], username="u2")])

    def test_delete(self):
        uid = self.add_users(("gone", {}))["gone"]
        res = self.emu.ok([{"action": "delete", "entity_type": "User",
                            "entity_key": [uid]}])
        self.assertEqual(res, [{"action": "delete", "data": True}])
        self.assertEqual(self.emu.query('User where id is "%s"' % uid)["data"],
                         [])
        body = self.assertError(self.emu.api([{"action": "delete",
                                               "entity_type": "User",
                                               "entity_key": uid}]),
                                "ValueError")
        self.assertEqual(body["content"],
                         "Could not find entity User with entity_key ['%s']."
                         % uid)
        st, _ = self.emu.api([{"action": "delete", "entity_type": "User",
                               "entity_key": [uid]}], strict=True)
        self.assertEqual(st, 404)


class TransactionTests(EmulatorTestCase):
    def test_index_aligned_results(self):
        ids = self.add_users(("carol", {"email": "carol@old"}),
                             ("dan", {"is_active": True}))
        a, b = str(uuid.uuid4()), str(uuid.uuid4())
        res = self.emu.ok([
            create_op("alice", uid=a, is_active=True),
            create_op("bob", uid=b, is_active=True),
            update_op(ids["carol"], email="carol@new"),
            update_op(ids["dan"], is_active=False),
            {"action": "query",
             "expression": 'select id from User where username in '
                           '("alice", "bob") order by username'},
        ])
        self.assertEqual([r["action"] for r in res],
                         ["create", "create", "update", "update", "query"])
        self.assertEqual(res[0]["data"]["id"], a)
        self.assertEqual(res[1]["data"]["id"], b)
        self.assertEqual(res[2]["data"]["email"], "carol@new")
        self.assertIs(res[3]["data"]["is_active"], False)
        self.assertEqual(res[4]["data"],
                         [{"__entity_type__": "User", "id": a,
                           "resource_type": "user"},
                          {"__entity_type__": "User", "id": b,
                           "resource_type": "user"}])

    def test_failing_batch_rolls_back_everything(self):
        ids = self.add_users(("keep",
                              {"first_name": "Old", "is_active": True}),
                             ("victim", {}))
        before = sorted(self.emu.ctl("GET", "users")[1], key=lambda u: u["id"])
        st, body = self.emu.api([
            create_op("new1"),
            update_op(ids["keep"], first_name="New", is_active=False),
            {"action": "delete", "entity_type": "User",
             "entity_key": [ids["victim"]]},
            create_op("new2"),
            update_op("00000000-0000-0000-0000-000000000000", first_name="x"),
        ])
        self.assertEqual(body["exception"], "ValueError")
        after = sorted(self.emu.ctl("GET", "users")[1], key=lambda u: u["id"])
        self.assertEqual(before, after)
        # the indexes were rolled back too
        query = self.emu.query
        self.assertEqual(
            query('User where username in ("new1", "new2")')["data"], [])
        self.assertEqual(
            len(query('User where username is "victim"')["data"]), 1)
        self.assertEqual(
            query('select first_name from User where first_name is "Old"')
            ["data"][0]["id"], ids["keep"])
        self.assertEqual(
            query('User where first_name is "New"')["data"], [])

    def test_rollback_keeps_sorted_cache_consistent(self):
        self.add_users(*[("r%02d" % i, {}) for i in range(10)])
        expr = "select username from User order by username"
        first = self.emu.query(expr)["data"]
        self.emu.api([create_op("r05a"),
                      update_op(first[1]["id"], username="zzz"),
                      {"action": "nope"}])
        again = self.emu.query(expr)["data"]
        self.assertEqual(first, again)

    def test_concurrent_clients(self):
        import threading
        errors = []

        def worker(n):
            c = self.emu.conn()
            try:
                for i in range(25):
                    self.emu.ok([create_op("t%d-%d" % (n, i))], conn=c)
                    self.emu.query('User where username is "t%d-%d"' % (n, i),
                                   conn=c)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(n,))
                   for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(
            len(self.emu.query('User where username like "t%"')["data"]), 200)

    def test_later_ops_see_earlier_writes(self):
        uid = str(uuid.uuid4())
        res = self.emu.ok([create_op("seq", uid=uid),
                           update_op(uid, first_name="S"),
                           {"action": "query",
                            "expression": 'select first_name from User '
                                          'where username is "seq"'}])
        self.assertEqual(res[2]["data"][0]["first_name"], "S")


class QueryTests(EmulatorTestCase):
    def setUp(self):
        super().setUp()
        self.ids = self.add_users(
            ("alice",
             {"first_name": "Alice", "last_name": "Smith",
              "email": "alice@example.com", "is_active": True}),
            ("bob",
             {"first_name": "Bob", "last_name": "Smith",
              "email": "bob@example.org", "is_active": False}),
            ("carol",
             {"first_name": "Carol", "last_name": "Jones", "is_active": True}),
            ('we"ird\\na\'me', {"first_name": "Weird", "is_active": True}),
            ("jenkins", {"first_name": "Jenkins", "email": "ci@example.com"}),
        )
        self.ids[API_USER] = self.emu.query('User where username is "%s"'
                                            % API_USER)["data"][0]["id"]

    def names(self, where, extra=""):
        res = self.emu.query("select username from User where %s order by "
                             "username %s" % (where, extra))
        return [r["username"] for r in res["data"]]

    def test_default_projection(self):
        row = self.emu.query('User where username is "alice"')["data"]
        self.assertEqual(row,
                         [{"__entity_type__": "User", "id": self.ids["alice"],
                           "resource_type": "user"}])
        res = self.emu.query('User where username is "alice"')
        self.assertEqual(res["action"], "query")
        self.assertEqual(res["metadata"], {"next": {"offset": None}})

    def test_select_includes_pk_and_system_projection(self):
        row = self.emu.query('select first_name, email from User where '
                             'username is "carol"')["data"][0]
        self.assertEqual(row,
                         {"__entity_type__": "User", "id": self.ids["carol"],
                          "resource_type": "user",
                          "first_name": "Carol", "email": None})
        self.emu.ctl("POST", "config", {"omit_nulls": True})
        row = self.emu.query('select first_name, email from User where '
                             'username is "carol"')["data"][0]
        self.assertNotIn("email", row)

    def test_equality_operators(self):
        self.assertEqual(self.names('username is "alice"'), ["alice"])
        self.assertEqual(self.names('username = "alice"'), ["alice"])
        self.assertEqual(self.names("username = 'alice'"), ["alice"])
        self.assertEqual(self.names("username is jenkins"), ["jenkins"])
        self.assertEqual(self.names('id is %s' % self.ids["bob"]), ["bob"])
        self.assertEqual(self.names('id = "%s"' % self.ids["bob"]), ["bob"])
        self.assertEqual(self.names('last_name is_not "Smith" and username != '
                                    '"%s"' % API_USER),
                         ["carol", "jenkins", 'we"ird\\na\'me'])
        # case-sensitive by default
        self.assertEqual(self.names('username is "ALICE"'), [])

    def test_in_not_in(self):
        self.assertEqual(
            self.names('username in ("alice", "carol", "nobody")'),
            ["alice", "carol"])
        self.assertEqual(self.names("id in (%s, %s)"
                                    % (self.ids["alice"], self.ids["bob"])),
                         ["alice", "bob"])
        self.assertEqual(self.names('username not_in ("alice", "bob", '
                                    '"carol", "jenkins", "%s")' % API_USER),
                         ['we"ird\\na\'me'])
        self.assertEqual(self.names("username in ()"), [])

    def test_like(self):
        self.assertEqual(self.names('email like "%@example.com"'),
                         ["alice", "jenkins"])
        self.assertEqual(self.names('username like "a%"'), ["alice"])
        self.assertEqual(self.names('first_name like "%aro%"'), ["carol"])
        # only % is a wildcard
        self.assertEqual(self.names('username like "ali_e"'), [])
        # SQL semantics: a null attribute never matches a negated comparison
        self.assertEqual(self.names('email not_like "%example%"'), [])
        self.assertEqual(self.names('email not_like "%.com"'), ["bob"])
        self.assertEqual(self.names('email is_not "bob@example.org"'),
                         ["alice", "jenkins"])
        self.assertEqual(self.names('not email is "bob@example.org"'),
                         ["alice", "jenkins"])
        self.assertEqual(self.names('email not_in ("bob@example.org")'),
                         ["alice", "jenkins"])

    def test_booleans_and_none(self):
        self.assertEqual(self.names("is_active is True and username != %s"
                                    % API_USER),
                         ["alice", "carol", 'we"ird\\na\'me'])
        self.assertEqual(self.names("is_active = False"), ["bob", "jenkins"])
        self.assertEqual(self.names('is_active is "false"'),
                         ["bob", "jenkins"])
        self.assertEqual(self.names("email is None and is_active is true and "
                                    "username != %s" % API_USER),
                         ["carol", 'we"ird\\na\'me'])
        self.assertEqual(self.names("email is_not None"),
                         ["alice", "bob", "jenkins"])

    def test_comparisons(self):
        self.assertEqual(self.names('username > "carol"'),
                         ["ftrack-sync", "jenkins", 'we"ird\\na\'me'])
        self.assertEqual(self.names('username >= "carol" and username < '
                                    '"jenkins"'), ["carol", "ftrack-sync"])
        self.assertEqual(self.names('username <= "bob"'), ["alice", "bob"])
        self.assertEqual(self.names('username after "jenkins"'),
                         ['we"ird\\na\'me'])

    def test_escapes(self):
        self.assertEqual(self.names(r'username is "we\"ird\\na\'me"'),
                         ['we"ird\\na\'me'])
        self.assertEqual(self.names(r"username is 'we\"ird\\na\'me'"),
                         ['we"ird\\na\'me'])
        st, body = self.emu.api([{
            "action": "query",
            "expression": 'User where username is "unterminated'}])
        self.assertEqual(body["exception"], "ParseError")

    def test_boolean_logic(self):
        self.assertEqual(self.names('username is "alice" or username is "bob" '
                                    'and is_active is true'), ["alice"])
        self.assertEqual(self.names('(username is "alice" or username is '
                                    '"bob") and is_active is false'), ["bob"])
        self.assertEqual(self.names('not username like "%a%" and not '
                                    '(username is "bob")'), ["jenkins"])
        self.assertEqual(self.names('not (last_name is "Smith" or email is '
                                    'None)'), ["jenkins"])

    def test_relations(self):
        row = self.emu.query('select user_type.name from User where username '
                             'is "alice"')["data"][0]
        self.assertEqual(row["user_type"]["name"], "user")
        self.assertEqual(row["user_type"]["__entity_type__"], "UserType")
        self.assertEqual(self.names('user_type.name is "user" and username '
                                    'like "a%"'), ["alice"])
        self.assertEqual(self.names('user_type has (name is "ldap")'), [])

    def test_order_offset_limit_paging(self):
        all_names = self.names("username like \"%\"")
        self.assertEqual(all_names, sorted(all_names))
        res = self.emu.query("select username from User order by username "
                             "offset 0 limit 2")
        self.assertEqual([r["username"] for r in res["data"]], all_names[:2])
        self.assertEqual(res["metadata"]["next"]["offset"], 2)
        res = self.emu.query("select username from User order by username "
                             "offset 4 limit 2")
        self.assertEqual([r["username"] for r in res["data"]], all_names[4:6])
        self.assertEqual(res["metadata"]["next"]["offset"], None)
        res = self.emu.query("select username from User order by username "
                             "limit 1 offset 5")
        self.assertEqual(res["metadata"]["next"]["offset"], None)
        res = self.emu.query("select username from User order by username "
                             "offset 50 limit 2")
        self.assertEqual((res["data"], res["metadata"]["next"]["offset"]),
                         ([], None))
        res = self.emu.query(
            "select username from User order by username desc")
        self.assertEqual([r["username"] for r in res["data"]], all_names[::-1])
        res = self.emu.query("select username from User order by last_name "
                             "desc, username asc")
        got = [r["username"] for r in res["data"]]
        # code-point order: "last" > "api" > "Smith" > "Jones"
        self.assertEqual(got,
                         ["jenkins", 'we"ird\\na\'me', API_USER, "alice",
                          "bob", "carol"])
        # filtered paging follows next.offset to the end
        seen, offset = [], 0
        while offset is not None:
            res = self.emu.query("select username from User where is_active "
                                 "is true order by id "
                                 "offset %d limit 1" % offset)
            seen += [r["username"] for r in res["data"]]
            offset = res["metadata"]["next"]["offset"]
        self.assertEqual(sorted(seen),
                         ["alice", "carol", API_USER, 'we"ird\\na\'me'])

    def test_page_max(self):
        self.emu.ctl("POST", "config", {"page_max": 2})
        res = self.emu.query("select username from User order by username")
        self.assertEqual(len(res["data"]), 2)
        self.assertEqual(res["metadata"]["next"]["offset"], 2)
        res = self.emu.query("select username from User order by username "
                             "offset 2 limit 500")
        self.assertEqual(len(res["data"]), 2)
        self.assertEqual(res["metadata"]["next"]["offset"], 4)
        res = self.emu.query("select username from User order by username "
                             "offset 4 limit 500")
        self.assertEqual((len(res["data"]), res["metadata"]["next"]["offset"]),
                         (2, None))

    def test_subquery(self):
        self.assertEqual(self.names('id in (select id from User where '
                                    'first_name is "Bob")'), ["bob"])

    def test_validation_errors(self):
        for expr, attr in (("select nickname from User", "nickname"),
                           ('User where nickname is "x"', "nickname"),
                           ("User order by nickname", "nickname"),
                           ('select user_type.nope from User', None)):
            body = self.assertError(self.emu.api([{"action": "query",
                                                   "expression": expr}]),
                                    "ValidationError")
            if attr:
                self.assertEqual(body["content"],
                                 'Unknown attribute "%s" on entity type '
                                 '"User".' % attr)
        self.assertError(self.emu.api([{"action": "query",
                                        "expression": "Nope"}]),
                         "ValidationError")
        st, body = self.emu.api([{"action": "query",
                                  "expression": "select nickname from User"}],
                                strict=True)
        self.assertEqual(st, 400)

    def test_parse_error_shape(self):
        content = "Failed to parse: select id frm User"
        self.assertError(self.emu.api([{"action": "query",
                                        "expression": "select id frm User"}]),
                         "ParseError", content)
        st, body = self.emu.api([{"action": "query",
                                  "expression": "select id frm User"}],
                                strict=True)
        self.assertEqual((st, body["content"]), (400, content))

    def test_email_in_both_case_modes(self):
        # the daemon's look-up by e-mail (link_by = email): the address as
        # given and in lower case; only a folding server finds other cases
        where = 'email in ("Alice@Example.COM", "alice@example.com")'
        self.assertEqual(self.names(where), ["alice"])
        self.assertEqual(self.names('email in ("BOB@example.org", '
                                    '"bob@example.org")'), ["bob"])
        self.assertEqual(self.names('email in ("ALICE@EXAMPLE.COM")'), [])
        self.emu.ctl("POST", "config", {"case_insensitive": True})
        self.assertEqual(self.names('email in ("ALICE@EXAMPLE.COM")'),
                         ["alice"])
        self.assertEqual(self.names('email in ("Ci@Example.com", '
                                    '"BOB@EXAMPLE.ORG")'), ["bob", "jenkins"])

    def test_case_insensitive_option(self):
        self.emu.ctl("POST", "config", {"case_insensitive": True})
        self.assertEqual(self.names('username is "ALICE"'), ["alice"])
        self.assertEqual(self.names('email like "%EXAMPLE.ORG"'), ["bob"])
        self.assertError(self.emu.api([create_op("Alice")]),
                         "DuplicateEntryError")


class MetadataTests(EmulatorTestCase):
    def mcreate(self, parent, key, value, parent_type="User"):
        return {"action": "create", "entity_type": "Metadata",
                "entity_key": [parent, key],
                "entity_data": {"__entity_type__": "Metadata",
                                "parent_id": parent, "key": key,
                                "value": value, "parent_type": parent_type}}

    def test_metadata_lifecycle(self):
        ids = self.add_users(("m1", {}), ("m2", {}))
        res = self.emu.ok([self.mcreate(ids["m1"], "ldap_dn", "uid=m1,dc=x"),
                           self.mcreate(ids["m2"], "ldap_dn", "uid=m2,dc=x"),
                           self.mcreate(ids["m1"], "source", "ldap")])
        self.assertEqual(res[0]["data"],
                         {"__entity_type__": "Metadata",
                          "parent_id": ids["m1"], "key": "ldap_dn",
                          "value": "uid=m1,dc=x", "parent_type": "User"})
        rows = self.emu.query('select key, value from Metadata where '
                              'parent_id in ("%s", "%s") '
                              'and key is "ldap_dn" order by value'
                              % (ids["m1"], ids["m2"]))["data"]
        self.assertEqual([r["value"] for r in rows],
                         ["uid=m1,dc=x", "uid=m2,dc=x"])
        self.assertEqual(set(rows[0]),
                         {"__entity_type__", "parent_id", "key", "value",
                          "parent_type"})
        # default projections
        row = self.emu.query('Metadata where parent_id is "%s" and key is '
                             '"source"' % ids["m1"])["data"][0]
        self.assertEqual(row["value"], "ldap")
        # update by [parent_id, key]
        res = self.emu.ok([{"action": "update", "entity_type": "Metadata",
                            "entity_key": [ids["m1"], "source"],
                            "entity_data": {"__entity_type__": "Metadata",
                                            "value": "manual"}}])
        self.assertEqual(res[0]["data"],
                         {"__entity_type__": "Metadata",
                          "parent_id": ids["m1"], "key": "source",
                          "value": "manual", "parent_type": "User"})
        # key is immutable, duplicates rejected, missing entity
        self.assertError(self.emu.api([{"action": "update",
                                        "entity_type": "Metadata",
                                        "entity_key": [ids["m1"], "source"],
                                        "entity_data": {
                                            "__entity_type__": "Metadata",
                                            "key": "other"}}]),
                         "ValidationError", contains="immutable")
        self.assertError(
            self.emu.api([self.mcreate(ids["m1"], "source", "again")]),
            "DuplicateEntryError")
        self.assertError(self.emu.api([{"action": "update",
                                        "entity_type": "Metadata",
                                        "entity_key": [ids["m1"], "nope"],
                                        "entity_data": {
                                            "__entity_type__": "Metadata",
                                            "value": "v"}}]),
                         "ValueError",
                         "Could not find entity Metadata with entity_key "
                         "['%s', 'nope']." % ids["m1"])
        self.assertError(self.emu.api([{"action": "update",
                                        "entity_type": "Metadata",
                                        "entity_key": ids["m1"],
                                        "entity_data": {
                                            "__entity_type__": "Metadata",
                                            "value": "v"}}]),
                         "ValidationError")
        # find the user by metadata
        row = self.emu.query('select username, metadata from User where '
                             'metadata any (key is "ldap_dn" and '
                             'value is "uid=m2,dc=x")')["data"]
        self.assertEqual([r["username"] for r in row], ["m2"])
        self.assertEqual(row[0]["metadata"][0]["value"], "uid=m2,dc=x")
        row = self.emu.query('select username from User where metadata.value '
                             'is "manual"')["data"]
        self.assertEqual([r["username"] for r in row], ["m1"])
        # delete
        res = self.emu.ok([{"action": "delete", "entity_type": "Metadata",
                            "entity_key": [ids["m1"], "source"]}])
        self.assertEqual(res[0]["data"], True)
        self.assertEqual(len(self.emu.ctl("GET", "metadata")[1]), 2)
        # deleting a user deletes its metadata
        self.emu.ok([{"action": "delete", "entity_type": "User",
                      "entity_key": [ids["m2"]]}])
        meta = self.emu.ctl("GET", "metadata")[1]
        self.assertEqual([(m["parent_id"], m["key"]) for m in meta],
                         [(ids["m1"], "ldap_dn")])

    def test_required(self):
        uid = self.add_users(("m3", {}))["m3"]
        op = self.mcreate(uid, "k", "v")
        del op["entity_data"]["parent_type"]
        self.assertError(self.emu.api([op]), "ValidationError",
                         contains="parent_type")
        op = self.mcreate(uid, "k", "v")
        op["entity_data"]["value"] = 5
        self.assertError(self.emu.api([op]), "ValidationError")

    def test_lease_protocol(self):
        """What the reconcile lease relies on: on the API user, a second
        create of a (parent_id, key) is a duplicate, and a POST whose token
        delete finds nothing applies nothing (one transaction)."""
        api = self.emu.query('select id from User where username is "%s"'
                             % API_USER)["data"][0]["id"]

        def mcreate(key, value):  # JS-style: no entity_key
            op = self.mcreate(api, key, value)
            del op["entity_key"]
            return op

        def mupdate(key, value):
            return {"action": "update", "entity_type": "Metadata",
                    "entity_key": [api, key],
                    "entity_data": {"__entity_type__": "Metadata",
                                    "value": value}}

        def mdelete(key):
            return {"action": "delete", "entity_type": "Metadata",
                    "entity_key": [api, key]}

        def value(key):
            rows = self.emu.query('select value from Metadata where '
                                  'parent_id is "%s" and key is "%s"'
                                  % (api, key))["data"]
            return rows[0]["value"] if rows else None

        lease = "ftrack_syncd.reconcile_lease"
        tok = lease + "."
        self.emu.ok([mcreate(lease, "a 1 T na"), mcreate(tok + "na", "x")])
        # a second host's take: the duplicate undoes its token create too
        self.assertError(self.emu.api([mcreate(lease, "b 2 T nb"),
                                       mcreate(tok + "nb", "x")]),
                         "DuplicateEntryError")
        self.assertEqual((value(lease), value(tok + "nb")), ("a 1 T na", None))
        # two take-overs of the same expired lease: only the first lands
        takeover = [mdelete(tok + "na"), mupdate(lease, "c 3 T nc"),
                    mcreate(tok + "nc", "x")]
        self.emu.ok(takeover)
        late = [mdelete(tok + "na"), mupdate(lease, "d 4 T nd"),
                mcreate(tok + "nd", "x")]
        self.assertError(self.emu.api(late), "ValueError")
        self.assertEqual((value(lease), value(tok + "nd")), ("c 3 T nc", None))
        # the first holder's renewal and release now fail, changing nothing
        self.assertError(self.emu.api([mupdate(tok + "na", "y"),
                                       mupdate(lease, "a 1 T2 na")]),
                         "ValueError")
        self.assertError(self.emu.api([mdelete(tok + "na"), mdelete(lease)]),
                         "ValueError")
        self.assertEqual(value(lease), "c 3 T nc")
        # the log names a Metadata create's key (entity_data carries it)
        log = self.emu.ctl("GET", "log")[1]
        first = [e for e in log if e["actions"] == ["create", "create"]][0]
        self.assertEqual([op.get("key") for op in first["ops"]],
                         [lease, tok + "na"])


class SeatCapTests(EmulatorTestCase):
    def test_seat_cap(self):
        # the API user holds one seat
        self.emu.ctl("POST", "config", {"seat_cap": 2})
        res = self.emu.ok([create_op("s1", is_active=True),
                           create_op("s2", is_active=True)])
        self.assertIs(res[0]["data"]["is_active"], True)
        # silently kept inactive
        self.assertIs(res[1]["data"]["is_active"], False)
        s1, s2 = res[0]["data"]["id"], res[1]["data"]["id"]
        res = self.emu.ok([update_op(s2, is_active=True)])
        self.assertIs(res[0]["data"]["is_active"], False)
        res = self.emu.ok([update_op(s1, is_active=False),
                           update_op(s2, is_active=True)])
        self.assertIs(res[1]["data"]["is_active"], True)
        self.emu.ok([update_op(s2, first_name="still active")])
        row = self.emu.query('select is_active from User where id is "%s"'
                             % s2)["data"][0]
        self.assertIs(row["is_active"], True)

    def test_seat_cap_from_command_line(self):
        emu = Emulator("--seat-cap", "1")
        try:
            res = emu.ok([create_op("x", is_active=True)])
            self.assertIs(res[0]["data"]["is_active"], False)
        finally:
            emu.stop()

    def test_seat_cap_exception(self):
        # the second mode: the write that would take a seat past the cap
        # fails with an exception, and so does its whole batch
        self.emu.ctl("POST", "config", {"seat_cap": 2,
                                        "seat_cap_exception": "LicenseError"})
        try:
            res = self.emu.ok([create_op("e1", is_active=True)])
            e1 = res[0]["data"]["id"]
            body = self.assertError(
                self.emu.api([create_op("e2", is_active=False),
                              create_op("e3", is_active=True)]),
                "LicenseError", contains="licence")
            self.assertIn("2 active users", body["content"])
            self.assertEqual(
                self.emu.query('select id from User where username in '
                               '("e2", "e3")')["data"], [])
            # strict mode: a 4xx status with the same body
            self.assertError(self.emu.api([create_op("e3", is_active=True)],
                                          strict=True),
                             "LicenseError", status=403)
            # a reactivation past the cap is refused too
            e4 = self.emu.ok([create_op("e4", is_active=False)])[0]
            e4 = e4["data"]["id"]
            self.assertError(self.emu.api([update_op(e4, is_active=True)]),
                             "LicenseError")
            # writes that take no new seat go through
            self.emu.ok([update_op(e1, first_name="still here",
                                   is_active=True),
                         update_op(e4, first_name="waiting")])
            # a seat freed: the refused write now lands
            self.emu.ok([update_op(e1, is_active=False)])
            res = self.emu.ok([update_op(e4, is_active=True)])
            self.assertIs(res[0]["data"]["is_active"], True)
            # a bulk load (a test control) is never refused
            status, _ = self.emu.ctl("POST", "users",
                                     [{"username": "e5", "is_active": True}])
            self.assertEqual(status, 200)
            # null: back to keeping the user inactive silently
            cfg = self.emu.ctl("POST", "config",
                               {"seat_cap_exception": None})[1]
            self.assertIsNone(cfg["seat_cap_exception"])
            res = self.emu.ok([create_op("e6", is_active=True)])
            self.assertIs(res[0]["data"]["is_active"], False)
        finally:
            self.emu.reset()

    def test_seat_cap_exception_from_command_line(self):
        emu = Emulator("--seat-cap", "1", "--seat-cap-exception",
                       "SeatError")
        try:
            self.assertError(emu.api([create_op("x", is_active=True)]),
                             "SeatError", contains="licence")
            self.assertEqual(emu.ctl("GET", "config")[1]
                             ["seat_cap_exception"], "SeatError")
        finally:
            emu.stop()


class WriteAnswerTests(EmulatorTestCase):
    def test_id_only_answers(self):
        # "id": create and update answers carry only the entity's key, as a
        # server might that returns less than the JS fixtures show
        cfg = self.emu.ctl("POST", "config", {"write_answers": "id"})[1]
        self.assertEqual(cfg["write_answers"], "id")
        try:
            res = self.emu.ok([create_op("w1", is_active=True)])
            uid = res[0]["data"]["id"]
            self.assertEqual(res[0]["data"],
                             {"__entity_type__": "User", "id": uid})
            res = self.emu.ok([update_op(uid, first_name="W")])
            self.assertEqual(res[0]["data"],
                             {"__entity_type__": "User", "id": uid})
            row = self.emu.query('select first_name, is_active from User '
                                 'where id is "%s"' % uid)["data"][0]
            self.assertEqual((row["first_name"], row["is_active"]),
                             ("W", True))
            status, _ = self.emu.ctl("POST", "config",
                                     {"write_answers": "some"})
            self.assertEqual(status, 400)
        finally:
            self.emu.reset()
        res = self.emu.ok([create_op("w2", is_active=True)])
        self.assertIs(res[0]["data"]["is_active"], True)


class FaultTests(EmulatorTestCase):
    def test_status_fault_with_retry_after(self):
        self.emu.ctl("POST", "fault",
                     {"count": 2, "status": 503, "retry_after": 7})
        for _ in range(2):
            status, hdrs, data = self.emu.raw("POST", "/api", "[]",
                                              {"ftrack-user": API_USER,
                                               "ftrack-api-key": API_KEY})
            self.assertEqual(status, 503)
            self.assertEqual(hdrs["retry-after"], "7")
            with self.assertRaises(ValueError):
                json.loads(data)
        self.assertEqual(self.emu.api([]), (200, []))

    def test_exception_fault(self):
        self.emu.ctl("POST", "fault",
                     {"count": 1, "status": 429, "exception": "RateLimitError",
                      "content": "slow down"})
        self.assertEqual(self.emu.api([]),
                         (429,
                          {"exception": "RateLimitError",
                           "content": "slow down",
                           "error_code": None}))
        self.emu.ctl("POST", "fault",
                     {"exception": "ServerError", "content": "boom"})
        st, body = self.emu.api([])
        self.assertEqual((st, body["exception"]), (200, "ServerError"))
        self.emu.ctl("POST", "fault",
                     {"exception": "ServerError", "content": "boom"})
        st, body = self.emu.api([], strict=True)
        self.assertEqual((st, body["exception"]), (500, "ServerError"))
        self.assertEqual(self.emu.api([]), (200, []))

    def test_raw_body_fault(self):
        self.emu.ctl("POST", "fault", {"body": "{not json", "status": 200})
        status, _, data = self.emu.raw("POST", "/api", "[]",
                                       {"ftrack-user": API_USER,
                                        "ftrack-api-key": API_KEY})
        self.assertEqual((status, data), (200, b"{not json"))

    def fault_answer(self, spec):
        self.assertEqual(self.emu.ctl("POST", "fault", spec)[0], 200)
        return self.emu.raw("POST", "/api", "[]",
                            {"ftrack-user": API_USER,
                             "ftrack-api-key": API_KEY,
                             "Accept-Encoding": "gzip"})

    def test_zeros_fault(self):
        for n, body in ((3, b"[0]"), (4, b"[0 ]"), (11, b"[0,0,0,0,0]"),
                        (12, b"[0,0,0,0,0 ]")):
            status, hdrs, data = self.fault_answer({"zeros": n})
            self.assertEqual((status, data), (200, body))
            self.assertNotIn("content-encoding", hdrs)
            self.assertEqual(json.loads(data), [0] * ((n - 1) // 2))
        n = 3 * 1024 * 1024 + 1
        status, hdrs, data = self.fault_answer({"zeros": n})
        self.assertEqual((status, len(data), hdrs["content-length"]),
                         (200, n, str(n)))
        self.assertEqual(len(json.loads(data)), (n - 1) // 2)
        for bad in (2, -1, "x"):
            self.assertEqual(self.emu.ctl("POST", "fault", {"zeros": bad})[0],
                             400)
        self.assertEqual(self.emu.api([]), (200, []))

    def test_gzip_fault(self):
        status, hdrs, data = self.fault_answer(
            {"body": '[{"version": "4.13.9"}]', "gzip": True})
        self.assertEqual((status, hdrs["content-encoding"]), (200, "gzip"))
        self.assertEqual(gzip.decompress(data), b'[{"version": "4.13.9"}]')
        self.assertEqual(self.emu.api([]), (200, []))

    def test_gzip_zeros_fault(self):
        """The issue's answer: 250 MiB of [0,0,...] in about 250 KiB."""
        n = 250 * 1024 * 1024
        status, hdrs, data = self.fault_answer({"zeros": n, "gzip": True})
        self.assertEqual((status, hdrs["content-encoding"]), (200, "gzip"))
        self.assertEqual(hdrs["content-length"], str(len(data)))
        self.assertLess(len(data), 300 * 1024)
        z = zlib.decompressobj(31)
        size, head, tail = 0, b"", b""
        for i in range(0, len(data), 65536):
            piece = z.decompress(data[i:i + 65536])
            head = head or piece[:4]
            tail = (tail + piece)[-4:]
            self.assertEqual(piece.strip(b"[0, ]"), b"")
            size += len(piece)
        piece = z.flush()
        size += len(piece)
        self.assertEqual((size, head, (tail + piece)[-4:]),
                         (n, b"[0,0", b",0 ]"))
        log = self.emu.ctl("GET", "log")[1]
        self.assertEqual((log[-1]["status"], log[-1]["fault"]), (200, True))

    def test_drop(self):
        self.emu.ctl("POST", "fault", {"count": 1, "drop": True})
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionError, http.client.BadStatusLine)):
            self.emu.api([])
        self.assertEqual(self.emu.api([]), (200, []))
        log = self.emu.ctl("GET", "log")[1]
        self.assertEqual([e["status"] for e in log], ["drop", 200])

    def test_delay_and_skip(self):
        self.emu.ctl("POST", "fault", {"count": 1, "skip": 1, "delay_ms": 300})
        t = time.monotonic()
        self.assertEqual(self.emu.api([]), (200, []))
        self.assertLess(time.monotonic() - t, 0.25)
        t = time.monotonic()
        self.assertEqual(self.emu.api([]), (200, []))
        self.assertGreaterEqual(time.monotonic() - t, 0.29)

    def test_fault_sequence(self):
        self.emu.ctl("POST", "fault",
                     [{"status": 502}, {"status": 504, "count": 2}])
        self.assertEqual(self.emu.ctl("GET", "stats")[1]["faults_pending"], 3)
        statuses = [self.emu.raw("POST", "/api", "[]",
                                 {"ftrack-user": API_USER,
                                  "ftrack-api-key": API_KEY})[0]
                    for _ in range(4)]
        self.assertEqual(statuses, [502, 504, 504, 200])

    def test_reset_clears_faults(self):
        self.emu.ctl("POST", "fault", {"count": 5, "status": 503})
        self.emu.ctl("POST", "reset", {})
        self.assertEqual(self.emu.api([]), (200, []))

    def test_latency(self):
        self.emu.ctl("POST", "config", {"latency_ms": 200})
        t = time.monotonic()
        self.emu.ok([])
        self.assertGreaterEqual(time.monotonic() - t, 0.19)


class ControlTests(EmulatorTestCase):
    def test_stats_and_reset(self):
        self.emu.ctl("POST", "reset", {})
        self.emu.ok([{"action": "query", "expression": "User"},
                     create_op("st")])
        self.emu.api([], key="bad", strict=True)
        self.emu.api([{"action": "query", "expression": "User where"}])
        stats = self.emu.ctl("GET", "stats")[1]
        self.assertEqual(stats["requests"], 3)
        self.assertEqual(stats["operations"], {"query": 2, "create": 1})
        self.assertEqual(stats["by_status"], {"200": 2, "401": 1})
        self.assertGreaterEqual(stats["connections"], 3)
        self.assertEqual(stats["exceptions"],
                         {"InvalidCredentialsError": 1, "ParseError": 1})
        self.assertEqual(stats["entities"]["User"], 2)
        self.emu.ctl("POST", "reset", {})
        stats = self.emu.ctl("GET", "stats")[1]
        self.assertEqual((stats["requests"], stats["operations"],
                          stats["by_status"]), (0, {}, {}))
        self.assertEqual(stats["entities"]["User"], 2)  # counters only
        self.emu.ctl("POST", "reset", {"store": True})
        users = self.emu.ctl("GET", "users")[1]
        self.assertEqual([u["username"] for u in users], [API_USER])

    def test_log(self):
        self.emu.ctl("POST", "reset", {})
        self.emu.ok([{"action": "query", "expression": "User limit 1"}])
        self.emu.raw("GET", "/api")
        log = self.emu.ctl("GET", "log")[1]
        self.assertEqual(len(log), 2)
        self.assertEqual((log[0]["method"], log[0]["path"], log[0]["actions"],
                          log[0]["status"]),
                         ("POST", "/api", ["query"], 200))
        self.assertEqual(log[0]["ops"][0]["expression"], "User limit 1")
        self.assertEqual(log[0]["user"], API_USER)
        self.assertEqual((log[1]["method"], log[1]["status"]), ("GET", 405))
        since = self.emu.ctl("GET", "log?since=%d" % log[0]["seq"])[1]
        self.assertEqual(len(since), 1)

    def test_bulk_load_and_dump(self):
        users = [{"username": "bulk%d" % i, "is_active": i % 2 == 0}
                 for i in range(10)]
        users.append({"id": "11111111-1111-4111-8111-111111111111",
                      "username": "fixed"})
        status, body = self.emu.ctl("POST", "users", users)
        self.assertEqual((status, body), (200, {"loaded": 11, "total": 12}))
        dump = {u["username"]: u for u in self.emu.ctl("GET", "users")[1]}
        self.assertEqual(dump["fixed"]["id"],
                         "11111111-1111-4111-8111-111111111111")
        self.assertEqual(dump["bulk1"]["first_name"], "first")
        self.assertIs(dump["bulk2"]["is_active"], True)
        status, body = self.emu.ctl("POST", "users", [{"username": "fixed"}])
        self.assertEqual(status, 409)
        status, body = self.emu.ctl("POST", "users",
                                    [{"username": "ok1"}, {"nickname": "x"}])
        self.assertEqual(status, 400)
        # all or nothing
        self.assertEqual(len(self.emu.ctl("GET", "users")[1]), 12)
        status, body = self.emu.ctl("POST", "metadata",
                                    [{"parent_id": dump["fixed"]["id"],
                                      "key": "k",
                                      "value": "v", "parent_type": "User"}])
        self.assertEqual(status, 200)
        self.assertEqual(self.emu.ctl("GET", "metadata")[1][0]["value"], "v")
        self.assertEqual(len(self.emu.ctl("GET", "entities/UserType")[1]), 2)

    def test_config(self):
        status, cfg = self.emu.ctl("POST", "config",
                                   {"latency_ms": 5, "page_max": 100,
                                    "seat_cap": 10})
        self.assertEqual((cfg["latency_ms"], cfg["page_max"], cfg["seat_cap"]),
                         (5, 100, 10))
        self.assertEqual(self.emu.ctl("GET", "config")[1]["page_max"], 100)
        # personal keys can be added at run time
        self.add_users(("eve", {"is_active": True}))
        self.emu.ctl("POST", "config", {"personal_keys": {"eve": "eve-key"}})
        self.assertEqual(self.emu.ok([], user="eve", key="eve-key"), [])

    def test_unknown_control(self):
        status, body = self.emu.ctl("GET", "nope")
        self.assertEqual(status, 404)


class StateTests(unittest.TestCase):
    def test_state_saved_on_sigterm_and_loaded(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "state.json")
            emu = Emulator("--state", path)
            try:
                uid = emu.ok([create_op("persisted", is_active=True,
                                        email="p@x")])[0]["data"]["id"]
                emu.ok([{"action": "create", "entity_type": "Metadata",
                         "entity_key": [uid, "k"],
                         "entity_data": {"__entity_type__": "Metadata",
                                         "parent_id": uid, "key": "k",
                                         "value": "v",
                                         "parent_type": "User"}}])
            finally:
                rc = emu.stop(signal.SIGTERM)
            self.assertEqual(rc, 0)
            with open(path) as f:
                data = json.load(f)
            self.assertIn("persisted", [u["username"] for u in data["User"]])
            self.assertEqual(data["Metadata"][0]["value"], "v")
            # no temp file left
            self.assertEqual([n for n in os.listdir(d)], ["state.json"])
            emu = Emulator("--state", path)
            try:
                row = emu.query('select email, is_active from User where '
                                'username is "persisted"')["data"]
                self.assertEqual(row[0]["id"], uid)
                self.assertEqual(row[0]["email"], "p@x")
                self.assertEqual(len(emu.query("User where username is %s"
                                               % API_USER)["data"]), 1)
                self.assertEqual(emu.query('select value from Metadata where '
                                           'parent_id is "%s"' % uid)
                                 ["data"][0]["value"], "v")
                emu.ok([update_op(uid, email="q@x")])
                status, body = emu.ctl("POST", "save")
                self.assertEqual(status, 200)
                with open(path) as f:
                    data = json.load(f)
                self.assertIn("q@x", [u["email"] for u in data["User"]])
            finally:
                self.assertEqual(emu.stop(signal.SIGINT), 0)

    def test_command_line_options(self):
        emu = Emulator("--global-key", GLOBAL_KEY, "--page-max", "1",
                       "--latency-ms", "50", "--strict-default")
        try:
            t = time.monotonic()
            res = emu.query("User")
            self.assertGreaterEqual(time.monotonic() - t, 0.045)
            self.assertEqual(len(res["data"]), 1)
            st, body = emu.api([{"action": "nope"}])
            self.assertEqual(st, 400)
            self.assertEqual(emu.ok([], user=API_USER, key=GLOBAL_KEY), [])
            self.assertEqual(emu.ctl("GET", "config")[1]["page_max"], 1)
        finally:
            self.assertEqual(emu.stop(), 0)


class ExtraSchemaTests(unittest.TestCase):
    def test_type_added_by_its_schema(self):
        schema = [{
            "id": "Team", "type": "object", "primary_key": ["id"],
            "required": ["name", "id"],
            "immutable": ["id"], "default_projections": ["id", "name"],
            "properties": {"id": {"type": "string", "default": "{uid}"},
                           "name": {"type": "string"},
                           "size": {"type": "integer", "default": 1},
                           "lead_id": {"type": "string"},
                           "lead": {"$ref": "User"}},
            "x-emulator": {"unique": ["name"], "index": ["lead_id"]},
        }]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "schemas.json")
            with open(path, "w") as f:
                json.dump(schema, f)
            emu = Emulator("--schemas", path)
            try:
                schemas = emu.ok([{"action": "query_schemas"}])[0]
                self.assertIn("Team", [s["id"] for s in schemas])
                self.assertIn("User", [s["id"] for s in schemas])
                api_id = emu.query("User where username is %s"
                                   % API_USER)["data"][0]["id"]
                res = emu.ok([{"action": "create", "entity_type": "Team",
                               "entity_data": {"__entity_type__": "Team",
                                               "name": "ops",
                                               "lead_id": api_id}}])
                self.assertEqual(res[0]["data"]["size"], 1)
                rows = emu.query('select name, size, lead.username from Team '
                                 'where size > 0 and name like "o%"')
                self.assertEqual(rows["data"][0]["lead"]["username"], API_USER)
                st, body = emu.api([{"action": "create", "entity_type": "Team",
                                     "entity_data": {"__entity_type__": "Team",
                                                     "name": "ops"}}])
                self.assertEqual(body["exception"], "DuplicateEntryError")
                st, body = emu.api([{"action": "create", "entity_type": "Team",
                                     "entity_data": {"__entity_type__": "Team",
                                                     "name": "x",
                                                     "size": "big"}}])
                self.assertEqual(body["exception"], "ValidationError")
            finally:
                emu.stop()


class PerformanceTests(unittest.TestCase):
    N = 100000

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator()
        cls.addClassCleanup(cls.emu.stop)
        cls.users = [{"id": str(uuid.uuid4()), "username": "perf%06d" % i,
                      "first_name": "First%d" % i,
                      "last_name": "Last", "email": "perf%d@example.com" % i,
                      "is_active": i % 4 != 0}
                     for i in range(cls.N)]
        t = time.monotonic()
        status, body = cls.emu.ctl("POST", "users", cls.users)
        cls.load_seconds = time.monotonic() - t
        assert status == 200 and body["total"] == cls.N + 1, body

    def test_single_user_lookups(self):
        c = self.emu.conn()
        try:
            self.emu.api([], conn=c)
            durations = []
            t = time.monotonic()
            for i in range(200):
                u = self.users[(i * 7919) % self.N]
                if i % 2:
                    expr = ('select id, username, first_name, last_name, '
                            'email, is_active from User '
                            'where username is "%s" limit 2' % u["username"])
                else:
                    expr = ('select id, username, is_active from User '
                            'where id is "%s"' % u["id"])
                t0 = time.monotonic()
                st, res = self.emu.api([{"action": "query",
                                         "expression": expr}], conn=c)
                durations.append(time.monotonic() - t0)
                self.assertEqual(res[0]["data"][0]["username"], u["username"])
            avg_ms = (time.monotonic() - t) / 200 * 1000
        finally:
            c.close()
        log = self.emu.ctl("GET", "log")[1][-200:]
        server_avg = sum(e["duration_ms"] for e in log) / len(log)
        sys.stderr.write("\n[perf] %d users: load %.2fs, lookup round trip "
                         "avg %.3f ms (server %.3f ms)\n"
                         % (self.N, self.load_seconds, avg_ms, server_avg))
        self.assertLess(avg_ms, 10.0)
        self.assertLess(server_avg, 10.0)

    def test_batched_lookup_by_username_in(self):
        names = [u["username"] for u in self.users[:500]]
        t = time.monotonic()
        res = self.emu.query('select username from User where username in (%s)'
                             % ", ".join('"%s"' % n for n in names))
        self.assertEqual(len(res["data"]), 500)
        self.assertLess(time.monotonic() - t, 1.0)

    def test_paging_all_users(self):
        c = self.emu.conn()
        seen = 0
        offset = 0
        pages = 0
        t = time.monotonic()
        try:
            while offset is not None:
                st, res = self.emu.api([{"action": "query", "expression":
                                         "select id, username, first_name, "
                                         "last_name, email, is_active "
                                         "from User order by id offset %d "
                                         "limit 500" % offset}], conn=c)
                seen += len(res[0]["data"])
                offset = res[0]["metadata"]["next"]["offset"]
                pages += 1
        finally:
            c.close()
        elapsed = time.monotonic() - t
        sys.stderr.write("[perf] paged %d users in %d pages: %.2fs\n"
                         % (seen, pages, elapsed))
        self.assertEqual(seen, self.N + 1)
        self.assertEqual(pages, (self.N + 1 + 499) // 500)
        self.assertLess(elapsed, 30.0)


class GroupsRolesTests(EmulatorTestCase):
    """ftrack-api.md section 12: groups, memberships, the role actions."""

    def role(self, name):
        res = self.emu.query('select id, name, type from SecurityRole '
                             'where name is "%s"' % name)
        self.assertEqual(len(res["data"]), 1, res)
        return res["data"][0]["id"]

    def group(self, name, parent=None):
        gid = str(uuid.uuid4())
        data = {"__entity_type__": "Group", "id": gid, "name": name,
                "local": False}
        if parent:
            data["parent_id"] = parent
        self.emu.ok([{"action": "create", "entity_type": "Group",
                      "entity_key": [gid], "entity_data": data}])
        return gid

    def member_op(self, uid, gid, mid=None):
        mid = mid or str(uuid.uuid4())
        return {"action": "create", "entity_type": "Membership",
                "entity_key": [mid],
                "entity_data": {"__entity_type__": "Membership", "id": mid,
                                "user_id": uid, "group_id": gid}}

    def user_roles(self, uid):
        return self.emu.query(
            'select id, security_role_id, is_all_open_projects from '
            'UserSecurityRole where user_id is "%s"' % uid)["data"]

    def test_shipped_roles_and_schemas(self):
        res = self.emu.query("select name, type from SecurityRole")
        got = {r["name"]: r["type"] for r in res["data"]}
        self.assertEqual(got["API"], "API")
        self.assertEqual(got["Restricted User"], "ASSIGNED")
        self.assertEqual(got["Supervisor"], "PROJECT")
        schemas = self.emu.ok([{"action": "query_schemas"}])[0]
        ids = {s["id"]: s for s in schemas}
        for name in ("Group", "Membership", "SecurityRole",
                     "UserSecurityRole", "UserSecurityRoleProject"):
            self.assertIn(name, ids)
            self.assertNotIn("x-emulator", ids[name])
        self.assertEqual(ids["Membership"]["required"],
                         ["group_id", "user_id", "id"])
        self.assertIn("local", ids["Group"]["required"])

    def test_membership_create_query_delete(self):
        uid = self.add_users(("ann", {}))["ann"]
        london = self.group("London")
        light = self.group("Lighting", london)
        self.group("Lighting")  # the same name under another parent
        mid = str(uuid.uuid4())
        self.emu.ok([self.member_op(uid, light, mid)])
        res = self.emu.query('select id, user_id, group_id from Membership '
                             'where group_id in ("%s")' % light)
        self.assertEqual(res["data"], [{"__entity_type__": "Membership",
                                        "id": mid, "user_id": uid,
                                        "group_id": light}])
        res = self.emu.query('select id, name, parent_id from Group where '
                             'name is "Lighting"')
        self.assertEqual(len(res["data"]), 2)
        # a retry of the same create is a duplicate, never a second one
        self.assertError(self.emu.api([self.member_op(uid, light, mid)]),
                         "DuplicateEntryError")
        # (user, group) unique: [UNKNOWN]; both behaviours
        self.emu.ok([self.member_op(uid, light)])
        self.emu.ctl("POST", "config", {"unique_memberships": True})
        self.assertError(self.emu.api([self.member_op(uid, light)]),
                         "DuplicateEntryError")
        self.emu.ok([{"action": "delete", "entity_type": "Membership",
                      "entity_key": [mid]}])
        res = self.emu.query('select id from Membership where user_id is '
                             '"%s"' % uid)
        self.assertEqual(len(res["data"]), 1)

    def test_role_actions(self):
        uid = self.add_users(("bo", {}))["bo"]
        sup = self.role("Supervisor")
        self.assertEqual(self.user_roles(uid), [])
        res = self.emu.ok([
            {"action": "add_user_security_role", "user_id": uid,
             "role_id": sup},
            {"action": "grant_user_security_role_project", "user_id": uid,
             "role_id": sup, "all_open_projects": True}])
        self.assertEqual(len(res), 2)
        got = self.user_roles(uid)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["security_role_id"], sup)
        self.assertIs(got[0]["is_all_open_projects"], True)
        # adding a role the user has is a no-op
        self.emu.ok([{"action": "add_user_security_role", "user_id": uid,
                      "role_id": sup}])
        self.assertEqual(len(self.user_roles(uid)), 1)
        self.emu.ok([{"action": "revoke_user_security_role_project",
                      "user_id": uid, "role_id": sup,
                      "all_open_projects": True}])
        self.assertIs(self.user_roles(uid)[0]["is_all_open_projects"], False)
        self.emu.ok([{"action": "remove_user_security_role", "user_id": uid,
                      "role_id": sup}])
        self.assertEqual(self.user_roles(uid), [])

    def test_role_action_errors_roll_back(self):
        uid = self.add_users(("cy", {}))["cy"]
        sup = self.role("Supervisor")
        # unknown ids: ValidationError, and the batch is undone
        self.assertError(self.emu.api([
            {"action": "add_user_security_role", "user_id": uid,
             "role_id": sup},
            {"action": "add_user_security_role", "user_id": "nope",
             "role_id": sup}]), "ValidationError")
        self.assertEqual(self.user_roles(uid), [])
        self.assertError(self.emu.api([
            {"action": "add_user_security_role", "user_id": uid,
             "role_id": str(uuid.uuid4())}]), "ValidationError")
        self.assertError(self.emu.api([
            {"action": "add_user_security_role", "user_id": uid,
             "role_id": self.role("API")}]), "ValidationError",
            contains="type API")
        self.assertError(self.emu.api([
            {"action": "grant_user_security_role_project", "user_id": uid,
             "role_id": sup, "all_open_projects": True}]), "ValidationError")

    def test_project_grants(self):
        uid = self.add_users(("di", {}))["di"]
        sup = self.role("Supervisor")
        pid = str(uuid.uuid4())
        self.emu.ok([{"action": "create", "entity_type": "Project",
                      "entity_key": [pid],
                      "entity_data": {"__entity_type__": "Project",
                                      "id": pid, "name": "p1"}},
                     {"action": "add_user_security_role", "user_id": uid,
                      "role_id": sup},
                     {"action": "grant_user_security_role_project",
                      "user_id": uid, "role_id": sup, "project_id": pid}])
        usr = self.user_roles(uid)[0]
        res = self.emu.query('select project_id from UserSecurityRoleProject '
                             'where user_security_role_id is "%s"' % usr["id"])
        self.assertEqual([r["project_id"] for r in res["data"]], [pid])
        self.emu.ok([{"action": "revoke_user_security_role_project",
                      "user_id": uid, "role_id": sup, "project_id": pid}])
        res = self.emu.query('select id from UserSecurityRoleProject where '
                             'user_security_role_id is "%s"' % usr["id"])
        self.assertEqual(res["data"], [])

    def test_knobs(self):
        # default role on new users: off (above), on
        self.emu.ctl("POST", "config", {"default_role": "User"})
        uid = self.add_users(("ed", {}))["ed"]
        got = self.user_roles(uid)
        self.assertEqual([r["security_role_id"] for r in got],
                         [self.role("User")])
        self.assertIs(got[0]["is_all_open_projects"], True)
        # what add grants on its own; what the actions answer
        self.emu.ctl("POST", "config", {"add_role_grants_all_open": True,
                                        "role_answers": "null"})
        res = self.emu.ok([{"action": "add_user_security_role",
                            "user_id": uid,
                            "role_id": self.role("Supervisor")}])
        self.assertEqual(res, [None])
        sup = [r for r in self.user_roles(uid)
               if r["security_role_id"] == self.role("Supervisor")]
        self.assertIs(sup[0]["is_all_open_projects"], True)
        st, body = self.emu.ctl("POST", "config", {"role_answers": "x"})
        self.assertNotEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
