// SPDX-License-Identifier: MIT
/*
 * fuse_fs: one FUSE file system per mounted volume, served from an NFS export through a
 * pool of nfs_backend connections; see fuse_fs.h.
 *
 * Design:
 * - libnfs 4.0 is not thread-safe, so each connection (struct volfs_conn) is used by one
 *   FUSE worker at a time: a worker takes a free connection for one operation (conn_get)
 *   and gives it back (conn_put). A slow call holds one connection; the others keep going.
 * - libnfs file handles belong to the context that opened them. An open file keeps one
 *   handle per connection, opened lazily by path on the connection a request happens to
 *   get (NFSv3 OPEN is just LOOKUP: no server state, so several handles are harmless), and
 *   prefers the connection it used last, so a single-threaded reader or writer stays on
 *   one connection and pays the lookup once. A handle remembers the generation of its
 *   connection: after a reconnect it is an orphan and the file is re-opened by path.
 * - Outages: nfs_backend bounds every call by the timeout and marks the connection broken
 *   on a transport error; conn_put closes it and the next user reconnects. For 1 s after a
 *   transport error every request fails at once (hold-off), then while the server is still
 *   down only one request at a time tries to reconnect; the others fail at once with EIO
 *   instead of queueing behind it. A request that fails at once on a connection that
 *   was already dead (server restarted) is retried on a fresh connection.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <fuse.h>

#include "fuse_fs.h"
#include "log.h"
#include "nfs_backend.h"
#include "path.h"

#define VOLFS_POOL_DEFAULT 4
#define VOLFS_POOL_MAX 16
#define VOLFS_IO_MAX (1024 * 1024)		/* FUSE max_write/max_read = libnfs/ganesha wtmax */
#define VOLFS_RETRY_WINDOW_MS 1000		/* failures faster than this were dead sockets */
#define VOLFS_WAKEUP_NAME "/.volfs-stop-wakeup" /* see volfs_unmount */
#define VOLFS_HOLDOFF_MS 1000 /* after a transport error, fail at once this long */
/* uncommitted bytes held per open file; a write past this commits (see struct volfs_file) */
#define VOLFS_UNSTABLE_MAX (32 * 1024 * 1024)
/* files whose cached pages' attributes are remembered (see struct volfs_seen) */
#define VOLFS_SEEN_BITS 11
#define VOLFS_SEEN_SLOTS (1u << VOLFS_SEEN_BITS)

/*
 * Close-to-open caching, as NFS clients do it. The kernel keeps a file's pages between
 * opens only when the open answers keep_cache; we answer it when the server's attributes
 * at this open (a GETATTR on the new handle) are the ones remembered from the previous
 * open on this mount: same mtime, ctime and size, so nobody changed the file in between.
 * A change made by another node (or our own writes, which change mtime) makes the next
 * open drop the pages. While a file stays open, the kernel itself drops them when a
 * refreshed attribute shows another mtime or size (FUSE_CAP_AUTO_INVAL_DATA, which
 * libfuse enables by default), i.e. within attr_timeout. Direct-mapped by inode number:
 * a collision forgets the other file, whose next open then reads from the server again.
 * The path is part of the key: libfuse's nodes, and so the kernel's inodes and their
 * pages, follow names, and a name can come to mean another file (a rename on another
 * node) whose attributes we remember from another name.
 */
struct volfs_seen {
	ino_t ino; /* 0: empty */
	uint64_t path_hash;
	struct timespec mtime, ctime;
	off_t size;
};

struct volfs_conn {
	struct nfsb *nb;  /* NULL: not connected (yet, or since an error) */
	unsigned int gen; /* bumped on every new nb: older file handles are orphans */
	bool busy;
};

struct volfs {
	char *mountpoint;
	char *subdir;	  /* "/subdir" inside the export, "" for the export root */
	const char *root; /* prefix of every path: subdir, or "" when mounted at it */
	char *fsname;
	struct nfsb_target target;	 /* the export, for messages */
	struct nfsb_target conn_target;	 /* what each connection mounts (see check_root) */
	uint64_t root_fsid, root_fileid; /* the volume directory, when mounted at it */
	atomic_bool stale_logged;	 /* connect_one warned that it went */
	struct volfs_opts opts;
	unsigned int pool_size;

	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;  /* a connection became free */
	struct volfs_conn conns[VOLFS_POOL_MAX];
	bool down;	 /* last connect or call hit a transport error */
	bool connecting; /* a reconnect attempt is running while down */
	int64_t down_ms; /* monotonic time of the last transport error */
	struct volfs_status st;
	struct volfs_file *files; /* open files, freed by volfs_free if never released */
	struct volfs_seen seen[VOLFS_SEEN_SLOTS];

	struct fuse *fuse;
	pthread_t loop_thread;
	bool loop_started;
	atomic_bool loop_running;
	atomic_bool stopping; /* volfs_unmount is waking the session to end it */
	int wake_fd;	      /* directory fd on the mount, for the wake-up */
	dev_t dev;	      /* of the mounted file system, for the fusectl abort */
};

/* One WRITE the server has not committed yet: its bytes, to send again if it restarts. */
struct volfs_pending {
	struct volfs_pending *next;
	off_t off;
	size_t len;
	char data[];
};

/*
 * Per-open state, in fi->fh. fh[i]/gen[i] are only touched while holding conns[i].
 * Durability (RFC 1813 WRITE/COMMIT): every UNSTABLE write is kept here with the server's
 * write verifier until a COMMIT answers with that same verifier. A different verifier
 * means the server restarted and may have dropped the data: it is written again and
 * committed again. fsync and close (flush) commit; a write commits once more than
 * VOLFS_UNSTABLE_MAX bytes are held.
 */
struct volfs_file {
	struct volfs_file *next, *prev; /* v->files, under v->lock */
	int flags;
	atomic_int last; /* connection used last, -1 = none */
	struct nfsb_file *fh[VOLFS_POOL_MAX];
	unsigned int gen[VOLFS_POOL_MAX];

