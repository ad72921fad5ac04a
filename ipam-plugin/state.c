// SPDX-License-Identifier: MIT
/*
 * state: per-pool JSON files. See state.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atomic_file.h"
#include "jsonutil.h"
#include "log.h"
#include "settings.h"
#include "state.h"

static const char *const space_key[PA_NSPACES] = {"local", "global"};

static json_t *addr_text(const struct pa_pool *p, cidr_u128 off)
{
	struct cidr c = cidr_from_u128(p->net.family, cidr_to_u128(&p->net) + off, 128);
	char buf[CIDR_STRLEN];

	return json_string(cidr_format_addr(&c, buf, sizeof(buf)));
}

struct run_ctx {
	const struct pa_pool *p;
	json_t *arr;
};

static int add_run(void *arg, cidr_u128 first, cidr_u128 last)
{
	struct run_ctx *ctx = arg;
	char a[CIDR_STRLEN], b[CIDR_STRLEN], both[2 * CIDR_STRLEN + 2];
	cidr_u128 base = cidr_to_u128(&ctx->p->net);
	struct cidr c1 = cidr_from_u128(ctx->p->net.family, base + first, 0);
	struct cidr c2 = cidr_from_u128(ctx->p->net.family, base + last, 0);

	cidr_format_addr(&c1, a, sizeof(a));
	if (first == last)
		snprintf(both, sizeof(both), "%s", a);
	else
		snprintf(both, sizeof(both), "%s-%s", a, cidr_format_addr(&c2, b, sizeof(b)));
	return json_array_append_new(ctx->arr, json_string(both)) < 0 ? -ENOMEM : 0;
}

json_t *state_encode_pool(const struct pa_pool *p)
{
	char buf[CIDR_STRLEN];
	struct run_ctx ctx = {.p = p};
	json_t *j;

	ctx.arr = json_array();
	j = json_pack("{s:i, s:s, s:s, s:o}", "version", STATE_VERSION, "space",
		      space_key[p->space], "pool", cidr_format(&p->net, buf, sizeof(buf)), "cursor",
		      addr_text(p, p->cursor));
	if (!j || !ctx.arr)
		goto drop_json;
	if (p->chosen && json_object_set_new(j, "chosen", json_true()) < 0)
		goto drop_json;
	if (p->has_range &&
	    json_object_set_new(j, "range", json_string(cidr_format(&p->range, buf, sizeof(buf)))) <
		    0)
		goto drop_json;
	if (pa_pool_for_each_run(p, add_run, &ctx) < 0)
		goto drop_json;
	if (json_object_set_new(j, "allocated", ctx.arr) < 0) {
		ctx.arr = NULL;
		goto drop_json;
	}
	return j;
drop_json:
	json_decref(ctx.arr);
	json_decref(j);
	return NULL;
}

/* Parse a bare address of p's family inside p into *off. */
static int parse_off(const struct pa_pool *p, const char *text, cidr_u128 *off, char *err,
		     size_t errlen)
{
	struct cidr c;
	char msg[256];

	if (cidr_parse(text, CIDR_PARSE_ALLOW_BARE, &c, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "%s", msg);
		return -EINVAL;
	}
	if (c.prefix != cidr_max_prefix(&c) || !pa_pool_offset(p, &c, off)) {
		snprintf(err, errlen, "%s: not an address of pool %s", text, p->id);
		return -EINVAL;
	}
	return 0;
}

