// SPDX-License-Identifier: MIT
/*
 * catalogue_codec: a volume definition to and from its catalogue file's JSON (see
 * catalogue_codec.h). Pure: no I/O, no logging.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalogue_codec.h"

char *catalogue_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
	return buf;
}

int catalogue_parse_time(const char *text, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

json_t *catalogue_encode(const struct volume_def *d)
{
	char mode[16], created[32];
	json_t *j;

	j = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "Format", CATALOGUE_FORMAT,
		      "Name", d->name, "Server", d->server, "Export", d->export, "Subdir",
		      d->subdir, "Mode", settings_format_mode(d->mode, mode, sizeof(mode)),
		      "Readonly", d->readonly, "OnRemove", d->remove_data ? "delete" : "keep",
		      "CreatedAt", catalogue_format_time(d->created_at, created, sizeof(created)));
	if (!j)
		return NULL;
	if (d->uid >= 0 && json_object_set_new(j, "Uid", json_integer(d->uid)) < 0)
		goto drop_json;
	if (d->gid >= 0 && json_object_set_new(j, "Gid", json_integer(d->gid)) < 0)
		goto drop_json;
	return j;
drop_json:
	json_decref(j);
	return NULL;
}

static int decode_id(json_t *j, const char *key, int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(j, key);

	*out = -1;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > 2147483646) {
		snprintf(err, errlen, "%s: expected a number from 0 to 2147483646", key);
		return -EINVAL;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

int catalogue_decode(json_t *j, const char *catalogue_dir, struct volume_def *d, char *err,
		     size_t errlen)
{
	const char *name, *server, *export, *subdir, *mode, *on_remove, *created = NULL;
	int format = 0, readonly = 0;
	json_error_t jerr;

	memset(d, 0, sizeof(*d));
	if (json_unpack_ex(j, &jerr, 0, "{s:i, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s?s}", "Format",
			   &format, "Name", &name, "Server", &server, "Export", &export, "Subdir",
			   &subdir, "Mode", &mode, "Readonly", &readonly, "OnRemove", &on_remove,
			   "CreatedAt", &created) < 0) {
		snprintf(err, errlen, "volume definition: %s", jerr.text);
		return -EINVAL;
	}
	if (format != CATALOGUE_FORMAT) {
		snprintf(err, errlen, "volume definition: Format %d: this plugin reads format %d",
			 format, CATALOGUE_FORMAT);
		return -EINVAL;
	}
	if (strlen(name) >= sizeof(d->name) || strlen(server) >= sizeof(d->server) ||
	    strlen(export) >= sizeof(d->export) || strlen(subdir) >= sizeof(d->subdir)) {
		snprintf(err, errlen, "volume definition: a value is too long");
		return -EINVAL;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->server, sizeof(d->server), "%s", server);
	snprintf(d->export, sizeof(d->export), "%s", export);
	snprintf(d->subdir, sizeof(d->subdir), "%s", subdir);
	if (settings_parse_mode("Mode", mode, &d->mode, err, errlen) < 0)
		return -EINVAL;
	d->readonly = readonly;
	if (strcmp(on_remove, "keep") == 0) {
		d->remove_data = false;
	} else if (strcmp(on_remove, "delete") == 0) {
		d->remove_data = true;
	} else {
		snprintf(err, errlen, "OnRemove=%s: expected keep or delete", on_remove);
		return -EINVAL;
	}
	if (decode_id(j, "Uid", &d->uid, err, errlen) < 0 ||
	    decode_id(j, "Gid", &d->gid, err, errlen) < 0)
		return -EINVAL;
	if (created && catalogue_parse_time(created, &d->created_at) < 0) {
		snprintf(err, errlen, "CreatedAt=%s: expected RFC 3339 UTC time", created);
		return -EINVAL;
	}
	return options_check_def(d, catalogue_dir, err, errlen);
}

int catalogue_path(const char *catalogue_dir, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s.json", catalogue_dir, name);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}
