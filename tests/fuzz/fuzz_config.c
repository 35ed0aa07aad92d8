/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_config.c: the config parser (syncd/config.h) on any file content.
 *
 * The input becomes the content of one private file (O_TMPFILE in
 * /dev/shm or /tmp, else a file in a fresh mkdtemp folder unlinked at
 * once; mode 0600, owned by us, as config_load requires), loaded through
 * /proc/self/fd/N and freed.
 * FTRACK_API_KEY is set to a canary so that no key file is needed; a
 * bind_password_file line in the input names a file that is usually
 * missing, which is just another error.  Checked: a result or a code in
 * the documented set, a non-empty one-line error on failure, the required
 * keys on success, and that the key never shows in the error or in
 * config_dump's or config_warnings' lines (unless the input itself holds
 * the canary text).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ft_err.h"
#include "fuzz.h"

#define CANARY "fuzz-canary-9f3b2c7d1e"

static int tmp_fd = -1;
static char tmp_path[64];
static bool input_has_canary; /* then the text may show up legitimately */

/* An unnamed 0600 file: nothing is left behind, whatever happens. */
static int
open_private_file(void)
{
	char dir[] = "/tmp/fuzz-config-XXXXXX";
	char name[64];
	int fd;

	/* tmpfs first: no disk writeback on every input. */
	fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	if (mkdtemp(dir) == NULL)
		return -1;
	(void)snprintf(name, sizeof(name), "%s/config-XXXXXX", dir);
	fd = mkostemp(name, O_CLOEXEC);
	if (fd >= 0)
		(void)unlink(name);
	(void)rmdir(dir);
	return fd;
}

static void
setup(void)
{
	int n;

	(void)unsetenv("FTRACK_SERVER");
	(void)unsetenv("FTRACK_API_USER");
	(void)unsetenv("FTRACK_SYNCD_CONFIG");
	if (setenv("FTRACK_API_KEY", CANARY, 1) != 0)
		fuzz_fail("setenv");
	tmp_fd = open_private_file();
	if (tmp_fd < 0)
		fuzz_fail("cannot create a private temp file");
	n = snprintf(tmp_path, sizeof(tmp_path), "/proc/self/fd/%d", tmp_fd);
	fuzz_check(n > 0 && (size_t)n < sizeof(tmp_path));
}

static void
put_content(const uint8_t *data, size_t size)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n =
			pwrite(tmp_fd, data + done, size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fuzz_fail("pwrite");
		done += (size_t)n;
	}
	/* Cut after writing: ext4 flushes a file truncated to 0. */
	if (ftruncate(tmp_fd, (off_t)size) != 0)
		fuzz_fail("ftruncate");
}

static void
emit(void *ctx, const char *line)
{
	(void)ctx;
	if (!input_has_canary && strstr(line, CANARY) != NULL)
		fuzz_fail("config_dump shows the API key");
}

/* config_warnings: one line each, never the key. */
static void
emit_warning(void *ctx, const char *line)
{
	fuzz_check(*line != '\0' && strchr(line, '\n') == NULL);
	emit(ctx, line);
}

static void
check_loaded(const struct config *cfg)
{
	const struct strlist *lists[] = {&cfg->policy.protected_users,
					 &cfg->policy.skip_users,
					 &cfg->policy.sentinel_users};
	size_t i, j;

	fuzz_check(cfg->ldap.uri != NULL && cfg->ldap.search_base != NULL);
	fuzz_check(cfg->ftrack.server != NULL);
	fuzz_check(cfg->ftrack.api_user != NULL);
	fuzz_check(cfg->ftrack.api_key != NULL &&
		   strcmp(cfg->ftrack.api_key, CANARY) == 0);
	fuzz_check(cfg->mapping.username != NULL);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (j = 0; j < lists[i]->n; j++)
			fuzz_check(lists[i]->v[j] != NULL);
	config_dump(cfg, emit, NULL);
	config_warnings(cfg, emit_warning, NULL);
}

static void
check_error(int r, const char *err, size_t errlen)
{
	size_t len = strnlen(err, errlen);

	fuzz_check(r == FT_E_CONFIG || r == FT_E_PERM || r == FT_E_NOMEM);
	fuzz_check(len > 0 && len < errlen);
	fuzz_check(strchr(err, '\n') == NULL);
	if (!input_has_canary && strstr(err, CANARY) != NULL)
		fuzz_fail("the error message shows the API key");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char err[1024];
	int r;

	if (tmp_fd < 0)
		setup();
	put_content(data, size);
	input_has_canary = memmem(data, size, CANARY, strlen(CANARY)) != NULL;
	err[0] = '\0';
	r = config_load(tmp_path, &cfg, err, sizeof(err));
	if (r == FT_OK) {
		fuzz_check(cfg != NULL);
		check_loaded(cfg);
		config_free(cfg);
	} else {
		fuzz_check(cfg == NULL);
		check_error(r, err, sizeof(err));
	}
	return 0;
}
