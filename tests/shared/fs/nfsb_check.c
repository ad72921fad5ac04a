// SPDX-License-Identifier: MIT
/*
 * nfsb_check: checks of the NFS backend and its control-plane file helpers (nfs_files)
 * against a real NFS server (run by fs_nfs_backend.sh). Prints "ok ..." per check, exits 1
 * at the first failure.
 *
 *   nfsb_check ops  SERVER EXPORT NFS_PORT MOUNT_PORT   helpers on /chk (removed at the end)
 *   nfsb_check dead SERVER EXPORT NFS_PORT MOUNT_PORT   connect/probe fail fast (timeout 2 s)
 *   nfsb_check put SERVER EXPORT NFS_PORT MOUNT_PORT PATH   stdin into the existing file PATH
 *                                                 (truncated, written, committed) via libnfs
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nfs_backend.h"
#include "nfs_files.h"

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fprintf(stderr, " [err: %s]\n", err);                                      \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static char err[1024];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct seen {
	int dirs, regs, other;
	long long size;
};

static int count(const char *name, const struct stat *st, void *arg)
{
	struct seen *s = arg;

	if (S_ISDIR(st->st_mode) && strcmp(name, "b") == 0)
		s->dirs++;
	else if (S_ISREG(st->st_mode) && strcmp(name, "cat.json") == 0) {
		s->regs++;
		s->size = (long long)st->st_size;
	} else
		s->other++;
	return 0;
}

static void ops(const struct nfsb_target *t)
{
	const char *d1 = "{\"volumes\":{\"v1\":{}}}", *d2 = "{\"volumes\":{}}";
	struct nfsb *nb = NULL, *nb376 = NULL;
	struct seen seen = {0, 0, 0, 0};
	struct statvfs sv;
	struct stat st;
	char *buf = NULL;
	size_t len;
	int ret;

	ret = nfsb_version_supported(4, err, sizeof(err));
	CHECK(ret == -EPROTONOSUPPORT && strstr(err, "libnfs") != NULL, "version 4: %d", ret);
	CHECK(nfsb_version_supported(3, err, sizeof(err)) == 0, "version 3");
	printf("ok   version 3 accepted, 4 refused with a reason\n");

	ret = nfsb_connect(t, -1, -1, &nb, err, sizeof(err));
	CHECK(ret == 0, "connect: %d", ret);
	nfsb_remove_tree(nb, "/chk", err, sizeof(err));
	nfsb_remove_tree(nb, "/chk376", err, sizeof(err));
	ret = nfsb_mkdir_p(nb, "chk/a/b/", 0750, -1, -1, err, sizeof(err));
	CHECK(ret == 0, "mkdir_p: %d", ret);
	ret = nfsb_stat(nb, "/chk/a/b", &st, err, sizeof(err));
	CHECK(ret == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750, "stat b: %d %o", ret,
	      st.st_mode);
	CHECK(nfsb_mkdir_p(nb, "/chk/a/b", 0700, -1, -1, err, sizeof(err)) == 0, "mkdir_p again");
	CHECK(nfsb_stat(nb, "/chk/a/b", &st, err, sizeof(err)) == 0 && (st.st_mode & 07777) == 0750,
	      "an existing directory must be adopted as it is");
	ret = nfsb_mkdir_p(nb, "/chk/../x", 0755, -1, -1, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "..") != NULL, "mkdir_p with ..: %d", ret);
	printf("ok   mkdir_p creates with the mode, adopts existing, refuses ..\n");

	ret = nfsb_write_file_atomic(nb, "/chk/a/cat.json", d1, strlen(d1), 0644, err, sizeof(err));
	CHECK(ret == 0, "write_file_atomic: %d", ret);
	ret = nfsb_write_file_atomic(nb, "/chk/a/cat.json", d2, strlen(d2), 0644, err, sizeof(err));
	CHECK(ret == 0, "write_file_atomic over: %d", ret);
	ret = nfsb_read_file(nb, "/chk/a/cat.json", 4096, &buf, &len, err, sizeof(err));
	CHECK(ret == 0 && len == strlen(d2) && strcmp(buf, d2) == 0, "read_file: %d", ret);
	free(buf);
	buf = NULL;
	ret = nfsb_read_file(nb, "/chk/a/cat.json", 4, &buf, &len, err, sizeof(err));
	CHECK(ret == -EFBIG && buf == NULL, "read_file over maxlen: %d", ret);
	ret = nfsb_read_file(nb, "/chk/a/missing", 4, &buf, &len, err, sizeof(err));
	CHECK(ret == -ENOENT && strstr(err, t->server) != NULL, "read_file missing: %d", ret);
	ret = nfsb_list_dir(nb, "/chk/a", count, &seen, err, sizeof(err));
	CHECK(ret == 0 && seen.dirs == 1 && seen.regs == 1 && seen.other == 0 &&
		      seen.size == (long long)strlen(d2),
	      "list_dir: %d %d/%d/%d", ret, seen.dirs, seen.regs, seen.other);
	printf("ok   write_file_atomic replaces (no temp file left), read_file, list_dir\n");

	CHECK(nfsb_exists(nb, "/chk/a/cat.json", err, sizeof(err)) == 1, "exists");
	CHECK(nfsb_exists(nb, "/chk/nope", err, sizeof(err)) == 0, "not exists");
	CHECK(nfsb_rename(nb, "/chk/a/cat.json", "/chk/a/cat2.json", err, sizeof(err)) == 0,
	      "rename");
	CHECK(nfsb_exists(nb, "/chk/a/cat2.json", err, sizeof(err)) == 1, "renamed");
	ret = nfsb_statvfs(nb, "/", &sv, err, sizeof(err));
	CHECK(ret == 0 && sv.f_blocks > 0 && sv.f_frsize > 0, "statvfs: %d", ret);
	printf("ok   exists, rename, statvfs (%llu MB total)\n",
	       (unsigned long long)sv.f_blocks * sv.f_frsize / 1000000);

	/* under root_squash, connecting as the owner is how a directory gets owner 376 */
	ret = nfsb_connect(t, 376, 376, &nb376, err, sizeof(err));
	CHECK(ret == 0, "connect as 376: %d", ret);
	ret = nfsb_mkdir_p(nb376, "/chk376/data", 0770, 376, 376, err, sizeof(err));
	CHECK(ret == 0, "mkdir_p as 376: %d", ret);
	CHECK(nfsb_stat(nb376, "/chk376/data", &st, err, sizeof(err)) == 0 && st.st_uid == 376 &&
		      st.st_gid == 376 && (st.st_mode & 07777) == 0770,
	      "owner %u:%u mode %o", st.st_uid, st.st_gid, st.st_mode & 07777);
	CHECK(nfsb_remove_tree(nb376, "/chk376", err, sizeof(err)) == 0, "remove chk376");
	nfsb_close(nb376);
	printf("ok   mkdir_p as uid 376 gives 376:376 under root_squash\n");

	ret = nfsb_remove_tree(nb, "/", err, sizeof(err));
	CHECK(ret == -EINVAL, "remove_tree of the root: %d", ret);
	ret = nfsb_remove_tree(nb, "/chk", err, sizeof(err));
	CHECK(ret == 0, "remove_tree: %d", ret);
	CHECK(nfsb_exists(nb, "/chk", err, sizeof(err)) == 0, "removed");
	CHECK(nfsb_remove_tree(nb, "/chk", err, sizeof(err)) == 0, "remove_tree missing");
	printf("ok   remove_tree (refuses the export root, missing is fine)\n");

	CHECK(nfsb_probe(t, -1, -1, err, sizeof(err)) == 0, "probe");
	nfsb_close(nb);
	printf("ok   probe of a live server\n");
}

