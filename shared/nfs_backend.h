/* SPDX-License-Identifier: MIT */
/*
 * nfs_backend: every NFS call of both plugins (the volume plugin's data and catalogue, the
 * IPAM plugin's shared host-network documents), over libnfs 4.0 (NFSv3, user space).
 * This module is the only one that includes libnfs; everything else sees a struct nfsb
 * (one libnfs context = one TCP connection + one MOUNT of the export) and plain POSIX types
 * (struct stat, struct statvfs, -errno).
 *
 * Connections always fail fast: the URL carries autoreconnect=0 and tcp-syncnt=1 and the
 * context gets nfs_set_timeout(timeout_s), so a dead or silent server gives an error within
 * about timeout_s (connect: ~3 s) instead of blocking (see docs/nfs.md 3).
 * After a transport error (timeout, broken connection) the connection is dead for good:
 * nfsb_is_broken() turns true, and the owner must nfsb_close() it and connect again.
 *
 * The control plane's file helpers (mkdir -p, whole-file read and atomic replace, rm -rf,
 * guarded walks) are built on this API in nfs_files.h.
 *
 * Paths: every path is relative to the export root and may start with '/' ("/" or "" is the
 * export root itself). The calls with a message buffer (err) refuse a path with a ".."
 * component with -EINVAL; the file-system calls pass paths through (FUSE hands us
 * normalised paths).
 *
 * Threads: a struct nfsb is NOT thread-safe (libnfs 4.0 has no locking). Use one from one
 * thread at a time; different struct nfsb may be used concurrently.
 *
 * Errors: every int function returns 0 (or a byte count where stated) or -errno. Functions
 * with (err, errlen) also write a one-line message for users into err, naming server and
 * export, e.g. "NFS server 10.0.0.5 export /srv/nfs: mount failed: ...". err may be NULL.
 */
#ifndef SHARED_NFS_BACKEND_H
#define SHARED_NFS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#define NFSB_SERVER_MAX 256
#define NFSB_EXPORT_MAX 1024

/* Where to connect. A plain value type: copy it freely. */
struct nfsb_target {
	char server[NFSB_SERVER_MAX]; /* host name or address */
	char export[NFSB_EXPORT_MAX]; /* export path, e.g. "/export" */
	unsigned int nfs_port;	      /* 0 = ask the portmapper */
	unsigned int mount_port;      /* 0 = ask the portmapper */
	int version;		      /* 3 (4 is refused, see nfsb_version_supported) */
	unsigned int timeout_s;	      /* per-call timeout, whole seconds, >= 1 */
};

struct nfsb;	  /* one connection (libnfs context), opaque */
struct nfsb_file; /* an open file on one struct nfsb, opaque */

/*
 * Whether this build of libnfs can serve NFS version `version` (read AND write). 3: yes.
 * 4: no with libnfs < 5 (Debian 12's 4.0.0 fails every WRITE over ~4 KB); err then says so
 * and what is accepted. Returns 0 or -EPROTONOSUPPORT (-EINVAL for other numbers).
 */
int nfsb_version_supported(int version, char *err, size_t errlen);

/* The libnfs URL for a target, for messages and logs ("nfs://srv/export?nfsport=..."). */
int nfsb_target_url(const struct nfsb_target *t, char *buf, size_t buflen);

/*
 * Connect and mount t->export, sending AUTH_SYS with uid/gid (a value < 0 means our own
 * getuid()/getgid()). Fails fast on a dead server: about 3 s for a silent one (one SYN
 * retry), at once for a refusing one; the MOUNT and later calls are bounded by
 * t->timeout_s. On success *out is a new connection the caller frees with nfsb_close().
 * Returns 0, -EPROTONOSUPPORT (version), -ETIMEDOUT, -EIO, -EACCES (export refused), ...
 */
int nfsb_connect(const struct nfsb_target *t, int uid, int gid, struct nfsb **out, char *err,
		 size_t errlen);