	pthread_mutex_t wlock; /* writes, commits and everything below */
	struct volfs_pending *pending, **pending_tail;
	size_t pending_bytes;
	uint64_t verf;	 /* write verifier of the pending writes */
	bool verf_set;	 /* verf holds the first one's */
	bool verf_mixed; /* they differ: the server restarted in between */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct volfs *vol(void)
{
	return fuse_get_context()->private_data;
}

static bool is_transport_error(int ret)
{
	return ret == -EIO || ret == -ETIMEDOUT || ret == -ENOTCONN || ret == -EPIPE ||
	       ret == -ECONNRESET || ret == -ECONNREFUSED;
}

/* ---- connection pool ---- */

static void mark_ok(struct volfs *v)
{
	v->down = false;
	v->st.reachable = true;
	v->st.last_ok = time(NULL);
}

static void mark_down(struct volfs *v, const char *msg)
{
	if (!v->down)
		log_warnx("volume %s: NFS server %s export %s unreachable: %s", v->mountpoint,
			  v->target.server, v->target.export, msg);
	v->down = true;
	v->down_ms = now_ms();
	v->st.reachable = false;
	v->st.last_error = time(NULL);
	snprintf(v->st.last_error_msg, sizeof(v->st.last_error_msg), "%s", msg);
}

/* Pick a free connection: `prefer` if free, else a connected one, else any. -1 if none. */
static int pick_conn(struct volfs *v, int prefer)
{
	unsigned int i;
	int any = -1;

	if (prefer >= 0 && (unsigned int)prefer < v->pool_size && !v->conns[prefer].busy)
		return prefer;
	for (i = 0; i < v->pool_size; i++) {
		if (v->conns[i].busy)
			continue;
		if (v->conns[i].nb != NULL)
			return (int)i;
		if (any < 0)
			any = (int)i;
	}
	return any;
}

/* The connections mount the volume's directory itself (see check_root). */
static bool at_subdir(const struct volfs *v)
{
	return v->subdir[0] != '\0' && v->root[0] == '\0';
}

/*
 * Connect one pool connection. When the connections mount the volume's directory itself
 * (see check_root), its MOUNT resolves the subdirectory's path anew: refuse a directory
 * that is not the one this mount started with (another node removed or renamed it and
 * something else took the name) with -ESTALE, so that no connection ever works on another
 * directory than the others; the server refusing the MOUNT of a vanished directory is
 * -ESTALE too. Transport errors as nfsb_connect returns them.
 */
static int connect_one(struct volfs *v, int uid, int gid, struct nfsb **out, char *err,
		       size_t errlen)
{
	struct nfsb *nb = NULL;
	struct stat st;
	int ret;

	*out = NULL;
	ret = nfsb_connect(&v->conn_target, uid, gid, &nb, err, errlen);
	if (!at_subdir(v)) {
		*out = nb;
		return ret;
	}
	/* a MOUNT refused for a path that the server no longer has (ganesha: EACCES) */
	if (ret == -EACCES || ret == -ENOENT || ret == -ENOTDIR)
		goto out_stale;
	if (ret < 0)
		return ret;
	ret = nfsb_getattr(nb, "/", &st);
	if (ret < 0) {
		snprintf(err, errlen, "%s", nfsb_last_error(nb));
		nfsb_close(nb);
		if (is_transport_error(ret))
			return ret;
		goto out_stale;
	}
	if ((uint64_t)st.st_dev != v->root_fsid || (uint64_t)st.st_ino != v->root_fileid) {
		nfsb_close(nb);
		goto out_stale;
	}
	*out = nb;
	return 0;

out_stale:
	if (!atomic_exchange(&v->stale_logged, true))
		log_warnx("volume %s: directory %s of NFS server %s export %s is gone or was "
			  "replaced "
			  "since the volume was mounted (ESTALE): mount the volume again",
			  v->mountpoint, v->subdir, v->target.server, v->target.export);
	snprintf(err, errlen, "directory %s gone or replaced", v->subdir);
	return -ESTALE;
}

/*
 * Take a connection for one operation (waiting at most the timeout for a free one) and
 * connect it if needed. Sets the caller's identity on it. Returns the index or -errno.
 * `retry`: the caller just found a connection dead and wants a fresh one (no hold-off).
 */
static int conn_get(struct volfs *v, int prefer, bool retry)
{
	struct timespec deadline;
	struct nfsb *nb = NULL;
	struct fuse_context *ctx;
	char err[512];
	bool probing = false;
	int64_t t_start;
	uid_t uid;
	gid_t gid;
	int idx, ret;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += v->target.timeout_s;
	pthread_mutex_lock(&v->lock);
	/*
	 * Right after a transport error, fail at once: a program doing one call after the
	 * other would otherwise wait a full timeout on every call while the server is away.
	 */
	if (!retry && v->down && now_ms() - v->down_ms < VOLFS_HOLDOFF_MS) {
		pthread_mutex_unlock(&v->lock);
		return -EIO;
	}
	t_start = now_ms();
	while ((idx = pick_conn(v, prefer)) < 0) {
		if (pthread_cond_timedwait(&v->cond, &v->lock, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&v->lock);
			return -ETIMEDOUT;
		}
		/*
		 * A call on another connection hit a transport error while we waited: fail now
		 * rather than start a connect that could add another timeout to our wait.
		 */
		if (v->down && v->down_ms >= t_start) {
			pthread_mutex_unlock(&v->lock);
			return -EIO;
		}
	}
	if (v->conns[idx].nb == NULL) {
		if (v->down && v->connecting) {
			/* someone is already finding out whether the server is back */
			pthread_mutex_unlock(&v->lock);
			return -EIO;
		}
		if (v->down) {
			v->connecting = true;
			probing = true;
		}
	}
	v->conns[idx].busy = true;
	pthread_mutex_unlock(&v->lock);

	if (v->conns[idx].nb == NULL) {
		ret = connect_one(v, -1, -1, &nb, err, sizeof(err));
		pthread_mutex_lock(&v->lock);
		if (probing)
			v->connecting = false;
		if (ret == -ESTALE) {
			/* the server answers: the volume's directory is what went */
			v->conns[idx].busy = false;
			pthread_cond_broadcast(&v->cond);
			pthread_mutex_unlock(&v->lock);
			return ret;
		}
		if (ret < 0) {
			mark_down(v, err);
			v->conns[idx].busy = false;
			pthread_cond_broadcast(&v->cond);
			pthread_mutex_unlock(&v->lock);
			return ret == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
		}
		if (v->down)
			log_info("volume %s: NFS server %s export %s is back", v->mountpoint,
				 v->target.server, v->target.export);
		if (v->st.last_ok != 0 || v->st.last_error != 0)
			v->st.reconnects++;
		mark_ok(v);
		v->conns[idx].nb = nb;
		v->conns[idx].gen++;
		pthread_mutex_unlock(&v->lock);
	}

	/*
	 * Identity: the volume's fixed ids, else the caller's. A fixed uid also covers root,
	 * which is how Docker's copy-up (done as root) works under root_squash.
	 */
	ctx = fuse_get_context();
	uid = v->opts.uid >= 0 ? (uid_t)v->opts.uid : ctx->uid;
	gid = v->opts.gid >= 0 ? (gid_t)v->opts.gid : ctx->gid;
	nfsb_set_identity(v->conns[idx].nb, uid, gid);
	return idx;
}

/* Give a connection back; close it if the call broke it. */
static void conn_put(struct volfs *v, int idx)
{
	struct volfs_conn *c = &v->conns[idx];
	struct nfsb *dead = NULL;
	char msg[256];

	if (c->nb != NULL && nfsb_is_broken(c->nb)) {
		snprintf(msg, sizeof(msg), "%s", nfsb_last_error(c->nb));
		dead = c->nb;
	}
	pthread_mutex_lock(&v->lock);
	if (dead != NULL) {
		c->nb = NULL;
		mark_down(v, msg);
	} else {
		mark_ok(v);
	}
	c->busy = false;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	/* Outside the lock: closing orphans the files' handles, which are ours (see header). */
	nfsb_close(dead);
}

/*
 * Run `expr` (which may use `nb` and `ci_`) on a pooled connection and evaluate to its
 * result. Retries while a call fails with a transport error almost at once: that is a
 * connection found dead (e.g. the server restarted), and a fresh one will do.
 */
#define VOLFS_RUN(v, prefer, expr)                                                                 \
	({                                                                                         \
		int64_t t0_ = now_ms();                                                            \
		unsigned int try_ = 0;                                                             \
		long r_;                                                                           \
		for (;;) {                                                                         \
			int ci_ = conn_get((v), (prefer), try_ > 0);                               \
			if (ci_ < 0) {                                                             \
				r_ = ci_;                                                          \
				break;                                                             \
			}                                                                          \
			struct nfsb *nb = (v)->conns[ci_].nb;                                      \
			r_ = (expr);                                                               \
			conn_put((v), ci_);                                                        \
			if (!(r_ < 0 && is_transport_error((int)r_) && ++try_ <= (v)->pool_size && \
			      now_ms() - t0_ < VOLFS_RETRY_WINDOW_MS))                             \
				break;                                                             \
		}                                                                                  \
		r_;                                                                                \
	})

/* ---- paths ---- */

static int full_path(const struct volfs *v, const char *path, char *buf, size_t len)
{
	int n;

	if (strcmp(path, "/") == 0 && v->root[0] != '\0')
		n = snprintf(buf, len, "%s", v->root);
	else
		n = snprintf(buf, len, "%s%s", v->root, path);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

#define FULL(var, path)                                                                            \
	char var[PATH_MAX];                                                                        \
	do {                                                                                       \
		int e_ = full_path(v, (path), var, sizeof(var));                                   \
		if (e_ < 0)                                                                        \
			return e_;                                                                 \
	} while (0)

/* ---- open files ---- */

static struct volfs_file *vfile(struct fuse_file_info *fi)
{
	return fi ? (struct volfs_file *)(uintptr_t)fi->fh : NULL;
}

/* The handle of vf on connection ci (held by the caller), re-opened by path if needed. */
static int file_on(struct volfs *v, struct volfs_file *vf, int ci, struct nfsb *nb,
		   const char *full, struct nfsb_file **out)
{
	int ret;

	if (vf->fh[ci] != NULL && vf->gen[ci] == v->conns[ci].gen) {
		*out = vf->fh[ci];
		return 0;
	}
	nfsb_file_close(nb, vf->fh[ci]); /* an orphan from an older connection */
	vf->fh[ci] = NULL;
	/* re-open: no O_CREAT/O_EXCL/O_TRUNC, those happened at the first open */
	ret = nfsb_file_open(nb, full, vf->flags & (O_ACCMODE | O_SYNC), 0, &vf->fh[ci]);
	if (ret < 0)
		return ret;
	vf->gen[ci] = v->conns[ci].gen;
	*out = vf->fh[ci];
	return 0;
}

static long file_pread(struct volfs *v, struct volfs_file *vf, int ci, struct nfsb *nb,
		       const char *full, char *buf, size_t size, off_t off)
{
	struct nfsb_file *f;
	int ret = file_on(v, vf, ci, nb, full, &f);

	if (ret < 0)
		return ret;
	atomic_store(&vf->last, ci);
	return (long)nfsb_file_pread(nb, f, buf, size, off);
}

static int file_getattr(struct volfs *v, struct volfs_file *vf, int ci, struct nfsb *nb,
			const char *full, struct stat *st)
{
	struct nfsb_file *f;
	int ret = file_on(v, vf, ci, nb, full, &f);

	if (ret < 0)
		return ret;
	atomic_store(&vf->last, ci);
	return nfsb_file_getattr(nb, f, st);
}

/*
 * Take vf->wlock for a call that started at t0. False (not locked) if a transport error
 * happened while we waited: the holder timed out, and we would only add our own timeout.
 */
static bool wlock_take(struct volfs *v, struct volfs_file *vf, int64_t t0)
{
	bool down;

	pthread_mutex_lock(&vf->wlock);
	pthread_mutex_lock(&v->lock);
	down = v->down && v->down_ms >= t0;
	pthread_mutex_unlock(&v->lock);
	if (down) {
		pthread_mutex_unlock(&vf->wlock);
		return false;
	}
	return true;
}

/* Drop the pending writes (committed, or given up). Under vf->wlock. */
static void pending_drop(struct volfs_file *vf)
{
	struct volfs_pending *p, *next;

	for (p = vf->pending; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	vf->pending = NULL;
	vf->pending_tail = &vf->pending;
	vf->pending_bytes = 0;
	vf->verf_set = false;
	vf->verf_mixed = false;
}

static void verf_note(struct volfs_file *vf, uint64_t verf)
{
	if (!vf->verf_set) {
		vf->verf = verf;
		vf->verf_set = true;
	} else if (verf != vf->verf) {
		vf->verf_mixed = true;
	}
}

/*
 * COMMIT f and check the verifier against every pending write; on a mismatch write them
 * all again (in their order) and commit again. Under vf->wlock. 0 once the server holds
 * everything on stable storage; -EIO if its verifier keeps changing; transport errors as
 * they come (the writes stay pending for the next try).
 */
static int file_commit(struct volfs *v, struct volfs_file *vf, struct nfsb *nb, struct nfsb_file *f,
		       const char *full)
{
	struct volfs_pending *p;
	uint64_t cverf, wverf;
	bool stable;
	int round, ret;

	for (round = 0;; round++) {
		ret = nfsb_file_commit(nb, f, &cverf);
		if (ret < 0)
			return ret;
		if (vf->pending == NULL || (!vf->verf_mixed && vf->verf == cverf)) {
			pending_drop(vf);
			return 0;
		}
		if (round >= 2) {
			log_warnx("volume %s: %s: NFS server %s keeps changing its write verifier; "
				  "%zu bytes written are not confirmed durable (EIO)",
				  v->mountpoint, full, v->target.server, vf->pending_bytes);
			return -EIO;
		}
		log_warnx("volume %s: %s: NFS server %s restarted before %zu bytes written were "
			  "committed (write verifier changed): writing them again",
			  v->mountpoint, full, v->target.server, vf->pending_bytes);
		vf->verf_set = false;
		vf->verf_mixed = false;
		for (p = vf->pending; p != NULL; p = p->next) {
			ssize_t n = nfsb_file_pwrite_verf(nb, f, p->data, p->len, p->off, &wverf,
							  &stable);

			if (n < 0)
				return (int)n;
			verf_note(vf, wverf);
		}
	}
}

static long file_pwrite(struct volfs *v, struct volfs_file *vf, int ci, struct nfsb *nb,
			const char *full, const char *buf, size_t size, off_t off)
{
	int64_t t0 = now_ms();
	struct volfs_pending *p;
	struct nfsb_file *f;
	uint64_t verf;
	bool stable;
	ssize_t n;
	int ret = file_on(v, vf, ci, nb, full, &f);

	if (ret < 0)
		return ret;
	atomic_store(&vf->last, ci);
	if (!wlock_take(v, vf, t0))
		return -EIO;
	if (vf->flags & O_APPEND) {
		/*
		 * O_APPEND: the end of the file as the server has it now (other nodes append
		 * too), not the kernel's cached size. Still a race between this GETATTR and the
		 * WRITE (NFSv3 has no atomic append): see the README.
		 */
		struct stat st;

		ret = nfsb_file_getattr(nb, f, &st);
		if (ret < 0) {
			n = ret;
			goto out;
		}
		off = st.st_size;
	}
	n = nfsb_file_pwrite_verf(nb, f, buf, size, off, &verf, &stable);
	if (n <= 0 || stable)
		goto out;
	p = malloc(sizeof(*p) + (size_t)n);
	if (p == NULL) {
		/* cannot hold it: make it durable now instead */
		ret = nfsb_file_commit(nb, f, &verf);
		n = ret < 0 ? ret : n;
		goto out;
	}
	p->next = NULL;
	p->off = off;
	p->len = (size_t)n;
	/* one of the three copies a write costs more than through libnfs (README, benchmark) */
	memcpy(p->data, buf, (size_t)n);
	*vf->pending_tail = p;
	vf->pending_tail = &p->next;
	vf->pending_bytes += (size_t)n;
	verf_note(vf, verf);
	if (vf->pending_bytes > VOLFS_UNSTABLE_MAX) {
		/*
		 * Bound what we hold. The write itself succeeded; if the COMMIT fails the data
		 * stays pending and fsync/close will tell. Past 4x the bound, fail the write.
		 */
		ret = file_commit(v, vf, nb, f, full);
		if (ret < 0 && vf->pending_bytes > 4 * (size_t)VOLFS_UNSTABLE_MAX)
			n = ret;
	}
out:
	pthread_mutex_unlock(&vf->wlock);
	return (long)n;
}

static int file_fsync(struct volfs *v, struct volfs_file *vf, int ci, struct nfsb *nb,
		      const char *full)
{
	int64_t t0 = now_ms();
	struct nfsb_file *f;
	int ret = file_on(v, vf, ci, nb, full, &f);

	if (ret < 0)
		return ret;
	if (!wlock_take(v, vf, t0))
		return -EIO;
	ret = file_commit(v, vf, nb, f, full);
	pthread_mutex_unlock(&vf->wlock);
	return ret;
}

static bool file_has_pending(struct volfs_file *vf)
{
	bool ret;

	pthread_mutex_lock(&vf->wlock);
	ret = vf->pending != NULL;
	pthread_mutex_unlock(&vf->wlock);
	return ret;
}

static void file_link(struct volfs *v, struct volfs_file *vf)
{
	pthread_mutex_lock(&v->lock);
	vf->prev = NULL;
	vf->next = v->files;
	if (v->files != NULL)
		v->files->prev = vf;
	v->files = vf;
	pthread_mutex_unlock(&v->lock);
}

/* Free vf's handles, each on its own connection (waiting for it if it is busy). */
static void file_free(struct volfs *v, struct volfs_file *vf)
{
	unsigned int i;

	pthread_mutex_lock(&v->lock);
	if (vf->prev != NULL)
		vf->prev->next = vf->next;
	else
		v->files = vf->next;
	if (vf->next != NULL)
		vf->next->prev = vf->prev;
	pthread_mutex_unlock(&v->lock);

	for (i = 0; i < v->pool_size; i++) {
		struct nfsb_file *f = vf->fh[i];

		if (f == NULL)
			continue;
		pthread_mutex_lock(&v->lock);
		while (v->conns[i].busy)
			pthread_cond_wait(&v->cond, &v->lock);
		if (vf->gen[i] != v->conns[i].gen || v->conns[i].nb == NULL) {
			/* orphan: nfsb_file_close only frees it */
			pthread_mutex_unlock(&v->lock);
			nfsb_file_close(NULL, f);
			continue;
		}
		v->conns[i].busy = true;
		pthread_mutex_unlock(&v->lock);
		nfsb_file_close(v->conns[i].nb, f);
		pthread_mutex_lock(&v->lock);
		v->conns[i].busy = false;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
	}
	if (vf->pending != NULL)
		log_warnx("volume %s: a file closed with %zu bytes written but not committed "
			  "(its close reported the error); the server may not have them",
			  v->mountpoint, vf->pending_bytes);
	pending_drop(vf);
	pthread_mutex_destroy(&vf->wlock);
	free(vf);
}

/* ---- FUSE operations (each returns 0, a count, or -errno) ---- */

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct volfs *v = vol();
	FULL(full, path);

	if (atomic_load(&v->stopping) && strcmp(path, VOLFS_WAKEUP_NAME) == 0) {
		/*
		 * The wake-up lookup of volfs_unmount. End the loop from here, not before the
		 * request is read: libfuse drops (never answers) a request it reads after
		 * fuse_exit(), which would leave volfs_unmount waiting for the answer.
		 */
		fuse_exit(fuse_get_context()->fuse);
		return -ENOENT;
	}
	/*
	 * An open file (fstat, and libfuse's lookup right after every create): one GETATTR
	 * on its handle instead of a LOOKUP per path component plus the GETATTR.
	 */
	if (vfile(fi) != NULL)
		return (int)VOLFS_RUN(v, atomic_load(&vfile(fi)->last),
				      file_getattr(v, vfile(fi), ci_, nb, full, st));
	/* the kernel's lookup of every name (also before every create): one LOOKUP */
	return (int)VOLFS_RUN(v, -1, nfsb_lookup_attr(nb, full, st));
}

static int op_access(const char *path, int mask)
{
	struct volfs *v = vol();
	FULL(full, path);

	if ((mask & W_OK) && v->opts.readonly)
		return -EROFS;
	return (int)VOLFS_RUN(v, -1, nfsb_access(nb, full, mask));
}

static int op_readlink(const char *path, char *buf, size_t size)
{
	struct volfs *v = vol();
	FULL(full, path);

	return (int)VOLFS_RUN(v, -1, nfsb_readlink(nb, full, buf, size));
}

static int op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct volfs *v = vol();
	FULL(full, path);

	return (int)VOLFS_RUN(v, -1, nfsb_mknod(nb, full, mode, rdev));
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct volfs *v = vol();
	FULL(full, path);

	return (int)VOLFS_RUN(v, -1, nfsb_mkdir(nb, full, mode));
}

static int op_unlink(const char *path)
{
	struct volfs *v = vol();
	FULL(full, path);

	return (int)VOLFS_RUN(v, -1, nfsb_unlink(nb, full));
}

static int op_rmdir(const char *path)
{
	struct volfs *v = vol();
	FULL(full, path);

	return (int)VOLFS_RUN(v, -1, nfsb_rmdir(nb, full));
}

static int op_symlink(const char *target, const char *linkpath)
{
	struct volfs *v = vol();
	FULL(full, linkpath);

	/* the target is stored verbatim: it is resolved by the reader's kernel, not by us */
	return (int)VOLFS_RUN(v, -1, nfsb_symlink(nb, target, full));
}

static int rename_noreplace(struct nfsb *nb, const char *from, const char *to)
{
	struct stat st;
	int ret = nfsb_getattr(nb, to, &st);

	/* not atomic: NFSv3 RENAME always replaces; good enough for RENAME_NOREPLACE users */
	if (ret == 0)
		return -EEXIST;
	if (ret != -ENOENT)
		return ret;
	return nfsb_rename(nb, from, to, NULL, 0);
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	struct volfs *v = vol();
	FULL(ffrom, from);
	FULL(fto, to);

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if (flags & RENAME_NOREPLACE)
		return (int)VOLFS_RUN(v, -1, rename_noreplace(nb, ffrom, fto));
	return (int)VOLFS_RUN(v, -1, nfsb_rename(nb, ffrom, fto, NULL, 0));
}

static int op_link(const char *from, const char *to)
{
	struct volfs *v = vol();
	FULL(ffrom, from);
	FULL(fto, to);

	return (int)VOLFS_RUN(v, -1, nfsb_link(nb, ffrom, fto));
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct volfs *v = vol();
	FULL(full, path);

	(void)fi;
	return (int)VOLFS_RUN(v, -1, nfsb_chmod(nb, full, mode));
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct volfs *v = vol();
	FULL(full, path);

	(void)fi;
	/*
	 * A volume with a fixed identity owns its files as that identity. Root's chown to
	 * other ids (Docker's copy-up copies the image's owners) would be refused under
	 * root_squash and would take the files away from the fixed owner: accept and ignore.
	 */
	if (v->opts.uid >= 0 && fuse_get_context()->uid == 0) {
		if (uid != (uid_t)-1 && uid != (uid_t)v->opts.uid)
			uid = (uid_t)-1;
		if (v->opts.gid >= 0 && gid != (gid_t)-1 && gid != (gid_t)v->opts.gid)
			gid = (gid_t)-1;
		if (uid == (uid_t)-1 && gid == (gid_t)-1)
			return 0;
	}
	return (int)VOLFS_RUN(v, -1, nfsb_chown(nb, full, uid, gid));
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct volfs *v = vol();
	struct volfs_file *vf = vfile(fi);
	FULL(full, path);

	/* held writes must never be resent over a later truncate: commit them first */
	if (vf != NULL && file_has_pending(vf)) {
		int ret =
			(int)VOLFS_RUN(v, atomic_load(&vf->last), file_fsync(v, vf, ci_, nb, full));

		if (ret < 0)
			return ret;
	}
	return (int)VOLFS_RUN(v, -1, nfsb_truncate(nb, full, size));
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct volfs *v = vol();
	FULL(full, path);

	(void)fi;
	return (int)VOLFS_RUN(v, -1, nfsb_utimens(nb, full, tv));
}

/*
 * Whether the pages the kernel holds for a file with attributes st are still valid (see
 * struct volfs_seen), remembering st for the next open either way.
 */
static bool seen_unchanged(struct volfs *v, const char *path, const struct stat *st)
{
	struct volfs_seen *e =
		&v->seen[((uint64_t)st->st_ino * 0x9e3779b97f4a7c15ull) >> (64 - VOLFS_SEEN_BITS)];
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	const char *p;
	bool same;

	for (p = path; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	pthread_mutex_lock(&v->lock);
	same = e->ino == st->st_ino && e->path_hash == h && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       e->ctime.tv_sec == st->st_ctim.tv_sec && e->ctime.tv_nsec == st->st_ctim.tv_nsec;
	e->ino = st->st_ino;
	e->path_hash = h;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	e->ctime = st->st_ctim;
	pthread_mutex_unlock(&v->lock);
	return same;
}

/* Open on connection ci; *st gets the file's attributes when want_attr (else st_ino 0). */
static int open_on(struct volfs *v, struct volfs_file *vf, int ci, struct nfsb *nb,
		   const char *full, int flags, mode_t mode, bool want_attr, struct stat *st)
{
	int ret;

	/* a retry after a broken connection: the handle of the failed try is an orphan */
	nfsb_file_close(nb, vf->fh[ci]);
	vf->fh[ci] = NULL;
	ret = nfsb_file_open(nb, full, flags, mode, &vf->fh[ci]);
	if (ret < 0)
		return ret;
	vf->gen[ci] = v->conns[ci].gen;
	atomic_store(&vf->last, ci);
	st->st_ino = 0;
	/* a GETATTR failing for another reason than the transport only costs the cache */
	if (want_attr && nfsb_file_getattr(nb, vf->fh[ci], st) < 0) {
		st->st_ino = 0;
		if (nfsb_is_broken(nb))
			return -EIO; /* retried on a fresh connection by VOLFS_RUN */
	}
	return 0;
}

static int open_common(const char *path, struct fuse_file_info *fi, bool create, mode_t mode)
{
	struct volfs *v = vol();
	struct volfs_file *vf;
	struct stat st;
	bool want_attr;
	long ret;
	FULL(full, path);

	vf = calloc(1, sizeof(*vf));
	if (vf == NULL)
		return -ENOMEM;
	vf->flags = fi->flags;
	atomic_store(&vf->last, -1);
	pthread_mutex_init(&vf->wlock, NULL);
	vf->pending_tail = &vf->pending;
	/*
	 * Cached pages can be kept only for a read open of an existing file that is neither
	 * truncated nor appended to (appends bypass the cache, see below).
	 */
	want_attr = !create && !(fi->flags & (O_TRUNC | O_APPEND)) &&
		    (fi->flags & O_ACCMODE) != O_WRONLY;
	ret = VOLFS_RUN(v, -1,
			open_on(v, vf, ci_, nb, full, create ? (fi->flags | O_CREAT) : fi->flags,
				mode, want_attr, &st));
	if (ret < 0) {
		/* handles opened before a failed GETATTR: orphans of closed connections */
		for (unsigned int i = 0; i < VOLFS_POOL_MAX; i++)
			nfsb_file_close(NULL, vf->fh[i]);
		pthread_mutex_destroy(&vf->wlock);
		free(vf);
		return (int)ret;
	}
	/* O_CREAT/O_EXCL/O_TRUNC are done: later re-opens must not repeat them */
	vf->flags &= ~(O_CREAT | O_EXCL | O_TRUNC);
	file_link(v, vf);
	fi->fh = (uint64_t)(uintptr_t)vf;
	/* close-to-open: keep the pages only if nobody changed the file since (volfs_seen) */
	fi->keep_cache = want_attr && st.st_ino != 0 && seen_unchanged(v, path, &st);
	/*
	 * Not kept: the kernel's attributes may be as old as the pages (up to attr_timeout),
	 * e.g. the size before another node grew the file, which would cut our reads short,
	 * and a later refresh would drop the pages we are about to fill. Make it ask again.
	 * This waits for nothing of the open itself: the opener holds no inode lock (no
	 * O_TRUNC here) and fuse_invalidate_path takes no libfuse path lock; pages being read
	 * wait for READs that other workers serve.
	 */
	if (want_attr && !fi->keep_cache)
		fuse_invalidate_path(fuse_get_context()->fuse, path);
	/* appends land where the server's size says (file_pwrite), not where the kernel's
	 * cached size does: keep such a file out of the page cache */
	if (fi->flags & O_APPEND)
		fi->direct_io = 1;
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	return open_common(path, fi, false, 0);
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return open_common(path, fi, true, mode);
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct volfs *v = vol();
	struct volfs_file *vf = vfile(fi);
	FULL(full, path);

	if (vf == NULL)
		return -EBADF;
	return (int)VOLFS_RUN(v, atomic_load(&vf->last),
			      file_pread(v, vf, ci_, nb, full, buf, size, off));
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct volfs *v = vol();
	struct volfs_file *vf = vfile(fi);
	FULL(full, path);

	if (vf == NULL)
		return -EBADF;
	return (int)VOLFS_RUN(v, atomic_load(&vf->last),
			      file_pwrite(v, vf, ci_, nb, full, buf, size, off));
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	struct volfs *v = vol();
	struct volfs_file *vf = vfile(fi);
	FULL(full, path);

	/*
	 * Every WRITE reached the server before write() returned. close() also makes them
	 * durable (COMMIT, as the kernel's NFS client does), so that the writes held for a
	 * server restart (struct volfs_file) can be checked and resent; a close after reads
	 * only costs nothing.
	 */
	if (vf == NULL || !file_has_pending(vf))
		return 0;
	return (int)VOLFS_RUN(v, atomic_load(&vf->last), file_fsync(v, vf, ci_, nb, full));
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct volfs *v = vol();
	struct volfs_file *vf = vfile(fi);
	FULL(full, path);

	(void)datasync;
	if (vf == NULL)
		return 0;
	return (int)VOLFS_RUN(v, atomic_load(&vf->last), file_fsync(v, vf, ci_, nb, full));
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	struct volfs_file *vf = vfile(fi);

	(void)path;
	if (vf != NULL)
		file_free(vol(), vf);
	fi->fh = 0;
	return 0;
}

static int op_statfs(const char *path, struct statvfs *st)
{
	struct volfs *v = vol();
	FULL(full, path);

	return (int)VOLFS_RUN(v, -1, nfsb_statvfs(nb, full, st, NULL, 0));
}

struct fill_ctx {
	void *buf;
	fuse_fill_dir_t filler;
};

static int fill_one(const char *name, const struct stat *st, void *arg)
{
	struct fill_ctx *fc = arg;

	if (fc->filler(fc->buf, name, st, 0, FUSE_FILL_DIR_PLUS) != 0)
		return -ENOMEM;
	return 0;
}

static int op_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct volfs *v = vol();
	struct fill_ctx fc = {buf, filler};
	struct stat dst;
	long ret;
	FULL(full, path);

	(void)off;
	(void)fi;
	(void)flags;
	/* offset 0 mode: the whole listing in one call, libfuse buffers it */
	ret = VOLFS_RUN(v, -1, nfsb_list_dir(nb, full, fill_one, &fc, NULL, 0));
	if (ret < 0)
		return (int)ret;
	memset(&dst, 0, sizeof(dst));
	dst.st_mode = S_IFDIR | 0755;
	filler(buf, ".", &dst, 0, 0);
	filler(buf, "..", &dst, 0, 0);
	return 0;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* short caches: other nodes change the same export */
	cfg->use_ino = 1;
	cfg->readdir_ino = 1;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 0;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->nullpath_ok = 0; /* we need paths: they are how files are re-opened */
	cfg->hard_remove = 0;
	/* 1 MiB requests go to nfs_pread/nfs_pwrite whole (ganesha's rtmax/wtmax) */
	conn->max_write = VOLFS_IO_MAX;
	conn->max_read = VOLFS_IO_MAX;
	conn->max_readahead = VOLFS_IO_MAX;
	conn->want &= ~(unsigned int)FUSE_CAP_WRITEBACK_CACHE;
	return fuse_get_context()->private_data;
}

static const struct fuse_operations volfs_ops = {
	.init = op_init,
	.getattr = op_getattr,
	.access = op_access,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.chmod = op_chmod,
	.chown = op_chown,
	.truncate = op_truncate,
	.utimens = op_utimens,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.fsync = op_fsync,
	.release = op_release,
	.statfs = op_statfs,
	.readdir = op_readdir,
};

/* ---- mount / unmount ---- */

static void *loop_main(void *arg)
{
	struct volfs *v = arg;
	sigset_t all;

	/* libfuse's workers inherit this mask: signals are the plugin main thread's business */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	fuse_loop_mt(v->fuse, 0);
	atomic_store(&v->loop_running, false);
	return NULL;
}

/* Normalise subdir into "/a/b" ("" for the root). Refuses "." and "..". */
static int make_root(const char *subdir, char **out)
{
	const char *p = subdir ? subdir : "";
	size_t n = strlen(p) + 2;
	char *r = malloc(n);

	if (r == NULL)
		return -ENOMEM;
	if (path_normalize(p, PATH_REFUSE_DOT | PATH_LEADING_SLASH, NULL, r, n) != PATH_OK) {
		free(r);
		return -EINVAL;
	}
	*out = r;
	return 0;
}

static void volfs_free(struct volfs *v)
{
	unsigned int i;

	if (v == NULL)
		return;
	/* files whose RELEASE never came (the session ended first): no thread uses them now */
	while (v->files != NULL) {
		struct volfs_file *vf = v->files;

		v->files = vf->next;
		for (i = 0; i < VOLFS_POOL_MAX; i++) {
			if (vf->fh[i] != NULL && vf->gen[i] == v->conns[i].gen)
				nfsb_file_close(v->conns[i].nb, vf->fh[i]);
			else
				nfsb_file_close(NULL, vf->fh[i]);
		}
		free(vf);
	}
	for (i = 0; i < VOLFS_POOL_MAX; i++)
		nfsb_close(v->conns[i].nb);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v->mountpoint);
	free(v->subdir);
	free(v->fsname);
	free(v);
}

