// SPDX-License-Identifier: MIT
/*
 * catalogue: keep volume definitions in "<CATALOGUE_DIR>/<name>.json" on the export, and
 * say what is wrong with the files found there (see catalogue.h). The file format is
 * catalogue_codec.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "jsonutil.h"
#include "log.h"
#include "nfs_files.h"

/*
 * Become the catalogue identity on nb. If the catalogue directory is not ours (made by an
 * older plugin, or by the anonymous uid under root_squash), fall back to our own identity
 * so the plugin keeps working, and warn once: containers can change such a catalogue.
 */
static bool warned_foreign_dir;
static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;

static int become_catalogue(struct nfsb *nb, const struct settings *s, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	ret = nfsb_stat(nb, s->catalogue_dir, &st, err, errlen);
	if (ret == -ENOENT) {
		/* Make it as the catalogue identity; else as ourselves, then give it away. */
		nfsb_set_identity(nb, (uid_t)s->catalogue_uid, (gid_t)s->catalogue_gid);
		ret = nfsb_mkdir_p(nb, s->catalogue_dir, 0755, -1, -1, err, errlen);
		nfsb_set_identity(nb, getuid(), getgid());
		if (ret == -EACCES || ret == -EPERM)
			ret = nfsb_mkdir_p(nb, s->catalogue_dir, 0755, s->catalogue_uid,
					   s->catalogue_gid, err, errlen);
		if (ret < 0)
			return ret;
		ret = nfsb_stat(nb, s->catalogue_dir, &st, err, errlen);
	}
	if (ret < 0)
		return ret;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s on the export is not a directory", s->catalogue_dir);
		return -ENOTDIR;
	}
	if (st.st_uid == (uid_t)s->catalogue_uid) {
		nfsb_set_identity(nb, (uid_t)s->catalogue_uid, (gid_t)s->catalogue_gid);
		return 0;
	}
	pthread_mutex_lock(&warn_lock);
	if (!warned_foreign_dir)
		log_warnx("catalogue: directory %s belongs to uid %u, not CATALOGUE_UID=%d: "
			  "containers writing as uid %u can change volume definitions; chown it "
			  "to %d:%d on the server",
			  s->catalogue_dir, (unsigned int)st.st_uid, s->catalogue_uid,
			  (unsigned int)st.st_uid, s->catalogue_uid, s->catalogue_gid);
	warned_foreign_dir = true;
	pthread_mutex_unlock(&warn_lock);
	return 0;
}

int catalogue_put(struct nfsb *nb, const struct settings *s, const struct volume_def *d, char *err,
		  size_t errlen)
{
	char path[1024], *text = NULL;
	json_t *j = NULL;
	int ret;

	ret = catalogue_path(s->catalogue_dir, d->name, path, sizeof(path));
	if (ret < 0)
		return ret;
	ret = become_catalogue(nb, s, err, errlen);
	if (ret < 0)
		goto out;
	j = catalogue_encode(d);
	if (j)
		text = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1));
	if (!text) {
		ret = -ENOMEM;
		goto out;
	}
	/*
	 * The temp file name holds our PID and a counter; managed plugins are PID 1 on every
	 * node, so two nodes creating the same volume at once (a stack starting tasks) can
	 * pick the same name: O_EXCL refuses it, and another try takes the next name.
	 */
	for (int i = 0; i < 4; i++) {
		ret = nfsb_write_file_atomic(nb, path, text, strlen(text), 0644, err, errlen);
		if (ret != -EEXIST || nfsb_is_broken(nb))
			break;
	}
out:
	nfsb_set_identity(nb, getuid(), getgid());
	free(text);
	json_decref(j);
	return ret;
}

static int read_def(struct nfsb *nb, const struct settings *s, const char *name,
		    struct volume_def *out, char *err, size_t errlen)
{
	char path[1024], why[512], *buf = NULL;
	json_error_t jerr;
	json_t *j = NULL;
	size_t len = 0;
	int ret;

	ret = catalogue_path(s->catalogue_dir, name, path, sizeof(path));
	if (ret < 0)
		return ret;
	ret = nfsb_read_file(nb, path, CATALOGUE_MAX_FILE, &buf, &len, err, errlen);
	if (ret < 0)
		return ret;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		snprintf(err, errlen, "%s: not JSON: %s", path, jerr.text);
		ret = -EINVAL;
		goto out;
	}
	ret = catalogue_decode(j, s->catalogue_dir, out, why, sizeof(why));
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	if (strcmp(out->name, name) != 0) {
		snprintf(err, errlen, "%s: holds volume \"%s\"", path, out->name);
		ret = -EINVAL;
		goto out;
	}
	ret = options_check_policy(out, s, why, sizeof(why));
	if (ret < 0)
		snprintf(err, errlen, "%s: ignored: %s", path, why);
out:
	json_decref(j);
	free(buf);
	return ret;
}

