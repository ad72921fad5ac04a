/* SPDX-License-Identifier: MIT */
/*
 * catalogue_codec: the catalogue file of one volume definition (catalogue.h keeps these
 * files on the export). Pure: no I/O, no logging.
 *
 * File format (one object, keys sorted; unknown keys are ignored on read so newer plugins
 * can add fields):
 *   {"Format":1,"Name":"v","Server":"nfs1","Export":"/srv/mpf","Subdir":"v",
 *    "Uid":376,"Gid":376,"Mode":"0777","Readonly":false,"OnRemove":"keep",
 *    "CreatedAt":"2026-11-29T05:00:00Z"}
 * Uid and Gid are absent when the volume has no fixed identity.
 */
#ifndef VOLUME_CATALOGUE_CODEC_H
#define VOLUME_CATALOGUE_CODEC_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "options.h"

#define CATALOGUE_FORMAT 1

/* The definition as a JSON object (new reference; NULL only on allocation failure). */
json_t *catalogue_encode(const struct volume_def *d);

/*
 * Read a definition from j, validating it with options_check_def (catalogue_dir: the
 * reserved directory name). Returns 0 or -EINVAL with a message in err.
 */
int catalogue_decode(json_t *j, const char *catalogue_dir, struct volume_def *out, char *err,
		     size_t errlen);

/* RFC 3339 UTC text ("2026-11-29T05:00:00Z") of t into buf (>= 21 bytes); returns buf. */
char *catalogue_format_time(time_t t, char *buf, size_t len);
/* Parse that text; returns 0 or -EINVAL. */
int catalogue_parse_time(const char *text, time_t *out);

/* "<catalogue_dir>/<name>.json" into buf. Returns 0 or -ENAMETOOLONG. */
int catalogue_path(const char *catalogue_dir, const char *name, char *buf, size_t len);

#endif