/* Close a connection (NULL-safe). Files still open on it are closed and become orphans:
 * their struct nfsb_file stays with its owner, I/O on it returns -EBADF, and
 * nfsb_file_close() (with any nb, or NULL) just frees it. */
void nfsb_close(struct nfsb *nb);

/* Identity (AUTH_SYS uid/gid) for the calls that follow on this connection. Cheap: each
 * request takes the credentials current when it is queued (docs/nfs.md 2.4). */
void nfsb_set_identity(struct nfsb *nb, uid_t uid, gid_t gid);

/* True once a transport error (timeout, connection lost) has made this connection unusable:
 * close it and connect again. NFS status errors (ENOENT, EACCES, ...) don't break it. */
bool nfsb_is_broken(const struct nfsb *nb);

/* Last libnfs error text of this connection (borrowed, valid until the next call on nb). */
const char *nfsb_last_error(const struct nfsb *nb);

/* The target this connection was made for (borrowed, lives as long as nb). */
const struct nfsb_target *nfsb_get_target(const struct nfsb *nb);

/*
 * Probe: connect (as uid/gid, < 0 = ours), GETATTR the export root, close. 0 if the server
 * answers within the bounds of nfsb_connect, else -errno with a message in err. Blocks up to
 * ~max(3 s, timeout_s): never call it from a path that must answer at once (Get/List).
 */
int nfsb_probe(const struct nfsb_target *t, int uid, int gid, char *err, size_t errlen);

/* ---- calls with a message for users (err may be NULL): both planes use them ---- */

/*
 * The message of a failed call, the one every helper gives: "NFS server S export E: OP
 * PATH: <errno text> (<libnfs text>)" into err (NULL-safe). Returns ret, so that
 * `return nfsb_error(nb, ret, "stat", path, err, errlen);` reads as one step.
 */
int nfsb_error(struct nfsb *nb, int ret, const char *op, const char *path, char *err,
	       size_t errlen);

/* 0 if path has no ".." component; else -EINVAL, err naming server, export and path. */
int nfsb_check_path(struct nfsb *nb, const char *path, char *err, size_t errlen);

/*
 * List a directory: call fn(name, st, arg) for every entry except "." and ".." (st holds
 * the READDIRPLUS attributes, lstat-like). A non-zero return from fn stops the walk and is
 * returned. Order is the server's.
 */
typedef int (*nfsb_dir_fn)(const char *name, const struct stat *st, void *arg);
int nfsb_list_dir(struct nfsb *nb, const char *path, nfsb_dir_fn fn, void *arg, char *err,
		  size_t errlen);

/* Capacity and use of the file system holding path (FSSTAT). */
int nfsb_statvfs(struct nfsb *nb, const char *path, struct statvfs *out, char *err, size_t errlen);

/* rename(2) on the export; replaces `to` if it exists. */
int nfsb_rename(struct nfsb *nb, const char *from, const char *to, char *err, size_t errlen);

/* ---- file-system calls (used by fuse_fs.c; no message buffer, see nfsb_last_error) ---- */

