/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_ldap_filter.c: the LDAP filter escaping of a login, as
 * syncd/ldap_src.c does it (login_filter(), static there): the login is
 * escaped with libldap's ldap_bv2escaped_filter_value() and put into
 * "(&(objectClass=inetOrgPerson)(uid=<escaped>))".
 *
 * Two independent checks that the escaped login comes back as exactly one
 * equality on exactly the input:
 * 1. reference (RFC 4515 valueencoding): the escaped text holds no NUL
 *    and no unescaped `*`, `(`, `)` or `\`; every `\` starts a \XX hex
 *    pair; decoding the pairs gives back the input bytes;
 * 2. libldap itself: the filter is sent with ldap_search_ext() over one
 *    end of a socketpair (ldap_init_fd, so nothing leaves the process),
 *    the SearchRequest is read from the other end and decoded with
 *    liblber: the filter must be an AND of exactly two equality items,
 *    the second being uid = the input bytes, and nothing else.
 * The input is any bytes, NUL included (the daemon's logins are 1 to 256
 * bytes without NUL, a subset).
 */
#include <errno.h>
#include <ldap.h>
#include <openldap.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

#define BASE      "dc=example,dc=com"
#define PERSON    "(objectClass=inetOrgPerson)"
#define PDU_MAX   65536
#define INPUT_MAX 4096

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Check 1: decode the escaped value per RFC 4515 and compare. */
static void
check_reference(const char *esc, size_t esclen, const uint8_t *data,
		size_t size)
{
	size_t i = 0, o = 0;

	fuzz_check(strlen(esc) == esclen);
	while (i < esclen) {
		char c = esc[i];
		int hi, lo;

		fuzz_check(c != '*' && c != '(' && c != ')');
		fuzz_check(o < size);
		if (c != '\\') {
			fuzz_check((uint8_t)c == data[o++]);
			i++;
			continue;
		}
		fuzz_check(i + 2 < esclen);
		hi = hexval(esc[i + 1]);
		lo = hexval(esc[i + 2]);
		fuzz_check(hi >= 0 && lo >= 0);
		fuzz_check((uint8_t)(hi * 16 + lo) == data[o++]);
		i += 3;
	}
	fuzz_check(o == size);
}

/* Read what libldap wrote (all of it is buffered when the call returns). */
static size_t
drain(int fd, uint8_t *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) /* EWOULDBLOCK on Linux */
			return len;
		if (n <= 0)
			fuzz_fail("recv from the socketpair");
		len += (size_t)n;
		if (len == cap)
			fuzz_fail("SearchRequest larger than PDU_MAX");
	}
}

/* Send the search through libldap; return the PDU it wrote. */
static size_t
search_pdu(const char *filter, uint8_t *buf, size_t cap)
{
	LDAP *ld = NULL;
	int sv[2], msgid = 0, v3 = LDAP_VERSION3, rc;
	size_t len;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		fuzz_fail("socketpair");
	rc = ldap_init_fd(sv[0], LDAP_PROTO_TCP, "ldap://127.0.0.1", &ld);
	if (rc != LDAP_SUCCESS)
		fuzz_fail("ldap_init_fd");
	(void)ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	rc = ldap_search_ext(ld, BASE, LDAP_SCOPE_SUBTREE, filter, NULL, 0,
			     NULL, NULL, NULL, 0, &msgid);
	if (rc != LDAP_SUCCESS)
		fuzz_fail("libldap refused the escaped filter");
	len = drain(sv[1], buf, cap);
	/* Unbind writes to sv[1]'s buffer and closes sv[0]. */
	(void)ldap_unbind_ext(ld, NULL, NULL);
	(void)close(sv[1]);
	return len;
}

/* Skip one equality item; return its type and value (in place). */
static void
get_equality(BerElement *ber, struct berval *type, struct berval *val)
{
	ber_len_t len = 0;

	fuzz_check(ber_skip_tag(ber, &len) == LDAP_FILTER_EQUALITY);
	fuzz_check(ber_scanf(ber, "mm", type, val) != LBER_ERROR);
}

static bool
bv_is(const struct berval *bv, const void *p, size_t len)
{
	return bv->bv_len == len &&
	       (len == 0 || memcmp(bv->bv_val, p, len) == 0);
}

/* Check 2: the SearchRequest's filter is PERSON AND uid=<input>. */
static void
check_libldap(const char *filter, const uint8_t *data, size_t size)
{
	static uint8_t pdu[PDU_MAX];
	struct berval bv, base, type, val;
	ber_int_t msgid, scope, deref, slimit, tlimit, tonly;
	ber_len_t len = 0, before = 0, after = 0;
	BerElement *ber;

	bv.bv_len = search_pdu(filter, pdu, sizeof(pdu));
	bv.bv_val = (char *)pdu;
	ber = ber_init(&bv);
	if (ber == NULL)
		fuzz_fail("ber_init");
	fuzz_check(ber_scanf(ber, "{i", &msgid) != LBER_ERROR);
	fuzz_check(ber_skip_tag(ber, &len) == LDAP_REQ_SEARCH);
	fuzz_check(ber_scanf(ber, "meeiib", &base, &scope, &deref, &slimit,
			     &tlimit, &tonly) != LBER_ERROR);
	fuzz_check(bv_is(&base, BASE, strlen(BASE)));
	fuzz_check(ber_skip_tag(ber, &len) == LDAP_FILTER_AND);
	(void)ber_get_option(ber, LBER_OPT_BER_REMAINING_BYTES, &before);
	get_equality(ber, &type, &val);
	fuzz_check(bv_is(&type, "objectClass", 11));
	fuzz_check(bv_is(&val, "inetOrgPerson", 13));
	get_equality(ber, &type, &val);
	fuzz_check(bv_is(&type, "uid", 3));
	if (!bv_is(&val, data, size))
		fuzz_fail("libldap parsed another value than the login");
	(void)ber_get_option(ber, LBER_OPT_BER_REMAINING_BYTES, &after);
	/* Nothing else inside the AND. */
	fuzz_check(before - after == len);
	ber_free(ber, 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berval in, out = {0, NULL};
	char *filter = NULL, *copy;
	int n;

	if (size == 0 || size > INPUT_MAX)
		return 0;
	/* libldap takes a writable berval; give it a copy. */
	copy = malloc(size);
	if (copy == NULL)
		fuzz_fail("out of memory");
	memcpy(copy, data, size);
	in.bv_val = copy;
	in.bv_len = size;
	if (ldap_bv2escaped_filter_value(&in, &out) != 0)
		fuzz_fail("ldap_bv2escaped_filter_value");
	check_reference(out.bv_val, out.bv_len, data, size);
	n = asprintf(&filter, "(&%s(uid=%s))", PERSON, out.bv_val);
	if (n < 0)
		fuzz_fail("out of memory");
	check_libldap(filter, data, size);
	free(filter);
	free(copy);
	ber_memfree(out.bv_val);
	return 0;
}