/*
 * Mount the volume's directory itself on every connection instead of the export root:
 * libnfs 4.0 walks every path from the handle its MOUNT returned, one LOOKUP per
 * component, and has no call relative to another handle, so this saves the LOOKUPs of
 * the subdirectory's components on every operation (README, benchmark). Servers that
 * refuse a MOUNT of a subdirectory keep the walk from the export root. What changes is
 * what a connection acts on when another node renames the directory: like a kernel NFS
 * mount of server:/export/dir, the directory object it mounted (ESTALE once removed), and
 * connect_one keeps every connection on that same object.
 */
static void mount_subdir(struct volfs *v, const struct stat *root_st)
{
	struct nfsb_target t = v->target;
	struct nfsb *nb = NULL;
	char err[512];
	size_t elen = strlen(v->target.export);
	const char *p;
	int n, ret;

	/* the path goes into libnfs's URL as it is: only names that need no escaping */
	for (p = v->subdir; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("/._-", *p) == NULL)
			return;
	while (elen > 0 && v->target.export[elen - 1] == '/')
		elen--;
	n = snprintf(t.export, sizeof(t.export), "%.*s%s", (int)elen, v->target.export, v->subdir);
	if (n < 0 || (size_t)n >= sizeof(t.export))
		return;
	v->root_fsid = (uint64_t)root_st->st_dev;
	v->root_fileid = (uint64_t)root_st->st_ino;
	v->conn_target = t;
	v->root = "";
	ret = connect_one(v, v->opts.uid, v->opts.gid, &nb, err, sizeof(err));
	if (ret < 0) {
		log_debug("volume %s: cannot mount %s itself (%s): paths are resolved from the "
			  "export root",
			  v->mountpoint, t.export, err);
		v->conn_target = v->target;
		v->root = v->subdir;
		atomic_store(&v->stale_logged, false);
		return;
	}
	nfsb_close(v->conns[0].nb);
	v->conns[0].nb = nb;
}

