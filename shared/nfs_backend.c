// SPDX-License-Identifier: MIT
/*
 * nfs_backend: libnfs 4.0 (NFSv3) behind a small POSIX-like interface; see nfs_backend.h.
 * Measured behaviour this code relies on is in docs/nfs.md (section 3):
 * autoreconnect=0 + tcp-syncnt=1 + nfs_set_timeout() is the only combination that never
 * hangs; a context that saw a transport error stays dead.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sysmacros.h>
#include <sys/time.h> /* before libnfs.h: it is not self-contained in 4.0 */
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
/* after libnfs.h (rpc_cb, EXTERN), so in a block of their own */
#include <nfsc/libnfs-raw.h>
/* after libnfs-raw.h */
#include <nfsc/libnfs-raw-nfs.h>

#include "log.h"
#include "nfs_backend.h"
#include "path.h"

/* NFSv3 ftype3 values (libnfs-raw-nfs.h), mapped without including the raw header. */
enum { NB_NF3REG = 1, NB_NF3DIR, NB_NF3BLK, NB_NF3CHR, NB_NF3LNK, NB_NF3SOCK, NB_NF3FIFO };

struct nfsb_file {
	struct nfsfh *fh;	       /* NULL once orphaned by nfsb_close() */
	struct nfsb *owner;	       /* NULL once orphaned */
	struct nfsb_file *next, *prev; /* owner's list of open files */
	bool sync;		       /* opened O_SYNC: FILE_SYNC writes */
	/* write verifiers of nfsb_file_pwrite() since the last nfsb_file_fsync() */
	bool wrote, verf_mixed;
	uint64_t verf;
};

/*
 * One raw RPC (WRITE, COMMIT) waited for with our own deadline. On the heap: when we give
 * up on it, it stays on nb->abandoned until nfs_destroy_context() has run its callback.
 */
struct raw_call {
	struct raw_call *next;
	bool done;
	int status;  /* RPC_STATUS_* */
	int nfsstat; /* NFS3 status of the reply (status == RPC_STATUS_SUCCESS) */
	uint32_t count;
	int committed; /* stable_how of a WRITE reply */
	uint64_t verf;
	bool have_attr; /* attr holds a LOOKUP reply's attributes of the object */
	fattr3 attr;
	char rpcerr[128];
};

struct mount_wait {
	bool done;
	int status;
};

/*
 * A directory's handle kept for nfsb_lookup_attr. Good for NB_DIRFH_TTL_MS from before the
 * walk that found it, and only for the identity that walked (the walk checked its search
 * permission on every component above).
 */
struct nb_dirfh {
	char *path; /* NULL: empty slot */
	struct nfsfh *fh;
	int64_t at_ms;
	uid_t uid;
	gid_t gid;
};

#define NB_DIRFH_SLOTS 8
#define NB_DIRFH_TTL_MS 1000

struct nfsb {
	struct nfs_context *nfs;
	/*
	 * The MOUNT callback's target. Not on the stack: when we give up on a MOUNT (deadline),
	 * nfs_destroy_context() still calls the callback (RPC_STATUS_CANCEL) later.
	 */
	struct mount_wait mw;
	struct nfsb_target target;
	bool broken;
	bool poisoned;			    /* requests left pending: never destroy (see nb_ret) */
	struct nfsb *next_poisoned;	    /* poisoned list, keeps them reachable */
	struct nfsb_file *files;	    /* open files, closed by nfsb_close() */
	struct raw_call *abandoned;	    /* raw calls given up on, freed by nfsb_close() */
	char errbuf[NFSB_SERVER_MAX + 384]; /* our own messages (e.g. connect timeout) */

	/* identity of the calls (nfsb_set_identity), and nfsb_lookup_attr's directories */
	uid_t uid;
	gid_t gid;
	struct nb_dirfh dirfh[NB_DIRFH_SLOTS];
};

#define NB_CONNECT_TRIES 4 /* connects reset at once: tried on this many fresh sockets */

static pthread_mutex_t poisoned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nfsb *poisoned_list;

static int errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return 0;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return 0;
}

int nfsb_version_supported(int version, char *err, size_t errlen)
{
	if (version == 3)
		return 0;
	if (version == 4) {
		/*
		 * libnfs < 5.0 encodes every NFSv4 COMPOUND into a 4 KiB buffer, so any WRITE
		 * over ~4 KB fails (fixed by libnfs PR #319, first released in 5.0.0). There is
		 * no version macro in libnfs.h; 4.0's header lacks nfs_set_nfsport (added in 5.0
		 * together with that fix), which LIBNFS_HAS_NFS4_WRITE could be set from.
		 */
#ifdef LIBNFS_HAS_NFS4_WRITE
		return 0;
#else
		errf(err, errlen,
		     "NFS version 4 is not supported by this build: libnfs 4.0 cannot "
		     "write over NFSv4 (needs libnfs >= 5.0); accepted: 3");
		return -EPROTONOSUPPORT;
#endif
	}
	errf(err, errlen, "NFS version %d: accepted: 3", version);
	return -EINVAL;
}

int nfsb_target_url(const struct nfsb_target *t, char *buf, size_t buflen)
{
	char ports[64] = "";
	int n;

	if (t->nfs_port != 0 && t->mount_port != 0)
		snprintf(ports, sizeof(ports), "nfsport=%u&mountport=%u&", t->nfs_port,
			 t->mount_port);
	else if (t->nfs_port != 0)
		snprintf(ports, sizeof(ports), "nfsport=%u&", t->nfs_port);
	else if (t->mount_port != 0)
		snprintf(ports, sizeof(ports), "mountport=%u&", t->mount_port);
	n = snprintf(buf, buflen, "nfs://%s%s%s?%sversion=%d", t->server,
		     t->export[0] == '/' ? "" : "/", t->export, ports, t->version);
	if (n < 0 || (size_t)n >= buflen)
		return -ENAMETOOLONG;
	return 0;
}

