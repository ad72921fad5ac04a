/* SPDX-License-Identifier: MIT */
/*
 * preflight: would deploying volumes work from this node? Answers POST /Preflight.Volume
 * on the plugin socket (scripts/preflight.sh calls it). With the plugin's settings:
 *   - NFS_SERVER/NFS_EXPORT are set (a stack file names only the driver);
 *   - the server answers: connect + MOUNT as root, then the round-trip time of a few
 *     GETATTR calls (median);
 *   - whether root is squashed: a file created as uid 0 at the export root, and its owner;
 *   - the export root is writable as the configured identity (DEFAULT_UID/DEFAULT_GID), a
 *     file created and removed as that identity; with no DEFAULT_UID under root_squash,
 *     a problem (Docker's copy of image data into a new volume fails).
 * The test files are named ".openmpf-preflight.<host>.<pid>.<n>" and always removed.
 */
#ifndef VOLUME_PREFLIGHT_H
#define VOLUME_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "settings.h"

struct preflight_report {
	bool ok;     /* no problem found: deploying would work */
	char *text;  /* malloc'ed, one problem (with its fix) or fact per line */
	size_t len;  /* strlen(text) */
	size_t size; /* bytes allocated */
};

/*
 * Run every check against the settings' server and export. Blocks up to a few times
 * NFS_TIMEOUT. Returns 0 with *out filled (free out->text), or -ENOMEM.
 */
int preflight_volume(const struct settings *cfg, struct preflight_report *out);

#endif
