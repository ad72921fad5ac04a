// SPDX-License-Identifier: MIT
/*
 * settings: parse and validate the volume plugin's environment (see settings.h for the
 * list). Every refusal names the variable, the bad value and what is accepted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "escape.h"
#include "path.h"
#include "settings.h"

#define VOLUME_NAME_ROOM 256

int settings_check_server(const char *what, const char *server, char *err, size_t errlen)
{
	size_t n = strlen(server);

	if (n == 0 || n >= NFSB_SERVER_MAX)
		goto refuse;
	for (const char *p = server; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			goto refuse;
	}
	return 0;
refuse:
	snprintf(err, errlen,
		 "%s=%s: expected a host name or IPv4 address (letters, digits, '.', '-', '_'; "
		 "1-%d characters)",
		 what, server, NFSB_SERVER_MAX - 1);
	return -EINVAL;
}

int settings_normalize_export(const char *what, const char *export, char *out, size_t outlen,
			      char *err, size_t errlen)
{
	const unsigned int rules = PATH_ABSOLUTE | PATH_REFUSE_DOT | PATH_REFUSE_CNTRL |
				   PATH_REFUSE_URL | PATH_LEADING_SLASH | PATH_ROOT_SLASH;
	const char *why;

	if (!escape_is_plain(export, strlen(export))) {
		why = "must be UTF-8 text without control characters";
		goto refuse;
	}
	switch (path_normalize(export, rules, NULL, out, outlen)) {
	case PATH_OK:
		return 0;
	case PATH_RELATIVE:
		why = "must be an absolute path";
		break;
	case PATH_DOT:
	case PATH_DOTDOT:
		why = "'.' and '..' components are not accepted";
		break;
	case PATH_CNTRL:
	case PATH_URL_CHAR:
		why = "control characters, '?', '&' and '#' are not accepted";
		break;
	default:
		why = "too long";
		break;
	}
refuse:
	snprintf(err, errlen, "%s=%s: %s; expected an absolute export path such as /srv/nfs", what,
		 export, why);
	return -EINVAL;
}

int settings_parse_mode(const char *what, const char *text, unsigned int *out, char *err,
			size_t errlen)
{
	unsigned int v = 0;
	size_t n = strlen(text);

	if (n == 0 || n > 5)
		goto refuse;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '7')
			goto refuse;
		v = v * 8 + (unsigned int)(*p - '0');
	}
	if (v > 07777)
		goto refuse;
	*out = v;
	return 0;
refuse:
	snprintf(err, errlen, "%s=%s: expected an octal mode from 0000 to 7777, e.g. 0755", what,
		 text);
	return -EINVAL;
}

char *settings_format_mode(unsigned int mode, char *buf, size_t len)
{
	snprintf(buf, len, "%04o", mode);
	return buf;
}

static int check_dir_name(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n == 0 || n >= SETTINGS_NAME_LEN || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		goto refuse;
	for (const char *p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
			goto refuse;
	}
	return 0;
refuse:
	snprintf(err, errlen,
		 "CATALOGUE_DIR=%s: expected one directory name (letters, digits, '.', '-', '_'), "
		 "e.g. %s",
		 name, SETTINGS_DEFAULT_CATALOGUE_DIR);
	return -EINVAL;
}

static int get_path(char *const *envp, const char *name, const char *def, char *out, size_t outlen,
		    char *err, size_t errlen)
{
	const char *v = config_env_get(envp, name);

	if (!v || !*v)
		v = def;
	if (v[0] != '/' || strlen(v) >= outlen || !escape_is_plain(v, strlen(v))) {
		snprintf(err, errlen,
			 "%s=%s: expected an absolute path shorter than %zu bytes, UTF-8 text "
			 "without control characters",
			 name, v, outlen);
		return -EINVAL;
	}
	snprintf(out, outlen, "%s", v);
	return 0;
}

/* An optional id: empty or absent -> -1. */
static int get_id(char *const *envp, const char *name, int *out, char *err, size_t errlen)
{
	const char *v = config_env_get(envp, name);
	unsigned long id;
	int ret;

	*out = -1;
	if (!v || !*v)
		return 0;
	ret = config_parse_uint(name, v, 0, 2147483646UL, &id, err, errlen);
	if (ret < 0)
		return ret;
	*out = (int)id;
	return 0;
}