/* ---- connections ---- */

static void mount_cb(int status, struct nfs_context *nfs, void *data, void *private_data)
{
	struct mount_wait *w = private_data;

	(void)nfs;
	(void)data;
	w->status = status;
	w->done = true;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Mount with the async API and our own deadline: nfs_set_timeout() does not bound connect
 * (docs/nfs.md 3), tcp-syncnt=1 bounds it to ~3 s; this bounds it to the volume's timeout.
 */
static int mount_with_deadline(struct nfs_context *nfs, const char *server, const char *path,
			       int timeout_ms, struct mount_wait *w, const char **why)
{
	int64_t deadline = now_ms() + timeout_ms;

	w->done = false;
	w->status = 0;
	if (nfs_mount_async(nfs, server, path, mount_cb, w) != 0) {
		*why = nfs_get_error(nfs);
		return -EIO;
	}
	while (!w->done) {
		struct pollfd pfd = {.fd = nfs_get_fd(nfs), .events = 0};
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0) {
			*why = "no answer (connect/MOUNT timed out)";
			return -ETIMEDOUT;
		}
		pfd.events = (short)nfs_which_events(nfs);
		rc = poll(&pfd, pfd.fd >= 0 ? 1 : 0, left > 100 ? 100 : (int)left);
		if (rc < 0 && errno != EINTR) {
			*why = "poll failed";
			return -errno;
		}
		if (nfs_service(nfs, rc > 0 ? pfd.revents : 0) < 0) {
			*why = nfs_get_error(nfs);
			return -EIO;
		}
	}
	if (w->status != 0)
		*why = nfs_get_error(nfs);
	return w->status;
}

/*
 * A connect failure in words an operator can act on (libnfs's own text, e.g. "Socket failed
 * with POLLHUP", goes to the debug log).
 */
static void connect_error(const struct nfsb_target *t, int ret, const char *why, char *err,
			  size_t errlen)
{
	if (why == NULL)
		why = "";
	if (ret == -ETIMEDOUT || strstr(why, "timed out") != NULL)
		errf(err, errlen,
		     "NFS server %s export %s: no answer from %s within NFS_TIMEOUT=%u s: is the "
		     "server up, and reachable from this node (address, routes, firewall)?",
		     t->server, t->export, t->server, t->timeout_s);
	else if (strstr(why, "POLLHUP") != NULL || strstr(why, "refused") != NULL ||
		 strstr(why, "POLLERR") != NULL)
		errf(err, errlen,
		     "NFS server %s export %s: connection refused by %s:%u: is the NFS server "
		     "running (and NFS_PORT/NFS_MOUNT_PORT right)?",
		     t->server, t->export, t->server, t->nfs_port ? t->nfs_port : 2049);
	else if (strstr(why, "resolv") != NULL)
		errf(err, errlen,
		     "NFS server %s export %s: cannot resolve the name %s: check "
		     "NFS_SERVER and this node's DNS",
		     t->server, t->export, t->server);
	else if (ret == -EACCES || strstr(why, "ACCES") != NULL || strstr(why, "ermission") != NULL)
		errf(err, errlen,
		     "NFS server %s export %s: the server refused to export %s to this node: "
		     "check the export's path and client list on the server",
		     t->server, t->export, t->export);
	else if (strstr(why, "NOENT") != NULL)
		errf(err, errlen,
		     "NFS server %s export %s: the server has no export %s: check "
		     "NFS_EXPORT",
		     t->server, t->export, t->export);
	else
		errf(err, errlen, "NFS server %s export %s: mount failed: %s (%s)", t->server,
		     t->export, why[0] ? why : "?", errno_text(-ret));
}

int nfsb_connect(const struct nfsb_target *t, int uid, int gid, struct nfsb **out, char *err,
		 size_t errlen)
{
	char url[NFSB_SERVER_MAX + NFSB_EXPORT_MAX + 160];
	struct nfs_url *u = NULL;
	struct nfsb *nb = NULL;
	const char *why = NULL;
	int64_t deadline, t0;
	int ret, attempt;

	*out = NULL;
	ret = nfsb_version_supported(t->version, err, errlen);
	if (ret < 0)
		return ret;
	if (t->server[0] == '\0' || t->export[0] == '\0') {
		errf(err, errlen, "NFS server \"%s\" export \"%s\": server and export must be set",
		     t->server, t->export);
		return -EINVAL;
	}
	ret = nfsb_target_url(t, url, sizeof(url) - 64);
	if (ret < 0) {
		errf(err, errlen, "NFS server %s export %s: name too long", t->server, t->export);
		return ret;
	}
	/* autoreconnect=0: a broken connection errors at once instead of spinning (docs/nfs.md 3)
	 */
	snprintf(url + strlen(url), sizeof(url) - strlen(url), "%s",
		 "&autoreconnect=0&tcp-syncnt=1&dircache=0");

	deadline = now_ms() + (int64_t)(t->timeout_s ? t->timeout_s : 1) * 1000;
	for (attempt = 1;; attempt++) {
		nb = calloc(1, sizeof(*nb));
		if (nb == NULL)
			return -ENOMEM;
		nb->target = *t;
		nb->nfs = nfs_init_context();
		if (nb->nfs == NULL) {
			ret = -ENOMEM;
			goto out_free;
		}
		u = nfs_parse_url_dir(nb->nfs, url);
		if (u == NULL) {
			errf(err, errlen, "NFS server %s export %s: bad URL %s: %s", t->server,
			     t->export, url, nfs_get_error(nb->nfs));
			ret = -EINVAL;
			goto out_free;
		}
		nfs_set_timeout(nb->nfs, (int)(t->timeout_s ? t->timeout_s : 1) * 1000);
		nb->uid = uid >= 0 ? (uid_t)uid : getuid();
		nb->gid = gid >= 0 ? (gid_t)gid : getgid();
		nfs_set_uid(nb->nfs, (int)nb->uid);
		nfs_set_gid(nb->nfs, (int)nb->gid);
		/* FUSE and our callers pass final modes: never apply a second umask */
		nfs_umask(nb->nfs, 0);
		t0 = now_ms();
		ret = mount_with_deadline(nb->nfs, u->server, u->path, (int)(deadline - t0),
					  &nb->mw, &why);
		if (ret == 0)
			break;
		/*
		 * A connection reset at once (libnfs: "Socket failed with POLLHUP"): libnfs binds
		 * a reserved source port counted from the uptime in seconds, so a restarted
		 * process reuses the ports of the previous one, whose connections the server may
		 * still hold (or be closing) and answers the SYN with a reset. A fresh context
		 * gets the next port: retry at once, a few times, within the timeout. A server
		 * that refuses every connection still fails in a few ms.
		 */
		if (ret != -EIO || attempt >= NB_CONNECT_TRIES || now_ms() - t0 > 1000 ||
		    now_ms() >= deadline) {
			log_debug(
				"NFS server %s export %s: connect/MOUNT failed after %d tries: %s "
				"(%s)",
				t->server, t->export, attempt, why ? why : "?", errno_text(-ret));
			connect_error(t, ret, why, err, errlen);
			goto out_free;
		}
		log_info("NFS server %s export %s: connection reset at once (%s): retrying on a "
			 "fresh socket (try %d of %d)",
			 t->server, t->export, why ? why : "?", attempt + 1, NB_CONNECT_TRIES);
		nfs_destroy_url(u);
		u = NULL;
		nfs_destroy_context(nb->nfs);
		free(nb);
		nb = NULL;
		why = NULL;
	}
	nfs_destroy_url(u);
	*out = nb;
	return 0;

out_free:
	if (u != NULL)
		nfs_destroy_url(u);
	if (nb->nfs != NULL)
		nfs_destroy_context(nb->nfs);
	free(nb);
	return ret;
}

