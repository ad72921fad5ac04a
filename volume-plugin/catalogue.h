/* SPDX-License-Identifier: MIT */
/*
 * catalogue: volume definitions stored on the NFS export itself, one JSON file per volume
 * at "<CATALOGUE_DIR>/<name>.json" under the catalogue's export root (NFS_SERVER +
 * NFS_EXPORT), so every node's plugin lists, inspects and mounts the same volumes, and a
 * node that never ran Create mounts the right directory.
 *
 * The file format is in catalogue_codec.h. The functions here work on a connection
 * the caller owns (struct nfsb, one thread at a time) and return 0 or -errno with a
 * message in err naming server and export. They take the plugin settings s for the
 * directory name (CATALOGUE_DIR), the guards and the catalogue identity.
 *
 * The catalogue is input like a request: anyone who can write the export may have written
 * it. A definition is honoured only if it decodes and passes options_check_policy (home
 * or allowed export, no root identity, no export-root view); anything else is listed as
 * bad with one warning naming the file. The directory and files are written as
 * CATALOGUE_UID/CATALOGUE_GID (mode 0755/0644), an identity no container writes as, so
 * squashed containers (the anonymous uid) cannot change them.
 */
#ifndef VOLUME_CATALOGUE_H
#define VOLUME_CATALOGUE_H

#include <stddef.h>

#include "catalogue_codec.h"
#include "nfs_backend.h"
#include "options.h"

#define CATALOGUE_MAX_FILE 65536

/*
 * Write d's file atomically (the directory is created, mode 0755, when missing). Readers
 * on other nodes see the old file or the new one.
 */
int catalogue_put(struct nfsb *nb, const struct settings *s, const struct volume_def *d, char *err,
		  size_t errlen);

/* Read one definition. -ENOENT when the volume is not in the catalogue, -EPERM when its
 * definition breaks the guards. */
int catalogue_get(struct nfsb *nb, const struct settings *s, const char *name,
		  struct volume_def *out, char *err, size_t errlen);

/* Delete one definition; a missing one is not an error. */
int catalogue_delete(struct nfsb *nb, const struct settings *s, const char *name, char *err,
		     size_t errlen);

/* What catalogue_list found. */
struct catalogue_listing {
	struct volume_def *defs; /* the readable definitions */
	size_t n;
	char (*bad)[VOL_NAME_MAX + 1]; /* names whose file exists but cannot be read/parsed */
	size_t nbad;
};

/*
 * Every definition in the catalogue into out (free with catalogue_listing_fini). A
 * missing directory is an empty catalogue. Files that do not parse, whose name does not
 * match their content or that break the guards are logged (one warning per file and
 * content, not one per listing) and listed in out->bad, so callers can keep what they
 * know about those volumes instead of dropping or adopting them.
 */
int catalogue_list(struct nfsb *nb, const struct settings *s, struct catalogue_listing *out,
		   char *err, size_t errlen);

/* Free what a listing owns and empty it (NULL-safe). */
void catalogue_listing_fini(struct catalogue_listing *l);

#endif
