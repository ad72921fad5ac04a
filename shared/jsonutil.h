/* SPDX-License-Identifier: MIT */
/*
 * jsonutil: small helpers on top of jansson for request parsing, error replies and
 * JSON state files. Plugin handlers speak jansson directly; this only removes repetition.
 */
#ifndef SHARED_JSONUTIL_H
#define SHARED_JSONUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * Parse a request body. An empty body (or only whitespace) yields a new empty object,
 * since dockerd sends no body to argument-less methods. Non-objects are refused.
 * Returns a new reference, or NULL with a message in err.
 */
json_t *jsonutil_parse_request(const char *body, size_t len, char *err, size_t errlen);

/*
 * {"Err": "<formatted>"}: a new reference. The HTTP layer answers it with status 500.
 * The text is escaped (escape.h: controls and invalid UTF-8 become \xHH) and cut at
 * 2 KiB after a whole character, so it never fails on text quoted from outside.
 */
json_t *jsonutil_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Optional/required typed members. A missing key or JSON null counts as absent: *out is
 * NULL (string/object) and 0 is returned when !required. Wrong type -> -EINVAL with a
 * message "<key>: expected a string, got <type>". Strings are borrowed from obj.
 */
int jsonutil_get_string(json_t *obj, const char *key, bool required, const char **out, char *err,
			size_t errlen);
int jsonutil_get_object(json_t *obj, const char *key, bool required, json_t **out, char *err,
			size_t errlen);
int jsonutil_get_bool(json_t *obj, const char *key, bool def, bool *out, char *err, size_t errlen);

/* "object", "string", ... for messages. */
const char *jsonutil_type_name(const json_t *j);

/*
 * Write j to path atomically (temp file in the same dir, fsync, rename, fsync dir), compact
 * with sorted keys. Returns 0 or -errno.
 */
int jsonutil_save(const char *path, const json_t *j);
/*
 * Read a JSON object from path. Returns 0 and a new reference in *out, -ENOENT if the
 * file is absent, -EINVAL (message in err) if it does not parse, or -errno.
 */
int jsonutil_load(const char *path, json_t **out, char *err, size_t errlen);

#endif
