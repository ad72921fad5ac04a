/* SPDX-License-Identifier: MIT */
/*
 * volumes: the volume table of this node and every VolumeDriver operation on it. The one
 * owner of that table: one mutex guards it, and no NFS call is made while holding it.
 * A volume with a slow operation running (Create, first Mount, last Unmount, Remove) is
 * marked busy; other calls on the same volume wait for it, calls on other volumes and
 * Get/List/Path do not.
 *
 * Where things live:
 *   - definitions: the catalogue on the export (catalogue.h), the shared truth; a copy in
 *     the local table, persisted in STATE_DIR (state.h), answers Get and List at once,
 *     also while the server is away;
 *   - mounts: per volume, a count per mount ID (Docker nests Mount/Unmount with the same
 *     ID); the first Mount on this node starts a FUSE file system at MOUNT_ROOT/<name>,
 *     the last Unmount stops it. Persisted, and re-established at start.
 *   - a background thread re-reads the catalogue every REFRESH_INTERVAL seconds (volumes
 *     created or removed on other nodes), checks each server (reachable, capacity), and
 *     retries FUSE mounts that could not be re-established.
 *
 * Every function returns 0 or -errno with a one-line message for users in err (caller's
 * buffer) that names the volume and, on NFS trouble, the server and export.
 */
#ifndef VOLUME_VOLUMES_H
#define VOLUME_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "options.h"
#include "settings.h"

struct volumes;

/* What Get and List report about one volume (a snapshot). */
struct volume_info {
	struct volume_def def;
	int nfs_version;
	bool mounted;			    /* a FUSE mount runs on this node */
	char mountpoint[SETTINGS_PATH_LEN]; /* "" unless mounted */
	unsigned int mounts;		    /* Mount calls not yet unmounted, summed over IDs */
	unsigned int mount_ids;		    /* distinct mount IDs */
	bool reachable_known;		    /* false until the first check */
	bool reachable;
	time_t checked_at;     /* when reachability was last learned, 0 = never */
	char last_error[1024]; /* "" if the last check worked */
	bool have_space;
	uint64_t capacity, used, available; /* bytes, from the last check */
	bool removed_on_export;		    /* another node removed it while mounted here */
	char mount_error[1024];		    /* why a mount could not be re-established */
};

/*
 * Load the state from s->state_dir, start the background thread (which re-establishes
 * the FUSE mounts of volumes with mount IDs first). s is copied. *out: free with
 * volumes_close(). Returns 0 or -errno (unreadable state).
 */
int volumes_open(const struct settings *s, struct volumes **out, char *err, size_t errlen);

/*
 * Stop the background thread and unmount every FUSE mount; the mount IDs stay in the
 * state file so the next start mounts them again. NULL-safe. Call after the HTTP server
 * stopped.
 */
void volumes_close(struct volumes *vs);

/* Number of volumes and of mounted ones (for the start-up log). */
void volumes_count(struct volumes *vs, size_t *volumes, size_t *mounted);

/*
 * Create name with Create's options (NULL: none): resolve them (options_parse), make
 * the subdirectory on the export when missing (adopting existing data) with the owner and
 * mode, and record the definition in the catalogue. The same name with the same
 * definition succeeds; a different one is refused naming the differences.
 */
int volumes_create(struct volumes *vs, const char *name, const struct volume_opts *opts, char *err,
		   size_t errlen);

/*
 * Remove name: refused while mounted on this node. Deletes the data (the subdirectory
 * tree) only for on_remove=delete and only when no other volume uses that directory;
 * then deletes the definition. Unknown names succeed.
 */
int volumes_remove(struct volumes *vs, const char *name, char *err, size_t errlen);

/* Mount for id (counted per (name, id)); the mountpoint goes to mp (mplen bytes). */
int volumes_mount(struct volumes *vs, const char *name, const char *id, char *mp, size_t mplen,
		  char *err, size_t errlen);

/* Unmount for id. An unknown volume or id succeeds (Docker may replay after restarts). */
int volumes_unmount(struct volumes *vs, const char *name, const char *id, char *err, size_t errlen);

/* The mountpoint if mounted on this node, else "". -ENOENT for unknown volumes. */
int volumes_path(struct volumes *vs, const char *name, char *mp, size_t mplen, char *err,
		 size_t errlen);

/*
 * Describe name. Known volumes are answered from the table without NFS I/O; an unknown
 * name is looked up in the catalogue on the export (bounded by NFS_TIMEOUT, skipped when
 * the server is known to be down). -ENOENT if it exists nowhere.
 */
int volumes_get(struct volumes *vs, const char *name, struct volume_info *out, char *err,
		size_t errlen);

/* Every volume: *out is a new array (caller free()s), *n entries. No NFS I/O. */
int volumes_list(struct volumes *vs, struct volume_info **out, size_t *n);

/* The settings the table was opened with (borrowed, lives as long as vs). */
const struct settings *volumes_settings(const struct volumes *vs);

/* Ask the background thread for a catalogue refresh now (non-blocking). */
void volumes_refresh_now(struct volumes *vs);

#endif