int catalogue_get(struct nfsb *nb, const struct settings *s, const char *name,
		  struct volume_def *out, char *err, size_t errlen)
{
	return read_def(nb, s, name, out, err, errlen);
}

int catalogue_delete(struct nfsb *nb, const struct settings *s, const char *name, char *err,
		     size_t errlen)
{
	char path[1024];
	int ret;

	ret = catalogue_path(s->catalogue_dir, name, path, sizeof(path));
	if (ret < 0)
		return ret;
	ret = nfsb_exists(nb, path, err, errlen);
	if (ret <= 0)
		return ret;
	ret = become_catalogue(nb, s, err, errlen);
	if (ret == 0)
		ret = nfsb_remove_tree(nb, path, err, errlen);
	nfsb_set_identity(nb, getuid(), getgid());
	return ret;
}

/*
 * One warning per (file, message): the refresher lists the catalogue every few seconds,
 * and a bad file should not flood the log. Remembers the last CATALOGUE_WARNED pairs.
 */
#define CATALOGUE_WARNED 64
static struct {
	uint64_t hash;
} warned[CATALOGUE_WARNED];
static size_t nwarned;

static uint64_t fnv1a(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = a; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *p = b; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static void warn_once(const char *dir, const char *fname, const char *why)
{
	uint64_t h = fnv1a(fname, why);
	bool seen = false;

	pthread_mutex_lock(&warn_lock);
	for (size_t i = 0; i < nwarned && !seen; i++)
		seen = warned[i].hash == h;
	if (!seen)
		warned[nwarned++ % CATALOGUE_WARNED].hash = h;
	if (nwarned > CATALOGUE_WARNED)
		nwarned = CATALOGUE_WARNED;
	pthread_mutex_unlock(&warn_lock);
	if (seen)
		log_debug("catalogue: still cannot use %s/%s: %s", dir, fname, why);
	else
		log_warnx("catalogue: cannot use %s/%s: %s", dir, fname, why);
}

struct list_ctx {
	struct nfsb *nb;
	const struct settings *s;
	const char *dir;
	struct catalogue_listing *out;
	size_t cap, capbad;
	char *err;
	size_t errlen;
};

static int add_def(struct list_ctx *c, const struct volume_def *d)
{
	struct catalogue_listing *l = c->out;

	if (l->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct volume_def *v = realloc(l->defs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->defs = v;
		c->cap = cap;
	}
	l->defs[l->n++] = *d;
	return 0;
}

static int add_bad(struct list_ctx *c, const char *name)
{
	struct catalogue_listing *l = c->out;

	if (l->nbad == c->capbad) {
		size_t cap = c->capbad ? c->capbad * 2 : 4;
		char(*b)[VOL_NAME_MAX + 1] = realloc(l->bad, cap * sizeof(*b));

		if (!b)
			return -ENOMEM;
		l->bad = b;
		c->capbad = cap;
	}
	snprintf(l->bad[l->nbad++], VOL_NAME_MAX + 1, "%s", name);
	return 0;
}

static int list_one(const char *fname, const struct stat *st, void *arg)
{
	struct list_ctx *c = arg;
	char name[VOL_NAME_MAX + 1], err[1024];
	size_t len = strlen(fname);
	struct volume_def d;
	int ret;

	/* Skip temp files of atomic writes (".<name>.tmp...") and anything not "<name>.json". */
	if (!S_ISREG(st->st_mode) || len <= 5 || len - 5 > VOL_NAME_MAX ||
	    strcmp(fname + len - 5, ".json") != 0)
		return 0;
	memcpy(name, fname, len - 5);
	name[len - 5] = '\0';
	if (options_check_name(name, err, sizeof(err)) < 0)
		return 0;
	ret = read_def(c->nb, c->s, name, &d, err, sizeof(err));
	if (ret == 0)
		return add_def(c, &d);
	if (nfsb_is_broken(c->nb)) {
		if (c->err)
			snprintf(c->err, c->errlen, "%s", err);
		return ret;
	}
	/* Gone between READDIR and READ (removed on another node): not a problem. */
	if (ret == -ENOENT)
		return 0;
	warn_once(c->dir, fname, err);
	return add_bad(c, name);
}

void catalogue_listing_fini(struct catalogue_listing *l)
{
	if (!l)
		return;
	free(l->defs);
	free(l->bad);
	memset(l, 0, sizeof(*l));
}

int catalogue_list(struct nfsb *nb, const struct settings *s, struct catalogue_listing *out,
		   char *err, size_t errlen)
{
	struct list_ctx c = {.nb = nb,
			     .s = s,
			     .dir = s->catalogue_dir,
			     .out = out,
			     .err = err,
			     .errlen = errlen};
	int ret;

	memset(out, 0, sizeof(*out));
	ret = nfsb_list_dir(nb, s->catalogue_dir, list_one, &c, err, errlen);
	if (ret == -ENOENT)
		ret = 0;
	if (ret < 0)
		catalogue_listing_fini(out);
	return ret;
}
