// SPDX-License-Identifier: MIT
/*
 * options: volume name rules, subdir normalisation and Create's -o options resolved into
 * a struct volume_def (see options.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "options.h"
#include "path.h"

const char options_accepted[] = "server, export, subdir, uid, gid, mode, readonly, on_remove";

int options_check_name(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n < 2 || n > VOL_NAME_MAX || !isalnum((unsigned char)name[0]))
		goto refuse;
	for (const char *p = name + 1; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
			goto refuse;
	}
	return 0;
refuse:
	snprintf(err, errlen,
		 "volume name \"%.*s\": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]+ and have "
		 "2-%d characters",
		 256, name, VOL_NAME_MAX);
	return -EINVAL;
}

int options_normalize_subdir(const char *subdir, const char *catalogue_dir, char *out,
			     size_t outlen, char *err, size_t errlen)
{
	const char *why;

	if (outlen == 0)
		return -EINVAL;
	switch (path_normalize(subdir, PATH_REFUSE_CNTRL, catalogue_dir, out, outlen)) {
	case PATH_OK:
		return 0;
	case PATH_DOTDOT:
		why = "'..' is not accepted: a subdir stays inside the export";
		break;
	case PATH_CNTRL:
		why = "control characters are not accepted";
		break;
	case PATH_RESERVED:
		why = "that is the plugin's catalogue directory";
		break;
	default:
		why = "too long";
		break;
	}
	snprintf(err, errlen, "subdir=%.*s: %s; expected a path inside the export, e.g. mpf/share",
		 512, subdir, why);
	return -EINVAL;
}

static int parse_id(const char *key, const char *text, int *out, char *err, size_t errlen)
{
	unsigned long v;

	if (config_parse_uint(key, text, 0, 2147483646UL, &v, err, errlen) < 0)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_on_remove(const char *text, bool *out, char *err, size_t errlen)
{
	if (strcasecmp(text, "keep") == 0) {
		*out = false;
		return 0;
	}
	if (strcasecmp(text, "delete") == 0) {
		*out = true;
		return 0;
	}
	snprintf(err, errlen, "on_remove=%s: expected keep or delete", text);
	return -EINVAL;
}

/* Apply one option to d. A refusal leaves its reason in err. */
static int apply_option(const char *key, const char *val, const struct settings *s,
			struct volume_def *d, char *err, size_t errlen)
{
	if (strcmp(key, "server") == 0) {
		if (settings_check_server("server", val, err, errlen) < 0)
			return -EINVAL;
		snprintf(d->server, sizeof(d->server), "%s", val);
		return 0;
	}
	if (strcmp(key, "export") == 0)
		return settings_normalize_export("export", val, d->export, sizeof(d->export), err,
						 errlen);
	if (strcmp(key, "subdir") == 0)
		return options_normalize_subdir(val, s->catalogue_dir, d->subdir, sizeof(d->subdir),
						err, errlen);
	if (strcmp(key, "uid") == 0)
		return parse_id("uid", val, &d->uid, err, errlen);
	if (strcmp(key, "gid") == 0)
		return parse_id("gid", val, &d->gid, err, errlen);
	if (strcmp(key, "mode") == 0)
		return settings_parse_mode("mode", val, &d->mode, err, errlen);
	if (strcmp(key, "readonly") == 0) {
		if (!*val) {
			d->readonly = true;
			return 0;
		}
		return config_parse_bool("readonly", val, &d->readonly, err, errlen);
	}
	if (strcmp(key, "on_remove") == 0)
		return parse_on_remove(val, &d->remove_data, err, errlen);
	snprintf(err, errlen, "unknown option \"%.*s\"", 128, key);
	return -EINVAL;
}

static int check_complete(const struct volume_def *d, char *err, size_t errlen)
{
	if (!d->server[0]) {
		snprintf(err, errlen,
			 "volume %s: no NFS server: pass -o server=HOST -o "
			 "export=PATH or set NFS_SERVER and NFS_EXPORT in the plugin "
			 "settings",
			 d->name);
		return -EINVAL;
	}
	if (!d->export[0]) {
		snprintf(err, errlen,
			 "volume %s: no NFS export: pass -o export=PATH or set "
			 "NFS_EXPORT in the plugin settings",
			 d->name);
		return -EINVAL;
	}
	if (d->remove_data && !d->subdir[0]) {
		snprintf(err, errlen,
			 "volume %s: on_remove=delete with the export root as subdir "
			 "would delete the whole export: use on_remove=keep or a "
			 "subdir",
			 d->name);
		return -EINVAL;
	}
	return 0;
}

int options_parse(const char *name, const struct volume_opts *opts, const struct settings *s,
		  struct volume_def *d, char *err, size_t errlen)
{
	char why[1024];
	int ret;

	memset(d, 0, sizeof(*d));
	ret = options_check_name(name, err, errlen);
	if (ret < 0)
		return ret;
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->server, sizeof(d->server), "%s", s->server);
	snprintf(d->export, sizeof(d->export), "%s", s->export);
	/* The name passed the name rule, so it is a valid one-component subdir, unless it is
	 * the catalogue directory's name. */
	ret = options_normalize_subdir(name, s->catalogue_dir, d->subdir, sizeof(d->subdir), err,
				       errlen);
	if (ret < 0)
		return ret;
	d->uid = s->default_uid;
	d->gid = s->default_gid;
	d->mode = s->default_mode;
	if (opts && opts->not_object) {
		snprintf(err, errlen, "Opts: expected an object of strings, got %s",
			 opts->not_object);
		return -EINVAL;
	}
	for (size_t i = 0; opts && i < opts->n; i++) {
		const struct volume_opt *o = &opts->v[i];

		if (o->val == NULL) {
			snprintf(err, errlen,
				 "option %.*s: expected a string value; accepted options: %s", 128,
				 o->key, options_accepted);
			return -EINVAL;
		}
		if (apply_option(o->key, o->val, s, d, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s; accepted options: %s", why, options_accepted);
			return -EINVAL;
		}
	}
	if (d->mode == SETTINGS_MODE_AUTO)
		d->mode = d->uid >= 0 ? SETTINGS_MODE_FIXED_UID : SETTINGS_MODE_CALLER;
	ret = check_complete(d, err, errlen);
	if (ret < 0)
		return ret;
	return options_check_policy(d, s, err, errlen);
}

