/* SPDX-License-Identifier: MIT */
/*
 * options: volume names and per-volume options (`docker volume create -o key=value`,
 * `driver_opts` in a stack file), resolved against the plugin settings into one volume
 * definition. Pure: values in, values out.
 *
 * Accepted options (every value is a string, as Docker sends them):
 *   server     NFS server                      default NFS_SERVER
 *   export     export path on that server      default NFS_EXPORT
 *   subdir     directory inside the export     default the volume name ("/" = the export root)
 *   uid, gid   owner of the directory and the identity every request uses
 *                                              default DEFAULT_UID / DEFAULT_GID (none)
 *   mode       octal mode of a new directory   default DEFAULT_MODE (0777)
 *   readonly   true|false (also yes/no, 1/0, on/off; empty = true)   default false
 *   on_remove  keep|delete: what `docker volume rm` does to the data  default keep
 *
 * A subdir never leaves the export: it is taken relative to the export root, '.' and empty
 * components are dropped, '..' is refused, and the catalogue directory is off limits.
 */
#ifndef VOLUME_OPTIONS_H
#define VOLUME_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "nfs_backend.h"
#include "settings.h"

#define VOL_NAME_MAX 200 /* "<name>.json" must fit a file name */
#define VOL_SUBDIR_MAX 1024

/* One volume, fully resolved: what the catalogue stores and every node mounts. */
struct volume_def {
	char name[VOL_NAME_MAX + 1];
	char server[NFSB_SERVER_MAX];
	char export[NFSB_EXPORT_MAX]; /* normalised, absolute */
	char subdir[VOL_SUBDIR_MAX];  /* normalised, relative, "" = the export root */
	int uid;		      /* -1 = none */
	int gid;		      /* -1 = none */
	unsigned int mode;
	bool readonly;
	bool remove_data;  /* on_remove=delete */
	time_t created_at; /* informational, not part of equality */
};

/* The accepted option names, comma-separated, for messages. */
extern const char options_accepted[];

/*
 * Docker's rule for volume names, [a-zA-Z0-9][a-zA-Z0-9_.-]+, at most VOL_NAME_MAX bytes.
 * Returns 0 or -EINVAL with a message naming the name and the rule.
 */
int options_check_name(const char *name, char *err, size_t errlen);

/*
 * Normalise subdir (relative to the export root; a leading '/' is allowed and means the
 * same) into out: "a//./b/" -> "a/b", "/" -> "". Refuses '..' components, control
 * characters, and a first component equal to catalogue_dir (the plugin's own directory).
 * Returns 0 or -EINVAL.
 */
int options_normalize_subdir(const char *subdir, const char *catalogue_dir, char *out,
			     size_t outlen, char *err, size_t errlen);

/* One of Create's options as the request carried it. */
struct volume_opt {
	const char *key;
	const char *val; /* NULL: the value was not a string */
};

/* Create's Opts as the request carried them (the API layer reads them from the JSON). */
struct volume_opts {
	const char *not_object; /* Opts was neither an object nor null: its type name */
	size_t n;
	const struct volume_opt *v;
};

/*
 * Resolve Create's options (NULL or none = the defaults) for the volume name against
 * settings s into out (created_at = 0). Unknown keys, values that are not strings and
 * invalid values are refused with a message that lists the accepted options. Returns 0 or
 * -EINVAL.
 */
int options_parse(const char *name, const struct volume_opts *opts, const struct settings *s,
		  struct volume_def *out, char *err, size_t errlen);

/* Check a definition read back from somewhere (catalogue, state): the same rules. */
int options_check_def(const struct volume_def *d, const char *catalogue_dir, char *err,
		      size_t errlen);

/*
 * The guards every definition passes, from Create or from the shared catalogue (which
 * any node, or anyone who can write the export, may have written):
 *   - with a home export (NFS_SERVER/NFS_EXPORT), server:export is the home one or listed
 *     in ALLOWED_EXPORTS;
 *   - uid and gid are not 0 unless ALLOW_ROOT_IDENTITY=true, and not the catalogue's
 *     identity (CATALOGUE_UID/CATALOGUE_GID);
 *   - the home export's root (subdir "/") is refused: its FUSE view would hold the
 *     catalogue directory.
 * Returns 0 or -EPERM with a message naming the volume, the value and the setting.
 */
int options_check_policy(const struct volume_def *d, const struct settings *s, char *err,
			 size_t errlen);

/*
 * Compare two definitions (created_at ignored). Returns the number of differing fields
 * and, if buf is not NULL, writes them as "uid 376 (existing) vs 1000 (requested), ..."
 * with a first, b second.
 */
int options_diff(const struct volume_def *a, const struct volume_def *b, char *buf, size_t len);

#endif
