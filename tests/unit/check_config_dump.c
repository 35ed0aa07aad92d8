/* SPDX-License-Identifier: Apache-2.0 */
/* check_config_dump.c: config_dump.c: the effective config, secrets masked. */
#include <check.h>
#include <string.h>

#include "config.h"
#include "h_config.h"

Suite *config_dump_suite(void);

/* The whole dump of the defaults, line by line, secrets masked. */
static const char default_dump[] =
	"ldap.uri = ldap://127.0.0.1:3890\n"
	"ldap.bind_dn =\n"
	"ldap.bind_password_file =\n"
	"ldap.bind_password = (unset)\n"
	"ldap.search_base = ou=people,dc=example,dc=com\n"
	"ldap.search_filter = (objectClass=inetOrgPerson)\n"
	"ldap.disabled_filter =\n"
	"ldap.login_attribute = uid\n"
	"ldap.uuid_attribute = entryUUID\n"
	"ldap.login_format =\n"
	"ldap.start_tls = no\n"
	"ldap.tls_ca_file =\n"
	"ldap.tls_require_cert = demand\n"
	"ldap.timeout = 10\n"
	"ldap.page_size = 500\n"
	"ldap.insecure_ldap = no\n"
	"ldap.ignore_referrals =\n"
	"ldap.expires_attribute =\n"
	"ftrack.server = https://ftrack.example.com\n"
	"ftrack.api_user = ftrack-sync\n"
	"ftrack.api_key_file = @DIR@/ftrack.secret\n"
	"ftrack.api_key = (set)\n"
	"ftrack.timeout = 30\n"
	"ftrack.batch_size = 100\n"
	"ftrack.tls_ca_file =\n"
	"ftrack.insecure_http = no\n"
	"ftrack.link_by = username\n"
	"mapping.username = uid\n"
	"mapping.email = mail\n"
	"mapping.first_name = givenName\n"
	"mapping.last_name = sn\n"
	"mapping.full_name =\n"
	"mapping.transform =\n"
	"mapping.transform_attributes =\n"
	"mapping.transform_timeout = 5\n"
	"policy.on_login = create\n"
	"policy.reconcile_interval = 0\n"
	"policy.reconcile_create = no\n"
	"policy.missing = deactivate\n"
	"policy.scope = managed\n"
	"policy.reactivate = sync-deactivated\n"
	"policy.protected_users = admin, ftrack-sync\n"
	"policy.skip_users = root\n"
	"policy.login_cooldown = 600\n"
	"policy.min_ldap_users = 1\n"
	"policy.max_shrink = 20%\n"
	"policy.max_deactivate = 5%\n"
	"policy.sentinel_users =\n"
	"daemon.socket = /run/ftrack-syncd/notify.sock\n"
	"daemon.state_dir = /var/lib/ftrack-syncd\n"
	"daemon.log_level = info\n"
	"daemon.log_target = syslog\n"
	"daemon.nonroot_rate = 240\n"
	"daemon.mode = standalone\n"
	"relay.upstream =\n"
	"relay.tls_cert_file =\n"
	"relay.tls_key_file =\n"
	"relay.tls_ca_file =\n"
	"relay.timeout = 10\n"
	"relay.retry_primary = 300\n"
	"provisioner.listen = 0.0.0.0:8443\n"
	"provisioner.tls_cert_file =\n"
	"provisioner.tls_key_file =\n"
	"provisioner.client_ca_file =\n"
	"provisioner.crl_file =\n"
	"provisioner.allow_hosts =\n"
	"provisioner.deny_file =\n"
	"provisioner.host_rate = 10\n"
	"provisioner.max_connections = 1024\n"
	"provisioner.per_ip_connections = 64\n"
	"provisioner.metrics_listen =\n"
	"provisioner.new_seats_per_host = 20\n"
	"provisioner.new_seats_total = 500\n"
	"hooks.on_change =\n"
	"hooks.hook_timeout = 30\n"
	"groups.search_base =\n"
	"groups.search_filter = (objectClass=groupOfNames)\n"
	"groups.name_attribute = cn\n"
	"groups.member_attribute = member\n"
	"groups.nested = no\n"
	"groups.remove = yes\n"
	"groups.max_removals = 5%\n";

START_TEST(test_dump_defaults)
{
	static struct h_cfg_dump d;
	static char want[H_CFG_TEXT_MAX];
	struct config *c;

	h_cfg_build(NULL, NULL, NULL, NULL);
	c = h_cfg_load_ok();
	config_dump(c, h_cfg_collect, &d);
	h_cfg_subst(default_dump, want, sizeof(want));
	ck_assert_str_eq(d.text, want);
	ck_assert_int_eq(d.lines, 82);
	config_free(c);
}

END_TEST

START_TEST(test_dump_masks_secrets)
{
	static struct h_cfg_dump d;
	struct config *c;

	h_cfg_build(NULL, NULL, "ldap",
		    "bind_dn = cn=sync,dc=example,dc=com\n"
		    "bind_password_file = @DIR@/ldap.secret\n"
		    "insecure_ldap = yes");
	c = h_cfg_load_ok();
	ck_assert_str_eq(c->ldap.bind_password, "ldap-pw");
	config_dump(c, h_cfg_collect, &d);
	ck_assert_ptr_nonnull(strstr(d.text, "\nldap.bind_password = (set)\n"));
	ck_assert_ptr_nonnull(strstr(d.text, "\nftrack.api_key = (set)\n"));
	ck_assert_ptr_null(strstr(d.text, "ldap-pw"));
	ck_assert_ptr_null(strstr(d.text, "sekrit"));
	config_free(c);
}

END_TEST

Suite *
config_dump_suite(void)
{
	Suite *s = suite_create("config_dump");
	TCase *tc = tcase_create("config_dump");

	h_cfg_fixtures(tc);
	tcase_add_test(tc, test_dump_defaults);
	tcase_add_test(tc, test_dump_masks_secrets);
	suite_add_tcase(s, tc);
	return s;
}