static void dirfh_drop(struct nfsb *nb, struct nb_dirfh *e)
{
	/* a handle never written through: nfs_close() only frees it (see nfsb_close) */
	if (e->fh != NULL)
		nfs_close(nb->nfs, e->fh);
	free(e->path);
	memset(e, 0, sizeof(*e));
}

static void dirfh_drop_all(struct nfsb *nb)
{
	for (size_t i = 0; i < NB_DIRFH_SLOTS; i++)
		dirfh_drop(nb, &nb->dirfh[i]);
}

void nfsb_close(struct nfsb *nb)
{
	struct nfsb_file *f;
	int fd;

	if (nb == NULL)
		return;
	dirfh_drop_all(nb);
	/* Orphan the open files: their wrappers stay with their owners (see the header). */
	for (f = nb->files; f != NULL; f = f->next) {
		/*
		 * Only frees the handle: libnfs 4.0's nfs_close() sends a COMMIT (and waits the
		 * whole timeout on a dead server) for a handle written with nfs_pwrite(), but
		 * we never write through its file API (see raw_write), so none is dirty.
		 */
		if (f->fh != NULL)
			nfs_close(nb->nfs, f->fh);
		f->fh = NULL;
		f->owner = NULL;
	}
	if (!nb->poisoned) {
		struct raw_call *c, *next;

		nfs_destroy_context(nb->nfs); /* runs abandoned calls' callbacks (CANCEL) */
		for (c = nb->abandoned; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
		free(nb);
		return;
	}
	/*
	 * Destroying it would run the pending requests' callbacks, which write into the stack
	 * frames of sync calls that returned long ago. Close its socket and keep the rest (a
	 * few KB per connection broken this way, i.e. per server crash or reset).
	 */
	fd = nfs_get_fd(nb->nfs);
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&poisoned_lock);
	nb->next_poisoned = poisoned_list;
	poisoned_list = nb;
	pthread_mutex_unlock(&poisoned_lock);
}

void nfsb_set_identity(struct nfsb *nb, uid_t uid, gid_t gid)
{
	nb->uid = uid;
	nb->gid = gid;
	nfs_set_uid(nb->nfs, (int)uid);
	nfs_set_gid(nb->nfs, (int)gid);
}

bool nfsb_is_broken(const struct nfsb *nb)
{
	return nb->broken;
}

const char *nfsb_last_error(const struct nfsb *nb)
{
	const char *e;

	if (nb->errbuf[0] != '\0')
		return nb->errbuf;
	e = nfs_get_error(nb->nfs);
	return e ? e : "";
}

const struct nfsb_target *nfsb_get_target(const struct nfsb *nb)
{
	return &nb->target;
}

/*
 * Every libnfs result passes here. Transport failures make the context unusable:
 * -EINTR is libnfs's "Command timed out/cancelled" (turned into -ETIMEDOUT, since
 * applications retry EINTR forever), -EIO "nfs_service failed" is a broken socket with
 * autoreconnect=0, -EFAULT an RPC error, -ENOMEM a PDU that could not be queued. A genuine
 * NFS3ERR_IO also maps to -EIO; reconnecting after it costs one MOUNT and is harmless.
 */
