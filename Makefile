# SPDX-License-Identifier: Apache-2.0
# ftrack-ldap-sync: one non-recursive GNU make for the module, the daemon,
# the tests, the demo and the benchmarks.  See README.md.
#
#   make            build build/pam_ftrack/pam_ftrack.so, build/syncd/ftrack-syncd
#   make check      install missing Debian packages, build, run every test
#                   (gcc build, then the C suites again under ASan+UBSan)
#   make demo       the whole story on a private slapd and ftrack emulator
#   make bench      benchmarks (not part of check)
#   make lint       clang-format, banned functions, clang-tidy, cppcheck,
#                   pyflakes and pycodestyle on every *.py (lint-py)
#   make deps       apt-get install what is missing (root)
#   make install    DESTDIR, PREFIX (default /usr); make uninstall
#   make deb        the Debian package, into build/deb/
#   make srpm       the source tarball and source RPM, into build/rpm/
#   make rpm        also a binary RPM built here (payload check only)
#
# Variables: B (build folder), CC, SANITIZE=1, SUITE=name (one C suite).

SHELL      := /bin/bash
.SUFFIXES:
.DELETE_ON_ERROR:

B         ?= build
CC        ?= gcc
PYTHON    ?= python3
PKG_CONFIG ?= pkg-config

IS_CLANG  := $(shell $(CC) --version 2>/dev/null | grep -qi clang && echo 1)

CSTD       = -std=c11 -D_GNU_SOURCE
WARN       = -Wall -Wextra -Wpedantic -Werror \
             -Wshadow -Wpointer-arith -Wcast-qual -Wcast-align -Wwrite-strings \
             -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
             -Wold-style-definition -Wformat=2 -Wundef -Wswitch-enum \
             -Wimplicit-fallthrough -Wvla -Wnull-dereference -Wconversion \
             -fno-common
WARN_GCC   = -Wduplicated-cond -Wduplicated-branches -Wlogical-op -Wrestrict \
             -Wjump-misses-init
WARN_CLANG = -Wmissing-variable-declarations -Wcomma
HARDEN     = -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
SAN        = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all
ifeq ($(IS_CLANG),1)
WARN      += $(WARN_CLANG)
else
WARN      += $(WARN_GCC)
endif
ifeq ($(SANITIZE),1)
OPT        = $(SAN)
LDSAN      = -fsanitize=address,undefined
else
OPT        = -g $(HARDEN)
LDSAN      =
endif

CPPFLAGS   = -Iinclude -Isyncd -Ipam_ftrack
CFLAGS     = $(CSTD) $(WARN) $(OPT) -fPIC -MMD -MP
SO_FLAGS   = -shared -Wl,--version-script=pam_ftrack/pam_ftrack.map \
             -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
# -z defs catches a missing -lpam; under ASan the sanitizer runtime comes
# from the host program, so the instrumented module cannot use it.
ifneq ($(SANITIZE),1)
SO_FLAGS  += -Wl,-z,defs
endif
EXE_LDFLAGS = -Wl,-z,relro -Wl,-z,now -Wl,--as-needed

SYNCD_PKGS = ldap lber libcurl jansson inih libcrypto libmicrohttpd gnutls
TEST_PKGS  = $(SYNCD_PKGS) check pam
pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