static void dead(const struct nfsb_target *t)
{
	struct nfsb *nb = NULL;
	double t0 = now_s(), dt;
	int ret;

	ret = nfsb_connect(t, -1, -1, &nb, err, sizeof(err));
	dt = now_s() - t0;
	CHECK(ret < 0 && nb == NULL, "connect to a dead server succeeded");
	CHECK(dt < t->timeout_s + 1.5, "connect took %.1f s", dt);
	CHECK(strstr(err, t->server) != NULL && strstr(err, t->export) != NULL,
	      "message names server and export");
	printf("ok   connect fails in %.1f s: %s\n", dt, err);
	t0 = now_s();
	ret = nfsb_probe(t, -1, -1, err, sizeof(err));
	dt = now_s() - t0;
	CHECK(ret < 0 && dt < t->timeout_s + 1.5, "probe: %d in %.1f s", ret, dt);
	printf("ok   probe fails in %.1f s\n", dt);
}

/* Replace the content of an existing file in place (same file: nfs-cp only creates). */
static void put(const struct nfsb_target *t, const char *path)
{
	static char buf[1 << 16];
	struct nfsb_file *f = NULL;
	struct nfsb *nb = NULL;
	off_t off = 0;
	size_t n;
	int ret;

	ret = nfsb_connect(t, -1, -1, &nb, err, sizeof(err));
	CHECK(ret == 0, "connect: %d", ret);
	ret = nfsb_file_open(nb, path, O_WRONLY | O_TRUNC, 0, &f);
	CHECK(ret == 0, "open %s: %d", path, ret);
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		CHECK(nfsb_file_pwrite(nb, f, buf, n, off) == (ssize_t)n, "write %s", path);
		off += (off_t)n;
	}
	ret = nfsb_file_fsync(nb, f);
	CHECK(ret == 0, "commit %s: %d", path, ret);
	nfsb_file_close(nb, f);
	nfsb_close(nb);
}

int main(int argc, char **argv)
{
	struct nfsb_target t = {.version = 3, .timeout_s = 2};

	if (argc != 6 && !(argc == 7 && strcmp(argv[1], "put") == 0)) {
		fprintf(stderr, "usage: nfsb_check ops|dead SERVER EXPORT NFS_PORT MOUNT_PORT\n"
				"       nfsb_check put SERVER EXPORT NFS_PORT MOUNT_PORT PATH\n");
		return 2;
	}
	snprintf(t.server, sizeof(t.server), "%s", argv[2]);
	snprintf(t.export, sizeof(t.export), "%s", argv[3]);
	t.nfs_port = (unsigned int)strtoul(argv[4], NULL, 10);
	t.mount_port = (unsigned int)strtoul(argv[5], NULL, 10);
	if (strcmp(argv[1], "ops") == 0)
		ops(&t);
	else if (strcmp(argv[1], "dead") == 0)
		dead(&t);
	else if (strcmp(argv[1], "put") == 0)
		put(&t, argv[6]);
	else
		return 2;
	return 0;
}
