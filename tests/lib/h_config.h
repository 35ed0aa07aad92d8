/* SPDX-License-Identifier: Apache-2.0 */
/*
 * h_config.h: test library: what the config suites share (h_config.c,
 * prefix h_cfg_): a temp folder per test case holding the two secret
 * files, a config written from the base set of required keys, loading it,
 * the expected error, checking a struct config field, every default, and
 * collecting config_dump's lines.
 *
 * Unlike harness.h, every function here asserts (ck_assert): use them in
 * tests and checked fixtures only; h_cfg_fixtures() adds the fixtures.
 * Single-threaded; the state is the one global h_cfg.
 */
#ifndef FT_H_CONFIG_H
#define FT_H_CONFIG_H

#include <check.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"

#define H_CFG_TEXT_MAX   32768 /* a config file, a dump */
#define H_CFG_SECRET_MAX 5000  /* a test's secret file: above the limit */

/* The files of this test case (each test runs in its own fork). */
struct h_cfg_files {
	char dir[PATH_MAX];  /* the temp folder (h_tmpdir) */
	char path[PATH_MAX]; /* DIR/syncd.conf; a test may point it elsewhere */
	char key[PATH_MAX];  /* DIR/ftrack.secret, "sekrit-api-key\n", 0600 */
	char pw[PATH_MAX];   /* DIR/ldap.secret, "ldap-pw", 0600 */
	char err[1024];      /* the last h_cfg_load's error text */
};

extern struct h_cfg_files h_cfg;

/*
 * Add to tc the unchecked fixture that makes h_cfg.dir (and removes it
 * with what is left in it, whatever the tests did) and the checked one
 * that empties it before each test, writes the two secret files, resets
 * h_cfg's paths and error and unsets FTRACK_SERVER, FTRACK_API_USER,
 * FTRACK_API_KEY and FTRACK_SYNCD_CONFIG.
 */
void h_cfg_fixtures(TCase *tc);

/* Write len bytes of data to path (created or truncated), then chmod. */
void h_cfg_write_file(const char *path, const char *data, size_t len,
		      mode_t mode);

/* h_cfg_write_file of the string text. */
void h_cfg_write_text(const char *path, const char *text, mode_t mode);

/* Copy in to out (capacity cap), every "@DIR@" replaced by h_cfg.dir. */
void h_cfg_subst(const char *in, char *out, size_t cap);

/* Append s to buf (H_CFG_TEXT_MAX bytes, *n used so far). */
void h_cfg_cat(char *buf, size_t *n, const char *s);

/*
 * Write h_cfg.path: the required keys (ldap uri and search_base, ftrack
 * server, api_user and api_key_file = @DIR@/ftrack.secret) without
 * [osec] okey (osec NULL: keep all), then "[xsec]" and xtext (either NULL:
 * nothing), @DIR@ replaced.  Returns the line number of xtext's first line.
 */
int h_cfg_build(const char *osec, const char *okey, const char *xsec,
		const char *xtext);

/* config_load(h_cfg.path) into *ret, the error in h_cfg.err; its code. */
int h_cfg_load(struct config **ret);

/* h_cfg_load, asserted to succeed; the config (config_free it). */
struct config *h_cfg_load_ok(void);

/*
 * h_cfg_load, asserted to fail with r, no config, and an error that starts
 * with prefix and (part not NULL) contains part.
 */
void h_cfg_load_fails(int r, const char *prefix, const char *part);

/* "PATH:LINE: tail" (line 0: "PATH: tail"), PATH h_cfg.path; static text. */
const char *h_cfg_at(int line, const char *tail);

/* How a struct config field is checked. */
enum h_cfg_kind {
	H_CFG_STR,   /* char *, equal to s (@DIR@ replaced) */
	H_CFG_NULL,  /* char *, NULL */
	H_CFG_UINT,  /* unsigned, n */
	H_CFG_ULONG, /* unsigned long, n */
	H_CFG_INT,   /* an int-sized enum, n */
	H_CFG_BOOL,  /* bool, n != 0 */
	H_CFG_LIST,  /* struct strlist, its values joined by '|' equal to s */
	H_CFG_LIMIT, /* struct limit, "N" or "N%" equal to s */
};

#define H_CFG_OFF(f) offsetof(struct config, f)

/* Assert that the field of c at off (named what) holds s or n, as kind. */
void h_cfg_check_field(const struct config *c, const char *what,
		       enum h_cfg_kind kind, size_t off, const char *s,
		       unsigned long n);

/* A field and its expected value. */
struct h_cfg_field {
	const char *name; /* "section.key" */
	enum h_cfg_kind kind;
	size_t off;
	const char *s;
	unsigned long n;
};

/* Every field's default, as the base config loads; h_cfg_ndefaults rows. */
extern const struct h_cfg_field h_cfg_defaults[];
extern const size_t h_cfg_ndefaults;

/* config_dump's lines, each with its '\n' (start zeroed). */
struct h_cfg_dump {
	char text[H_CFG_TEXT_MAX];
	size_t n;
	int lines;
};

/* config_dump's emit: append line to the struct h_cfg_dump ctx. */
void h_cfg_collect(void *ctx, const char *line);

#endif
