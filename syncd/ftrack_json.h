/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ftrack_json.h: ftrack request bodies and replies, as pure functions.
 *
 * The only unit that sees json_t* (jansson).  It builds the JSON array of
 * operations of ftrack-api.md section 3 (struct ftrack_ops), classifies a
 * reply by the rules of section 2.3 and section 10, and decodes query
 * results into struct ft_user and struct ftrack_marker (struct
 * ftrack_reply).  It also quotes values for query expressions (section
 * 4.1).  No I/O, no global state, no logging; thread-safe on distinct
 * objects.
 *
 * Ownership: ftrack_ops_new()/ftrack_reply_parse() return objects freed by
 * the matching _free(); strings returned through char ** are malloc'd and
 * freed by the caller; users and markers appended to a list belong to the
 * list.  Every string input is borrowed (const) and copied.
 */
#ifndef FTRACK_JSON_H
#define FTRACK_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "ft_attrs.h"
#include "ft_user.h"
#include "ftrack_api.h" /* enum ftrack_field, FTRACK_MARKER_* */

#define FTRACK_ID_MAX   64    /* longest id accepted (UUIDs are 36) */
#define FTRACK_STR_MAX  1024  /* longest decoded attribute value */
#define FTRACK_PAGE_MAX 10000 /* most records accepted in one result */
#define FTRACK_EXPR_MAX ((size_t)1024 * 1024) /* longest query expression */
#define FTRACK_EXC_MAX  64 /* buffer for an exception class name */
/*
 * What one answer may hold, checked before it is parsed (jansson builds
 * the whole tree, at 20 to 77 bytes per byte of `[0,0,...]` to
 * `[{},{},...]`).  Counted outside strings: brackets, commas and colons
 * (about one per value and key), and the objects and arrays.  The
 * largest legitimate answer, one listing step of FTRACK_PAGE_MAX Users
 * and as many markers, has 280,000 and 20,000 (17 a User, 11 a marker);
 * these are 1.7 and 2 times that.  The dearest answer within both
 * bounds and the 8 MiB cap makes `check` peak 53 MiB higher
 * (tests/bench/bench.py memory).
 */
#define FTRACK_REPLY_VALUES_MAX     ((size_t)48 * FTRACK_PAGE_MAX)
#define FTRACK_REPLY_CONTAINERS_MAX ((size_t)4 * FTRACK_PAGE_MAX)
#define FTRACK_USER_FIELDS                                                     \
	"id, username, first_name, last_name, email, is_active"

/* A Metadata record: a marker when key is one of FTRACK_MARKER_*. */
struct ftrack_marker {
	char *parent_id;
	char *key;
	char *value;
};

struct ftrack_marker_list {
	struct ftrack_marker *v;
	size_t n;
	size_t cap;
};

/* Free every marker and the array; the list is left empty. */
void ftrack_marker_list_clear(struct ftrack_marker_list *list);

/*
 * Quote in as a query string literal: double quotes around it, and `\`,
 * `"` and `'` escaped with a backslash.  out (capacity cap) receives the
 * NUL-terminated literal; 2 * strlen(in) + 3 always suffices.  Returns
 * FT_OK, FT_E_INVAL (not UTF-8, or a control character, which the query
 * language cannot carry) or FT_E_TOOBIG.
 */
FT_MUST_USE int ftrack_quote(const char *in, char *out, size_t cap);

/*
 * Build "<head> (<v0>, <v1>, ...)<tail>" with each value quoted by
 * ftrack_quote(), e.g. head `select id from User where username in`.
 * On success *ret is a new string (caller frees).  Returns FT_OK,
 * FT_E_INVAL (n == 0 or a value ftrack_quote() refuses), FT_E_TOOBIG
 * (over FTRACK_EXPR_MAX) or FT_E_NOMEM.
 */
FT_MUST_USE int ftrack_expr_in(const char *head, const char *const values[],
			       size_t n, const char *tail, char **ret);

/* ---- requests ----------------------------------------------------------- */

struct ftrack_ops;

/* A new, empty list of operations (free with ftrack_ops_free); NULL: OOM. */
FT_MUST_USE struct ftrack_ops *ftrack_ops_new(void);

/* Free ops; NULL is a no-op. */
void ftrack_ops_free(struct ftrack_ops *ops);

/* Number of operations in ops. */
size_t ftrack_ops_count(const struct ftrack_ops *ops);

/* Drop the operations from index n on (n >= count: nothing). */
void ftrack_ops_truncate(struct ftrack_ops *ops, size_t n);

/*
 * Each ftrack_ops_* adder appends one operation.  Every one returns FT_OK,
 * FT_E_INVAL (a required argument NULL, or a string that is not UTF-8) or
 * FT_E_NOMEM; ops is unchanged on failure.
 */

