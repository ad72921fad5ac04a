// SPDX-License-Identifier: MIT
/*
 * state: encode, decode, save and load the node's state file (see state.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "catalogue.h"
#include "jsonutil.h"
#include "log.h"
#include "state.h"

void state_fini(struct state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		free(st->v[i].mounts);
	free(st->v);
	st->v = NULL;
	st->n = 0;
}

struct state_entry *state_add(struct state *st, const struct volume_def *def,
			      const char *mountpoint, const struct state_mount *mounts,
			      size_t nmounts)
{
	struct state_entry *v, *e;

	v = realloc(st->v, (st->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	st->v = v;
	e = &v[st->n];
	memset(e, 0, sizeof(*e));
	e->def = *def;
	snprintf(e->mountpoint, sizeof(e->mountpoint), "%s", mountpoint ? mountpoint : "");
	if (nmounts) {
		e->mounts = calloc(nmounts, sizeof(*e->mounts));
		if (!e->mounts)
			return NULL;
		memcpy(e->mounts, mounts, nmounts * sizeof(*mounts));
		e->nmounts = nmounts;
	}
	st->n++;
	return e;
}

static json_t *encode_entry(const struct state_entry *e)
{
	json_t *j, *mounts;

	j = json_pack("{s:o, s:s, s:o}", "Definition", catalogue_encode(&e->def), "Mountpoint",
		      e->mountpoint, "Mounts", json_object());
	if (!j)
		return NULL;
	mounts = json_object_get(j, "Mounts");
	for (size_t i = 0; i < e->nmounts; i++) {
		if (json_object_set_new(mounts, e->mounts[i].id, json_integer(e->mounts[i].count)) <
		    0) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

json_t *state_encode(const struct state *st)
{
	json_t *j, *arr;

	j = json_pack("{s:i, s:[]}", "Format", STATE_FORMAT, "Volumes");
	if (!j)
		return NULL;
	arr = json_object_get(j, "Volumes");
	for (size_t i = 0; i < st->n; i++) {
		if (json_array_append_new(arr, encode_entry(&st->v[i])) < 0) {
			json_decref(j);
			return NULL;
		}
	}
	return j;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= STATE_ID_MAX)
		return false;
	for (; *id; id++) {
		if (!isgraph((unsigned char)*id))
			return false;
	}
	return true;
}

static int decode_mounts(json_t *jm, struct state_entry *e, char *err, size_t errlen)
{
	const char *id;
	json_t *cnt;
	size_t i = 0;

	if (!json_is_object(jm)) {
		snprintf(err, errlen, "volume %s: Mounts: expected an object", e->def.name);
		return -EINVAL;
	}
	if (json_object_size(jm) == 0)
		return 0;
	e->mounts = calloc(json_object_size(jm), sizeof(*e->mounts));
	if (!e->mounts)
		return -ENOMEM;
	json_object_foreach(jm, id, cnt) {
		if (!valid_id(id) || !json_is_integer(cnt) || json_integer_value(cnt) < 1 ||
		    json_integer_value(cnt) > 1000000) {
			snprintf(err, errlen,
				 "volume %s: mount \"%.*s\": expected an ID of 1-%d "
				 "printable characters and a count of at least 1",
				 e->def.name, 140, id, STATE_ID_MAX - 1);
			return -EINVAL;
		}
		snprintf(e->mounts[i].id, sizeof(e->mounts[i].id), "%s", id);
		e->mounts[i].count = (unsigned int)json_integer_value(cnt);
		i++;
	}
	e->nmounts = i;
	return 0;
}

static int decode_entry(json_t *je, const char *catalogue_dir, struct state *st, char *err,
			size_t errlen)
{
	const char *mountpoint = "";
	json_t *jd = NULL, *jm = NULL;
	struct state_entry *e;
	struct volume_def def;
	json_error_t jerr;
	char why[1024];
	int ret;

	if (json_unpack_ex(je, &jerr, 0, "{s:o, s?s, s?o}", "Definition", &jd, "Mountpoint",
			   &mountpoint, "Mounts", &jm) < 0) {
		snprintf(err, errlen, "Volumes[%zu]: %s", st->n, jerr.text);
		return -EINVAL;
	}
	ret = catalogue_decode(jd, catalogue_dir, &def, why, sizeof(why));
	if (ret < 0) {
		snprintf(err, errlen, "Volumes[%zu]: %s", st->n, why);
		return ret;
	}
	for (size_t i = 0; i < st->n; i++) {
		if (strcmp(st->v[i].def.name, def.name) == 0) {
			snprintf(err, errlen, "volume %s is listed twice", def.name);
			return -EINVAL;
		}
	}
	e = state_add(st, &def, mountpoint, NULL, 0);
	if (!e)
		return -ENOMEM;
	if (jm)
		return decode_mounts(jm, e, err, errlen);
	return 0;
}

int state_decode(json_t *j, const char *catalogue_dir, struct state *out, char *err, size_t errlen)
{
	json_t *vols = NULL, *je;
	json_error_t jerr;
	int format = 0, ret;
	size_t i;

	state_fini(out);
	if (json_unpack_ex(j, &jerr, 0, "{s:i, s:o}", "Format", &format, "Volumes", &vols) < 0) {
		snprintf(err, errlen, "state: %s", jerr.text);
		return -EINVAL;
	}
	if (format != STATE_FORMAT || !json_is_array(vols)) {
		snprintf(err, errlen,
			 "state: Format %d with Volumes %s: expected format %d and "
			 "an array",
			 format, jsonutil_type_name(vols), STATE_FORMAT);
		return -EINVAL;
	}
	json_array_foreach(vols, i, je) {
		ret = decode_entry(je, catalogue_dir, out, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int state_save(const char *dir, const struct state *st)
{
	char path[SETTINGS_PATH_LEN + 32];
	json_t *j;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	j = state_encode(st);
	if (!j)
		return -ENOMEM;
	ret = jsonutil_save(path, j);
	json_decref(j);
	return ret;
}

int state_load(const char *dir, const char *catalogue_dir, struct state *out, char *err,
	       size_t errlen)
{
	char path[SETTINGS_PATH_LEN + 32], why[1024];
	json_t *j = NULL;
	int ret;

	state_fini(out);
	/* temp files of saves a crash (kill -9) interrupted; a live writer's are kept */
	ret = atomic_file_clean_dir(dir);
	if (ret > 0)
		log_info("state: removed %d temporary files of saves interrupted by a crash in %s",
			 ret, dir);
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	ret = jsonutil_load(path, &j, why, sizeof(why));
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		if (ret == -EINVAL)
			snprintf(err, errlen, "%s: %s", path, why);
		else
			snprintf(err, errlen, "%s: %s", path, errno_text(-ret));
		return ret;
	}
	ret = state_decode(j, catalogue_dir, out, why, sizeof(why));
	if (ret < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	json_decref(j);
	return ret;
}
