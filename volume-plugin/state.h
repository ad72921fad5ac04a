/* SPDX-License-Identifier: MIT */
/*
 * state: what this node must remember across a plugin restart, in one file
 * "<STATE_DIR>/state.json" written atomically (temp file, fsync, rename):
 *   - the local copy of the catalogue, which answers Get and List while the NFS server is
 *     away (a failing Get makes Docker replace the volume with an empty local one);
 *   - the mounts: per volume, its mountpoint and how many times each mount ID is mounted
 *     (Docker does not re-Mount running containers after a plugin restart, so the FUSE
 *     mounts are re-established from here).
 *
 *   {"Format":1,"Volumes":[{"Definition":{...catalogue format...},
 *                           "Mountpoint":"/mnt/volumes/v","Mounts":{"<id>":1}}]}
 *
 * state_encode/_decode are pure; state_save/_load do the file I/O.
 */
#ifndef VOLUME_STATE_H
#define VOLUME_STATE_H

#include <stddef.h>

#include <jansson.h>

#include "options.h"
#include "settings.h"

#define STATE_FORMAT 1
#define STATE_ID_MAX 129 /* mount IDs: Docker's are 64 hex digits */
#define STATE_FILE "state.json"
#define STATE_MAX_FILE (64 << 20)

struct state_mount {
	char id[STATE_ID_MAX];
	unsigned int count; /* >= 1 */
};

struct state_entry {
	struct volume_def def;
	char mountpoint[SETTINGS_PATH_LEN]; /* "" when not mounted */
	struct state_mount *mounts;	    /* owned */
	size_t nmounts;
};

struct state {
	struct state_entry *v; /* owned */
	size_t n;
};

/* Free what st owns and empty it (NULL-safe). */
void state_fini(struct state *st);

/* Append an entry (def copied, mounts copied). Returns it, or NULL on ENOMEM. */
struct state_entry *state_add(struct state *st, const struct volume_def *def,
			      const char *mountpoint, const struct state_mount *mounts,
			      size_t nmounts);

/* The state as JSON (new reference, NULL on ENOMEM). */
json_t *state_encode(const struct state *st);

/*
 * Read state from j into out (empty it first; free with state_fini even on failure).
 * Validates every definition (options_check_def), mount ID (1-128 printable characters)
 * and count (>= 1); duplicate volume names are refused. Returns 0 or -EINVAL.
 */
int state_decode(json_t *j, const char *catalogue_dir, struct state *out, char *err, size_t errlen);

/* Write st to "<dir>/state.json" atomically. Returns 0 or -errno. */
int state_save(const char *dir, const struct state *st);

/*
 * Load "<dir>/state.json" into out. A missing file is an empty state (returns 0).
 * Returns 0 or -errno (-EINVAL with a message for bad content).
 */
int state_load(const char *dir, const char *catalogue_dir, struct state *out, char *err,
	       size_t errlen);

#endif
