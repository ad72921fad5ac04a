/* SPDX-License-Identifier: MIT */
/*
 * nfs_files: the control plane's file helpers over an nfs_backend connection (the volume
 * catalogue, Create, Remove and Status; the IPAM plugin's shared host-network documents).
 * Paths, threads and errors as in nfs_backend.h: relative to the export root, one struct
 * nfsb per thread at a time, 0 or -errno with a message for users in err (may be NULL).
 * Every path with a ".." component is refused with -EINVAL.
 */
#ifndef SHARED_NFS_FILES_H
#define SHARED_NFS_FILES_H

#include "nfs_backend.h"

/* stat (follows no symlink: lstat semantics). -ENOENT if missing. */
int nfsb_stat(struct nfsb *nb, const char *path, struct stat *st, char *err, size_t errlen);

/* 1 if path exists, 0 if it does not, -errno on other errors. */
int nfsb_exists(struct nfsb *nb, const char *path, char *err, size_t errlen);

/*
 * mkdir -p: create every missing component of path. Only the directories this call creates
 * get `mode` (exact, umask not applied) and, when uid/gid >= 0, that owner (a CHOWN as the
 * current identity: needs root without root_squash or the server's consent). An existing
 * final directory is left as it is (adopted). -ENOTDIR if a component is not a directory.
 */
int nfsb_mkdir_p(struct nfsb *nb, const char *path, mode_t mode, int uid, int gid, char *err,
		 size_t errlen);

/* Read the whole file at path into a new NUL-terminated buffer (*buf, caller free()s),
 * *len = bytes without the NUL. -EFBIG if it is larger than maxlen. */
int nfsb_read_file(struct nfsb *nb, const char *path, size_t maxlen, char **buf, size_t *len,
		   char *err, size_t errlen);

/* Replace path atomically: write "<dir>/.<name>.tmp.<pid>.<n>.<random>" (unique across
 * nodes) with mode, fsync (COMMIT), rename over path. Readers on any node see the old or the
 * new content, never a part. Concurrent writers: the last rename wins. */
int nfsb_write_file_atomic(struct nfsb *nb, const char *path, const void *buf, size_t len,
			   mode_t mode, char *err, size_t errlen);

/* rm -rf path (files, symlinks, directories; never follows symlinks). Missing: 0.
 * Refuses the export root ("/" or "") with -EINVAL. */
int nfsb_remove_tree(struct nfsb *nb, const char *path, char *err, size_t errlen);

/* ---- identity guards: decide by what the server says the objects are ----
 *
 * Two spellings can name one directory (export=/srv + subdir=mpf is export=/srv/mpf's
 * root), and libnfs follows symlinks in every component of a path but the last. These
 * helpers identify objects by fsid + fileid (GETATTR) and walk one component at a time,
 * refusing symlinks, so guards hold whatever the spelling. Paths are relative to the
 * export root as elsewhere. A rename racing a walk is caught by re-walking before each
 * directory is changed; the window between that check and the call remains (NFSv3 via
 * libnfs' path API has no handle-relative calls).
 */
struct nfsb_id {
	uint64_t fsid;
	uint64_t fileid;
};

static inline bool nfsb_id_eq(const struct nfsb_id *a, const struct nfsb_id *b)
{
	return a->fsid == b->fsid && a->fileid == b->fileid;
}

/*
 * Walk path from the export root one component at a time (lstat of each prefix): every
 * component must be a directory, not a symlink (-ELOOP) or anything else (-ENOTDIR), with
 * err naming it. ids (nmax entries, may be NULL) gets the identities from the export root
 * (ids[0]) down to path's last component; *n their count. -ENOENT if a component is
 * missing; -ENAMETOOLONG if the chain has more than nmax entries.
 */
int nfsb_walk_dir(struct nfsb *nb, const char *path, struct nfsb_id *ids, size_t nmax, size_t *n,
		  char *err, size_t errlen);

/*
 * rm -rf path that never leaves its tree: path is walked with nfsb_walk_dir; then a first
 * pass (nothing removed yet) refuses with -EBUSY if any directory in the tree, the root
 * included, is one of keep[] (another volume's directory, the catalogue, an export root),
 * err naming the path; nothing on another file system (fsid) is entered (-EXDEV), no
 * symlink is followed, and before each directory is listed or removed the chain of
 * directories from the root down to it is re-walked and must be the same objects (else
 * -ESTALE). Missing path: 0. The export root itself: -EINVAL.
 */
int nfsb_remove_tree_guarded(struct nfsb *nb, const char *path, const struct nfsb_id *keep,
			     size_t nkeep, char *err, size_t errlen);

#endif