COMMON_SRCS = $(wildcard include/*.c)
PAM_SRCS    = $(wildcard pam_ftrack/*.c)
SYNCD_MAIN  = syncd/main.c
SYNCD_SRCS  = $(filter-out $(SYNCD_MAIN),$(wildcard syncd/*.c))
# tests/unit/check_<unit>.c: one unit's suite; tests/integration/check_*.c:
# suites that run processes (and the pam suite's other files); tests/lib/:
# the one test library (harness.h, prefix h_).  Suite NAME is check_NAME.c.
SUITE_SRCS  = $(sort $(wildcard tests/unit/check_*.c tests/integration/check_*.c))
TEST_SUPPORT_SRCS = $(wildcard tests/lib/*.c) \
              $(filter-out $(SUITE_SRCS),$(wildcard tests/integration/*.c))
ALL_SUITES  = $(patsubst check_%.c,%,$(notdir $(SUITE_SRCS)))
# check-c runs these (SUITES="a b" on the command line: some); the runner
# always holds every suite
SUITES      = $(ALL_SUITES)
SRCS        = $(COMMON_SRCS) $(PAM_SRCS) $(SYNCD_SRCS) $(wildcard $(SYNCD_MAIN))
HDRS        = $(wildcard include/*.h pam_ftrack/*.h syncd/*.h)
ALL_C       = $(SRCS) $(HDRS) $(wildcard tests/*.c tests/*.h tests/unit/*.c \
              tests/integration/*.c tests/integration/*.h tests/lib/*.c \
              tests/lib/*.h tests/bench/*.c tests/fuzz/*.c tests/fuzz/*.h)

obj = $(patsubst %.c,$(B)/%.o,$(1))

PAM_SO     = $(B)/pam_ftrack/pam_ftrack.so
SYNCD_BIN  = $(B)/syncd/ftrack-syncd
COMMON_LIB = $(B)/libftcommon.a
SYNCD_LIB  = $(B)/libsyncd.a
RUNNER     = $(B)/tests/runner

.PHONY: all check check-c check-py check-fuzz sanitize demo bench fuzz lint lint-format \
        lint-banned lint-tidy lint-cppcheck lint-py format deps clean install uninstall

all: $(if $(PAM_SRCS),$(PAM_SO)) $(if $(wildcard $(SYNCD_MAIN)),$(SYNCD_BIN))

# ---- build -----------------------------------------------------------------

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(call pkg_cflags,$(SYNCD_PKGS)) -c -o $@ $<

$(COMMON_LIB): $(call obj,$(COMMON_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(SYNCD_LIB): $(call obj,$(SYNCD_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(PAM_SO): $(call obj,$(PAM_SRCS)) $(COMMON_LIB) pam_ftrack/pam_ftrack.map
	$(CC) $(CFLAGS) $(SO_FLAGS) $(LDSAN) -o $@ $(call obj,$(PAM_SRCS)) \
		$(COMMON_LIB) -lpam

$(SYNCD_BIN): $(call obj,$(SYNCD_MAIN)) $(SYNCD_LIB) $(COMMON_LIB)
	$(CC) $(CFLAGS) $(EXE_LDFLAGS) $(LDSAN) -o $@ $^ \
		$(call pkg_libs,$(SYNCD_PKGS)) -lm

# ---- tests -----------------------------------------------------------------

$(B)/tests/suites.inc: $(SUITE_SRCS) Makefile
	@mkdir -p $(@D)
	@printf 'SUITE(%s)\n' $(ALL_SUITES) > $@.tmp && mv $@.tmp $@

$(call obj,tests/runner.c): $(B)/tests/suites.inc
$(call obj,tests/runner.c): CPPFLAGS += -I$(B)/tests
$(B)/tests/%.o: CPPFLAGS += -Itests/lib -DFT_TEST_SRCDIR='"$(CURDIR)"' \
	-DFT_TEST_BUILDDIR='"$(abspath $(B))"'
$(B)/tests/%.o: CFLAGS += $(call pkg_cflags,check)

$(RUNNER): $(call obj,tests/runner.c $(SUITE_SRCS) $(TEST_SUPPORT_SRCS)) \
		$(SYNCD_LIB) $(COMMON_LIB)
	$(CC) $(CFLAGS) $(LDSAN) -o $@ $^ $(call pkg_libs,$(TEST_PKGS)) -ldl -lm

# The C suites need the built module and daemon next to them.  SUITE=NAME
# runs one; without it every suite runs in a runner of its own, CHECK_JOBS
# at a time (each suite starts its own servers on free ports in its own
# folders), its output shown when it ends (kept in $(B)/tests/log/), and
# the suites that failed (or ran no test: a name that is no suite) are
# named at the end.
CHECK_JOBS ?= 2
CHECK_LOG   = $(B)/tests/log
check-c: all $(RUNNER)
ifneq ($(SUITE),)
	cd $(CURDIR) && CK_DEFAULT_TIMEOUT=120 CK_RUN_SUITE=$(SUITE) $(RUNNER)
else
	@rm -rf $(CHECK_LOG) && mkdir -p $(CHECK_LOG)
	@printf '%s\n' $(SUITES) | xargs -P $(CHECK_JOBS) -I{} sh -c \
		'CK_DEFAULT_TIMEOUT=120 CK_RUN_SUITE={} $(RUNNER) \
			>$(CHECK_LOG)/{}.log 2>&1; rc=$$?; cat $(CHECK_LOG)/{}.log; \
		[ $$rc = 0 ] && ! grep -q "Checks: 0," $(CHECK_LOG)/{}.log || \
		echo {} >>$(CHECK_LOG)/FAILED'
	@if [ -s $(CHECK_LOG)/FAILED ]; then \
		echo "check-c: failed: $$(tr '\n' ' ' <$(CHECK_LOG)/FAILED)"; \
		exit 1; fi
	@awk -v s=$(words $(SUITES)) '/^100%: Checks: / { n += $$3 } \
		END { printf "check-c: all %d suites passed (%d checks)\n", s, n }' \
		$(CHECK_LOG)/*.log
endif

check-py:
	$(PYTHON) -m unittest discover -s tests -p 'test_*.py'

# ---- fuzzing ---------------------------------------------------------------
# tests/fuzz/fuzz_NAME.c: a libFuzzer target; tests/fuzz/corpus/NAME: its
# seeds.  `make fuzz` builds each with clang -fsanitize=fuzzer,address,
# undefined in build-fuzz/ and runs it FUZZ_SECONDS with its corpus (new
# inputs go to build-fuzz/corpus/NAME), stopping at the first crash.
# `check-fuzz` links each with the replay driver (normal flags, build/fuzz/)
# and runs the seeds once.

FUZZ_SRCS    = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES   = $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60
FUZZ_B       = build-fuzz
FUZZ_CFLAGS  = -g -O1 -fno-omit-frame-pointer \
               -fsanitize=fuzzer-no-link,address,undefined \
               -fno-sanitize-recover=all
FUZZ_LDFLAGS = -fsanitize=fuzzer,address,undefined
FUZZ_DRIVER ?= $(B)/tests/fuzz/replay.o
# -max_len per target: about the largest input its unit accepts.
FUZZ_MAXLEN_proto       = 1100
FUZZ_MAXLEN_config      = 4096
FUZZ_MAXLEN_ftrack_json = 8192
FUZZ_MAXLEN_ldap_map    = 2048
FUZZ_MAXLEN_quote       = 1024
FUZZ_MAXLEN_ldap_filter = 300
FUZZ_MAXLEN_clean       = 4200
FUZZ_MAXLEN_login       = 300
FUZZ_MAXLEN_relay_wire  = 8192
FUZZ_MAXLEN_prov_wire   = 65537

$(B)/fuzz/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(FUZZ_DRIVER) $(SYNCD_LIB) \
		$(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDSAN) -o $@ $^ $(call pkg_libs,$(SYNCD_PKGS)) -lm

check-fuzz: $(FUZZ_NAMES:%=$(B)/fuzz/fuzz_%)
	@for n in $(FUZZ_NAMES); do \
		$(B)/fuzz/fuzz_$$n tests/fuzz/corpus/$$n || exit 1; done

fuzz:
	$(MAKE) B=$(FUZZ_B) CC=clang OPT='$(FUZZ_CFLAGS)' \
		LDSAN='$(FUZZ_LDFLAGS)' FUZZ_DRIVER= \
		$(FUZZ_NAMES:%=$(FUZZ_B)/fuzz/fuzz_%)
	$(foreach n,$(FUZZ_NAMES),$(call fuzz_run,$(n)))

# Run target $(1); on a crash show the log's end and the reproducer.
define fuzz_run
@mkdir -p $(FUZZ_B)/corpus/$(1) $(FUZZ_B)/crashes/$(1)
@echo "fuzz: $(1): $(FUZZ_SECONDS) s, -max_len=$(FUZZ_MAXLEN_$(1))"
@$(FUZZ_B)/fuzz/fuzz_$(1) -max_total_time=$(FUZZ_SECONDS) \
	-max_len=$(FUZZ_MAXLEN_$(1)) -timeout=10 -print_final_stats=1 \
	-artifact_prefix=$(FUZZ_B)/crashes/$(1)/ \
	$(FUZZ_B)/corpus/$(1) tests/fuzz/corpus/$(1) \
	>$(FUZZ_B)/$(1).log 2>&1 || { tail -n 30 $(FUZZ_B)/$(1).log; \
	echo "fuzz: $(1): FAILED, reproducer:" \
		"$$(ls -t $(FUZZ_B)/crashes/$(1)/* | head -n 1)"; \
	echo "fuzz: rerun: $(FUZZ_B)/fuzz/fuzz_$(1) FILE"; false; }
@grep -E '^(Done|stat::(number_of_executed_units|peak_rss_mb))' \
	$(FUZZ_B)/$(1).log | tr '\n' ' '; echo

endef

# The same C suites again, built by clang with ASan+UBSan in build-san/.
sanitize:
	$(MAKE) B=build-san CC=clang SANITIZE=1 check-c

check: deps
	$(MAKE) lint
	$(MAKE) check-py
	$(MAKE) check-c
	$(MAKE) check-fuzz
	$(MAKE) sanitize
	$(MAKE) check-install
	$(MAKE) check-deb
	$(MAKE) check-rpm
	$(MAKE) check-selinux
	$(MAKE) check-authselect
	$(MAKE) check-sssd
	@echo "check: all suites passed"

demo: deps all
	bash tests/demo.sh

# The fault matrix and resource bounds in README.md, rewritten from what
# the suite 'faults' ran and passed (tests/fault_matrix.sh).
.PHONY: fault-matrix
fault-matrix: all $(RUNNER)
	bash tests/fault_matrix.sh $(RUNNER) README.md

# Benchmark drivers: each tests/bench/NAME.c is one program, build/bench/NAME.
BENCH_BINS = $(patsubst tests/bench/%.c,$(B)/bench/%,$(wildcard tests/bench/*.c))

$(B)/bench/%: tests/bench/%.c $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDSAN) -pthread -o $@ $< $(COMMON_LIB) -lpam

# The naive baseline needs python3-ldap; run.sh times with GNU time.
bench: DEB_PKGS += python3-ldap time gnuplot-nox
bench: deps all $(BENCH_BINS)
	bash tests/bench/run.sh

# ---- lint ------------------------------------------------------------------

BANNED = strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|sscanf|tmpnam|mktemp

lint: lint-format lint-banned lint-tidy lint-cppcheck lint-py

lint-format:
	clang-format --dry-run --Werror $(ALL_C)

lint-banned:
	@! grep -nEw '($(BANNED))[[:space:]]*\(' $(ALL_C) || \
		{ echo 'banned function (see STYLE.md rule 11)'; exit 1; }

# One file per clang-tidy run: clang-tidy 14 given several files reports
# a false valist.Uninitialized in every file after the first.
lint-tidy:
	@fail=0; for f in $(SRCS); do \
		clang-tidy --quiet $$f -- $(CSTD) $(CPPFLAGS) \
			$(call pkg_cflags,$(SYNCD_PKGS)) || fail=1; \
	done; exit $$fail

lint-cppcheck:
	cppcheck --std=c11 --library=posix \
		--enable=warning,style,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem \
		--error-exitcode=1 --quiet -Iinclude -Isyncd -Ipam_ftrack \
		include pam_ftrack syncd

# Every Python file in the tree (the test emulator, its tests, the bench
# scripts), default pycodestyle settings (79 columns).
PY_SRCS     = $(shell find . \( -path ./.git -o -path './build*' \) -prune \
                -o -name '*.py' -print | sort)
PYFLAKES    ?= pyflakes3
PYCODESTYLE ?= pycodestyle

lint-py:
	$(PYFLAKES) $(PY_SRCS)
	$(PYCODESTYLE) $(PY_SRCS)

format:
	clang-format -i $(ALL_C)

# ---- install, package ------------------------------------------------------
# make install [DESTDIR=/staging] [PREFIX=/usr]: the daemon into SBINDIR, the
# module into the platform's PAM module folder (found: pam.pc's securedir,
# else where dpkg put pam_unix.so, else /lib/<multiarch>/security), the
# systemd units (ExecStart pointing at SBINDIR), tmpfiles.d, the
# pam-auth-update profile (off by default), man pages and examples.  The
# example config becomes SYSCONFDIR/ftrack-syncd.conf only where there is
# none; uninstall removes it only when unchanged.  `make deb` builds the
# Debian package from a copy of the tree into $(B)/deb/.

PREFIX      ?= /usr
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/ftrack-ldap-sync
SYSCONFDIR  ?= /etc
PAMCONFDIR  ?= /usr/share/pam-configs
# systemd's own folders under /usr, $(PREFIX)/lib/... under another prefix
sd_dir       = $(if $(filter /usr,$(PREFIX)),$(or $(shell $(PKG_CONFIG) \
               --variable=$(1) systemd 2>/dev/null),$(2)),$(PREFIX)/lib/$(3))
UNITDIR     ?= $(call sd_dir,systemdsystemunitdir,/lib/systemd/system,systemd/system)
TMPFILESDIR ?= $(call sd_dir,tmpfilesdir,/usr/lib/tmpfiles.d,tmpfiles.d)
PAMDIR      ?= $(or $(shell $(PKG_CONFIG) --variable=securedir pam 2>/dev/null),$\
               $(patsubst %/pam_unix.so,%,$(shell dpkg -L \
               libpam-modules:$$(dpkg --print-architecture) 2>/dev/null | \
               grep -m1 '/pam_unix\.so$$')),$\
               $(subst //,/,/lib/$(shell $(CC) -print-multiarch 2>/dev/null)/security))
UNITS        = ftrack-syncd.service ftrack-syncd-reconcile.service \
               ftrack-syncd-reconcile.timer ftrack-syncd-transform.socket \
               ftrack-syncd-transform@.service ftrack-syncd-hook.socket \
               ftrack-syncd-hook@.service
# the adapter the socket-activated program services run (extprog.h), in
# /usr/libexec as Debian 12 (FHS 3.0) and RHEL (%{_libexecdir}) both put a
# program run only by other programs
LIBEXECDIR  ?= $(PREFIX)/libexec/ftrack-syncd
ADAPTER      = ftrack-syncd-ext-adapter
EXAMPLES     = transform-example.py on-change-log.sh on-change-webhook.sh
MAN8         = pam_ftrack.8 ftrack-syncd.8
MAN5         = ftrack-syncd.conf.5
CONF         = $(DESTDIR)$(SYSCONFDIR)/ftrack-syncd.conf

.PHONY: check-install check-deb check-sssd deb

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PAMDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(PAMCONFDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR)/examples/pam.d \
		$(DESTDIR)$(SYSCONFDIR) $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(SYNCD_BIN) $(DESTDIR)$(SBINDIR)/ftrack-syncd
	install -m 0755 etc/systemd/$(ADAPTER) $(DESTDIR)$(LIBEXECDIR)/$(ADAPTER)
	install -m 0644 $(PAM_SO) $(DESTDIR)$(PAMDIR)/pam_ftrack.so
	for u in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' \
			-e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' etc/systemd/$$u \
			>$(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 0644 etc/tmpfiles.d/ftrack-syncd.conf $(DESTDIR)$(TMPFILESDIR)/
	install -m 0644 etc/pam-configs/ftrack $(DESTDIR)$(PAMCONFDIR)/ftrack
	install -m 0644 $(MAN8:%=etc/man/%) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MAN5:%=etc/man/%) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 etc/ftrack-syncd.conf etc/ftrack-syncd-relay.conf \
		etc/ftrack-syncd-provisioner.conf $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 etc/pam.d/ftrack $(DESTDIR)$(DOCDIR)/examples/pam.d/
	install -m 0644 $(EXAMPLES:%=etc/examples/%) $(DESTDIR)$(DOCDIR)/examples/
	@if [ -e $(CONF) ]; then echo "install: kept the existing $(CONF)"; \
	else echo "install -m 0644 etc/ftrack-syncd.conf $(CONF)"; \
		install -m 0644 etc/ftrack-syncd.conf $(CONF); fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ftrack-syncd \
		$(DESTDIR)$(LIBEXECDIR)/$(ADAPTER) \
		$(EXAMPLES:%=$(DESTDIR)$(DOCDIR)/examples/%) \
		$(DESTDIR)$(PAMDIR)/pam_ftrack.so \
		$(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
		$(DESTDIR)$(TMPFILESDIR)/ftrack-syncd.conf \
		$(DESTDIR)$(PAMCONFDIR)/ftrack \
		$(MAN8:%=$(DESTDIR)$(MANDIR)/man8/%) \
		$(MAN5:%=$(DESTDIR)$(MANDIR)/man5/%) \
		$(DESTDIR)$(DOCDIR)/examples/ftrack-syncd.conf \
		$(DESTDIR)$(DOCDIR)/examples/ftrack-syncd-relay.conf \
		$(DESTDIR)$(DOCDIR)/examples/ftrack-syncd-provisioner.conf \
		$(DESTDIR)$(DOCDIR)/examples/pam.d/ftrack
	rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true
	rmdir $(DESTDIR)$(DOCDIR)/examples/pam.d $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(DOCDIR) 2>/dev/null || true
	@if cmp -s etc/ftrack-syncd.conf $(CONF); then rm -f $(CONF); \
		echo "rm -f $(CONF)"; \
	elif [ -e $(CONF) ]; then echo "uninstall: kept $(CONF) (changed)"; fi

DEB_OUT = $(B)/deb

# dpkg-buildpackage in a copy (its `clean` would remove build/); the .deb,
# .buildinfo and .changes land in $(DEB_OUT)/.
deb:
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src
	tar -cf - --exclude=./.git --exclude=./build --exclude='./build-*' \
		--exclude='./$(B)' --exclude=__pycache__ . | \
		tar -xf - -C $(DEB_OUT)/src
	cd $(DEB_OUT)/src && dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_OUT)/src
	@ls $(DEB_OUT)/*.deb

# install/uninstall into a DESTDIR, the units (systemd-analyze verify and
# security), the man pages, the pam-auth-update profile.
check-install: all
	bash tests/integration/check_install.sh install

# `make deb`, lintian, then the package installed, used and purged in a
# throwaway root (an overlay of / in a private mount namespace).
check-deb: deb
	bash tests/integration/check_install.sh deb $(DEB_OUT)

# ---- RPM (the RHEL family) ------------------------------------------------
# `make srpm`: the source tarball (the tree, as for `make deb`) and the
# source RPM, into $(RPM_OUT)/SOURCES and $(RPM_OUT)/SRPMS; the spec's
# version and %changelog come from debian/changelog.  `make rpm`: also a
# binary RPM built HERE with etc/rpm/macros.shim standing in for the
# systemd and SELinux macros Debian's rpm lacks: a payload check only,
# linked against Debian's libraries, never to be installed on EL (its
# release says .payloadcheck).  On EL: rpmbuild --rebuild the SRPM.
# check-rpm, check-selinux, check-authselect: tests/integration/check_rpm.sh.

RPM_OUT     = $(B)/rpm
# the first line of debian/changelog: "ftrack-ldap-sync (0.1.0) unstable; ..."
RPM_VERSION := $(shell sed -n '1{s/^[^ ]* .//;s/. .*//;p;}' debian/changelog)
RPM_NV      = ftrack-ldap-sync-$(RPM_VERSION)
RPMBUILD    = rpmbuild --define '_topdir $(abspath $(RPM_OUT))'
RPM_SHIM    = --nodeps --load $(CURDIR)/etc/rpm/macros.shim \
              --define '_ft_shim_dir $(CURDIR)/etc/rpm' --define 'dist .payloadcheck'

