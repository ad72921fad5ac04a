/* SPDX-License-Identifier: MIT */
/*
 * settings: the volume plugin's settings, read once at start from an envp-style array
 * (the managed plugin's env in config.json, changed with `docker plugin set` while the
 * plugin is disabled). Pure: no getenv, no I/O.
 *
 *   NFS_SERVER        default NFS server (host name or address)        default: none
 *   NFS_EXPORT        default export path on it, e.g. /srv/mpf          default: none
 *   NFS_VERSION       3 (4 is refused: Debian's libnfs 4.0 cannot write over v4)   3
 *   NFS_PORT          NFS port, 0 = ask the server's portmapper         default 0
 *   NFS_MOUNT_PORT    MOUNT port, 0 = ask the server's portmapper       default 0
 *   NFS_TIMEOUT       seconds before an NFS call or connect fails, 1-20 default 5
 *   REFRESH_INTERVAL  seconds between background catalogue/server checks, 1-3600   10
 *   LOG_LEVEL         error|warn|info|debug                             default info
 *   STATE_DIR         local state (mounts, catalogue copy)              default /state
 *   MOUNT_ROOT        where volumes are mounted (the propagated mount)  default /mnt/volumes
 *   CATALOGUE_DIR     hidden directory on the export holding the volume definitions
 *                                                                       default .openmpf-volumes
 *   DEFAULT_UID       owner of new volume directories and the identity all requests use,
 *   DEFAULT_GID       when a volume gives no uid/gid option; empty = none (requests carry
 *                     the calling process's uid/gid)                    default empty
 *   DEFAULT_MODE      mode (octal) of new volume directories            default 0777
 *   ALLOWED_EXPORTS   other "server:/export" pairs (comma-separated, at most 8) volumes
 *                     may use besides NFS_SERVER:NFS_EXPORT              default empty
 *   ALLOW_ROOT_IDENTITY  true lets a volume use uid or gid 0 as its NFS identity
 *                                                                       default false
 *   CATALOGUE_UID     identity the catalogue is written as: one no container writes as
 *   CATALOGUE_GID     (never 0, never the server's anonymous uid)       default 2147483646
 *
 * When NFS_SERVER/NFS_EXPORT are set, that export also holds the catalogue shared by every
 * node; without them every volume must name -o server= and -o export=, and the catalogue
 * is node-local.
 */
#ifndef VOLUME_SETTINGS_H
#define VOLUME_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "nfs_backend.h"

#define SETTINGS_PATH_LEN 1024
#define SETTINGS_NAME_LEN 256
#define SETTINGS_MAX_TIMEOUT 20 /* Docker gives up after 30 s: connect + one call must fit */

#define SETTINGS_DEFAULT_STATE_DIR "/state"
#define SETTINGS_DEFAULT_MOUNT_ROOT "/mnt/volumes"
#define SETTINGS_DEFAULT_CATALOGUE_DIR ".openmpf-volumes"
#define SETTINGS_DEFAULT_TIMEOUT 5
#define SETTINGS_DEFAULT_REFRESH 10
/*
 * DEFAULT_MODE "auto" (the default): 0755 for a volume with a fixed uid (every request
 * acts as the owner, nobody else needs to write), 01777 for one that passes the caller's
 * identity (any uid may create; like /tmp, only a file's owner may remove or rename it).
 */
#define SETTINGS_MODE_AUTO 0xffffffffU
#define SETTINGS_MODE_FIXED_UID 0755
#define SETTINGS_MODE_CALLER 01777
#define SETTINGS_MAX_ALLOWED 8
#define SETTINGS_DEFAULT_CATALOGUE_ID 2147483646

struct settings {
	char server[NFSB_SERVER_MAX]; /* "" = none */
	char export[NFSB_EXPORT_MAX]; /* normalised ("/a/b"), "" = none */
	int version;		      /* 3 */
	unsigned int nfs_port;	      /* 0 = portmapper */
	unsigned int mount_port;      /* 0 = portmapper */
	unsigned int timeout_s;
	unsigned int refresh_s;
	enum log_level log_level;
	char state_dir[SETTINGS_PATH_LEN];
	char mount_root[SETTINGS_PATH_LEN];
	char catalogue_dir[SETTINGS_NAME_LEN];
	int default_uid;	   /* -1 = none */
	int default_gid;	   /* -1 = none */
	unsigned int default_mode; /* 0-07777, or SETTINGS_MODE_AUTO */
	struct settings_export {
		char server[NFSB_SERVER_MAX];
		char export[NFSB_EXPORT_MAX]; /* normalised */
	} allowed[SETTINGS_MAX_ALLOWED];      /* ALLOWED_EXPORTS */
	size_t nallowed;
	bool allow_root;   /* ALLOW_ROOT_IDENTITY */
	int catalogue_uid; /* >= 1 */
	int catalogue_gid; /* >= 1 */
};

/* True if server:export is the home export or listed in ALLOWED_EXPORTS. */
bool settings_export_allowed(const struct settings *s, const char *server, const char *export);

/*
 * Read every setting from envp (absent or empty: the default) into out. Returns 0 or
 * -EINVAL with a message naming the variable, the bad value and what is accepted.
 */
int settings_parse(char *const *envp, struct settings *out, char *err, size_t errlen);

/*
 * Validate a server name (host name, IPv4 or IPv6 address: letters, digits, '.', '-',
 * ':', '_'; at most 255 bytes). what names the value in the message (e.g. "NFS_SERVER").
 * Returns 0 or -EINVAL.
 */
int settings_check_server(const char *what, const char *server, char *err, size_t errlen);

/*
 * Normalise an export path into out (outlen bytes): must be absolute, no "." or ".."
 * components, no control characters, '?', '&' or '#' (they would break the libnfs URL);
 * repeated and trailing slashes are dropped ("/srv//nfs/" -> "/srv/nfs"). Returns 0 or
 * -EINVAL.
 */
int settings_normalize_export(const char *what, const char *export, char *out, size_t outlen,
			      char *err, size_t errlen);

/*
 * Parse an octal mode ("755", "0755", "1777"; at most 07777) for the value named what.
 * Returns 0 or -EINVAL.
 */
int settings_parse_mode(const char *what, const char *text, unsigned int *out, char *err,
			size_t errlen);

/* The text settings_parse_mode reads back: "0755"-style; returns buf (at least 6 bytes). */
char *settings_format_mode(unsigned int mode, char *buf, size_t len);

/* Fill an nfsb_target for server/export with the settings' version, ports and timeout. */
void settings_target(const struct settings *s, const char *server, const char *export,
		     struct nfsb_target *out);

/* The effective configuration on one line, for the start-up log. Returns buf. */
char *settings_format(const struct settings *s, char *buf, size_t len);

#endif
