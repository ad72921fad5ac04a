// SPDX-License-Identifier: MIT
/*
 * nfs_files: the file helpers of the control plane (the volume catalogue, Create, Remove
 * and Status; the IPAM plugin's shared host-network documents): stat and exists, mkdir -p,
 * whole-file read and atomic replace, rm -rf, and the walk and removal guarded by object
 * identity. Built on the nfs_backend API only, never on libnfs: the data path (FUSE) and
 * these helpers change apart. Contracts in nfs_files.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "nfs_backend.h"
#include "nfs_files.h"

static atomic_uint tmp_counter;

/* "NFS server S export E: " and the formatted text into err (NULL-safe), the prefix every
 * message of the NFS backend has. */
static void say(struct nfsb *nb, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void say(struct nfsb *nb, char *err, size_t errlen, const char *fmt, ...)
{
	const struct nfsb_target *t = nfsb_get_target(nb);
	char msg[PATH_MAX + 256];
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "NFS server %s export %s: %s", t->server, t->export, msg);
}

/*
 * path checked (no "..") and written into buf as "/<path>" without trailing slashes ("/"
 * for the export root); *n its length. Returns 0, -EINVAL (message) or -ENAMETOOLONG.
 */
static int rooted(struct nfsb *nb, const char *path, char *buf, size_t len, size_t *n, char *err,
		  size_t errlen)
{
	int ret = nfsb_check_path(nb, path, err, errlen);

	if (ret < 0)
		return ret;
	*n = (size_t)snprintf(buf, len, "/%s", path[0] == '/' ? path + 1 : path);
	if (*n >= len)
		return -ENAMETOOLONG;
	while (*n > 1 && buf[*n - 1] == '/')
		buf[--*n] = '\0';
	return 0;
}

int nfsb_stat(struct nfsb *nb, const char *path, struct stat *st, char *err, size_t errlen)
{
	int ret = nfsb_check_path(nb, path, err, errlen);

	if (ret < 0)
		return ret;
	ret = nfsb_getattr(nb, path, st);
	if (ret < 0)
		return nfsb_error(nb, ret, "stat", path, err, errlen);
	return 0;
}

int nfsb_exists(struct nfsb *nb, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int ret = nfsb_check_path(nb, path, err, errlen);

	if (ret < 0)
		return ret;
	ret = nfsb_getattr(nb, path, &st);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return nfsb_error(nb, ret, "stat", path, err, errlen);
	return 1;
}

static int mkdir_one(struct nfsb *nb, const char *path, mode_t mode, int uid, int gid, char *err,
		     size_t errlen)
{
	struct stat st;
	int ret;

	ret = nfsb_getattr(nb, path, &st);
	if (ret == 0) {
		if (!S_ISDIR(st.st_mode)) {
			say(nb, err, errlen,
			    "%s exists and is not a "
			    "directory",
			    path);
			return -ENOTDIR;
		}
		return 0;
	}
	if (ret != -ENOENT)
		return nfsb_error(nb, ret, "stat", path, err, errlen);
	ret = nfsb_mkdir(nb, path, mode);
	if (ret == -EEXIST)
		return 0; /* another node made it at the same time: adopt it */
	if (ret < 0)
		return nfsb_error(nb, ret, "mkdir", path, err, errlen);
	/* the server applies no umask, but set the mode anyway in case it did */
	ret = nfsb_chmod(nb, path, mode);
	if (ret < 0)
		return nfsb_error(nb, ret, "chmod", path, err, errlen);
	if (uid >= 0 || gid >= 0) {
		ret = nfsb_chown(nb, path, uid >= 0 ? (uid_t)uid : (uid_t)-1,
				 gid >= 0 ? (gid_t)gid : (gid_t)-1);
		if (ret < 0)
			return nfsb_error(nb, ret, "chown", path, err, errlen);
	}
	return 0;
}

int nfsb_mkdir_p(struct nfsb *nb, const char *path, mode_t mode, int uid, int gid, char *err,
		 size_t errlen)
{
	char buf[PATH_MAX];
	size_t i, n;
	int ret;

	ret = rooted(nb, path, buf, sizeof(buf), &n, err, errlen);
	if (ret < 0)
		return ret;
	if (n <= 1)
		return 0; /* the export root always exists */
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue; /* "//" */
		buf[i] = '\0';
		ret = mkdir_one(nb, buf, mode, uid, gid, err, errlen);
		if (i < n)
			buf[i] = '/';
		if (ret < 0)
			return ret;
	}
	return 0;
}