/* Check the served directory with the first pool connection. */
static int check_root(struct volfs *v, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	ret = nfsb_connect(&v->target, v->opts.uid, v->opts.gid, &v->conns[0].nb, err, errlen);
	if (ret < 0)
		return ret;
	v->conns[0].gen = 1;
	ret = nfsb_getattr(v->conns[0].nb, v->subdir[0] ? v->subdir : "/", &st);
	if (ret == 0 && !S_ISDIR(st.st_mode))
		ret = -ENOTDIR;
	if (ret < 0) {
		snprintf(err, errlen, "NFS server %s export %s: directory %s: %s%s%s",
			 v->target.server, v->target.export, v->subdir[0] ? v->subdir : "/",
			 errno_text(-ret), ret == -ENOENT ? "" : " ",
			 ret == -ENOENT ? "" : nfsb_last_error(v->conns[0].nb));
		return ret;
	}
	mark_ok(v);
	if (v->subdir[0] != '\0')
		mount_subdir(v, &st);
	return 0;
}

/*
 * The kernel caps FUSE readahead at the bdi default (128 KiB), whatever max_readahead says,
 * so sequential reads become 128 KiB NFS READs. 1 MiB doubles read throughput (measured:
 * 581 -> 1100 MB/s). More is worse: 4 MiB and 16 MiB, which put several 1 MiB READs on
 * the pool's connections at once, gave 770 and 542 MB/s (README, benchmark: the cores are
 * the limit, not round trips). Best effort: /sys may be read-only (then 128 KiB).
 */
