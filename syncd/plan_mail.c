/* SPDX-License-Identifier: Apache-2.0 */
/* plan_mail.c: ftrack users by e-mail address, for link_by = email. */
#include "plan_mail.h"

#include <stdlib.h>
#include <string.h>

#include "ft_err.h"

static bool
has_mail(const struct ft_user *u)
{
	return u->email != NULL && u->email[0] != '\0';
}

static int
cmp_mail(const void *a, const void *b)
{
	const struct ft_user *const *x = a, *const *y = b;
	int d = ft_email_cmp((*x)->email, (*y)->email);

	/* then by username: a conflict names its candidates in one order */
	return d != 0 ? d
		      : strcmp((*x)->username ? (*x)->username : "",
			       (*y)->username ? (*y)->username : "");
}

/* Mark the LDAP entries sharing an address with another entry. */
static int
find_twins(struct plan_mail *m, const struct ft_user_list *l)
{
	const struct ft_user **v =
		calloc(l->n + 1, sizeof(const struct ft_user *));
	size_t i, n = 0;

	if (v == NULL)
		return FT_E_NOMEM;
	for (i = 0; i < l->n; i++)
		if (has_mail(&l->v[i]))
			v[n++] = &l->v[i];
	if (n > 1)
		qsort(v, n, sizeof(const struct ft_user *), cmp_mail);
	for (i = 1; i < n; i++) {
		if (ft_email_cmp(v[i - 1]->email, v[i]->email) != 0)
			continue;
		m->twin[v[i - 1] - l->v] = true;
		m->twin[v[i] - l->v] = true;
	}
	free(v);
	return FT_OK;
}

int
plan_mail_build(struct plan_mail *m, const struct ft_user_list *ftrack,
		const bool *claimed, const struct ft_user_list *ldap)
{
	size_t i;
	int r = FT_E_NOMEM;

	memset(m, 0, sizeof(*m));
	m->by_mail = calloc(ftrack->n + 1, sizeof(const struct ft_user *));
	m->cand = calloc(ftrack->n + 1, sizeof(const struct ft_user *));
	m->twin = calloc(ldap->n + 1, sizeof(*m->twin));
	if (m->by_mail != NULL && m->cand != NULL && m->twin != NULL)
		r = find_twins(m, ldap);
	if (r < 0) {
		plan_mail_free(m);
		return r;
	}
	for (i = 0; i < ftrack->n; i++)
		if ((claimed == NULL || !claimed[i]) &&
		    ftrack->v[i].id != NULL && has_mail(&ftrack->v[i]))
			m->by_mail[m->n++] = &ftrack->v[i];
	if (m->n > 1)
		qsort(m->by_mail, m->n, sizeof(const struct ft_user *),
		      cmp_mail);
	return FT_OK;
}

size_t
plan_mail_matches(struct plan_mail *m, const char *email)
{
	size_t lo = 0, hi = m->n, k = 0;

	if (email == NULL || email[0] == '\0')
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ft_email_cmp(m->by_mail[mid]->email, email) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo < m->n && ft_email_cmp(m->by_mail[lo]->email, email) == 0)
		m->cand[k++] = m->by_mail[lo++];
	return k;
}

void
plan_mail_free(struct plan_mail *m)
{
	free(m->by_mail);
	free(m->cand);
	free(m->twin);
	memset(m, 0, sizeof(*m));
}
