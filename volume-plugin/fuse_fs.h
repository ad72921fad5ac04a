/* SPDX-License-Identifier: MIT */
/*
 * fuse_fs: the data path of a volume. One FUSE file system (libfuse3, high-level API) per
 * mounted volume, serving one directory of an NFS export through nfs_backend. This module is
 * the only one that includes fuse.h.
 *
 * Each mount runs its own FUSE session loop (multi-threaded) in threads it owns and a small
 * pool of NFS connections, so one slow NFS call never stalls the other requests. Requests
 * reach the server with the calling process's uid/gid, or with the volume's fixed uid/gid
 * (see struct volfs_opts). When the server dies or goes silent, every file operation fails
 * with EIO/ETIMEDOUT within the target's timeout instead of hanging (for 1 s after such an
 * error, at once), whatever number of written files are open; when it returns, the same
 * mount works again (connections are re-made, open files re-opened by path). Caches:
 * attributes and entries 1 s, no negative entries, page cache dropped on every open (other
 * nodes write the same files). Data is sent to the server before write() returns (UNSTABLE
 * WRITE); fsync() and close() of a written file make it durable (COMMIT). Until then each
 * open file keeps a copy of its writes and the server's write verifier, and writes them
 * again if a COMMIT shows the server restarted; fsync()/close() return 0 only once the
 * server holds every byte written through that file on stable storage. O_APPEND writes go
 * to the server's current size (GETATTR first; no atomicity across nodes).
 *
 * Needs root (/dev/fuse is 0600 on the rig; allow_other is free for root).
 */
#ifndef VOLUME_FUSE_FS_H
#define VOLUME_FUSE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nfs_backend.h"

struct volfs; /* one mounted volume, opaque */

struct volfs_opts {
	/*
	 * Fixed identity, or -1 for "the caller's" (fuse_get_context()). When uid is fixed,
	 * every request uses it. When only the caller is used (uid == -1), requests carry the
	 * caller's ids as they are (root is then squashed by a root_squash server).
	 * This includes root (uid 0): that is how Docker's copy of image data (done as root)
	 * lands in a fresh volume under root_squash. On such a volume root's chown to other
	 * ids is accepted and ignored (files stay the fixed owner's; Docker's copy-up chowns
	 * to the image's owners and would fail otherwise). Same for gid. Supplementary groups
	 * are not sent (our AUTH_SYS credentials carry uid and gid only).
	 */
	int uid;
	int gid;
	bool readonly;		/* mount read-only (ro); writes get EROFS from the kernel */
	bool allow_other;	/* let every uid use the mount (containers need it) */
	unsigned int pool_size; /* NFS connections per volume; 0 = default (4), max 16 */
	const char *fsname;	/* shown in /proc/mounts as source, may be NULL ("nfsvol") */
};

/*
 * Mount a FUSE file system at mountpoint (an existing, empty directory; see
 * volfs_clean_mountpoint) serving `subdir` of the export (relative to the export root,
 * "" or "/" = the root; it must exist and be a directory). Connects once first, so a dead
 * server, a missing subdir or a refused export fails here within about max(3 s, timeout)
 * with a message naming server, export and subdir in err. On success *out is a running
 * mount; free it with volfs_unmount(). The target and opts are copied.
 * Returns 0 or -errno.
 */
int volfs_mount(const char *mountpoint, const struct nfsb_target *target, const char *subdir,
		const struct volfs_opts *opts, struct volfs **out, char *err, size_t errlen);

/*
 * Detach the mount (MNT_DETACH: never blocks on a container still holding files), stop the
 * session, join its threads, abort the FUSE connection (whoever still holds files gets
 * ENOTCONN, never a hang), close every NFS connection and free v. NULL-safe. Waits at most
 * about timeout + 4 s (a request in progress finishes first). Returns 0; -errno if the
 * kernel unmount failed (v is freed anyway); -EBUSY if the session did not stop (then v is
 * left running and leaked rather than freed under its threads).
 */
int volfs_unmount(struct volfs *v);

/* True while the session threads run and the kernel mount is in place (not torn down by
 * an external umount / fusermount -u). Never blocks on NFS. */
bool volfs_is_alive(const struct volfs *v);

/* What the mount knows about its server, without asking it (never blocks on NFS). */
struct volfs_status {
	bool reachable;		  /* last NFS call or connect succeeded */
	time_t last_ok;		  /* time of the last successful NFS call, 0 = never */
	time_t last_error;	  /* time of the last transport error, 0 = never */
	char last_error_msg[256]; /* its text, "" if none */
	uint64_t reconnects;	  /* connections re-made after errors */
};
void volfs_get_status(const struct volfs *v, struct volfs_status *st);

/*
 * Prepare a mountpoint before mounting: if something is mounted there (e.g. a FUSE mount
 * left by a crashed previous plugin process, which answers ENOTCONN), detach it
 * (umount2 MNT_DETACH); then mkdir -p the directory (mode 0755). Returns 0 or -errno with a
 * message in err. Call it for every mountpoint at start before re-mounting.
 */
int volfs_clean_mountpoint(const char *mountpoint, char *err, size_t errlen);

#endif