int nfsb_read_file(struct nfsb *nb, const char *path, size_t maxlen, char **buf, size_t *len,
		   char *err, size_t errlen)
{
	struct nfsb_file *f = NULL;
	struct stat st;
	char *data = NULL;
	size_t done = 0;
	ssize_t n;
	int ret;

	*buf = NULL;
	*len = 0;
	ret = nfsb_stat(nb, path, &st, err, errlen);
	if (ret < 0)
		return ret;
	if ((size_t)st.st_size > maxlen) {
		say(nb, err, errlen, "%s is %lld bytes, more than %zu", path, (long long)st.st_size,
		    maxlen);
		return -EFBIG;
	}
	ret = nfsb_file_open(nb, path, O_RDONLY, 0, &f);
	if (ret < 0)
		return nfsb_error(nb, ret, "open", path, err, errlen);
	data = malloc(maxlen + 1);
	if (data == NULL) {
		ret = -ENOMEM;
		goto out_close;
	}
	/* read up to maxlen + 1 to notice a file that grew since the stat */
	while (done <= maxlen) {
		n = nfsb_file_pread(nb, f, data + done, maxlen + 1 - done, (off_t)done);
		if (n < 0) {
			ret = nfsb_error(nb, (int)n, "read", path, err, errlen);
			goto out_close;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done > maxlen) {
		say(nb, err, errlen, "%s is larger than %zu bytes", path, maxlen);
		ret = -EFBIG;
		goto out_close;
	}
	data[done] = '\0';
	*buf = data;
	*len = done;
	data = NULL;
	ret = 0;
out_close:
	free(data);
	nfsb_file_close(nb, f);
	return ret;
}

int nfsb_write_file_atomic(struct nfsb *nb, const char *path, const void *buf, size_t len,
			   mode_t mode, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	const char *slash, *base;
	struct nfsb_file *f = NULL;
	size_t done = 0;
	uint64_t rnd;
	int ret, n, attempt;

	ret = nfsb_check_path(nb, path, err, errlen);
	if (ret < 0)
		return ret;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (*base == '\0')
		return -EISDIR;
	/*
	 * Unique across nodes too: a managed plugin is pid 1 on every node, so the pid alone
	 * would make two nodes pick the same name (O_EXCL then fails on one of them).
	 */
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		rnd = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) ^
		      ((uint64_t)getpid() << 32);
	}
	n = snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp.%ld.%u.%016llx",
		     slash ? (int)(slash - path + 1) : 0, path, base, (long)getpid(),
		     atomic_fetch_add(&tmp_counter, 1), (unsigned long long)rnd);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	ret = nfsb_file_open(nb, tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, mode, &f);
	if (ret < 0)
		return nfsb_error(nb, ret, "create", tmp, err, errlen);
	/* a changed write verifier (server restart before COMMIT): we hold the data, resend */
	for (attempt = 0;; attempt++) {
		for (done = 0; done < len;) {
			ssize_t w = nfsb_file_pwrite(nb, f, (const char *)buf + done, len - done,
						     (off_t)done);

			if (w <= 0) {
				ret = nfsb_error(nb, w < 0 ? (int)w : -EIO, "write", tmp, err,
						 errlen);
				goto out_unlink;
			}
			done += (size_t)w;
		}
		ret = nfsb_file_fsync(nb, f);
		if (ret == 0)
			break;
		if (ret != -EIO || nfsb_is_broken(nb) || attempt >= 2) {
			nfsb_error(nb, ret, "fsync", tmp, err, errlen);
			goto out_unlink;
		}
	}
	nfsb_file_close(nb, f);
	f = NULL;
	ret = nfsb_rename(nb, tmp, path, NULL, 0);
	if (ret < 0) {
		nfsb_error(nb, ret, "rename to", path, err, errlen);
		goto out_unlink;
	}
	return 0;