/* {"action": "query_server_information"} */
FT_MUST_USE int ftrack_ops_server_info(struct ftrack_ops *ops);

/* {"action": "query", "expression": expr} */
FT_MUST_USE int ftrack_ops_query(struct ftrack_ops *ops, const char *expr);

/* A query of "<expr> offset <offset> limit <limit>" (one page). */
FT_MUST_USE int ftrack_ops_query_page(struct ftrack_ops *ops, const char *expr,
				      unsigned long long offset,
				      unsigned limit);

/*
 * Create a User PY-style with the client-made id (entity_key [id] and id in
 * entity_data): username (required), first_name, last_name, email (left
 * out when NULL, so the server default applies) and is_active true.
 */
FT_MUST_USE int ftrack_ops_create_user(struct ftrack_ops *ops, const char *id,
				       const struct ft_user *u);

/*
 * Update User id with the attributes of u named in fields (enum
 * ftrack_field bits; a NULL string becomes null).  fields must not be 0.
 */
FT_MUST_USE int ftrack_ops_update_user(struct ftrack_ops *ops, const char *id,
				       const struct ft_user *u,
				       unsigned fields);

/* Delete User id. */
FT_MUST_USE int ftrack_ops_delete_user(struct ftrack_ops *ops, const char *id);

/* Create Metadata (parent_type "User", parent_id user_id, key, value). */
FT_MUST_USE int ftrack_ops_create_marker(struct ftrack_ops *ops,
					 const char *user_id, const char *key,
					 const char *value);

/* Update the value of Metadata entity_key [user_id, key]. */
FT_MUST_USE int ftrack_ops_update_marker(struct ftrack_ops *ops,
					 const char *user_id, const char *key,
					 const char *value);

/* Delete Metadata entity_key [user_id, key]. */
FT_MUST_USE int ftrack_ops_delete_marker(struct ftrack_ops *ops,
					 const char *user_id, const char *key);

/*
 * Create Membership id (client-made: entity_key [id], and id in
 * entity_data) of User user_id in Group group_id.
 */
FT_MUST_USE int ftrack_ops_create_membership(struct ftrack_ops *ops,
					     const char *id,
					     const char *user_id,
					     const char *group_id);

/* Delete Membership entity_key [id]. */
FT_MUST_USE int ftrack_ops_delete_membership(struct ftrack_ops *ops,
					     const char *id);

/* The security-role actions of ftrack-api.md section 12. */
enum ftrack_role_op {
	FTRACK_ROLE_ADD,             /* add_user_security_role */
	FTRACK_ROLE_GRANT_ALL_OPEN,  /* grant_..._project, all_open_projects */
	FTRACK_ROLE_REVOKE_ALL_OPEN, /* revoke_..._project, all_open_projects */
	FTRACK_ROLE_REMOVE,          /* remove_user_security_role */
};

/* {"action": <op's>, "user_id": user_id, "role_id": role_id[,
 * "all_open_projects": true]} */
FT_MUST_USE int ftrack_ops_role(struct ftrack_ops *ops, enum ftrack_role_op op,
				const char *user_id, const char *role_id);

/*
 * Serialise operations [first, first + n) as a compact JSON array with
 * sorted keys.  On success *ret_body is a new NUL-terminated string
 * (caller frees) of *ret_len bytes.  Returns FT_OK, FT_E_INVAL (range out
 * of bounds) or FT_E_NOMEM.
 */
FT_MUST_USE int ftrack_ops_dump(const struct ftrack_ops *ops, size_t first,
				size_t n, char **ret_body, size_t *ret_len);

/* ---- replies ------------------------------------------------------------ */

struct ftrack_reply;

/*
 * Parse and classify a reply of HTTP status `status` to a request of nops
 * operations.  The body is parsed as JSON whatever the status:
 *   - an array of nops elements: success, *ret is the decoded reply (free
 *     with ftrack_reply_free);
 *   - status 429, 502, 503 or 504: FT_E_HTTP (server busy);
 *   - an object with a string `exception`: a class naming a licence or
 *     a content with the word licence/license -> FT_E_SEAT (no free
 *     seat); InvalidCredentialsError,
 *     FTAuthenticationError, PermissionError -> FT_E_AUTH; ValidationError,
 *     ParseError, DuplicateEntryError, IntegrityError, ValueError ->
 *     FT_E_DATA; any other -> FT_E_HTTP when status >= 500, else
 *     FT_E_DATA;
 *   - an object with `detail` (a 422 validation body) -> FT_E_DATA;
 *   - anything else (invalid JSON, another shape, an array of the wrong
 *     length) -> FT_E_MALFORMED;
 *   - an array or object of more than FTRACK_REPLY_VALUES_MAX values or
 *     FTRACK_REPLY_CONTAINERS_MAX objects and arrays -> FT_E_TOOBIG,
 *     found by one pass over the bytes before anything is built.
 * On failure the exception class name (or "") goes into exc (capacity
 * exclen, may be NULL) and a one-line, control-character-free message
 * ("<exception>: <content>", or what was wrong) into err.  FT_E_NOMEM on
 * OOM.  exc and err may be NULL.
 */
