/* SPDX-License-Identifier: Apache-2.0 */
/*
 * replay.c: run a fuzz target over files, without libFuzzer.
 *
 * Usage: fuzz_<name> PATH...  Each PATH is a file or a folder whose
 * regular files (not recursively, in name order) are run one by one
 * through LLVMFuzzerTestOneInput().  A target that finds a broken
 * invariant aborts, so the exit status says it all; a crash signal
 * first prints the name of the file being run.  FUZZ_REPLAY_VERBOSE=1
 * names every file.  Exit 0 when every input ran, 1 on a usage or read
 * error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_MAX ((size_t)1 << 20) /* bytes: larger seeds are refused */

static bool verbose;
static const char *current; /* the file being run, for on_crash() */

static void
on_crash(int sig)
{
	static const char head[] = "replay: crashed on ";
	const char *p = current != NULL ? current : "?";

	/* async-signal-safe: write(2) only; SA_RESETHAND re-raises. */
	(void)!write(STDERR_FILENO, head, sizeof(head) - 1);
	(void)!write(STDERR_FILENO, p, strlen(p));
	(void)!write(STDERR_FILENO, "\n", 1);
	(void)raise(sig);
}

static void
catch_crashes(void)
{
	static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sa.sa_flags = (int)SA_RESETHAND;
	(void)sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
}

/* Read the whole file at path into a new buffer (caller frees). */
static int
read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	ssize_t got;
	int fd, r = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	/* One spare byte: a file that fills it is over the limit. */
	buf = malloc(REPLAY_MAX + 1);
	if (buf == NULL)
		goto out;
	while (len <= REPLAY_MAX) {
		got = read(fd, buf + len, REPLAY_MAX + 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			goto out;
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len > REPLAY_MAX) {
		errno = EFBIG;
		goto out;
	}
	*ret = buf;
	*ret_len = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

static int
run_file(const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;

	if (verbose)
		(void)fprintf(stderr, "replay: %s\n", path);
	if (read_file(path, &data, &len) < 0) {
		(void)fprintf(stderr, "replay: unable to read %s: %s\n", path,
			      strerror(errno));
		return -1;
	}
	current = path;
	(void)LLVMFuzzerTestOneInput(data, len);
	current = NULL;
	free(data);
	return 0;
}

static int
run_dir(const char *dir, size_t *count)
{
	struct dirent **names = NULL;
	char path[4096];
	struct stat st;
	int i, n, r = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		(void)fprintf(stderr, "replay: unable to read %s: %s\n", dir,
			      strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		int len = snprintf(path, sizeof(path), "%s/%s", dir,
				   names[i]->d_name);

		if (r == 0 && len > 0 && (size_t)len < sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			r = run_file(path);
			*count += r == 0;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	struct stat st;
	int i, r = 0;

	verbose = getenv("FUZZ_REPLAY_VERBOSE") != NULL;
	catch_crashes();
	if (argc < 2) {
		(void)fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 1;
	}
	for (i = 1; i < argc && r == 0; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			r = run_dir(argv[i], &count);
		} else {
			r = run_file(argv[i]);
			count += r == 0;
		}
	}
	if (r < 0)
		return 1;
	(void)printf("replay: %s: %zu inputs ran\n", argv[0], count);
	return 0;
}
