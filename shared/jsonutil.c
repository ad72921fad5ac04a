// SPDX-License-Identifier: MIT
/*
 * jsonutil: request parsing, {"Err": ...} replies, typed member access with messages
 * that name the key and the expected type, and JSON state files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "escape.h"
#include "jsonutil.h"

/* State files are small; anything bigger is corrupt or not ours. */
#define JSONUTIL_MAX_FILE (64u << 20)

const char *jsonutil_type_name(const json_t *j)
{
	switch (j ? json_typeof(j) : JSON_NULL) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	case JSON_NULL:
	default:
		return "null";
	}
}

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
			return false;
	}
	return true;
}

json_t *jsonutil_parse_request(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (!body || is_blank(body, len))
		return json_object();
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		char text[sizeof(jerr.text) * 4];

		/* jansson quotes the offending bytes, which need not be UTF-8. */
		snprintf(err, errlen, "malformed JSON request body (line %d, column %d): %s",
			 jerr.line, jerr.column, escape_str(text, sizeof(text), jerr.text));
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "request body must be a JSON object, got %s",
			 jsonutil_type_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}

json_t *jsonutil_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	json_t *reply;

	va_start(ap, fmt);
	escape_vformat(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* msg is valid UTF-8 now, so this fails only without memory. */
	reply = json_pack("{s:s}", "Err", msg);
	return reply ? reply : json_pack("{s:s}", "Err", "out of memory");
}

static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

int jsonutil_get_string(json_t *obj, const char *key, bool required, const char **out, char *err,
			size_t errlen)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: required, expected a string", key);
		return -EINVAL;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: expected a string, got %s", key, jsonutil_type_name(v));
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

int jsonutil_get_object(json_t *obj, const char *key, bool required, json_t **out, char *err,
			size_t errlen)
{
	json_t *v = member(obj, key);

	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: required, expected an object", key);
		return -EINVAL;
	}
	if (!json_is_object(v)) {
		snprintf(err, errlen, "%s: expected an object, got %s", key, jsonutil_type_name(v));
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int jsonutil_get_bool(json_t *obj, const char *key, bool def, bool *out, char *err, size_t errlen)
{
	json_t *v = member(obj, key);

	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "%s: expected true or false, got %s", key,
			 jsonutil_type_name(v));
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

int jsonutil_save(const char *path, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	int ret;

	if (!text)
		return -ENOMEM;
	ret = atomic_file_write(path, text, strlen(text), 0600);
	free(text);
	return ret;
}

int jsonutil_load(const char *path, json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0;
	json_t *root;
	int ret;

	*out = NULL;
	ret = atomic_file_read(path, JSONUTIL_MAX_FILE, &text, &len);
	if (ret)
		return ret;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root || !json_is_object(root)) {
		char why[sizeof(jerr.text) * 4];

		snprintf(err, errlen, "%s: not a JSON object (line %d: %s)", path,
			 root ? 0 : jerr.line,
			 root ? "wrong type" : escape_str(why, sizeof(why), jerr.text));
		json_decref(root);
		return -EINVAL;
	}
	*out = root;
	return 0;
}