out_unlink:
	nfsb_file_close(nb, f);
	if (!nfsb_is_broken(nb))
		nfsb_unlink(nb, tmp);
	return ret;
}

struct name_list {
	char **names;
	size_t n, cap;
};

static int collect_name(const char *name, const struct stat *st, void *arg)
{
	struct name_list *l = arg;

	(void)st;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **p = realloc(l->names, cap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		l->names = p;
		l->cap = cap;
	}
	l->names[l->n] = strdup(name);
	if (l->names[l->n] == NULL)
		return -ENOMEM;
	l->n++;
	return 0;
}

static int remove_rec(struct nfsb *nb, const char *path, int depth, char *err, size_t errlen)
{
	struct name_list l = {NULL, 0, 0};
	char child[PATH_MAX];
	struct stat st;
	size_t i;
	int ret;

	if (depth > 256)
		return -ELOOP;
	ret = nfsb_getattr(nb, path, &st);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return nfsb_error(nb, ret, "stat", path, err, errlen);
	if (!S_ISDIR(st.st_mode)) {
		ret = nfsb_unlink(nb, path);
		if (ret < 0 && ret != -ENOENT)
			return nfsb_error(nb, ret, "unlink", path, err, errlen);
		return 0;
	}
	ret = nfsb_list_dir(nb, path, collect_name, &l, err, errlen);
	for (i = 0; ret == 0 && i < l.n; i++) {
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, l.names[i]) >=
		    sizeof(child)) {
			ret = -ENAMETOOLONG;
			break;
		}
		ret = remove_rec(nb, child, depth + 1, err, errlen);
	}
	for (i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	if (ret < 0)
		return ret;
	ret = nfsb_rmdir(nb, path);
	if (ret < 0 && ret != -ENOENT)
		return nfsb_error(nb, ret, "rmdir", path, err, errlen);
	return 0;
}

int nfsb_remove_tree(struct nfsb *nb, const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t n;
	int ret;

	ret = rooted(nb, path, buf, sizeof(buf), &n, err, errlen);
	if (ret < 0)
		return ret;
	if (strspn(buf, "/.") == n) {
		say(nb, err, errlen, "refusing to remove the export root");
		return -EINVAL;
	}
	return remove_rec(nb, buf, 0, err, errlen);
}

/* ---- identity guards (nfs_files.h): fsid + fileid, one component at a time ---- */

#define NB_WALK_MAX 256

static struct nfsb_id id_of(const struct stat *st)
{
	struct nfsb_id id = {.fsid = (uint64_t)st->st_dev, .fileid = (uint64_t)st->st_ino};

	return id;
}