int options_check_policy(const struct volume_def *d, const struct settings *s, char *err,
			 size_t errlen)
{
	bool home = s->server[0] && strcmp(d->server, s->server) == 0 &&
		    strcmp(d->export, s->export) == 0;

	if (s->server[0] && !settings_export_allowed(s, d->server, d->export)) {
		snprintf(err, errlen,
			 "volume %s: server %s export %s is neither the home export "
			 "(NFS_SERVER=%s NFS_EXPORT=%s) nor listed in ALLOWED_EXPORTS",
			 d->name, d->server, d->export, s->server, s->export);
		return -EPERM;
	}
	if (!s->allow_root && (d->uid == 0 || d->gid == 0)) {
		snprintf(err, errlen,
			 "volume %s: uid %d gid %d: root as the NFS identity needs "
			 "ALLOW_ROOT_IDENTITY=true in the plugin settings",
			 d->name, d->uid, d->gid);
		return -EPERM;
	}
	if ((d->uid >= 0 && d->uid == s->catalogue_uid) ||
	    (d->gid >= 0 && d->gid == s->catalogue_gid)) {
		snprintf(err, errlen,
			 "volume %s: uid %d gid %d: that is the catalogue's identity "
			 "(CATALOGUE_UID=%d CATALOGUE_GID=%d): containers must not write as it",
			 d->name, d->uid, d->gid, s->catalogue_uid, s->catalogue_gid);
		return -EPERM;
	}
	if (home && !d->subdir[0]) {
		snprintf(err, errlen,
			 "volume %s: subdir=/ on the home export would show containers the "
			 "plugin's catalogue directory %s: use a subdir",
			 d->name, s->catalogue_dir);
		return -EPERM;
	}
	return 0;
}

int options_check_def(const struct volume_def *d, const char *catalogue_dir, char *err,
		      size_t errlen)
{
	char tmp[VOL_SUBDIR_MAX], exp[NFSB_EXPORT_MAX];
	int ret;

	ret = options_check_name(d->name, err, errlen);
	if (ret < 0)
		return ret;
	ret = settings_check_server("server", d->server, err, errlen);
	if (ret < 0)
		return ret;
	ret = settings_normalize_export("export", d->export, exp, sizeof(exp), err, errlen);
	if (ret < 0)
		return ret;
	ret = options_normalize_subdir(d->subdir, catalogue_dir, tmp, sizeof(tmp), err, errlen);
	if (ret < 0)
		return ret;
	if (strcmp(tmp, d->subdir) != 0 || strcmp(exp, d->export) != 0) {
		snprintf(err, errlen, "volume %s: export/subdir not in normal form", d->name);
		return -EINVAL;
	}
	if (d->mode > 07777 || d->uid < -1 || d->gid < -1) {
		snprintf(err, errlen, "volume %s: bad mode, uid or gid", d->name);
		return -EINVAL;
	}
	return check_complete(d, err, errlen);
}

static void format_id(int id, char *buf, size_t len)
{
	if (id < 0)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%d", id);
}

static void add_diff(char *buf, size_t len, size_t *used, const char *field, const char *a,
		     const char *b)
{
	int n;

	if (!buf || *used >= len)
		return;
	n = snprintf(buf + *used, len - *used, "%s%s \"%s\" (existing) vs \"%s\" (requested)",
		     *used ? ", " : "", field, a, b);
	if (n > 0)
		*used += (size_t)n;
}

int options_diff(const struct volume_def *a, const struct volume_def *b, char *buf, size_t len)
{
	char x[32], y[32];
	size_t used = 0;
	int n = 0;

	if (buf && len)
		buf[0] = '\0';
	if (strcmp(a->server, b->server) != 0 && ++n)
		add_diff(buf, len, &used, "server", a->server, b->server);
	if (strcmp(a->export, b->export) != 0 && ++n)
		add_diff(buf, len, &used, "export", a->export, b->export);
	if (strcmp(a->subdir, b->subdir) != 0 && ++n)
		add_diff(buf, len, &used, "subdir", a->subdir, b->subdir);
	if (a->uid != b->uid && ++n) {
		format_id(a->uid, x, sizeof(x));
		format_id(b->uid, y, sizeof(y));
		add_diff(buf, len, &used, "uid", x, y);
	}
	if (a->gid != b->gid && ++n) {
		format_id(a->gid, x, sizeof(x));
		format_id(b->gid, y, sizeof(y));
		add_diff(buf, len, &used, "gid", x, y);
	}
	if (a->mode != b->mode && ++n)
		add_diff(buf, len, &used, "mode", settings_format_mode(a->mode, x, sizeof(x)),
			 settings_format_mode(b->mode, y, sizeof(y)));
	if (a->readonly != b->readonly && ++n)
		add_diff(buf, len, &used, "readonly", a->readonly ? "true" : "false",
			 b->readonly ? "true" : "false");
	if (a->remove_data != b->remove_data && ++n)
		add_diff(buf, len, &used, "on_remove", a->remove_data ? "delete" : "keep",
			 b->remove_data ? "delete" : "keep");
	return n;
}