static int parse_nfs(char *const *envp, struct settings *s, char *err, size_t errlen)
{
	const char *v;
	unsigned long n;
	int ret;

	v = config_env_get(envp, "NFS_SERVER");
	if (v && *v) {
		ret = settings_check_server("NFS_SERVER", v, err, errlen);
		if (ret < 0)
			return ret;
		snprintf(s->server, sizeof(s->server), "%s", v);
	}
	v = config_env_get(envp, "NFS_EXPORT");
	if (v && *v) {
		ret = settings_normalize_export("NFS_EXPORT", v, s->export, sizeof(s->export), err,
						errlen);
		if (ret < 0)
			return ret;
	}
	ret = config_get_uint(envp, "NFS_VERSION", 3, 0, 99, &n, err, errlen);
	if (ret < 0)
		return ret;
	if (nfsb_version_supported((int)n, err, errlen) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "NFS_VERSION=%lu: %s", n, why);
		return -EINVAL;
	}
	s->version = (int)n;
	ret = config_get_uint(envp, "NFS_PORT", 0, 0, 65535, &n, err, errlen);
	if (ret < 0)
		return ret;
	s->nfs_port = (unsigned int)n;
	ret = config_get_uint(envp, "NFS_MOUNT_PORT", 0, 0, 65535, &n, err, errlen);
	if (ret < 0)
		return ret;
	s->mount_port = (unsigned int)n;
	ret = config_get_uint(envp, "NFS_TIMEOUT", SETTINGS_DEFAULT_TIMEOUT, 1,
			      SETTINGS_MAX_TIMEOUT, &n, err, errlen);
	if (ret < 0)
		return ret;
	s->timeout_s = (unsigned int)n;
	ret = config_get_uint(envp, "REFRESH_INTERVAL", SETTINGS_DEFAULT_REFRESH, 1, 3600, &n, err,
			      errlen);
	if (ret < 0)
		return ret;
	s->refresh_s = (unsigned int)n;
	if (s->server[0] && !s->export[0]) {
		snprintf(err, errlen,
			 "NFS_SERVER=%s is set but NFS_EXPORT is not: set both or "
			 "neither",
			 s->server);
		return -EINVAL;
	}
	if (!s->server[0] && s->export[0]) {
		snprintf(err, errlen,
			 "NFS_EXPORT=%s is set but NFS_SERVER is not: set both or "
			 "neither",
			 s->export);
		return -EINVAL;
	}
	return 0;
}

/* ALLOWED_EXPORTS=server:/export,server:/export */
static int parse_allowed(const char *text, struct settings *s, char *err, size_t errlen)
{
	const char *p = text;
	char item[NFSB_SERVER_MAX + NFSB_EXPORT_MAX], why[512];

	while (*p) {
		const char *end = strchrnul(p, ',');
		size_t len = (size_t)(end - p);
		struct settings_export *e;
		char *colon;

		if (len == 0 || len >= sizeof(item)) {
			snprintf(why, sizeof(why), "empty or too long entry");
			goto refuse;
		}
		if (s->nallowed == SETTINGS_MAX_ALLOWED) {
			snprintf(why, sizeof(why), "more than %d entries", SETTINGS_MAX_ALLOWED);
			goto refuse;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		colon = strchr(item, ':');
		if (!colon) {
			snprintf(why, sizeof(why), "%.200s has no ':'", item);
			goto refuse;
		}
		*colon = '\0';
		e = &s->allowed[s->nallowed];
		if (settings_check_server("server", item, why, sizeof(why)) < 0 ||
		    settings_normalize_export("export", colon + 1, e->export, sizeof(e->export),
					      why, sizeof(why)) < 0)
			goto refuse;
		memcpy(e->server, item, strlen(item) + 1); /* checked: shorter than server[] */
		s->nallowed++;
		p = *end ? end + 1 : end;
	}
	return 0;
refuse:
	snprintf(err, errlen,
		 "ALLOWED_EXPORTS=%s: %s; expected server:/export pairs separated by commas, "
		 "e.g. nfs-2:/srv/data,nfs-3:/export",
		 text, why);
	return -EINVAL;
}

bool settings_export_allowed(const struct settings *s, const char *server, const char *export)
{
	if (s->server[0] && strcmp(server, s->server) == 0 && strcmp(export, s->export) == 0)
		return true;
	for (size_t i = 0; i < s->nallowed; i++) {
		if (strcmp(server, s->allowed[i].server) == 0 &&
		    strcmp(export, s->allowed[i].export) == 0)
			return true;
	}
	return false;
}

static int parse_guards(char *const *envp, struct settings *s, char *err, size_t errlen)
{
	const char *v = config_env_get(envp, "ALLOWED_EXPORTS");
	unsigned long n;
	int ret;

	if (v && *v) {
		ret = parse_allowed(v, s, err, errlen);
		if (ret < 0)
			return ret;
	}
	ret = config_get_bool(envp, "ALLOW_ROOT_IDENTITY", false, &s->allow_root, err, errlen);
	if (ret < 0)
		return ret;
	if (!s->allow_root && (s->default_uid == 0 || s->default_gid == 0)) {
		snprintf(err, errlen,
			 "DEFAULT_UID=%d DEFAULT_GID=%d: root as the NFS identity of volumes needs "
			 "ALLOW_ROOT_IDENTITY=true",
			 s->default_uid, s->default_gid);
		return -EINVAL;
	}
	ret = config_get_uint(envp, "CATALOGUE_UID", SETTINGS_DEFAULT_CATALOGUE_ID, 1, 2147483646UL,
			      &n, err, errlen);
	if (ret < 0)
		return ret;
	s->catalogue_uid = (int)n;
	ret = config_get_uint(envp, "CATALOGUE_GID", SETTINGS_DEFAULT_CATALOGUE_ID, 1, 2147483646UL,
			      &n, err, errlen);
	if (ret < 0)
		return ret;
	s->catalogue_gid = (int)n;
	if (s->default_uid == s->catalogue_uid || s->default_gid == s->catalogue_gid) {
		snprintf(
			err, errlen,
			"DEFAULT_UID=%d DEFAULT_GID=%d: the catalogue's identity (CATALOGUE_UID=%d "
			"CATALOGUE_GID=%d) must differ from every volume's",
			s->default_uid, s->default_gid, s->catalogue_uid, s->catalogue_gid);
		return -EINVAL;
	}
	return 0;
}

int settings_parse(char *const *envp, struct settings *s, char *err, size_t errlen)
{
	const char *v;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = parse_nfs(envp, s, err, errlen);
	if (ret < 0)
		return ret;
	s->log_level = LOG_LEVEL_INFO;
	v = config_env_get(envp, "LOG_LEVEL");
	if (v && *v && log_level_parse(v, &s->log_level) < 0) {
		snprintf(err, errlen, "LOG_LEVEL=%s: expected error, warn, info or debug", v);
		return -EINVAL;
	}
	ret = get_path(envp, "STATE_DIR", SETTINGS_DEFAULT_STATE_DIR, s->state_dir,
		       sizeof(s->state_dir), err, errlen);
	if (ret < 0)
		return ret;
	/* Room for "/<volume name>" after it. */
	ret = get_path(envp, "MOUNT_ROOT", SETTINGS_DEFAULT_MOUNT_ROOT, s->mount_root,
		       sizeof(s->mount_root) - VOLUME_NAME_ROOM, err, errlen);
	if (ret < 0)
		return ret;
	v = config_env_get(envp, "CATALOGUE_DIR");
	if (!v || !*v)
		v = SETTINGS_DEFAULT_CATALOGUE_DIR;
	ret = check_dir_name(v, err, errlen);
	if (ret < 0)
		return ret;
	snprintf(s->catalogue_dir, sizeof(s->catalogue_dir), "%s", v);
	ret = get_id(envp, "DEFAULT_UID", &s->default_uid, err, errlen);
	if (ret < 0)
		return ret;
	ret = get_id(envp, "DEFAULT_GID", &s->default_gid, err, errlen);
	if (ret < 0)
		return ret;
	s->default_mode = SETTINGS_MODE_AUTO;
	v = config_env_get(envp, "DEFAULT_MODE");
	if (v && *v && strcmp(v, "auto") != 0) {
		ret = settings_parse_mode("DEFAULT_MODE", v, &s->default_mode, err, errlen);
		if (ret < 0)
			return ret;
	}
	return parse_guards(envp, s, err, errlen);
}

void settings_target(const struct settings *s, const char *server, const char *export,
		     struct nfsb_target *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->server, sizeof(out->server), "%s", server);
	snprintf(out->export, sizeof(out->export), "%s", export);
	out->nfs_port = s->nfs_port;
	out->mount_port = s->mount_port;
	out->version = s->version;
	out->timeout_s = s->timeout_s;
}