int nfsb_getattr(struct nfsb *nb, const char *path, struct stat *st); /* lstat */
int nfsb_access(struct nfsb *nb, const char *path, int mask);	      /* access(2) */
int nfsb_mkdir(struct nfsb *nb, const char *path, mode_t mode);
int nfsb_rmdir(struct nfsb *nb, const char *path);
int nfsb_unlink(struct nfsb *nb, const char *path);
int nfsb_link(struct nfsb *nb, const char *from, const char *to);
int nfsb_symlink(struct nfsb *nb, const char *target, const char *linkpath);
/* readlink into buf (size bytes incl. NUL; truncated like FUSE expects). */
int nfsb_readlink(struct nfsb *nb, const char *path, char *buf, size_t size);
int nfsb_chmod(struct nfsb *nb, const char *path, mode_t mode);
/* lchown; uid/gid (uid_t)-1 / (gid_t)-1 leave that id unchanged. */
int nfsb_chown(struct nfsb *nb, const char *path, uid_t uid, gid_t gid);
int nfsb_truncate(struct nfsb *nb, const char *path, off_t size);
/* utimensat semantics incl. UTIME_NOW / UTIME_OMIT (tv may be NULL = both now); lutimes. */
int nfsb_utimens(struct nfsb *nb, const char *path, const struct timespec tv[2]);
int nfsb_mknod(struct nfsb *nb, const char *path, mode_t mode, dev_t rdev);
/*
 * lstat as nfsb_getattr, but by one LOOKUP of the last component in its directory's
 * handle, which the connection keeps (a few directories) for up to 1 s and per identity,
 * instead of a LOOKUP per component plus a GETATTR. Within that second a directory that
 * another node renamed away still answers for its old path, as the kernel's entry cache
 * (FUSE entry_timeout, 1 s) does anyway; one that was removed (ESTALE) is walked to anew.
 * For lookups only: nothing is changed through a kept handle.
 */
int nfsb_lookup_attr(struct nfsb *nb, const char *path, struct stat *st);

/*
 * Open path with open(2) flags (O_CREAT with mode creates, O_EXCL and O_TRUNC honoured;
 * O_APPEND is handled by the caller's offsets). *out belongs to nb: use it only on nb and
 * free it with nfsb_file_close() on nb before nfsb_close(nb).
 */
int nfsb_file_open(struct nfsb *nb, const char *path, int flags, mode_t mode,
		   struct nfsb_file **out);
/* Free the handle (NFSv3 has no CLOSE, and no COMMIT is sent: no network traffic, never
 * waits; uncommitted data stays unstable). NULL-safe; nb is the connection
 * the file was opened on, or anything (even NULL) for an orphan (see nfsb_close). */
void nfsb_file_close(struct nfsb *nb, struct nfsb_file *f);
/* pread/pwrite of any size (cut at the server's rtmax/wtmax, 1 MiB on ganesha).
 * Return bytes done or -errno. Writes are UNSTABLE (FILE_SYNC for a file opened O_SYNC). */
ssize_t nfsb_file_pread(struct nfsb *nb, struct nfsb_file *f, void *buf, size_t size, off_t off);
ssize_t nfsb_file_pwrite(struct nfsb *nb, struct nfsb_file *f, const void *buf, size_t size,
			 off_t off);
/*
 * COMMIT, checked: 0 only if the server's write verifier is the one of every
 * nfsb_file_pwrite() on f since the last nfsb_file_fsync(); -EIO if it changed (the server
 * restarted and may have lost that data: write it again).
 */
int nfsb_file_fsync(struct nfsb *nb, struct nfsb_file *f);

/*
 * For callers that keep uncommitted data themselves to resend it (RFC 1813 WRITE/COMMIT):
 * pwrite returning the write verifier of the reply (*verf; one value even across chunks,
 * the write is redone if the server restarts in between) and *stable = true when the
 * server already committed it (FILE_SYNC); commit returning the COMMIT's verifier. Data is
 * durable once a COMMIT's verifier equals the verifier of its WRITE. Neither waits longer
 * than the target's timeout; nothing on f is remembered (nfsb_file_fsync's check ignores
 * these writes).
 */
ssize_t nfsb_file_pwrite_verf(struct nfsb *nb, struct nfsb_file *f, const void *buf, size_t size,
			      off_t off, uint64_t *verf, bool *stable);
int nfsb_file_commit(struct nfsb *nb, struct nfsb_file *f, uint64_t *verf);
int nfsb_file_truncate(struct nfsb *nb, struct nfsb_file *f, off_t size);
int nfsb_file_getattr(struct nfsb *nb, struct nfsb_file *f, struct stat *st);

#endif
