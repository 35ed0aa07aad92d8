/* SPDX-License-Identifier: Apache-2.0 */
/* check_proto.c: the login-event codec, every rule and round trips. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ft_err.h"
#include "ft_proto.h"

Suite *ft_proto_suite(void);

#define SET(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

static int
dec(const char *s, struct ft_event *ev)
{
	return ft_event_decode(s, strlen(s), ev);
}

START_TEST(test_decode_full)
{
	struct ft_event ev;

	ck_assert_int_eq(dec("FTSYNC1\nuser=alice\nservice=sshd\n"
			     "rhost=10.1.2.3\ntty=ssh\n",
			     &ev),
			 FT_OK);
	ck_assert_str_eq(ev.user, "alice");
	ck_assert_str_eq(ev.service, "sshd");
	ck_assert_str_eq(ev.rhost, "10.1.2.3");
	ck_assert_str_eq(ev.tty, "ssh");
}

END_TEST

START_TEST(test_decode_minimal)
{
	struct ft_event ev;

	ck_assert_int_eq(dec("FTSYNC1\nuser=bob\n", &ev), FT_OK);
	ck_assert_str_eq(ev.user, "bob");
	ck_assert_str_eq(ev.service, "");
	/* the last newline may be missing */
	ck_assert_int_eq(dec("FTSYNC1\nuser=bob", &ev), FT_OK);
	ck_assert_str_eq(ev.user, "bob");
}

END_TEST

static const char *const bad[] = {
	"",
	"FTSYNC1",
	"FTSYNC1\n",
	"FTSYNC2\nuser=a\n",
	"ftsync1\nuser=a\n",
	"FTSYNC1 \nuser=a\n",
	"FTSYNC1\r\nuser=a\n",
	"FTSYNC1\nservice=sshd\n",   /* no user */
	"FTSYNC1\nuser=\n",          /* empty user */
	"FTSYNC1\nuser=a\nuser=b\n", /* duplicate */
	"FTSYNC1\nuser=a\n\n",       /* empty line */
	"FTSYNC1\nuser\n",           /* no '=' */
	"FTSYNC1\n=a\nuser=a\n",     /* empty key */
	"FTSYNC1\nUser=a\n",         /* key case */
	"FTSYNC1\n9x=a\nuser=a\n",   /* key syntax */
	"FTSYNC1\nuser=a\tb\n",      /* control */
	"FTSYNC1\nuser=a\rb\n",
	"FTSYNC1\nuser=a\x7f\n",
	"FTSYNC1\nuser=a\xc2\x85\n",        /* C1 NEL */
	"FTSYNC1\nuser=\xff\n",             /* not UTF-8 */
	"FTSYNC1\nuser=\xc0\xaf\n",         /* overlong */
	"FTSYNC1\nuser=\xed\xa0\x80\n",     /* surrogate */
	"FTSYNC1\nuser=\xf4\x90\x80\x80\n", /* > U+10FFFF */
	"FTSYNC1\nuser=\xe2\x82\n",         /* cut short */
	"FTSYNC1\nuser=a\nrhost=b\xff\n",
	"FTSYNC1\nthis_key_is_much_longer_than_32_bytes=1\nuser=a\n",
};

START_TEST(test_decode_rejects)
{
	struct ft_event ev;

	memset(&ev, 0x5a, sizeof(ev));
	ck_assert_int_lt(dec(bad[_i], &ev), 0);
	/* written only on success */
	ck_assert_int_eq((unsigned char)ev.user[0], 0x5a);
}

END_TEST

START_TEST(test_decode_nul_inside)
{
	static const char msg[] = "FTSYNC1\nuser=a\0b\n";
	struct ft_event ev;

	ck_assert_int_lt(ft_event_decode(msg, sizeof(msg) - 1, &ev), 0);
}

END_TEST

START_TEST(test_decode_unknown_key_skipped)
{
	struct ft_event ev;

	ck_assert_int_eq(dec("FTSYNC1\npid=42\nuser=a\nerror=x y\n", &ev),
			 FT_OK);
	ck_assert_str_eq(ev.user, "a");
}

END_TEST

START_TEST(test_decode_utf8_ok)
{
	struct ft_event ev;

	ck_assert_int_eq(dec("FTSYNC1\nuser=J\xc3\xb6rg\xe2\x82\xac\xf0\x9f"
			     "\x98\x80\n",
			     &ev),
			 FT_OK);
	ck_assert_str_eq(ev.user, "J\xc3\xb6rg\xe2\x82\xac\xf0\x9f\x98\x80");
}

END_TEST

START_TEST(test_value_limits)
{
	char msg[FT_PROTO_MAX + 64];
	struct ft_event ev;
	size_t n;

	n = (size_t)snprintf(msg, sizeof(msg), "FTSYNC1\nuser=%0256d\n", 0);
	ck_assert_int_eq(ft_event_decode(msg, n, &ev), FT_OK);
	ck_assert_uint_eq(strlen(ev.user), 256);
	n = (size_t)snprintf(msg, sizeof(msg), "FTSYNC1\nuser=%0257d\n", 0);
	ck_assert_int_lt(ft_event_decode(msg, n, &ev), 0);
}