.PHONY: srpm rpm check-rpm check-selinux check-authselect

srpm:
	@case '$(RPM_VERSION)' in ''|*-*) echo "srpm: no RPM version in debian/changelog: '$(RPM_VERSION)'"; \
		exit 1;; esac
	rm -rf $(RPM_OUT) && mkdir -p $(RPM_OUT)/SOURCES $(RPM_OUT)/SPECS $(RPM_OUT)/$(RPM_NV)
	awk -f etc/rpm/changelog.awk debian/changelog >$(RPM_OUT)/changelog
	sed 's/@VERSION@/$(RPM_VERSION)/' etc/rpm/ftrack-ldap-sync.spec | \
		awk -v f=$(RPM_OUT)/changelog '$$0 == "@CHANGELOG@" { \
			while ((getline l <f) > 0) print l; next } { print }' \
		>$(RPM_OUT)/SPECS/ftrack-ldap-sync.spec
	tar -cf - --exclude=./.git --exclude=./build --exclude='./build-*' \
		--exclude='./$(B)' --exclude=__pycache__ . | \
		tar -xf - -C $(RPM_OUT)/$(RPM_NV)
	cp $(RPM_OUT)/SPECS/ftrack-ldap-sync.spec $(RPM_OUT)/$(RPM_NV)/
	tar -C $(RPM_OUT) --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@$$(stat -c %Y debian/changelog) -czf \
		$(RPM_OUT)/SOURCES/$(RPM_NV).tar.gz $(RPM_NV)
	rm -rf $(RPM_OUT)/$(RPM_NV)
	cp etc/sysusers.d/ftrack-ldap-sync.conf $(RPM_OUT)/SOURCES/ftrack-ldap-sync.sysusers
	$(RPMBUILD) -bs $(RPM_OUT)/SPECS/ftrack-ldap-sync.spec
	@ls $(RPM_OUT)/SRPMS/*.src.rpm

rpm: srpm
	$(RPMBUILD) $(RPM_SHIM) -bb $(RPM_OUT)/SPECS/ftrack-ldap-sync.spec
	@echo "rpm: $(RPM_OUT)/RPMS: a payload check only, built with etc/rpm/macros.shim: NEVER INSTALL ON EL"

# rpmspec --parse, rpmlint (spec, SRPM, the shim-built RPMs), the payload
# (rpm -qlvp --dump against tests/data/rpm-payload.txt), the scriptlets
# (bash -n); as root, rpm -i/-U/-e of those RPMs in a throwaway root.
# Without rpmbuild the script reports the checks as skipped.
check-rpm:
	@if command -v rpmbuild >/dev/null 2>&1; then $(MAKE) --no-print-directory rpm; \
	else echo "check-rpm: no rpmbuild (make deps installs rpm): not building"; fi
	bash tests/integration/check_rpm.sh rpm $(RPM_OUT)

# etc/selinux/ftrack_syncd.{te,fc,if} compiled with selinux-policy-dev.
check-selinux:
	bash tests/integration/check_rpm.sh selinux

# etc/authselect/ftrack-authselect on fixture profiles, the stacks run
# through libpam (pamtester, pam_wrapper).
check-authselect: all
	bash tests/integration/check_rpm.sh authselect

# A real sssd (use_fully_qualified_names) in a throwaway root: a login as
# alice@corp.example.com through pam_sss and pam_ftrack, with and without
# [ldap] login_format (skipped unless root).
check-sssd: all
	bash tests/integration/check_sssd.sh

# ---- deps ------------------------------------------------------------------

DEB_PKGS = gcc clang make pkg-config check libsubunit-dev libpam0g-dev \
           libldap-dev libcurl4-openssl-dev libssl-dev libjansson-dev libinih-dev \
           libmicrohttpd-dev libgnutls28-dev openssl \
           slapd ldap-utils libpam-wrapper pamtester python3 curl \
           clang-format clang-tidy cppcheck valgrind libclang-rt-14-dev \
           python3-pyflakes pycodestyle \
           debhelper lintian mandoc systemd systemd-container \
           rpm rpmlint selinux-policy-dev checkpolicy semodule-utils \
           selinux-utils cpio file bzip2 \
           samba samba-ad-provision samba-dsdb-modules samba-vfs-modules \
           sssd-ldap libpam-sss libnss-sss

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "deps: missing Debian packages: $$missing"; \
		echo "deps: run 'make deps' as root (or: sudo apt-get install $$missing)"; \
		exit 1; fi; \
	echo "deps: installing $$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends \
		$$missing >/dev/null

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(B) -path '$(B)/deb' -prune -o -name '*.d' -type f -print 2>/dev/null)
