// SPDX-License-Identifier: MIT
/*
 * volume_api: VolumeDriver handlers (see volume_api.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalogue_codec.h"
#include "http_server.h"
#include "jsonutil.h"
#include "preflight.h"
#include "version.h"
#include "volume_api.h"

#define ERRLEN 2048

static json_t *handle_activate(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	return json_pack("{s:[s]}", "Implements", "VolumeDriver");
}

static json_t *handle_capabilities(void *ctx, json_t *req)
{
	(void)ctx;
	(void)req;
	return json_pack("{s:{s:s}}", "Capabilities", "Scope", "global");
}

/* Name (required) and, when id is not NULL, ID (required). */
static int get_args(json_t *req, const char **name, const char **id, char *err, size_t errlen)
{
	int ret = jsonutil_get_string(req, "Name", true, name, err, errlen);

	if (ret < 0)
		return ret;
	if (id)
		return jsonutil_get_string(req, "ID", true, id, err, errlen);
	return 0;
}

int volume_api_opts(json_t *opts, struct volume_opts *out)
{
	struct volume_opt *v;
	const char *key;
	json_t *val;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (opts == NULL || json_is_null(opts))
		return 0;
	if (!json_is_object(opts)) {
		out->not_object = jsonutil_type_name(opts);
		return 0;
	}
	if (json_object_size(opts) == 0)
		return 0;
	v = calloc(json_object_size(opts), sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	json_object_foreach(opts, key, val) {
		v[i].key = key;
		v[i].val = json_is_string(val) ? json_string_value(val) : NULL;
		i++;
	}
	out->v = v;
	out->n = i;
	return 0;
}

static json_t *handle_create(void *ctx, json_t *req)
{
	char err[ERRLEN];
	const char *name;
	json_t *opts = NULL;
	struct volume_opts o = {0};
	int ret;

	if (get_args(req, &name, NULL, err, sizeof(err)) < 0 ||
	    jsonutil_get_object(req, "Opts", false, &opts, err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	if (volume_api_opts(opts, &o) < 0)
		return jsonutil_error("Create %s: out of memory", name);
	ret = volumes_create(ctx, name, &o, err, sizeof(err));
	free((void *)o.v);
	if (ret < 0)
		return jsonutil_error("%s", err);
	return json_object();
}

static json_t *handle_remove(void *ctx, json_t *req)
{
	char err[ERRLEN];
	const char *name;

	if (get_args(req, &name, NULL, err, sizeof(err)) < 0 ||
	    volumes_remove(ctx, name, err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	return json_object();
}

static json_t *handle_mount(void *ctx, json_t *req)
{
	char err[ERRLEN], mp[SETTINGS_PATH_LEN];
	const char *name, *id;

	if (get_args(req, &name, &id, err, sizeof(err)) < 0 ||
	    volumes_mount(ctx, name, id, mp, sizeof(mp), err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	return json_pack("{s:s}", "Mountpoint", mp);
}

static json_t *handle_unmount(void *ctx, json_t *req)
{
	char err[ERRLEN];
	const char *name, *id;

	if (get_args(req, &name, &id, err, sizeof(err)) < 0 ||
	    volumes_unmount(ctx, name, id, err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	return json_object();
}

static json_t *handle_path(void *ctx, json_t *req)
{
	char err[ERRLEN], mp[SETTINGS_PATH_LEN];
	const char *name;

	if (get_args(req, &name, NULL, err, sizeof(err)) < 0 ||
	    volumes_path(ctx, name, mp, sizeof(mp), err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	return json_pack("{s:s}", "Mountpoint", mp);
}

static void set_time(json_t *o, const char *key, time_t t)
{
	char buf[32];

	json_object_set_new(o, key,
			    json_string(t ? catalogue_format_time(t, buf, sizeof(buf)) : "never"));
}

json_t *volume_api_status(const struct volume_info *vi)
{
	const struct volume_def *d = &vi->def;
	char mode[16];
	json_t *st;

	st = json_pack("{s:s, s:s, s:s+, s:i, s:s, s:b, s:s, s:i, s:i}", "Server", d->server,
		       "Export", d->export, "Subdir", "/", d->subdir, "NFSVersion", vi->nfs_version,
		       "Mode", settings_format_mode(d->mode, mode, sizeof(mode)), "Readonly",
		       d->readonly, "OnRemove", d->remove_data ? "delete" : "keep",
		       "ContainersOnThisNode", vi->mount_ids, "MountCallsOnThisNode", vi->mounts);
	if (!st)
		return NULL;
	json_object_set_new(st, "Uid", d->uid >= 0 ? json_integer(d->uid) : json_string("caller"));
	json_object_set_new(st, "Gid", d->gid >= 0 ? json_integer(d->gid) : json_string("caller"));
	if (vi->reachable_known)
		json_object_set_new(st, "Reachable", json_boolean(vi->reachable));
	else
		json_object_set_new(st, "Reachable", json_string("not checked yet"));
	set_time(st, "CheckedAt", vi->checked_at);
	if (vi->last_error[0])
		json_object_set_new(st, "LastError", json_string(vi->last_error));
	if (vi->have_space) {
		/* FSSTAT of the export: the whole file system, not this volume's own use. */
		json_object_set_new(st, "ExportCapacityBytes",
				    json_integer((json_int_t)vi->capacity));
		json_object_set_new(st, "ExportUsedBytes", json_integer((json_int_t)vi->used));
		json_object_set_new(st, "ExportAvailableBytes",
				    json_integer((json_int_t)vi->available));
	}
	if (vi->mount_error[0])
		json_object_set_new(st, "MountError", json_string(vi->mount_error));
	if (vi->removed_on_export)
		json_object_set_new(st, "RemovedOnExport", json_true());
	json_object_set_new(st, "PluginVersion", json_string(OPENMPF_VERSION));
	return st;
}

/* {"Name":..., "Mountpoint":... (only when mounted here)} plus what full adds. */
static json_t *volume_object(const struct volume_info *vi, bool full)
{
	char created[32];
	json_t *v = json_pack("{s:s}", "Name", vi->def.name);

	if (!v)
		return NULL;
	if (vi->mounted)
		json_object_set_new(v, "Mountpoint", json_string(vi->mountpoint));
	if (full) {
		if (vi->def.created_at)
			json_object_set_new(v, "CreatedAt",
					    json_string(catalogue_format_time(
						    vi->def.created_at, created, sizeof(created))));
		json_object_set_new(v, "Status", volume_api_status(vi));
	}
	return v;
}

static json_t *handle_get(void *ctx, json_t *req)
{
	struct volume_info vi;
	char err[ERRLEN];
	const char *name;
	int ret;

	if (get_args(req, &name, NULL, err, sizeof(err)) < 0)
		return jsonutil_error("%s", err);
	ret = volumes_get(ctx, name, &vi, err, sizeof(err));
	if (ret == -ENOENT)
		http_server_routine_failure(); /* dockerd asks before every create */
	if (ret < 0)
		return jsonutil_error("%s", err);
	return json_pack("{s:o}", "Volume", volume_object(&vi, true));
}

static json_t *handle_list(void *ctx, json_t *req)
{
	struct volume_info *vi = NULL;
	json_t *reply, *arr;
	size_t n = 0;

	(void)req;
	if (volumes_list(ctx, &vi, &n) < 0)
		return jsonutil_error("out of memory");
	reply = json_pack("{s:[]}", "Volumes");
	arr = json_object_get(reply, "Volumes");
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, volume_object(&vi[i], false));
	free(vi);
	volumes_refresh_now(ctx);
	return reply;
}

/*
 * POST /Preflight.Volume (not part of Docker's protocol: scripts/preflight.sh calls it on
 * the plugin's socket): {"Ok": bool, "Report": "one problem or fact per line"}.
 */
static json_t *handle_preflight(void *ctx, json_t *req)
{
	struct preflight_report r;
	json_t *reply;

	(void)req;
	if (preflight_volume(volumes_settings(ctx), &r) < 0)
		return jsonutil_error("out of memory");
	reply = json_pack("{s:b, s:s}", "Ok", r.ok, "Report", r.text);
	free(r.text);
	return reply;
}

const struct http_route volume_routes[] = {
	{"/Plugin.Activate", handle_activate},
	{"/VolumeDriver.Capabilities", handle_capabilities},
	{"/VolumeDriver.Create", handle_create},
	{"/VolumeDriver.Remove", handle_remove},
	{"/VolumeDriver.Mount", handle_mount},
	{"/VolumeDriver.Unmount", handle_unmount},
	{"/VolumeDriver.Path", handle_path},
	{"/VolumeDriver.Get", handle_get},
	{"/VolumeDriver.List", handle_list},
	{"/Preflight.Volume", handle_preflight},
};
const size_t volume_nroutes = sizeof(volume_routes) / sizeof(volume_routes[0]);