FT_MUST_USE int ftrack_reply_parse(const char *body, size_t len, long status,
				   size_t nops, struct ftrack_reply **ret,
				   char *exc, size_t exclen, char *err,
				   size_t errlen);

/* Free r; NULL is a no-op. */
void ftrack_reply_free(struct ftrack_reply *r);

/*
 * The `version` of result i, a query_server_information reply, into out
 * (capacity cap).  Returns FT_OK, FT_E_MALFORMED or FT_E_TOOBIG.
 */
FT_MUST_USE int ftrack_reply_server_version(const struct ftrack_reply *r,
					    size_t i, char *out, size_t cap);

/*
 * Decode the `data` of query result i as User records and append them to
 * list (ownership of the new users passes to the list).  A missing or null
 * attribute is NULL (is_active: false); `__entity_type__` must be "User";
 * `id` is required; a record without `username` is a reference stub and
 * is skipped; object-valued attributes are ignored.  The number appended
 * goes into *ret_count (may be NULL).  Returns FT_OK, FT_E_MALFORMED (a
 * wrong type, a string over FTRACK_STR_MAX, over FTRACK_PAGE_MAX records)
 * or FT_E_NOMEM; on failure list is as it was.
 */
FT_MUST_USE int ftrack_reply_users(const struct ftrack_reply *r, size_t i,
				   struct ft_user_list *list,
				   size_t *ret_count);

/*
 * Decode the `data` of query result i as Metadata records (parent_id, key,
 * value; a record with a null or missing value is skipped) and append
 * them to list.  Same returns and limits as ftrack_reply_users().
 */
FT_MUST_USE int ftrack_reply_markers(const struct ftrack_reply *r, size_t i,
				     struct ftrack_marker_list *list,
				     size_t *ret_count);

/*
 * Records of any type as strings: n rows of nf fields each, row-major in
 * v (v[row * nf + field]); a missing or null field is NULL, a boolean is
 * "true" or "false", a number its decimal text.  type and fields are
 * borrowed (set them before decoding).
 */
struct ftrack_rows {
	const char *type;
	const char *const *fields;
	size_t nf;
	char **v;
	size_t n, cap;
};

/* Free the values; type and fields stay. */
void ftrack_rows_clear(struct ftrack_rows *rows);

/* Field f of row k of rows (borrowed), or NULL. */
const char *ftrack_rows_get(const struct ftrack_rows *rows, size_t k, size_t f);

/*
 * Decode the `data` of query result i as records of rows->type (checked
 * with __entity_type__) and append each one's rows->fields to rows; the
 * first field (an id) is required.  Same returns and limits as
 * ftrack_reply_users().
 */
FT_MUST_USE int ftrack_reply_rows(const struct ftrack_reply *r, size_t i,
				  struct ftrack_rows *rows, size_t *ret_count);

/*
 * The number of records in the `data` array of query result i (stubs and
 * skipped records included); 0 when it has none.
 */
size_t ftrack_reply_data_len(const struct ftrack_reply *r, size_t i);

/*
 * The next offset of query result i (`metadata.next.offset`) into *ret:
 * -1 when null or missing (no more pages).  Returns FT_OK or
 * FT_E_MALFORMED (not a non-negative integer).
 */
FT_MUST_USE int ftrack_reply_next(const struct ftrack_reply *r, size_t i,
				  long long *ret);

/*
 * The `id` of the entity in the `data` of create/update result i into out
 * (capacity cap).  Returns FT_OK, FT_E_MALFORMED or FT_E_TOOBIG.
 */
FT_MUST_USE int ftrack_reply_entity_id(const struct ftrack_reply *r, size_t i,
				       char *out, size_t cap);

/*
 * The boolean attribute name (e.g. "is_active") of the entity in the
 * `data` of create/update result i into *ret.  Returns FT_OK,
 * FT_E_NOTFOUND (no such result, no entity, the attribute missing or
 * null: a server that answers less than asked) or FT_E_MALFORMED (not a
 * boolean); *ret is written only on FT_OK.
 */
FT_MUST_USE int ftrack_reply_entity_bool(const struct ftrack_reply *r, size_t i,
					 const char *name, bool *ret);

#endif