static void format_id(int id, char *buf, size_t len)
{
	if (id < 0)
		buf[0] = '\0';
	else
		snprintf(buf, len, "%d", id);
}

char *settings_format(const struct settings *s, char *buf, size_t len)
{
	char uid[16], gid[16], allowed[2048] = "";
	size_t used = 0;

	char mode[8] = "auto";

	format_id(s->default_uid, uid, sizeof(uid));
	format_id(s->default_gid, gid, sizeof(gid));
	if (s->default_mode != SETTINGS_MODE_AUTO)
		snprintf(mode, sizeof(mode), "%04o", s->default_mode & 07777);
	for (size_t i = 0; i < s->nallowed && used < sizeof(allowed); i++) {
		int n = snprintf(allowed + used, sizeof(allowed) - used, "%s%s:%s", i ? "," : "",
				 s->allowed[i].server, s->allowed[i].export);

		if (n > 0)
			used += (size_t)n;
	}
	snprintf(buf, len,
		 "NFS_SERVER=%s NFS_EXPORT=%s NFS_VERSION=%d NFS_PORT=%u NFS_MOUNT_PORT=%u "
		 "NFS_TIMEOUT=%u REFRESH_INTERVAL=%u LOG_LEVEL=%s STATE_DIR=%s MOUNT_ROOT=%s "
		 "CATALOGUE_DIR=%s DEFAULT_UID=%s DEFAULT_GID=%s DEFAULT_MODE=%s "
		 "ALLOWED_EXPORTS=%s ALLOW_ROOT_IDENTITY=%s CATALOGUE_UID=%d CATALOGUE_GID=%d",
		 s->server, s->export, s->version, s->nfs_port, s->mount_port, s->timeout_s,
		 s->refresh_s, log_level_name(s->log_level), s->state_dir, s->mount_root,
		 s->catalogue_dir, uid, gid, mode, allowed, s->allow_root ? "true" : "false",
		 s->catalogue_uid, s->catalogue_gid);
	return buf;
}