static int nb_ret(struct nfsb *nb, int rc)
{
	nb->errbuf[0] = '\0';
	if (rc >= 0)
		return rc;
	switch (rc) {
	case -EINTR:
		nb->broken = true;
		snprintf(nb->errbuf, sizeof(nb->errbuf),
			 "NFS server %s: no answer within NFS_TIMEOUT=%u s", nb->target.server,
			 nb->target.timeout_s);
		return -ETIMEDOUT;
	case -EIO:
	case -EFAULT:
	case -ENOMEM:
	case -EPIPE:
	case -ECONNRESET:
	case -ECONNREFUSED:
	case -ENOTCONN:
	case -ETIMEDOUT:
		nb->broken = true;
		/*
		 * libnfs 4.0's sync wrappers give up on "nfs_service failed" (socket error,
		 * autoreconnect=0) or "Poll failed" with their request still queued; its
		 * callback data was on the wrapper's stack. nfs_destroy_context() would call it.
		 */
		if (nfs_get_error(nb->nfs) != NULL &&
		    (strstr(nfs_get_error(nb->nfs), "nfs_service failed") != NULL ||
		     strstr(nfs_get_error(nb->nfs), "Poll failed") != NULL))
			nb->poisoned = true;
		if (rc == -EFAULT || rc == -ENOMEM)
			return -EIO;
		return rc;
	default:
		return rc;
	}
}

static void stat_from_nfs(struct stat *st, const struct nfs_stat_64 *s)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = (dev_t)s->nfs_dev;
	st->st_ino = (ino_t)s->nfs_ino;
	st->st_mode = (mode_t)s->nfs_mode;
	st->st_nlink = (nlink_t)s->nfs_nlink;
	st->st_uid = (uid_t)s->nfs_uid;
	st->st_gid = (gid_t)s->nfs_gid;
	st->st_rdev = (dev_t)s->nfs_rdev;
	st->st_size = (off_t)s->nfs_size;
	st->st_blksize = (blksize_t)s->nfs_blksize;
	st->st_blocks = (blkcnt_t)((s->nfs_used + 511) / 512);
	st->st_atim.tv_sec = (time_t)s->nfs_atime;
	st->st_atim.tv_nsec = (long)s->nfs_atime_nsec;
	st->st_mtim.tv_sec = (time_t)s->nfs_mtime;
	st->st_mtim.tv_nsec = (long)s->nfs_mtime_nsec;
	st->st_ctim.tv_sec = (time_t)s->nfs_ctime;
	st->st_ctim.tv_nsec = (long)s->nfs_ctime_nsec;
}

static mode_t type_bits(uint32_t type)
{
	switch (type) {
	case NB_NF3REG:
		return S_IFREG;
	case NB_NF3DIR:
		return S_IFDIR;
	case NB_NF3BLK:
		return S_IFBLK;
	case NB_NF3CHR:
		return S_IFCHR;
	case NB_NF3LNK:
		return S_IFLNK;
	case NB_NF3SOCK:
		return S_IFSOCK;
	case NB_NF3FIFO:
		return S_IFIFO;
	default:
		return 0;
	}
}

static void stat_from_dirent(struct stat *st, const struct nfsdirent *d)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = (dev_t)d->dev;
	st->st_ino = (ino_t)d->inode;
	st->st_mode = (mode_t)((d->mode & 07777) | type_bits(d->type));
	st->st_nlink = d->nlink;
	st->st_uid = d->uid;
	st->st_gid = d->gid;
	st->st_rdev = (dev_t)d->rdev;
	st->st_size = (off_t)d->size;
	st->st_blksize = (blksize_t)d->blksize;
	st->st_blocks = (blkcnt_t)((d->used + 511) / 512);
	st->st_atim.tv_sec = d->atime.tv_sec;
	st->st_atim.tv_nsec = d->atime_nsec;
	st->st_mtim.tv_sec = d->mtime.tv_sec;
	st->st_mtim.tv_nsec = d->mtime_nsec;
	st->st_ctim.tv_sec = d->ctime.tv_sec;
	st->st_ctim.tv_nsec = d->ctime_nsec;
}

/* ---- file-system calls ---- */

int nfsb_getattr(struct nfsb *nb, const char *path, struct stat *st)
{
	struct nfs_stat_64 s;
	int ret = nb_ret(nb, nfs_lstat64(nb->nfs, path, &s));

	if (ret == 0)
		stat_from_nfs(st, &s);
	return ret;
}

int nfsb_access(struct nfsb *nb, const char *path, int mask)
{
	return nb_ret(nb, nfs_access(nb->nfs, path, mask));
}

int nfsb_mkdir(struct nfsb *nb, const char *path, mode_t mode)
{
	return nb_ret(nb, nfs_mkdir2(nb->nfs, path, (int)(mode & 07777)));
}

int nfsb_rmdir(struct nfsb *nb, const char *path)
{
	return nb_ret(nb, nfs_rmdir(nb->nfs, path));
}

int nfsb_unlink(struct nfsb *nb, const char *path)
{
	return nb_ret(nb, nfs_unlink(nb->nfs, path));
}

int nfsb_link(struct nfsb *nb, const char *from, const char *to)
{
	return nb_ret(nb, nfs_link(nb->nfs, from, to));
}

int nfsb_symlink(struct nfsb *nb, const char *target, const char *linkpath)
{
	return nb_ret(nb, nfs_symlink(nb->nfs, target, linkpath));
}

int nfsb_readlink(struct nfsb *nb, const char *path, char *buf, size_t size)
{
	char *res = NULL;
	int ret;

	if (size == 0)
		return -EINVAL;
	ret = nb_ret(nb, nfs_readlink2(nb->nfs, path, &res));
	if (ret < 0)
		return ret;
	snprintf(buf, size, "%s", res ? res : "");
	free(res);
	return 0;
}

int nfsb_chmod(struct nfsb *nb, const char *path, mode_t mode)
{
	return nb_ret(nb, nfs_lchmod(nb->nfs, path, (int)(mode & 07777)));
}

int nfsb_chown(struct nfsb *nb, const char *path, uid_t uid, gid_t gid)
{
	/* libnfs leaves an id unchanged when it is passed as -1 (set_it = 0) */
	return nb_ret(nb, nfs_lchown(nb->nfs, path, uid == (uid_t)-1 ? -1 : (int)uid,
				     gid == (gid_t)-1 ? -1 : (int)gid));
}