static int decode_allocated(struct pa_pool *p, json_t *arr, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		char first[CIDR_STRLEN];
		const char *text = json_string_value(v), *dash;
		cidr_u128 lo, hi;
		int ret;

		if (!text) {
			snprintf(err, errlen, "allocated[%zu]: expected a string", i);
			return -EINVAL;
		}
		dash = strchr(text, '-');
		snprintf(first, sizeof(first), "%.*s",
			 dash ? (int)(dash - text) : (int)strlen(text), text);
		if (parse_off(p, first, &lo, err, errlen) < 0)
			return -EINVAL;
		hi = lo;
		if (dash && parse_off(p, dash + 1, &hi, err, errlen) < 0)
			return -EINVAL;
		ret = pa_pool_mark(p, lo, hi, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int state_decode_pool(struct pa_allocator *a, json_t *j, struct pa_pool **out, char *err,
		      size_t errlen)
{
	const char *space = NULL, *pool = NULL, *range = NULL, *cursor = NULL;
	struct cidr net, rng;
	json_t *allocated = NULL;
	int chosen = 0;
	json_error_t jerr;
	struct pa_pool *p = NULL;
	char msg[256];
	int version = 0, sp = -1, ret;

	if (json_unpack_ex(j, &jerr, 0, "{s:i, s:s, s:s, s?s, s?s, s?o, s?b}", "version", &version,
			   "space", &space, "pool", &pool, "range", &range, "cursor", &cursor,
			   "allocated", &allocated, "chosen", &chosen) < 0) {
		snprintf(err, errlen, "%s", jerr.text);
		return -EINVAL;
	}
	if (version != STATE_VERSION) {
		snprintf(err, errlen, "version %d: this plugin reads version %d", version,
			 STATE_VERSION);
		return -EINVAL;
	}
	for (int i = 0; i < PA_NSPACES; i++) {
		if (strcmp(space, space_key[i]) == 0)
			sp = i;
	}
	if (sp < 0) {
		snprintf(err, errlen, "space %s: expected local or global", space);
		return -EINVAL;
	}
	if (allocated && !json_is_array(allocated)) {
		snprintf(err, errlen, "allocated: expected an array");
		return -EINVAL;
	}
	if (cidr_parse(pool, CIDR_PARSE_STRICT, &net, msg, sizeof(msg)) < 0 ||
	    (range && cidr_parse(range, CIDR_PARSE_STRICT, &rng, msg, sizeof(msg)) < 0)) {
		snprintf(err, errlen, "%s", msg);
		return -EINVAL;
	}
	ret = pa_pool_add(a, (enum pa_space)sp, &net, range ? &rng : NULL, &p, err, errlen);
	if (ret < 0)
		return ret;
	p->chosen = chosen;
	if (cursor) {
		cidr_u128 off;

		ret = parse_off(p, cursor, &off, err, errlen);
		if (ret < 0)
			goto out_remove;
		p->cursor = off;
	}
	if (allocated) {
		ret = decode_allocated(p, allocated, err, errlen);
		if (ret < 0)
			goto out_remove;
	}
	*out = p;
	return 0;
out_remove:
	pa_pool_remove(a, p);
	return ret;
}

char *state_file_name(const struct pa_pool *p, char *buf, size_t len)
{
	char c[CIDR_STRLEN];

	cidr_format(&p->net, c, sizeof(c));
	for (char *s = c; *s; s++) {
		if (*s == '/')
			*s = '_';
		else if (*s == ':')
			*s = '-';
	}
	snprintf(buf, len, "%s_%s.json", space_key[p->space], c);
	return buf;
}

static int pool_path(const char *dir, const struct pa_pool *p, char *path, size_t len, char *err,
		     size_t errlen)
{
	char name[CIDR_STRLEN + 16];

	if (snprintf(path, len, "%s/pools/%s", dir, state_file_name(p, name, sizeof(name))) >=
	    (int)len) {
		snprintf(err, errlen, "state path too long under %s", dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

int state_save_pool(const char *dir, const struct pa_pool *p, char *err, size_t errlen)
{
	char path[PATH_MAX], sub[PATH_MAX];
	json_t *j = NULL;
	int ret;

	ret = pool_path(dir, p, path, sizeof(path), err, errlen);
	if (ret < 0)
		return ret;
	snprintf(sub, sizeof(sub), "%s/pools", dir);
	ret = atomic_file_mkdirs(sub, 0700);
	if (ret < 0) {
		snprintf(err, errlen, "cannot create %s: %s", sub, errno_text(-ret));
		return ret;
	}
	j = state_encode_pool(p);
	if (!j) {
		snprintf(err, errlen, "out of memory encoding pool %s", p->id);
		return -ENOMEM;
	}
	ret = jsonutil_save(path, j);
	json_decref(j);
	if (ret < 0)
		snprintf(err, errlen, "cannot write %s: %s", path, errno_text(-ret));
	return ret;
}

int state_delete_pool(const char *dir, const struct pa_pool *p, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int ret, fd;

	ret = pool_path(dir, p, path, sizeof(path), err, errlen);
	if (ret < 0)
		return ret;
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, "cannot remove %s: %s", path, errno_text(-ret));
		return ret;
	}
	/* Make the removal durable like the writes are. */
	*strrchr(path, '/') = '\0';
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

static bool is_pool_file(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

int state_load(const char *dir, struct pa_allocator *a, char *err, size_t errlen)
{
	char sub[PATH_MAX], path[PATH_MAX + 256], msg[512];
	struct dirent *de;
	DIR *d = NULL;
	int ret = 0, count = 0;

	snprintf(sub, sizeof(sub), "%s/pools", dir);
	/* temp files of saves a crash (kill -9) interrupted; a live writer's are kept */
	ret = atomic_file_clean_dir(sub);
	if (ret > 0)
		log_info("state: removed %d temporary files of saves interrupted by a crash in %s",
			 ret, sub);
	d = opendir(sub);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		snprintf(err, errlen, "cannot read %s: %s", sub, errno_text(-ret));
		return ret;
	}
	while ((de = readdir(d))) {
		struct pa_pool *p;
		json_t *j = NULL;

		if (!is_pool_file(de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", sub, de->d_name) >= (int)sizeof(path))
			continue;
		ret = jsonutil_load(path, &j, msg, sizeof(msg));
		if (ret == -ENOENT)
			continue;
		if (ret < 0) {
			snprintf(err, errlen, "%s: %s", path,
				 ret == -EINVAL ? msg : errno_text(-ret));
			goto out;
		}
		ret = state_decode_pool(a, j, &p, msg, sizeof(msg));
		json_decref(j);
		if (ret < 0) {
			snprintf(err, errlen, "%s: %s", path, msg);
			goto out;
		}
		count++;
	}
	ret = count;
out:
	closedir(d);
	return ret;
}

int state_ula(const char *dir, struct cidr *out, bool *created, char *err, size_t errlen)
{
	char path[PATH_MAX], text[CIDR_STRLEN], msg[256];
	unsigned char rnd[5];
	const char *ula = NULL;
	json_t *j = NULL;
	int ret;

	*created = false;
	snprintf(path, sizeof(path), "%s/ula.json", dir);
	ret = jsonutil_load(path, &j, msg, sizeof(msg));
	if (ret == 0) {
		if (json_unpack(j, "{s:s}", "ula", &ula) < 0 ||
		    cidr_parse(ula, CIDR_PARSE_STRICT, out, msg, sizeof(msg)) < 0 ||
		    out->family != AF_INET6 || out->prefix != 48 ||
		    (cidr_to_u128(out) >> 120) != 0xfd) {
			snprintf(err, errlen,
				 "%s: expected {\"ula\":\"fdXX:XXXX:XXXX::/48\"}; fix or remove "
				 "the file (a new random prefix is then chosen)",
				 path);
			ret = -EINVAL;
		}
		goto out;
	}
	if (ret != -ENOENT) {
		snprintf(err, errlen, "%s", msg);
		goto out;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		ret = -errno;
		snprintf(err, errlen, "no random bytes for the ULA prefix");
		goto out;
	}
	*out = settings_ula_from_random(rnd);
	j = json_pack("{s:i, s:s}", "version", STATE_VERSION, "ula",
		      cidr_format(out, text, sizeof(text)));
	ret = atomic_file_mkdirs(dir, 0700);
	if (!ret)
		ret = j ? jsonutil_save(path, j) : -ENOMEM;
	if (ret < 0) {
		snprintf(err, errlen, "cannot save %s: %s", path, errno_text(-ret));
		goto out;
	}
	*created = true;
out:
	json_decref(j);
	return ret;
}