/* lstat cur: a directory, not a symlink; its identity into *id. */
static int walk_one(struct nfsb *nb, const char *cur, struct nfsb_id *id, char *err, size_t errlen)
{
	struct stat st;
	int ret = nfsb_getattr(nb, cur, &st);

	if (ret < 0)
		return nfsb_error(nb, ret, "stat", cur, err, errlen);
	if (!S_ISDIR(st.st_mode)) {
		say(nb, err, errlen, "%s is %s, not a directory", cur,
		    S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
		return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
	}
	*id = id_of(&st);
	return 0;
}

int nfsb_walk_dir(struct nfsb *nb, const char *path, struct nfsb_id *ids, size_t nmax, size_t *n,
		  char *err, size_t errlen)
{
	char cur[PATH_MAX] = "/";
	const char *p = path;
	size_t used = 1, count = 0;
	struct nfsb_id id;
	int ret;

	*n = 0;
	ret = nfsb_check_path(nb, path, err, errlen);
	if (ret < 0)
		return ret;
	for (;;) {
		size_t len;

		ret = walk_one(nb, cur, &id, err, errlen);
		if (ret < 0)
			return ret;
		if (ids) {
			if (count == nmax)
				return -ENAMETOOLONG;
			ids[count] = id;
		}
		count++;
		while (*p == '/' || (p[0] == '.' && (p[1] == '/' || p[1] == '\0')))
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (used + len + 2 > sizeof(cur))
			return -ENAMETOOLONG;
		if (used > 1)
			cur[used++] = '/';
		memcpy(cur + used, p, len);
		used += len;
		cur[used] = '\0';
		p += len;
	}
	*n = count;
	return 0;
}

struct guard_walk {
	struct nfsb *nb;
	const struct nfsb_id *keep;
	size_t nkeep;
	uint64_t fsid;
	char *err;
	size_t errlen;
};

/* The directory at path (below the tree root) is still the object we entered as id:
 * re-walk from the export root, no symlinks. */
static int still_same(struct guard_walk *g, const char *path, const struct nfsb_id *id)
{
	struct nfsb_id chain[NB_WALK_MAX];
	size_t n;
	int ret = nfsb_walk_dir(g->nb, path, chain, NB_WALK_MAX, &n, g->err, g->errlen);

	if (ret < 0)
		return ret;
	if (n == 0 || !nfsb_id_eq(&chain[n - 1], id)) {
		say(g->nb, g->err, g->errlen, "%s changed while it was being deleted", path);
		return -ESTALE;
	}
	return 0;
}

static int guard_rec(struct guard_walk *g, const char *path, const struct stat *st, bool dry,
		     int depth)
{
	struct name_list l = {NULL, 0, 0};
	struct nfsb_id id = id_of(st);
	char child[PATH_MAX];
	struct stat cst;
	int ret;

	if (depth > NB_WALK_MAX)
		return -ELOOP;
	if (!S_ISDIR(st->st_mode)) {
		if (dry)
			return 0;
		ret = nfsb_unlink(g->nb, path);
		if (ret < 0 && ret != -ENOENT)
			return nfsb_error(g->nb, ret, "unlink", path, g->err, g->errlen);
		return 0;
	}
	for (size_t i = 0; i < g->nkeep; i++) {
		if (nfsb_id_eq(&id, &g->keep[i])) {
			say(g->nb, g->err, g->errlen,
			    "%s is a directory that must stay (another "
			    "volume's, the catalogue or an export root)",
			    path);
			return -EBUSY;
		}
	}
	if (id.fsid != g->fsid) {
		say(g->nb, g->err, g->errlen, "%s is on another file system: not entered", path);
		return -EXDEV;
	}
	ret = still_same(g, path, &id);
	if (ret < 0)
		return ret;
	ret = nfsb_list_dir(g->nb, path, collect_name, &l, g->err, g->errlen);
	for (size_t i = 0; ret == 0 && i < l.n; i++) {
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, l.names[i]) >=
		    sizeof(child)) {
			ret = -ENAMETOOLONG;
			break;
		}
		ret = nfsb_getattr(g->nb, child, &cst); /* lstat: a symlink is a leaf */
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret < 0) {
			nfsb_error(g->nb, ret, "stat", child, g->err, g->errlen);
			break;
		}
		ret = guard_rec(g, child, &cst, dry, depth + 1);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
	if (ret < 0 || dry)
		return ret;
	ret = still_same(g, path, &id);
	if (ret < 0)
		return ret;
	ret = nfsb_rmdir(g->nb, path);
	if (ret < 0 && ret != -ENOENT)
		return nfsb_error(g->nb, ret, "rmdir", path, g->err, g->errlen);
	return 0;
}

int nfsb_remove_tree_guarded(struct nfsb *nb, const char *path, const struct nfsb_id *keep,
			     size_t nkeep, char *err, size_t errlen)
{
	struct nfsb_id chain[NB_WALK_MAX];
	struct guard_walk g = {
		.nb = nb, .keep = keep, .nkeep = nkeep, .err = err, .errlen = errlen};
	char buf[PATH_MAX];
	struct stat st;
	size_t n;
	int ret;

	ret = nfsb_walk_dir(nb, path, chain, NB_WALK_MAX, &n, err, errlen);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	if (n < 2) {
		say(nb, err, errlen, "refusing to remove the export root");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "/%s", path[0] == '/' ? path + 1 : path);
	ret = nfsb_getattr(nb, buf, &st);
	if (ret < 0)
		return nfsb_error(nb, ret, "stat", buf, err, errlen);
	g.fsid = (uint64_t)st.st_dev;
	ret = guard_rec(&g, buf, &st, true, 0);
	if (ret < 0)
		return ret;
	return guard_rec(&g, buf, &st, false, 0);
}