int nfsb_truncate(struct nfsb *nb, const char *path, off_t size)
{
	if (size < 0)
		return -EINVAL;
	return nb_ret(nb, nfs_truncate(nb->nfs, path, (uint64_t)size));
}

int nfsb_utimens(struct nfsb *nb, const char *path, const struct timespec tv[2])
{
	struct timeval t[2];
	struct stat st;
	struct timespec now;
	int i, ret;

	if (tv == NULL || (tv[0].tv_nsec == UTIME_NOW && tv[1].tv_nsec == UTIME_NOW))
		return nb_ret(nb, nfs_lutimes(nb->nfs, path, NULL)); /* server's time */
	if (tv[0].tv_nsec == UTIME_OMIT && tv[1].tv_nsec == UTIME_OMIT)
		return 0;
	if (tv[0].tv_nsec == UTIME_OMIT || tv[1].tv_nsec == UTIME_OMIT) {
		ret = nfsb_getattr(nb, path, &st);
		if (ret < 0)
			return ret;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < 2; i++) {
		struct timespec ts = tv[i];

		if (ts.tv_nsec == UTIME_OMIT)
			ts = i == 0 ? st.st_atim : st.st_mtim;
		else if (ts.tv_nsec == UTIME_NOW)
			ts = now;
		t[i].tv_sec = ts.tv_sec;
		t[i].tv_usec = ts.tv_nsec / 1000;
	}
	return nb_ret(nb, nfs_lutimes(nb->nfs, path, t));
}

int nfsb_mknod(struct nfsb *nb, const char *path, mode_t mode, dev_t rdev)
{
	return nb_ret(nb, nfs_mknod(nb->nfs, path, (int)mode, (int)rdev));
}

/* ---- raw WRITE and COMMIT (libnfs's RPC layer: it gives us the write verifiers) ---- */

/*
 * libnfs 4.0's file handle as nfs_get_fh() returns it (struct nfs_fh in its private header
 * lib/libnfs-private.h; the public one leaves it opaque).
 */
struct nb_fh {
	int len;
	char *val;
};

static void raw_cb_common(struct raw_call *c, int status, void *data)
{
	c->status = status;
	if (status == RPC_STATUS_ERROR && data != NULL)
		snprintf(c->rpcerr, sizeof(c->rpcerr), "%s", (const char *)data);
	c->done = true;
}

static void raw_write_cb(struct rpc_context *rpc, int status, void *data, void *private_data)
{
	struct raw_call *c = private_data;
	WRITE3res *res = data;

	(void)rpc;
	if (status == RPC_STATUS_SUCCESS) {
		c->nfsstat = (int)res->status;
		if (res->status == NFS3_OK) {
			c->count = res->WRITE3res_u.resok.count;
			c->committed = (int)res->WRITE3res_u.resok.committed;
			memcpy(&c->verf, res->WRITE3res_u.resok.verf, sizeof(c->verf));
		}
	}
	raw_cb_common(c, status, data);
}

static void raw_commit_cb(struct rpc_context *rpc, int status, void *data, void *private_data)
{
	struct raw_call *c = private_data;
	COMMIT3res *res = data;

	(void)rpc;
	if (status == RPC_STATUS_SUCCESS) {
		c->nfsstat = (int)res->status;
		if (res->status == NFS3_OK)
			memcpy(&c->verf, res->COMMIT3res_u.resok.verf, sizeof(c->verf));
	}
	raw_cb_common(c, status, data);
}

/* A transport failure: the connection is dead for good (see the header). */
static int raw_broken(struct nfsb *nb, int ret, const char *op, const char *why)
{
	nb->broken = true;
	if (ret == -ETIMEDOUT)
		snprintf(nb->errbuf, sizeof(nb->errbuf),
			 "NFS server %s: no answer to %s within NFS_TIMEOUT=%u s",
			 nb->target.server, op, nb->target.timeout_s);
	else
		snprintf(nb->errbuf, sizeof(nb->errbuf), "NFS server %s: %s failed: %s",
			 nb->target.server, op, why && *why ? why : "connection lost");
	return ret;
}

/*
 * Wait for c with a deadline of the target's timeout. 0: c succeeded, the caller reads and
 * frees it. -errno (NFS status or transport error): c is consumed, freed or, when libnfs
 * still holds it, kept on nb->abandoned.
 */