static void set_readahead(const struct volfs *v)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(v->dev),
		 minor(v->dev));
	f = fopen(path, "w");
	if (f == NULL) {
		log_debug("volume %s: cannot raise readahead (%s): %s", v->mountpoint, path,
			  errno_text(errno));
		return;
	}
	fprintf(f, "%d", VOLFS_IO_MAX / 1024);
	if (fclose(f) != 0)
		log_debug("volume %s: cannot raise readahead: %s", v->mountpoint,
			  errno_text(errno));
}

int volfs_mount(const char *mountpoint, const struct nfsb_target *target, const char *subdir,
		const struct volfs_opts *opts, struct volfs **out, char *err, size_t errlen)
{
	char optbuf[512];
	char *argv[] = {"volfs", "-o", optbuf, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	struct volfs *v = NULL;
	struct stat st;
	int ret;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	pthread_mutex_init(&v->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&v->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	v->target = *target;
	if (v->target.timeout_s == 0)
		v->target.timeout_s = 1;
	v->conn_target = v->target;
	v->opts = *opts;
	v->opts.fsname = NULL;
	v->pool_size = opts->pool_size ? opts->pool_size : VOLFS_POOL_DEFAULT;
	if (v->pool_size > VOLFS_POOL_MAX)
		v->pool_size = VOLFS_POOL_MAX;
	v->mountpoint = strdup(mountpoint);
	v->fsname = strdup(opts->fsname ? opts->fsname : "nfsvol");
	if (v->mountpoint == NULL || v->fsname == NULL) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = make_root(subdir, &v->subdir);
	if (ret < 0) {
		snprintf(err, errlen, "subdirectory %s: must stay inside the export (no \"..\")",
			 subdir);
		goto out_free;
	}
	v->root = v->subdir;
	/* fsname goes into a comma-separated option list: refuse what would break it */
	if (strpbrk(v->fsname, ",\\ \t\n") != NULL) {
		snprintf(err, errlen, "fsname %s: no commas, backslashes or spaces", v->fsname);
		ret = -EINVAL;
		goto out_free;
	}
	ret = check_root(v, err, errlen);
	if (ret < 0)
		goto out_free;

	snprintf(optbuf, sizeof(optbuf), "fsname=%s,subtype=nfsvol,max_read=%d%s%s", v->fsname,
		 VOLFS_IO_MAX, opts->allow_other ? ",allow_other" : "",
		 opts->readonly ? ",ro" : "");
	v->fuse = fuse_new(&args, &volfs_ops, sizeof(volfs_ops), v);
	fuse_opt_free_args(&args);
	if (v->fuse == NULL) {
		snprintf(err, errlen, "volume %s: FUSE setup failed (options %s)", mountpoint,
			 optbuf);
		ret = -EINVAL;
		goto out_free;
	}
	if (fuse_mount(v->fuse, mountpoint) != 0) {
		snprintf(err, errlen,
			 "volume %s: FUSE mount failed (is /dev/fuse there, and are "
			 "we root with CAP_SYS_ADMIN?)",
			 mountpoint);
		ret = -EIO;
		goto out_destroy;
	}
	atomic_store(&v->loop_running, true);
	ret = -pthread_create(&v->loop_thread, NULL, loop_main, v);
	if (ret < 0) {
		atomic_store(&v->loop_running, false);
		snprintf(err, errlen, "volume %s: cannot start the FUSE thread", mountpoint);
		fuse_unmount(v->fuse);
		goto out_destroy;
	}
	v->loop_started = true;
	/* served by the loop we just started, from the connection check_root made */
	if (stat(mountpoint, &st) == 0) {
		v->dev = st.st_dev;
		set_readahead(v);
	}
	log_debug("volume %s: mounted %s:%s%s (pool %u, timeout %u s, identity %s, %s)", mountpoint,
		  v->target.server, v->target.export, v->subdir, v->pool_size, v->target.timeout_s,
		  v->opts.uid >= 0 ? "fixed" : "caller",
		  at_subdir(v) ? "mounted at the directory" : "paths from the export root");
	*out = v;
	return 0;

out_destroy:
	fuse_destroy(v->fuse);
out_free:
	volfs_free(v);
	return ret;
}

/* Abort the FUSE connection through fusectl (best effort: it may not be mounted). */
static void abort_connection(const struct volfs *v)
{
	char path[128];
	FILE *f;

	if (v->dev == 0)
		return;
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", minor(v->dev));
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fputs("1", f);
	fclose(f);
}

static bool join_loop(struct volfs *v, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return pthread_timedjoin_np(v->loop_thread, NULL, &ts) == 0;
}

/*
 * Stopping the session is the delicate part. fuse_exit() only sets a flag: the session
 * threads sit in read(/dev/fuse) until a request comes. A plain umount does not wake them
 * when another mount namespace holds a copy of the mount (e.g. a server started after us
 * with unshare -m), and a busy mount cannot be unmounted at all. So: keep a directory fd
 * on the file system, detach the mount (no new users), send one request through the fd
 * (a lookup that op_getattr answers at once once `stopping` is set) to wake a thread that
 * then sees the flag and ends the loop, join, and close the device fd (fuse_unmount):
 * closing the last device fd aborts the connection, so whoever still holds the file
 * system gets ENOTCONN instead of a hang.
 */
static void *wake_main(void *arg)
{
	struct volfs *v = arg;
	struct stat st;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	fstatat(v->wake_fd, VOLFS_WAKEUP_NAME + 1, &st, AT_SYMLINK_NOFOLLOW);
	return NULL;
}

int volfs_unmount(struct volfs *v)
{
	int dirfd, ret = 0;
	struct statx stx;
	pthread_t wake_thread;
	bool waker = false;

	if (v == NULL)
		return 0;
	dirfd = open(v->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* AT_STATX_DONT_SYNC: cached attributes, no request to the (maybe busy) session */
	if (dirfd < 0 ||
	    statx(dirfd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &stx) != 0 ||
	    makedev(stx.stx_dev_major, stx.stx_dev_minor) != v->dev) {
		/* not our file system there any more: nothing to send the wake-up through */
		if (dirfd >= 0)
			close(dirfd);
		dirfd = -1;
		fuse_exit(v->fuse);
		abort_connection(v);
	}
	atomic_store(&v->stopping, true);
	if (umount2(v->mountpoint, MNT_DETACH) != 0) {
		ret = -errno;
		if (ret == -EINVAL || ret == -ENOENT)
			ret = 0; /* unmounted from outside already */
		else
			log_warnx("volume %s: unmount: %s", v->mountpoint, errno_text(-ret));
	}
	if (v->loop_started) {
		bool joined = false;

		/*
		 * The wake-up runs in its own thread: should the session be gone already, the
		 * request would wait until the connection is aborted, which happens below.
		 */
		if (dirfd >= 0 && atomic_load(&v->loop_running)) {
			v->wake_fd = dirfd;
			waker = pthread_create(&wake_thread, NULL, wake_main, v) == 0;
		}
		/* a worker busy with an NFS call finishes it first: up to the timeout */
		joined = join_loop(v, (int)v->target.timeout_s * 1000 + 2000);
		if (!joined) {
			abort_connection(v);
			joined = join_loop(v, 2000);
		}
		if (!joined) {
			/* leave it running rather than free what its threads use */
			log_warnx("volume %s: FUSE session did not stop; leaving it behind",
				  v->mountpoint);
			pthread_detach(v->loop_thread);
			if (waker)
				pthread_detach(wake_thread);
			return -EBUSY; /* dirfd stays open: the waker may still use it */
		}
	}
	fuse_exit(v->fuse);
	/*
	 * The session is over: abort the connection (fusectl) so that fuse_unmount(), which
	 * closes the device fd (that aborts it too), sees POLLERR and tries no second umount.
	 */
	abort_connection(v);
	fuse_unmount(v->fuse);
	if (waker)
		pthread_join(wake_thread, NULL); /* the connection is aborted: it returned */
	if (dirfd >= 0)
		close(dirfd);
	fuse_destroy(v->fuse);
	log_debug("volume %s: unmounted", v->mountpoint);
	volfs_free(v);
	return ret;
}

bool volfs_is_alive(const struct volfs *v)
{
	return v != NULL && atomic_load(&v->loop_running);
}

void volfs_get_status(const struct volfs *v, struct volfs_status *st)
{
	struct volfs *mv = (struct volfs *)v; /* the lock is not part of the value */

	pthread_mutex_lock(&mv->lock);
	*st = v->st;
	pthread_mutex_unlock(&mv->lock);
}

int volfs_clean_mountpoint(const char *mountpoint, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	size_t i, n;
	int tries;

	/* detach whatever is stacked there (a crashed process leaves a dead FUSE mount) */
	for (tries = 0; tries < 8; tries++) {
		if (umount2(mountpoint, MNT_DETACH) != 0)
			break;
		log_info("volume %s: detached a stale mount", mountpoint);
	}
	n = (size_t)snprintf(buf, sizeof(buf), "%s", mountpoint);
	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
			int ret = -errno;

			snprintf(err, errlen, "mountpoint %s: mkdir %s: %s", mountpoint, buf,
				 errno_text(-ret));
			return ret;
		}
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}
