/* SPDX-License-Identifier: Apache-2.0 */
/* main.c: ftrack-syncd's command line: global options and dispatch. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "ft_clean.h"
#include "ft_err.h"
#include "http.h"

#ifndef FT_VERSION
#define FT_VERSION "0.1.0"
#endif

static const char usage_text[] =
	"usage: ftrack-syncd [-c FILE] [run]\n"
	"       ftrack-syncd [-c FILE] sync USER...\n"
	"       ftrack-syncd [-c FILE] sync --held\n"
	"       ftrack-syncd [-c FILE] reconcile [--apply [--force]] "
	"[--json]\n"
	"       ftrack-syncd [-c FILE] reconcile --undo RUN [--apply] "
	"[--json]\n"
	"       ftrack-syncd [-c FILE] check [--user LOGIN] [--dump]\n"
	"       ftrack-syncd [-c FILE] status\n"
	"       ftrack-syncd --version | --help\n"
	"\n"
	"  run        serve: take login events, provision users, reconcile\n"
	"  sync       provision these users now and report each outcome;\n"
	"             --held: every login held beyond a seat cap\n"
	"  reconcile  plan a full reconcile (dry run), or --apply it;\n"
	"             --undo RUN: plan (or --apply) putting back what the\n"
	"             applied run RUN changed\n"
	"  check      validate the config, bind to LDAP and count the people\n"
	"             under search_base, log in to ftrack and try the reads a\n"
	"             sync makes; changes nothing.  --user LOGIN: look that\n"
	"             login up and show what the mapping makes of it and what\n"
	"             ftrack holds; --dump: print the effective config (every\n"
	"             key, defaults filled in) and stop\n"
	"  status     queue depth, last apply and last dry run, counters\n"
	"\n"
	"  -c FILE    configuration (default: $FTRACK_SYNCD_CONFIG, else\n"
	"             /etc/ftrack-syncd.conf)\n"
	"\n"
	"exit: 0 ok, 1 errors, 2 usage or configuration, 3 held by a safety\n"
	"guard, 4 dry run found changes\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv, const char *config_path);
} commands[] = {
	{"run", cmd_run},
	{"sync", cmd_sync},
	{"reconcile", cmd_reconcile},
	{"check", cmd_check},
	{"status", cmd_status},
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	size_t i;
	int c;

	/*
	 * Before any libldap call: libldap would otherwise read ldap.conf,
	 * ~/ldaprc and an ldaprc in the current folder (after the privilege
	 * drop, any folder) and LDAP* variables, which could add a CA or a
	 * client certificate; the config file is the only source.
	 */
	if (setenv("LDAPNOINIT", "1", 1) < 0) {
		fputs("ftrack-syncd: unable to set LDAPNOINIT\n", stderr);
		return EXIT_ERRORS;
	}
	/* '+': stop at the command; its own options are its business */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			puts("ftrack-syncd " FT_VERSION);
			return EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	/* before any thread: libcurl's global state */
	if (http_global_init() < 0) {
		fputs("ftrack-syncd: unable to initialise libcurl\n", stderr);
		return EXIT_ERRORS;
	}
	if (optind >= argc) {
		static char run_word[] = "run";
		char *run_argv[] = {run_word, NULL};

		return cmd_run(1, run_argv, config_path);
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int n = argc - optind;

			optind = 0; /* reset getopt for the command */
			return commands[i].fn(n, argv + argc - n, config_path);
		}
	}
	ft_clean_print(stderr, "ftrack-syncd: unknown command '%s'",
		       argv[optind]);
	fputc('\n', stderr);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}