static int raw_wait(struct nfsb *nb, struct raw_call *c, const char *op)
{
	int64_t deadline =
		now_ms() + (int64_t)(nb->target.timeout_s ? nb->target.timeout_s : 1) * 1000;
	char why[sizeof(c->rpcerr)];
	int ret = 0;

	while (!c->done) {
		struct pollfd pfd = {.fd = nfs_get_fd(nb->nfs), .events = 0};
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		pfd.events = (short)nfs_which_events(nb->nfs);
		rc = poll(&pfd, pfd.fd >= 0 ? 1 : 0, left > 100 ? 100 : (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0 || nfs_service(nb->nfs, rc > 0 ? pfd.revents : 0) < 0) {
			snprintf(why, sizeof(why), "%s",
				 rc < 0 ? "poll failed" : nfs_get_error(nb->nfs));
			ret = -EIO;
			break;
		}
	}
	if (ret < 0 && !c->done) {
		/* libnfs still holds c: its callback runs in nfs_destroy_context() at the latest */
		c->next = nb->abandoned;
		nb->abandoned = c;
		return raw_broken(nb, ret, op, why);
	}
	if (ret < 0) {
		free(c);
		return raw_broken(nb, ret, op, why);
	}
	switch (c->status) {
	case RPC_STATUS_SUCCESS:
		if (c->nfsstat != NFS3_OK) {
			ret = nfsstat3_to_errno(c->nfsstat);
			snprintf(nb->errbuf, sizeof(nb->errbuf), "NFS server %s: %s: %s",
				 nb->target.server, op, nfsstat3_to_str(c->nfsstat));
			if (ret >= 0)
				ret = -EIO;
			free(c);
		}
		return ret; /* on success the caller reads c's fields and frees it */
	case RPC_STATUS_TIMEOUT:
		free(c);
		return raw_broken(nb, -ETIMEDOUT, op, NULL);
	default:
		snprintf(why, sizeof(why), "%s", c->rpcerr);
		free(c);
		return raw_broken(nb, -EIO, op, why);
	}
}

/*
 * WRITE size bytes at off in chunks of the server's wtmax. *verf: the write verifier of
 * the replies; *mixed: the chunks got different verifiers (the server restarted between
 * them); *stable: the server committed every chunk (FILE_SYNC).
 */
static ssize_t raw_write(struct nfsb *nb, struct nfsb_file *f, const void *buf, size_t size,
			 off_t off, uint64_t *verf, bool *mixed, bool *stable)
{
	const struct nb_fh *fh = (const struct nb_fh *)nfs_get_fh(f->fh);
	uint64_t max = nfs_get_writemax(nb->nfs);
	size_t done = 0;

	if (max == 0 || max > 1024 * 1024)
		max = 1024 * 1024;
	*mixed = false;
	*stable = true;
	*verf = 0;
	nb->errbuf[0] = '\0';
	while (done < size) {
		struct raw_call *c = calloc(1, sizeof(*c));
		WRITE3args a;
		int ret;

		if (c == NULL)
			return -ENOMEM;
		memset(&a, 0, sizeof(a));
		a.file.data.data_len = (u_int)fh->len;
		a.file.data.data_val = fh->val;
		a.offset = (uint64_t)off + done;
		a.count = (count3)(size - done < max ? size - done : max);
		a.stable = f->sync ? FILE_SYNC : UNSTABLE;
		a.data.data_len = a.count;
		a.data.data_val = (char *)buf + done;
		if (rpc_nfs3_write_async(nfs_get_rpc_context(nb->nfs), raw_write_cb, &a, c) != 0) {
			free(c);
			return raw_broken(nb, -EIO, "WRITE", nfs_get_error(nb->nfs));
		}
		ret = raw_wait(nb, c, "WRITE");
		if (ret < 0)
			return ret; /* c consumed */
		if (c->count == 0 || c->count > a.count) {
			free(c);
			snprintf(nb->errbuf, sizeof(nb->errbuf),
				 "NFS server %s: WRITE made no progress", nb->target.server);
			return -EIO;
		}
		if (done == 0)
			*verf = c->verf;
		else if (c->verf != *verf)
			*mixed = true;
		if (c->committed != FILE_SYNC)
			*stable = false;
		done += c->count;
		free(c);
	}
	return (ssize_t)done;
}

int nfsb_file_commit(struct nfsb *nb, struct nfsb_file *f, uint64_t *verf)
{
	const struct nb_fh *fh;
	struct raw_call *c;
	COMMIT3args a;
	int ret;

	if (f->fh == NULL || f->owner != nb)
		return -EBADF;
	nb->errbuf[0] = '\0';
	fh = (const struct nb_fh *)nfs_get_fh(f->fh);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	memset(&a, 0, sizeof(a));
	a.file.data.data_len = (u_int)fh->len;
	a.file.data.data_val = fh->val;
	a.offset = 0;
	a.count = 0; /* the whole file */
	if (rpc_nfs3_commit_async(nfs_get_rpc_context(nb->nfs), raw_commit_cb, &a, c) != 0) {
		free(c);
		return raw_broken(nb, -EIO, "COMMIT", nfs_get_error(nb->nfs));
	}
	ret = raw_wait(nb, c, "COMMIT");
	if (ret < 0)
		return ret; /* c consumed */
	*verf = c->verf;
	free(c);
	return 0;
}

ssize_t nfsb_file_pwrite_verf(struct nfsb *nb, struct nfsb_file *f, const void *buf, size_t size,
			      off_t off, uint64_t *verf, bool *stable)
{
	int i;

	if (f->fh == NULL || f->owner != nb)
		return -EBADF;
	for (i = 0; i < 3; i++) {
		bool mixed;
		ssize_t n = raw_write(nb, f, buf, size, off, verf, &mixed, stable);

		/* the server restarted between two chunks: write it all again under one verifier */
		if (n < 0 || !mixed)
			return n;
	}
	snprintf(nb->errbuf, sizeof(nb->errbuf), "NFS server %s: write verifier keeps changing",
		 nb->target.server);
	return -EIO;
}

int nfsb_file_open(struct nfsb *nb, const char *path, int flags, mode_t mode,
		   struct nfsb_file **out)
{
	struct nfsb_file *f;
	struct nfsfh *fh = NULL;
	int ret;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	/* Keep only what libnfs understands; O_APPEND is left to the caller's offsets. */
	flags &= O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_SYNC | O_NOFOLLOW;
	if (flags & O_CREAT)
		ret = nfs_create(nb->nfs, path, flags & ~O_CREAT, (int)(mode & 07777), &fh);
	else
		ret = nfs_open(nb->nfs, path, flags, &fh);
	ret = nb_ret(nb, ret);
	if (ret < 0) {
		free(f);
		return ret;
	}
	f->fh = fh;
	f->owner = nb;
	f->sync = (flags & O_SYNC) == O_SYNC;
	f->next = nb->files;
	if (nb->files != NULL)
		nb->files->prev = f;
	nb->files = f;
	*out = f;
	return 0;
}

void nfsb_file_close(struct nfsb *nb, struct nfsb_file *f)
{
	if (f == NULL)
		return;
	if (f->owner != NULL) {
		/* f->owner == nb by contract; use the owner in case a caller mixed them up */
		struct nfsb *o = f->owner;

		(void)nb;
		if (f->fh != NULL)
			nfs_close(o->nfs, f->fh);
		if (f->prev != NULL)
			f->prev->next = f->next;
		else
			o->files = f->next;
		if (f->next != NULL)
			f->next->prev = f->prev;
	}
	free(f);
}

ssize_t nfsb_file_pread(struct nfsb *nb, struct nfsb_file *f, void *buf, size_t size, off_t off)
{
	if (f->fh == NULL || f->owner != nb)
		return -EBADF;
	/* libnfs 4.0 argument order: (nfs, fh, offset, count, buf) */
	return nb_ret(nb, nfs_pread(nb->nfs, f->fh, (uint64_t)off, size, buf));
}

ssize_t nfsb_file_pwrite(struct nfsb *nb, struct nfsb_file *f, const void *buf, size_t size,
			 off_t off)
{
	uint64_t verf;
	bool stable;
	ssize_t n = nfsb_file_pwrite_verf(nb, f, buf, size, off, &verf, &stable);

	if (n > 0 && !stable) {
		if (!f->wrote)
			f->verf = verf;
		else if (verf != f->verf)
			f->verf_mixed = true;
		f->wrote = true;
	}
	return n;
}

int nfsb_file_fsync(struct nfsb *nb, struct nfsb_file *f)
{
	uint64_t verf;
	bool lost;
	int ret = nfsb_file_commit(nb, f, &verf);

	if (ret < 0)
		return ret;
	lost = f->wrote && (f->verf_mixed || verf != f->verf);
	f->wrote = false;
	f->verf_mixed = false;
	if (lost) {
		snprintf(nb->errbuf, sizeof(nb->errbuf),
			 "NFS server %s restarted before the data written was committed (write "
			 "verifier changed): it may be lost, write it again",
			 nb->target.server);
		return -EIO;
	}
	return 0;
}

int nfsb_file_truncate(struct nfsb *nb, struct nfsb_file *f, off_t size)
{
	if (f->fh == NULL || f->owner != nb)
		return -EBADF;
	if (size < 0)
		return -EINVAL;
	return nb_ret(nb, nfs_ftruncate(nb->nfs, f->fh, (uint64_t)size));
}

int nfsb_file_getattr(struct nfsb *nb, struct nfsb_file *f, struct stat *st)
{
	struct nfs_stat_64 s;
	int ret;

	if (f->fh == NULL || f->owner != nb)
		return -EBADF;
	ret = nb_ret(nb, nfs_fstat64(nb->nfs, f->fh, &s));
	if (ret == 0)
		stat_from_nfs(st, &s);
	return ret;
}

/* ---- lstat by one LOOKUP in a kept directory handle ---- */

static void raw_lookup_cb(struct rpc_context *rpc, int status, void *data, void *private_data)
{
	struct raw_call *c = private_data;
	LOOKUP3res *res = data;

	(void)rpc;
	if (status == RPC_STATUS_SUCCESS) {
		c->nfsstat = (int)res->status;
		if (res->status == NFS3_OK &&
		    res->LOOKUP3res_u.resok.obj_attributes.attributes_follow) {
			c->attr = res->LOOKUP3res_u.resok.obj_attributes.post_op_attr_u.attributes;
			c->have_attr = true;
		}
	}
	raw_cb_common(c, status, data);
}

/* What libnfs's stat64 makes of a GETATTR's attributes, from a LOOKUP's. */
static void stat_from_fattr3(struct stat *st, const fattr3 *a)
{
	struct nfs_stat_64 s;

	memset(&s, 0, sizeof(s));
	s.nfs_dev = a->fsid;
	s.nfs_ino = a->fileid;
	s.nfs_mode = a->mode | type_bits((uint32_t)a->type);
	s.nfs_nlink = a->nlink;
	s.nfs_uid = a->uid;
	s.nfs_gid = a->gid;
	s.nfs_rdev = makedev(a->rdev.specdata1, a->rdev.specdata2);
	s.nfs_size = a->size;
	s.nfs_blksize = NFS_BLKSIZE;
	s.nfs_used = a->used;
	s.nfs_atime = a->atime.seconds;
	s.nfs_atime_nsec = a->atime.nseconds;
	s.nfs_mtime = a->mtime.seconds;
	s.nfs_mtime_nsec = a->mtime.nseconds;
	s.nfs_ctime = a->ctime.seconds;
	s.nfs_ctime_nsec = a->ctime.nseconds;
	stat_from_nfs(st, &s);
}

/* The kept handle of directory dir (dlen bytes), walked to anew when too old. */
static int dirfh_get(struct nfsb *nb, const char *dir, size_t dlen, struct nb_dirfh **out)
{
	int64_t now = now_ms();
	struct nb_dirfh *e, *victim = NULL;
	struct nfsfh *fh = NULL;
	char *path;
	int ret;

	/* the slot of dir if it has one, else an empty one, else the oldest */
	for (size_t i = 0; i < NB_DIRFH_SLOTS; i++) {
		e = &nb->dirfh[i];
		if (e->path != NULL && strlen(e->path) == dlen && memcmp(e->path, dir, dlen) == 0) {
			if (now - e->at_ms < NB_DIRFH_TTL_MS && e->uid == nb->uid &&
			    e->gid == nb->gid) {
				*out = e;
				return 0;
			}
			victim = e;
			break;
		}
		if (victim == NULL ||
		    (victim->path != NULL && (e->path == NULL || e->at_ms < victim->at_ms)))
			victim = e;
	}
	dirfh_drop(nb, victim);
	path = strndup(dir, dlen);
	if (path == NULL)
		return -ENOMEM;
	ret = nb_ret(nb, nfs_open(nb->nfs, path, O_RDONLY, &fh));
	if (ret < 0) {
		free(path);
		return ret;
	}
	victim->path = path;
	victim->fh = fh;
	victim->at_ms = now;
	victim->uid = nb->uid;
	victim->gid = nb->gid;
	*out = victim;
	return 0;
}

int nfsb_lookup_attr(struct nfsb *nb, const char *path, struct stat *st)
{
	const char *slash = strrchr(path, '/');
	const struct nb_fh *dfh;
	struct nb_dirfh *e;
	struct raw_call *c;
	LOOKUP3args a;
	int ret;

	/* the root, or a name in no directory: the path walk is as short */
	if (slash == NULL || slash[1] == '\0')
		return nfsb_getattr(nb, path, st);
	ret = dirfh_get(nb, path, slash == path ? 1 : (size_t)(slash - path), &e);
	/*
	 * nfs_open() also wants read permission on the directory, a lookup only search
	 * permission (a 0711 directory): the walk decides. It also says what went wrong.
	 */
	if (ret < 0 && !nb->broken)
		return nfsb_getattr(nb, path, st);
	if (ret < 0)
		return ret;
	dfh = (const struct nb_fh *)nfs_get_fh(e->fh);
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	memset(&a, 0, sizeof(a));
	a.what.dir.data.data_len = (u_int)dfh->len;
	a.what.dir.data.data_val = dfh->val;
	a.what.name = (char *)slash + 1;
	nb->errbuf[0] = '\0';
	if (rpc_nfs3_lookup_async(nfs_get_rpc_context(nb->nfs), raw_lookup_cb, &a, c) != 0) {
		free(c);
		return raw_broken(nb, -EIO, "LOOKUP", nfs_get_error(nb->nfs));
	}
	ret = raw_wait(nb, c, "LOOKUP");
	if (ret == -ESTALE) {
		/* the directory went (another node removed it): walk the path anew */
		dirfh_drop(nb, e);
		return nfsb_getattr(nb, path, st);
	}
	if (ret < 0)
		return ret; /* c consumed */
	if (!c->have_attr) {
		free(c);
		return nfsb_getattr(nb, path, st);
	}
	stat_from_fattr3(st, &c->attr);
	free(c);
	return 0;
}

/* ---- calls with a message for users (err), used by both planes ---- */

/* Refuse ".." components: paths built from volume names must stay inside the export. */
static bool path_ok(const char *path)
{
	return path_normalize(path, 0, NULL, NULL, 0) == PATH_OK;
}

int nfsb_error(struct nfsb *nb, int ret, const char *op, const char *path, char *err, size_t errlen)
{
	errf(err, errlen, "NFS server %s export %s: %s %s: %s (%s)", nb->target.server,
	     nb->target.export, op, path, errno_text(-ret), nfsb_last_error(nb));
	return ret;
}

int nfsb_check_path(struct nfsb *nb, const char *path, char *err, size_t errlen)
{
	if (path_ok(path))
		return 0;
	errf(err, errlen, "NFS server %s export %s: path %s: \"..\" is not allowed",
	     nb->target.server, nb->target.export, path);
	return -EINVAL;
}

int nfsb_list_dir(struct nfsb *nb, const char *path, nfsb_dir_fn fn, void *arg, char *err,
		  size_t errlen)
{
	struct nfsdir *dir = NULL;
	struct nfsdirent *d;
	struct stat st;
	int ret;

	ret = nfsb_check_path(nb, path, err, errlen);
	if (ret < 0)
		return ret;
	ret = nb_ret(nb, nfs_opendir(nb->nfs, path, &dir));
	if (ret < 0)
		return nfsb_error(nb, ret, "opendir", path, err, errlen);
	while ((d = nfs_readdir(nb->nfs, dir)) != NULL) {
		if (strcmp(d->name, ".") == 0 || strcmp(d->name, "..") == 0)
			continue;
		stat_from_dirent(&st, d);
		ret = fn(d->name, &st, arg);
		if (ret != 0)
			break;
	}
	nfs_closedir(nb->nfs, dir);
	return ret;
}

int nfsb_statvfs(struct nfsb *nb, const char *path, struct statvfs *out, char *err, size_t errlen)
{
	struct nfs_statvfs_64 s;
	int ret;

	ret = nb_ret(nb, nfs_statvfs64(nb->nfs, path, &s));
	if (ret < 0)
		return nfsb_error(nb, ret, "statvfs", path, err, errlen);
	memset(out, 0, sizeof(*out));
	out->f_bsize = (unsigned long)s.f_bsize;
	out->f_frsize = (unsigned long)s.f_frsize;
	out->f_blocks = (fsblkcnt_t)s.f_blocks;
	out->f_bfree = (fsblkcnt_t)s.f_bfree;
	out->f_bavail = (fsblkcnt_t)s.f_bavail;
	out->f_files = (fsfilcnt_t)s.f_files;
	out->f_ffree = (fsfilcnt_t)s.f_ffree;
	out->f_favail = (fsfilcnt_t)s.f_favail;
	out->f_fsid = (unsigned long)s.f_fsid;
	out->f_flag = (unsigned long)s.f_flag;
	out->f_namemax = (unsigned long)s.f_namemax;
	return 0;
}

int nfsb_rename(struct nfsb *nb, const char *from, const char *to, char *err, size_t errlen)
{
	int ret;

	if (!path_ok(from) || !path_ok(to))
		return nfsb_check_path(nb, path_ok(from) ? to : from, err, errlen);
	ret = nb_ret(nb, nfs_rename(nb->nfs, from, to));
	if (ret < 0)
		return nfsb_error(nb, ret, "rename", from, err, errlen);
	return 0;
}

int nfsb_probe(const struct nfsb_target *t, int uid, int gid, char *err, size_t errlen)
{
	struct nfsb *nb = NULL;
	struct stat st;
	int ret;

	ret = nfsb_connect(t, uid, gid, &nb, err, errlen);
	if (ret < 0)
		return ret;
	ret = nfsb_getattr(nb, "/", &st);
	if (ret < 0)
		nfsb_error(nb, ret, "stat", "/", err, errlen);
	nfsb_close(nb);
	return ret;
}