END_TEST

START_TEST(test_message_limit)
{
	char msg[FT_PROTO_MAX + 2];
	struct ft_event ev;
	size_t n;

	memset(msg, 'a', sizeof(msg));
	n = (size_t)snprintf(msg, sizeof(msg), "FTSYNC1\nuser=a\n");
	msg[n] = 'a';
	/* pad with well-formed unknown keys up to exactly the limit */
	memcpy(msg + n, "x=", 2);
	memset(msg + n + 2, 'v', FT_PROTO_MAX - n - 2);
	ck_assert_int_eq(ft_event_decode(msg, FT_PROTO_MAX, &ev), FT_E_PROTO);
	ck_assert_int_eq(ft_event_decode(msg, FT_PROTO_MAX + 1, &ev),
			 FT_E_TOOBIG);
}

END_TEST

START_TEST(test_encode_roundtrip)
{
	struct ft_event in, out;
	char buf[FT_PROTO_MAX + 1];
	size_t len;

	memset(&in, 0, sizeof(in));
	SET(in.user, "d\xc3\xa9j\xc3\xa0 vu=(x)*\\");
	SET(in.service, "gdm-password");
	SET(in.tty, ":0");
	ck_assert_int_eq(ft_event_encode(&in, buf, sizeof(buf), &len), FT_OK);
	ck_assert_uint_eq(len, strlen(buf));
	ck_assert_str_eq(buf, "FTSYNC1\nuser=d\xc3\xa9j\xc3\xa0 vu=(x)*\\\n"
			      "service=gdm-password\ntty=:0\n");
	ck_assert_int_eq(ft_event_decode(buf, len, &out), FT_OK);
	ck_assert_mem_eq(&in, &out, sizeof(in));
	/* a provisioner's queue file: host= last, read back */
	SET(in.host, "host1.ws.example.com");
	ck_assert_int_eq(ft_event_encode(&in, buf, sizeof(buf), &len), FT_OK);
	ck_assert_ptr_nonnull(strstr(buf, "\nhost=host1.ws.example.com\n"));
	ck_assert_int_eq(ft_event_decode(buf, len, &out), FT_OK);
	ck_assert_mem_eq(&in, &out, sizeof(in));
}

END_TEST

START_TEST(test_encode_rejects)
{
	struct ft_event in;
	char buf[FT_PROTO_MAX + 1];
	size_t len = 7;

	memset(&in, 0, sizeof(in));
	ck_assert_int_eq(ft_event_encode(&in, buf, sizeof(buf), &len),
			 FT_E_INVAL);
	SET(in.user, "a\nuser=root");
	ck_assert_int_eq(ft_event_encode(&in, buf, sizeof(buf), &len),
			 FT_E_INVAL);
	SET(in.user, "alice");
	SET(in.rhost, "\xff");
	ck_assert_int_eq(ft_event_encode(&in, buf, sizeof(buf), &len),
			 FT_E_INVAL);
	in.rhost[0] = '\0';
	ck_assert_int_eq(ft_event_encode(&in, buf, 10, &len), FT_E_TOOBIG);
	ck_assert_uint_eq(len, 7);
}

END_TEST

START_TEST(test_encode_max_fits)
{
	struct ft_event in, out;
	char buf[FT_PROTO_MAX + 1];
	size_t len;

	memset(&in, 0, sizeof(in));
	memset(in.user, 'u', FT_PROTO_VALUE_MAX);
	memset(in.service, 's', FT_PROTO_VALUE_MAX);
	memset(in.rhost, 'r', FT_PROTO_VALUE_MAX);
	memset(in.tty, 't', FT_PROTO_VALUE_MAX);
	/* 4 full fields exceed 1024 bytes: refused, never cut */
	ck_assert_int_eq(ft_event_encode(&in, buf, sizeof(buf), &len),
			 FT_E_TOOBIG);
	memset(in.tty, 0, sizeof(in.tty));
	ck_assert_int_eq(ft_event_encode(&in, buf, sizeof(buf), &len), FT_OK);
	ck_assert_int_eq(ft_event_decode(buf, len, &out), FT_OK);
	ck_assert_mem_eq(&in, &out, sizeof(in));
}

END_TEST

Suite *
ft_proto_suite(void)
{
	Suite *s = suite_create("ft_proto");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_decode_full);
	tcase_add_test(tc, test_decode_minimal);
	tcase_add_loop_test(tc, test_decode_rejects, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_decode_nul_inside);
	tcase_add_test(tc, test_decode_unknown_key_skipped);
	tcase_add_test(tc, test_decode_utf8_ok);
	tcase_add_test(tc, test_value_limits);
	tcase_add_test(tc, test_message_limit);
	tcase_add_test(tc, test_encode_roundtrip);
	tcase_add_test(tc, test_encode_rejects);
	tcase_add_test(tc, test_encode_max_fits);
	suite_add_tcase(s, tc);
	return s;
}
