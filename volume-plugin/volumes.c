// SPDX-License-Identifier: MIT
/*
 * volumes: the node's volume table, the VolumeDriver operations and the background
 * refresher (see volumes.h). Locking: vs->lock guards the table, the target status list
 * and every struct vol field. NFS and FUSE calls run without it; the volume they work on
 * is marked busy meanwhile, and waiters sleep on vs->changed. A busy volume is never
 * freed, so its pointer stays valid across the unlocked section; after any wait, look the
 * volume up again by name.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalogue.h"
#include "fuse_fs.h"
#include "log.h"
#include "nfs_backend.h"
#include "nfs_files.h"
#include "state.h"
#include "volumes.h"

struct vol {
	struct volume_def def;
	bool defined; /* false: a placeholder while the first Create runs */
	bool busy;    /* a slow operation runs on it without the lock */
	struct state_mount *ids;
	size_t nids;
	struct volfs *fs; /* the FUSE mount on this node, or NULL */
	char mountpoint[SETTINGS_PATH_LEN];
	bool removed_on_export;
	uint64_t epoch;		/* vs->epoch at the last local change */
	char mount_error[1024]; /* why the last re-mount at start failed */
	unsigned int round;	/* last remount pass that tried it */
	struct vol *next;
};

/* What the last check learned about one server + export. */
struct tstatus {
	char server[NFSB_SERVER_MAX];
	char export[NFSB_EXPORT_MAX];
	bool known, reachable, have_space;
	time_t checked_at;
	char error[512];
	struct statvfs sv;
	struct tstatus *next;
};

/* A volume removed here; a catalogue listing that started earlier may still show it. */
struct tombstone {
	char name[VOL_NAME_MAX + 1];
	uint64_t epoch;
	struct tombstone *next;
};

struct volumes {
	struct settings cfg;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a volume stopped being busy */
	pthread_cond_t wake;	/* the refresher should run (CLOCK_MONOTONIC) */
	struct vol *head;
	struct tstatus *targets;
	struct tombstone *tombstones;
	uint64_t epoch;
	unsigned int round;
	bool stop, refresh_asked;
	pthread_t refresher;
	bool refresher_started;
};

/* ---- table helpers (lock held) ---- */

static struct vol *find(struct volumes *vs, const char *name)
{
	for (struct vol *v = vs->head; v; v = v->next) {
		if (strcmp(v->def.name, name) == 0)
			return v;
	}
	return NULL;
}

/* Find name and wait until it is not busy. Returns NULL if it does not exist (any more). */
static struct vol *find_ready(struct volumes *vs, const char *name)
{
	struct vol *v;

	while ((v = find(vs, name)) && v->busy)
		pthread_cond_wait(&vs->changed, &vs->lock);
	return v;
}

static struct vol *vol_add(struct volumes *vs, const char *name)
{
	struct vol *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	snprintf(v->def.name, sizeof(v->def.name), "%s", name);
	v->next = vs->head;
	vs->head = v;
	return v;
}

static void vol_free(struct vol *v)
{
	if (!v)
		return;
	free(v->ids);
	free(v);
}

static void vol_unlink(struct volumes *vs, struct vol *v)
{
	for (struct vol **p = &vs->head; *p; p = &(*p)->next) {
		if (*p == v) {
			*p = v->next;
			return;
		}
	}
}

static void set_idle(struct volumes *vs, struct vol *v)
{
	v->busy = false;
	pthread_cond_broadcast(&vs->changed);
}

static unsigned int total_mounts(const struct vol *v)
{
	unsigned int n = 0;

	for (size_t i = 0; i < v->nids; i++)
		n += v->ids[i].count;
	return n;
}

static int id_add(struct vol *v, const char *id)
{
	struct state_mount *ids;

	for (size_t i = 0; i < v->nids; i++) {
		if (strcmp(v->ids[i].id, id) == 0) {
			v->ids[i].count++;
			return 0;
		}
	}
	ids = realloc(v->ids, (v->nids + 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	v->ids = ids;
	snprintf(ids[v->nids].id, sizeof(ids[v->nids].id), "%s", id);
	ids[v->nids].count = 1;
	v->nids++;
	return 0;
}

/* Drop one mount of id. Returns false if id was not mounted. */
static bool id_release(struct vol *v, const char *id)
{
	for (size_t i = 0; i < v->nids; i++) {
		if (strcmp(v->ids[i].id, id) != 0)
			continue;
		if (--v->ids[i].count == 0) {
			v->ids[i] = v->ids[v->nids - 1];
			v->nids--;
		}
		return true;
	}
	return false;
}

static void mountpoint_of(const struct volumes *vs, const char *name, char *buf, size_t len)
{
	/* MOUNT_ROOT and names are bounded well below SETTINGS_PATH_LEN together. */
	if (snprintf(buf, len, "%s/%s", vs->cfg.mount_root, name) >= (int)len)
		buf[0] = '\0';
}

/* Write the state file. Logged, not returned: the operation itself has succeeded. */
static void save_locked(struct volumes *vs)
{
	struct state st = {0};
	int ret = 0;

	for (struct vol *v = vs->head; v; v = v->next) {
		if (!v->defined)
			continue;
		if (!state_add(&st, &v->def, v->fs || v->nids ? v->mountpoint : "", v->ids,
			       v->nids)) {
			ret = -ENOMEM;
			break;
		}
	}
	if (ret == 0)
		ret = state_save(vs->cfg.state_dir, &st);
	if (ret < 0)
		log_warnx("%s: cannot save the state in %s: %s", __func__, vs->cfg.state_dir,
			  errno_text(-ret));
	state_fini(&st);
}

static struct tstatus *tstatus_get(struct volumes *vs, const char *server, const char *export,
				   bool create)
{
	struct tstatus *t;

	for (t = vs->targets; t; t = t->next) {
		if (strcmp(t->server, server) == 0 && strcmp(t->export, export) == 0)
			return t;
	}
	if (!create || !(t = calloc(1, sizeof(*t))))
		return NULL;
	snprintf(t->server, sizeof(t->server), "%s", server);
	snprintf(t->export, sizeof(t->export), "%s", export);
	t->next = vs->targets;
	vs->targets = t;
	return t;
}

static void tstatus_set(struct volumes *vs, const char *server, const char *export, int ret,
			const char *err, const struct statvfs *sv)
{
	struct tstatus *t = tstatus_get(vs, server, export, true);

	if (!t)
		return;
	if (t->known && t->reachable != (ret == 0)) {
		if (ret == 0)
			log_info("NFS server %s export %s is reachable again", server, export);
		else
			log_warnx("%s", err);
	}
	t->known = true;
	t->reachable = ret == 0;
	t->checked_at = time(NULL);
	snprintf(t->error, sizeof(t->error), "%s", ret == 0 ? "" : err);
	if (sv) {
		t->sv = *sv;
		t->have_space = true;
	}
}

/* ---- NFS helpers (no lock held) ---- */

static bool has_home(const struct volumes *vs)
{
	return vs->cfg.server[0] != '\0';
}

static bool is_home(const struct volumes *vs, const struct volume_def *d)
{
	return has_home(vs) && strcmp(d->server, vs->cfg.server) == 0 &&
	       strcmp(d->export, vs->cfg.export) == 0;
}

static int connect_to(struct volumes *vs, const char *server, const char *export, struct nfsb **nb,
		      char *err, size_t errlen)
{
	struct nfsb_target t;

	settings_target(&vs->cfg, server, export, &t);
	return nfsb_connect(&t, -1, -1, nb, err, errlen);
}

/*
 * mkdir -p the volume's directory (adopting an existing one). With a fixed uid the
 * directories are made AS that uid/gid, so they belong to it even under root_squash
 * (where our root is the anonymous user and may not chown); if that identity may not
 * write there, try again as ourselves with a chown (works without root_squash).
 */
static int make_subdir(struct nfsb *nb, const struct volume_def *d, char *err, size_t errlen)
{
	int ret;

	if (!d->subdir[0])
		return 0;
	if (d->uid >= 0 || d->gid >= 0) {
		nfsb_set_identity(nb, d->uid >= 0 ? (uid_t)d->uid : getuid(),
				  d->gid >= 0 ? (gid_t)d->gid : getgid());
		ret = nfsb_mkdir_p(nb, d->subdir, d->mode, d->uid, d->gid, err, errlen);
		nfsb_set_identity(nb, getuid(), getgid());
		if (ret != -EACCES && ret != -EPERM)
			return ret;
		log_debug("volume %s: mkdir %s as %d:%d refused, trying as ourselves", d->name,
			  d->subdir, d->uid, d->gid);
	}
	return nfsb_mkdir_p(nb, d->subdir, d->mode, d->uid, d->gid, err, errlen);
}

/*
 * A volume on another export of the home server may name the home export's root or the
 * catalogue by another spelling (export=/srv subdir=mpf for NFS_EXPORT=/srv/mpf): its
 * FUSE view would hold the catalogue. Decided by identity on the server.
 */
static int check_not_home_root(struct volumes *vs, struct nfsb *home, struct nfsb *data,
			       const struct volume_def *d, char *err, size_t errlen)
{
	struct nfsb_id root[1], cat[2], mine[64];
	char why[1024];
	size_t n, nroot, ncat = 0;
	int ret;

	ret = nfsb_walk_dir(home, "/", root, 1, &nroot, why, sizeof(why));
	if (ret == 0) {
		ret = nfsb_walk_dir(home, vs->cfg.catalogue_dir, cat, 2, &ncat, why, sizeof(why));
		if (ret == -ENOENT)
			ret = 0;
	}
	if (ret == 0)
		ret = nfsb_walk_dir(data, d->subdir, mine, 64, &n, why, sizeof(why));
	if (ret < 0) {
		snprintf(err, errlen, "volume %s: cannot check /%s: %s", d->name, d->subdir, why);
		return ret;
	}
	for (size_t i = 0; i < n; i++) {
		if (nfsb_id_eq(&mine[i], &root[0]) && i + 1 == n) {
			snprintf(err, errlen,
				 "volume %s: export %s subdir /%s is the home export's root (the "
				 "same directory on the server), which holds the catalogue: use a "
				 "subdir",
				 d->name, d->export, d->subdir);
			return -EPERM;
		}
		if (ncat == 2 && nfsb_id_eq(&mine[i], &cat[1])) {
			snprintf(err, errlen,
				 "volume %s: export %s subdir /%s is or lies inside the plugin's "
				 "catalogue directory (the same directory on the server)",
				 d->name, d->export, d->subdir);
			return -EPERM;
		}
	}
	return 0;
}

/*
 * The NFS part of Create: consult the catalogue, make the directory, record the
 * definition. *want gets the stored definition (with its CreatedAt).
 */
static int create_on_export(struct volumes *vs, struct volume_def *want, char *err, size_t errlen)
{
	struct nfsb *home = NULL, *data = NULL;
	char diff[2048], why[1024];
	struct volume_def have;
	bool exists = false;
	int ret;

	if (has_home(vs)) {
		ret = connect_to(vs, vs->cfg.server, vs->cfg.export, &home, err, errlen);
		if (ret < 0)
			goto out;
		ret = catalogue_get(home, &vs->cfg, want->name, &have, why, sizeof(why));
		if (ret == 0) {
			exists = true;
			if (options_diff(&have, want, diff, sizeof(diff)) > 0) {
				snprintf(err, errlen,
					 "volume %s already exists with other "
					 "options: %s; remove it first or create it "
					 "with the same options",
					 want->name, diff);
				ret = -EEXIST;
				goto out;
			}
			want->created_at = have.created_at;
		} else if (ret != -ENOENT) {
			snprintf(err, errlen, "volume %s: cannot read the catalogue: %s",
				 want->name, why);
			goto out;
		}
	}
	if (is_home(vs, want)) {
		data = home;
	} else {
		ret = connect_to(vs, want->server, want->export, &data, err, errlen);
		if (ret < 0)
			goto out;
	}
	ret = make_subdir(data, want, why, sizeof(why));
	if (ret < 0) {
		snprintf(err, errlen, "volume %s: cannot create directory %s: %s", want->name,
			 want->subdir, why);
		goto out;
	}
	if (home && data != home && strcmp(want->server, vs->cfg.server) == 0) {
		ret = check_not_home_root(vs, home, data, want, err, errlen);
		if (ret < 0)
			goto out;
	}
	if (home && !exists) {
		want->created_at = time(NULL);
		ret = catalogue_put(home, &vs->cfg, want, why, sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen,
				 "volume %s: cannot record it in the catalogue "
				 "(%s/%s.json): %s",
				 want->name, vs->cfg.catalogue_dir, want->name, why);
			goto out;
		}
	}
	if (!home)
		want->created_at = time(NULL);
	log_info("volume %s: %s (server %s export %s subdir /%s)", want->name,
		 exists ? "already in the catalogue, options match" : "created", want->server,
		 want->export, want->subdir);
out:
	if (data != home)
		nfsb_close(data);
	nfsb_close(home);
	return ret;
}

int volumes_create(struct volumes *vs, const char *name, const struct volume_opts *opts, char *err,
		   size_t errlen)
{
	struct volume_def want;
	struct vol *v;
	bool placeholder = false;
	int ret;

	ret = options_parse(name, opts, &vs->cfg, &want, err, errlen);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&vs->lock);
	v = find_ready(vs, name);
	if (!v) {
		v = vol_add(vs, name);
		if (!v) {
			pthread_mutex_unlock(&vs->lock);
			return -ENOMEM;
		}
		placeholder = true;
	}
	v->busy = true;
	pthread_mutex_unlock(&vs->lock);

	ret = create_on_export(vs, &want, err, errlen);

	pthread_mutex_lock(&vs->lock);
	if (ret == 0) {
		v->def = want;
		v->defined = true;
		v->removed_on_export = false;
		v->epoch = ++vs->epoch;
		save_locked(vs);
	}
	set_idle(vs, v);
	if (ret < 0 && placeholder) {
		vol_unlink(vs, v);
		vol_free(v);
	}
	pthread_mutex_unlock(&vs->lock);
	return ret;
}

/* ---- Remove ---- */

static bool dirs_overlap(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > lb)
		return dirs_overlap(b, a);
	/* a is the shorter: the same directory, or an ancestor of b */
	return la == 0 || (strncmp(a, b, la) == 0 && (b[la] == '\0' || b[la] == '/'));
}

/* Another definition whose directory contains, equals or lies inside d's. */
static const struct volume_def *shares_dir(const struct volume_def *d,
					   const struct volume_def *others, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(others[i].name, d->name) == 0)
			continue;
		if (strcmp(others[i].server, d->server) == 0 &&
		    strcmp(others[i].export, d->export) == 0 &&
		    dirs_overlap(others[i].subdir, d->subdir))
			return &others[i];
	}
	return NULL;
}

#define KEEP_MAX 1024

/* Append the identity of directory path on nb to keep (a missing one is skipped). */
static int keep_dir(struct nfsb *nb, const char *path, struct nfsb_id *keep, size_t *nkeep,
		    char *err, size_t errlen)
{
	struct nfsb_id chain[64];
	size_t n;
	int ret;

	if (*nkeep == KEEP_MAX)
		return 0;
	ret = nfsb_walk_dir(nb, path, chain, 64, &n, err, errlen);
	/* Not a directory we could reach (so delete) through this path either. */
	if (ret == -ENOENT || ret == -ENOTDIR || ret == -ELOOP || ret == -ENAMETOOLONG ||
	    ret == -EACCES || ret == -EPERM)
		return 0;
	if (ret < 0)
		return ret;
	keep[(*nkeep)++] = chain[n - 1];
	return 0;
}

/*
 * What on_remove=delete must never delete, by identity on the server: the export roots,
 * the catalogue and every other volume's directory on d's server, however spelt.
 */
static int collect_keep(struct volumes *vs, struct nfsb *home, struct nfsb *data,
			const struct volume_def *d, const struct volume_def *others, size_t n,
			struct nfsb_id *keep, size_t *nkeep, size_t *nroots, char *err,
			size_t errlen)
{
	int ret;

	/* The export roots first (*nroots of them): a volume may lie inside one. */
	*nkeep = 0;
	ret = keep_dir(data, "/", keep, nkeep, err, errlen);
	if (ret == 0 && home)
		ret = keep_dir(home, "/", keep, nkeep, err, errlen);
	*nroots = *nkeep;
	if (ret == 0 && home)
		ret = keep_dir(home, vs->cfg.catalogue_dir, keep, nkeep, err, errlen);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		const struct volume_def *o = &others[i];
		struct nfsb *nb = NULL;

		if (strcmp(o->name, d->name) == 0 || strcmp(o->server, d->server) != 0)
			continue;
		if (strcmp(o->export, d->export) == 0)
			nb = data;
		else if (home && is_home(vs, o))
			nb = home;
		if (nb) {
			ret = keep_dir(nb, o->subdir, keep, nkeep, err, errlen);
			continue;
		}
		ret = connect_to(vs, o->server, o->export, &nb, err, errlen);
		if (ret == 0)
			ret = keep_dir(nb, o->subdir, keep, nkeep, err, errlen);
		nfsb_close(nb);
	}
	return ret;
}

static int delete_data(struct volumes *vs, struct nfsb *home, const struct volume_def *d,
		       const struct volume_def *others, size_t nothers, char *err, size_t errlen)
{
	const struct volume_def *o = shares_dir(d, others, nothers);
	struct nfsb_id *keep = NULL, chain[64];
	struct nfsb *data = NULL;
	size_t nkeep = 0, nroots = 0, nchain = 0;
	char why[1024];
	int ret;

	if (o) {
		log_warnx("volume %s: on_remove=delete, but volume %s uses directory /%s too: "
			  "keeping the data",
			  d->name, o->name, o->subdir);
		return 0;
	}
	if (is_home(vs, d) && home) {
		data = home;
	} else {
		ret = connect_to(vs, d->server, d->export, &data, err, errlen);
		if (ret < 0)
			return ret;
	}
	keep = calloc(KEEP_MAX, sizeof(*keep));
	if (!keep) {
		ret = -ENOMEM;
		goto out;
	}
	ret = collect_keep(vs, home, data, d, others, nothers, keep, &nkeep, &nroots, why,
			   sizeof(why));
	if (ret < 0) {
		snprintf(err, errlen,
			 "volume %s: on_remove=delete: cannot check the directories "
			 "that must stay: %s",
			 d->name, why);
		goto out;
	}
	/* Inside another volume's directory or the catalogue (by identity): keep. */
	ret = nfsb_walk_dir(data, d->subdir, chain, 64, &nchain, why, sizeof(why));
	if (ret == -ENOENT) {
		ret = 0;
		goto out;
	}
	for (size_t i = 1; ret == 0 && i < nchain; i++) {
		for (size_t k = i + 1 == nchain ? 0 : nroots; k < nkeep; k++) {
			if (nfsb_id_eq(&chain[i], &keep[k])) {
				snprintf(why, sizeof(why),
					 "/%.800s is, or lies inside, a directory that must "
					 "stay (an export root, the catalogue or another volume's)",
					 d->subdir);
				ret = -EBUSY;
				break;
			}
		}
	}
	if (ret == 0)
		ret = nfsb_remove_tree_guarded(data, d->subdir, keep, nkeep, why, sizeof(why));
	if (ret == -EBUSY || ret == -ELOOP || ret == -ENOTDIR || ret == -EXDEV) {
		log_warnx("volume %s: on_remove=delete refused: %s: keeping the data", d->name,
			  why);
		ret = 0;
	} else if (ret < 0) {
		snprintf(err, errlen, "volume %s: cannot delete directory /%s: %s", d->name,
			 d->subdir, why);
	} else {
		log_info("volume %s: on_remove=delete: deleted /%s on server %s export %s", d->name,
			 d->subdir, d->server, d->export);
	}
out:
	free(keep);
	if (data != home)
		nfsb_close(data);
	return ret;
}

static bool listed_bad(const struct catalogue_listing *l, const char *name)
{
	for (size_t i = 0; i < l->nbad; i++) {
		if (strcmp(l->bad[i], name) == 0)
			return true;
	}
	return false;
}

/* The NFS part of Remove. local: this node's definitions (for the shared-dir check). */
static int remove_on_export(struct volumes *vs, const struct volume_def *mine,
			    const struct volume_def *local, size_t nlocal, char *err, size_t errlen)
{
	struct catalogue_listing cat = {0};
	struct volume_def d = *mine, *all = NULL;
	struct nfsb *home = NULL;
	char why[1024];
	size_t nall;
	int ret = 0;

	if (has_home(vs)) {
		ret = connect_to(vs, vs->cfg.server, vs->cfg.export, &home, err, errlen);
		if (ret < 0)
			return ret;
		ret = catalogue_list(home, &vs->cfg, &cat, why, sizeof(why));
		if (ret < 0) {
			snprintf(err, errlen, "volume %s: cannot read the catalogue: %s", d.name,
				 why);
			goto out;
		}
		/* An unreadable file of ours: go by our copy. */
		ret = listed_bad(&cat, d.name) ? 0 : -ENOENT;
		for (size_t i = 0; i < cat.n; i++) {
			if (strcmp(cat.defs[i].name, d.name) == 0) {
				d = cat.defs[i]; /* the shared definition decides */
				ret = 0;
			}
		}
		if (ret == -ENOENT) {
			log_info("volume %s: not in the catalogue any more (removed on another "
				 "node?): nothing to delete",
				 d.name);
			ret = 0;
			goto out;
		}
	}
	nall = cat.n + nlocal;
	all = calloc(nall ? nall : 1, sizeof(*all));
	if (!all) {
		ret = -ENOMEM;
		goto out;
	}
	if (cat.n)
		memcpy(all, cat.defs, cat.n * sizeof(*all));
	if (nlocal)
		memcpy(all + cat.n, local, nlocal * sizeof(*all));
	if (d.remove_data) {
		ret = delete_data(vs, home, &d, all, nall, err, errlen);
		if (ret < 0)
			goto out;
	}
	if (home) {
		ret = catalogue_delete(home, &vs->cfg, d.name, why, sizeof(why));
		if (ret < 0)
			snprintf(err, errlen, "volume %s: cannot delete its definition: %s", d.name,
				 why);
	}
	if (ret == 0 && !d.remove_data)
		log_info("volume %s: removed; its data stays in /%s on server %s export %s", d.name,
			 d.subdir, d.server, d.export);
out:
	free(all);
	catalogue_listing_fini(&cat);
	nfsb_close(home);
	return ret;
}

int volumes_remove(struct volumes *vs, const char *name, char *err, size_t errlen)
{
	struct volume_def *local = NULL;
	size_t nlocal = 0;
	struct vol *v;
	int ret;

	ret = options_check_name(name, err, errlen);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&vs->lock);
	v = find_ready(vs, name);
	if (!v || !v->defined) {
		pthread_mutex_unlock(&vs->lock);
		log_debug("volume %s: Remove of an unknown volume: nothing to do", name);
		return 0;
	}
	if (v->nids || v->fs) {
		snprintf(err, errlen,
			 "volume %s is in use on this node (%u mounts): stop the "
			 "containers using it first",
			 name, total_mounts(v));
		pthread_mutex_unlock(&vs->lock);
		return -EBUSY;
	}
	for (struct vol *o = vs->head; o; o = o->next)
		nlocal++;
	local = calloc(nlocal ? nlocal : 1, sizeof(*local));
	if (!local) {
		pthread_mutex_unlock(&vs->lock);
		return -ENOMEM;
	}
	nlocal = 0;
	for (struct vol *o = vs->head; o; o = o->next) {
		if (o->defined)
			local[nlocal++] = o->def;
	}
	v->busy = true;
	pthread_mutex_unlock(&vs->lock);

	ret = remove_on_export(vs, &v->def, local, nlocal, err, errlen);
	free(local);

	pthread_mutex_lock(&vs->lock);
	set_idle(vs, v);
	if (ret == 0) {
		struct tombstone *t = calloc(1, sizeof(*t));

		if (t) {
			snprintf(t->name, sizeof(t->name), "%s", name);
			t->epoch = ++vs->epoch;
			t->next = vs->tombstones;
			vs->tombstones = t;
		}
		vol_unlink(vs, v);
		vol_free(v);
		save_locked(vs);
	}
	pthread_mutex_unlock(&vs->lock);
	return ret;
}

/* ---- Mount / Unmount ---- */

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= STATE_ID_MAX)
		return false;
	for (; *id; id++) {
		if (*id <= ' ' || *id >= 0x7f)
			return false;
	}
	return true;
}

/* Start the FUSE mount of d at mp (no lock held). */
static int start_fuse(struct volumes *vs, const struct volume_def *d, const char *mp,
		      struct volfs **out, char *err, size_t errlen)
{
	struct volfs_opts o = {0};
	struct nfsb_target t;
	char fsname[NFSB_SERVER_MAX + NFSB_EXPORT_MAX + VOL_SUBDIR_MAX + 4];
	int ret;

	ret = volfs_clean_mountpoint(mp, err, errlen);
	if (ret < 0)
		return ret;
	if (d->subdir[0] ||
	    (has_home(vs) && !is_home(vs, d) && strcmp(d->server, vs->cfg.server) == 0)) {
		/*
		 * The volume's root is reached through directories only: a component swapped
		 * for a symlink would serve another volume's (or anyone's) data. On another
		 * export of the home server, the root must not be the home export's root or
		 * the catalogue by another spelling (a definition from the catalogue never went
		 * through Create's check on this node).
		 */
		struct nfsb *nb = NULL, *home = NULL;
		char why[1024];
		size_t n;

		ret = connect_to(vs, d->server, d->export, &nb, err, errlen);
		if (ret < 0)
			return ret;
		if (!is_home(vs, d) && has_home(vs) && strcmp(d->server, vs->cfg.server) == 0 &&
		    connect_to(vs, vs->cfg.server, vs->cfg.export, &home, why, sizeof(why)) == 0) {
			ret = check_not_home_root(vs, home, nb, d, err, errlen);
			nfsb_close(home);
			if (ret == -EPERM) {
				nfsb_close(nb);
				return ret;
			}
		}
		/* As the volume's identity: the one its requests will use. */
		if (d->uid >= 0 || d->gid >= 0)
			nfsb_set_identity(nb, d->uid >= 0 ? (uid_t)d->uid : getuid(),
					  d->gid >= 0 ? (gid_t)d->gid : getgid());
		ret = nfsb_walk_dir(nb, d->subdir, NULL, 0, &n, why, sizeof(why));
		nfsb_close(nb);
		if (ret == -ELOOP || ret == -ENOTDIR || ret == -EINVAL) {
			snprintf(err, errlen, "volume %s: cannot serve /%s: %s", d->name, d->subdir,
				 why);
			return ret;
		}
	}
	settings_target(&vs->cfg, d->server, d->export, &t);
	snprintf(fsname, sizeof(fsname), "%s:%s%s%s", d->server, d->export,
		 strcmp(d->export, "/") && d->subdir[0] ? "/" : "", d->subdir);
	if (strpbrk(fsname, ",\\ \t\n"))
		snprintf(fsname, sizeof(fsname), "nfsvol");
	o.uid = d->uid;
	o.gid = d->gid;
	o.readonly = d->readonly;
	o.allow_other = true;
	o.fsname = fsname;
	ret = volfs_mount(mp, &t, d->subdir, &o, out, err, errlen);
	if (ret == 0)
		log_info("volume %s: mounted at %s (server %s export %s subdir /%s%s)", d->name, mp,
			 d->server, d->export, d->subdir, d->readonly ? ", read-only" : "");
	return ret;
}

/* Look name up in the catalogue on the export and add it to the table (no lock held). */
static int fetch_definition(struct volumes *vs, const char *name, struct volume_def *out, char *err,
			    size_t errlen)
{
	struct nfsb *home = NULL;
	struct tstatus *t;
	char why[1024];
	bool down;
	int ret;

	if (!has_home(vs)) {
		snprintf(err, errlen, "no such volume: %s", name);
		return -ENOENT;
	}
	pthread_mutex_lock(&vs->lock);
	t = tstatus_get(vs, vs->cfg.server, vs->cfg.export, false);
	down = t && t->known && !t->reachable;
	if (down)
		snprintf(why, sizeof(why), "%s", t->error);
	pthread_mutex_unlock(&vs->lock);
	if (down) {
		/* Known to be down: answer now instead of waiting for the timeout again. */
		snprintf(err, errlen,
			 "no such volume: %s (the catalogue on NFS server %s export "
			 "%s cannot be read: %s)",
			 name, vs->cfg.server, vs->cfg.export, why);
		volumes_refresh_now(vs);
		return -ENOENT;
	}
	ret = connect_to(vs, vs->cfg.server, vs->cfg.export, &home, why, sizeof(why));
	if (ret == 0)
		ret = catalogue_get(home, &vs->cfg, name, out, why, sizeof(why));
	nfsb_close(home);
	if (ret == -ENOENT) {
		snprintf(err, errlen, "no such volume: %s", name);
	} else if (ret < 0) {
		snprintf(err, errlen, "no such volume: %s (the catalogue cannot be read: %s)", name,
			 why);
		ret = -ENOENT;
	}
	return ret;
}

/* Add a definition fetched from the catalogue, unless someone added it meanwhile. */
static struct vol *adopt_definition(struct volumes *vs, const struct volume_def *d)
{
	struct vol *v = find_ready(vs, d->name);

	if (v && v->defined)
		return v;
	if (!v && !(v = vol_add(vs, d->name)))
		return NULL;
	v->def = *d;
	v->defined = true;
	v->epoch = ++vs->epoch;
	log_info("volume %s: learned from the catalogue (created on another node)", d->name);
	save_locked(vs);
	return v;
}

/* Find a defined volume, fetching it from the catalogue if this node does not know it.
 * Returns with the lock held and v ready (not busy), or NULL with err set. */
static struct vol *lookup_locked(struct volumes *vs, const char *name, char *err, size_t errlen)
{
	struct volume_def d;
	struct vol *v;

	v = find_ready(vs, name);
	if (v && v->defined)
		return v;
	pthread_mutex_unlock(&vs->lock);
	if (fetch_definition(vs, name, &d, err, errlen) < 0) {
		pthread_mutex_lock(&vs->lock);
		return NULL;
	}
	pthread_mutex_lock(&vs->lock);
	v = adopt_definition(vs, &d);
	if (!v)
		snprintf(err, errlen, "volume %s: out of memory", name);
	return v;
}

int volumes_mount(struct volumes *vs, const char *name, const char *id, char *mp, size_t mplen,
		  char *err, size_t errlen)
{
	struct volume_def d;
	struct volfs *fs = NULL, *dead = NULL;
	char where[SETTINGS_PATH_LEN];
	struct vol *v;
	int ret;

	ret = options_check_name(name, err, errlen);
	if (ret < 0)
		return ret;
	if (!valid_id(id)) {
		snprintf(err, errlen,
			 "volume %s: mount ID \"%.*s\": expected 1-%d printable "
			 "characters",
			 name, 140, id, STATE_ID_MAX - 1);
		return -EINVAL;
	}
	pthread_mutex_lock(&vs->lock);
	v = lookup_locked(vs, name, err, errlen);
	if (!v) {
		pthread_mutex_unlock(&vs->lock);
		return -ENOENT;
	}
	if (v->fs && volfs_is_alive(v->fs)) {
		ret = id_add(v, id);
		if (ret == 0)
			save_locked(vs);
		snprintf(mp, mplen, "%s", v->mountpoint);
		pthread_mutex_unlock(&vs->lock);
		log_debug("volume %s: mount %s shares %s (%u mounts)", name, id, mp,
			  total_mounts(v));
		return ret;
	}
	/* First mount on this node, or the old FUSE mount died (unmounted from outside). */
	dead = v->fs;
	v->fs = NULL;
	v->busy = true;
	d = v->def;
	mountpoint_of(vs, name, where, sizeof(where));
	pthread_mutex_unlock(&vs->lock);

	if (dead) {
		log_warnx("volume %s: the FUSE mount at %s is gone: mounting again", name, where);
		volfs_unmount(dead);
	}
	ret = start_fuse(vs, &d, where, &fs, err, errlen);

	pthread_mutex_lock(&vs->lock);
	if (ret == 0) {
		v->fs = fs;
		snprintf(v->mountpoint, sizeof(v->mountpoint), "%s", where);
		v->mount_error[0] = '\0';
		ret = id_add(v, id);
		save_locked(vs);
		snprintf(mp, mplen, "%s", where);
	}
	set_idle(vs, v);
	pthread_mutex_unlock(&vs->lock);
	return ret;
}

int volumes_unmount(struct volumes *vs, const char *name, const char *id, char *err, size_t errlen)
{
	struct volfs *fs;
	struct vol *v;
	int ret;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&vs->lock);
	v = find_ready(vs, name);
	if (!v || !id_release(v, id)) {
		pthread_mutex_unlock(&vs->lock);
		log_debug("volume %s: Unmount of unknown mount ID %s: nothing to do", name, id);
		return 0;
	}
	if (v->nids > 0 || !v->fs) {
		save_locked(vs);
		pthread_mutex_unlock(&vs->lock);
		log_debug("volume %s: unmount %s", name, id);
		return 0;
	}
	/* The last mount on this node: record that first, then stop FUSE. */
	fs = v->fs;
	v->fs = NULL;
	v->busy = true;
	save_locked(vs);
	pthread_mutex_unlock(&vs->lock);

	ret = volfs_unmount(fs);
	if (ret < 0)
		log_warnx("volume %s: unmount of %s: %s", name, v->mountpoint, errno_text(-ret));
	else
		log_info("volume %s: unmounted %s (last mount on this node)", name, v->mountpoint);

	pthread_mutex_lock(&vs->lock);
	set_idle(vs, v);
	pthread_mutex_unlock(&vs->lock);
	return 0;
}

int volumes_path(struct volumes *vs, const char *name, char *mp, size_t mplen, char *err,
		 size_t errlen)
{
	struct vol *v;

	pthread_mutex_lock(&vs->lock);
	v = find(vs, name);
	if (!v || !v->defined) {
		pthread_mutex_unlock(&vs->lock);
		snprintf(err, errlen, "no such volume: %s", name);
		return -ENOENT;
	}
	snprintf(mp, mplen, "%s", v->fs ? v->mountpoint : "");
	pthread_mutex_unlock(&vs->lock);
	return 0;
}

/* ---- Get / List ---- */

static void describe(struct volumes *vs, const struct vol *v, struct volume_info *out)
{
	const struct tstatus *t;

	memset(out, 0, sizeof(*out));
	out->def = v->def;
	out->nfs_version = vs->cfg.version;
	out->mounted = v->fs != NULL;
	if (v->fs)
		snprintf(out->mountpoint, sizeof(out->mountpoint), "%s", v->mountpoint);
	out->mounts = total_mounts(v);
	out->mount_ids = (unsigned int)v->nids;
	out->removed_on_export = v->removed_on_export;
	snprintf(out->mount_error, sizeof(out->mount_error), "%s", v->mount_error);
	t = tstatus_get(vs, v->def.server, v->def.export, false);
	if (t && t->known) {
		out->reachable_known = true;
		out->reachable = t->reachable;
		out->checked_at = t->checked_at;
		snprintf(out->last_error, sizeof(out->last_error), "%s", t->error);
	}
	if (t && t->have_space) {
		out->have_space = true;
		out->capacity = (uint64_t)t->sv.f_blocks * t->sv.f_frsize;
		out->available = (uint64_t)t->sv.f_bavail * t->sv.f_frsize;
		out->used = (uint64_t)(t->sv.f_blocks - t->sv.f_bfree) * t->sv.f_frsize;
	}
	if (v->fs) {
		/* The mount talks to the server all the time: fresher than our last check. */
		struct volfs_status st;
		time_t last;

		volfs_get_status(v->fs, &st);
		last = st.last_ok > st.last_error ? st.last_ok : st.last_error;
		if (last > out->checked_at) {
			out->reachable_known = true;
			out->reachable = st.reachable;
			out->checked_at = last;
			snprintf(out->last_error, sizeof(out->last_error), "%s",
				 st.reachable ? "" : st.last_error_msg);
		}
	}
}

int volumes_get(struct volumes *vs, const char *name, struct volume_info *out, char *err,
		size_t errlen)
{
	struct volume_def d;
	struct vol *v;
	int ret;

	ret = options_check_name(name, err, errlen);
	if (ret < 0)
		return -ENOENT;
	pthread_mutex_lock(&vs->lock);
	v = find(vs, name);
	if (v && v->defined) {
		describe(vs, v, out);
		pthread_mutex_unlock(&vs->lock);
		return 0;
	}
	pthread_mutex_unlock(&vs->lock);
	ret = fetch_definition(vs, name, &d, err, errlen);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&vs->lock);
	v = adopt_definition(vs, &d);
	if (v)
		describe(vs, v, out);
	pthread_mutex_unlock(&vs->lock);
	return v ? 0 : -ENOMEM;
}

int volumes_list(struct volumes *vs, struct volume_info **out, size_t *n)
{
	size_t cnt = 0, i = 0;
	struct volume_info *arr;

	pthread_mutex_lock(&vs->lock);
	for (struct vol *v = vs->head; v; v = v->next)
		cnt += v->defined;
	arr = calloc(cnt ? cnt : 1, sizeof(*arr));
	if (!arr) {
		pthread_mutex_unlock(&vs->lock);
		return -ENOMEM;
	}
	for (struct vol *v = vs->head; v; v = v->next) {
		if (v->defined)
			describe(vs, v, &arr[i++]);
	}
	pthread_mutex_unlock(&vs->lock);
	*out = arr;
	*n = cnt;
	return 0;
}

void volumes_count(struct volumes *vs, size_t *volumes, size_t *mounted)
{
	*volumes = *mounted = 0;
	pthread_mutex_lock(&vs->lock);
	for (struct vol *v = vs->head; v; v = v->next) {
		*volumes += v->defined;
		*mounted += v->nids > 0;
	}
	pthread_mutex_unlock(&vs->lock);
}

/* ---- background refresher ---- */

/* Re-establish the FUSE mounts of volumes that have mount IDs but no live mount. Each
 * volume is tried once per pass (v->round). */
static void remount_pass(struct volumes *vs)
{
	char err[1024], where[SETTINGS_PATH_LEN];
	struct volume_def d;
	struct volfs *fs, *dead;
	struct vol *v;
	int ret;

	pthread_mutex_lock(&vs->lock);
	vs->round++;
	for (;;) {
		for (v = vs->head; v; v = v->next) {
			if (v->defined && !v->busy && v->nids > 0 && v->round != vs->round &&
			    (!v->fs || !volfs_is_alive(v->fs)))
				break;
		}
		if (!v || vs->stop)
			break;
		v->round = vs->round;
		dead = v->fs;
		v->fs = NULL;
		v->busy = true;
		d = v->def;
		mountpoint_of(vs, d.name, where, sizeof(where));
		pthread_mutex_unlock(&vs->lock);
		volfs_unmount(dead);
		fs = NULL;
		ret = start_fuse(vs, &d, where, &fs, err, sizeof(err));
		pthread_mutex_lock(&vs->lock);
		if (ret == 0) {
			v->fs = fs;
			snprintf(v->mountpoint, sizeof(v->mountpoint), "%s", where);
			v->mount_error[0] = '\0';
			log_info("volume %s: mount re-established for %zu mount IDs", d.name,
				 v->nids);
			save_locked(vs);
		} else {
			snprintf(v->mount_error, sizeof(v->mount_error), "%s", err);
			log_warnx("volume %s: cannot re-establish the mount at %s: %s (retrying "
				  "every %u s)",
				  d.name, where, err, vs->cfg.refresh_s);
		}
		set_idle(vs, v);
	}
	pthread_mutex_unlock(&vs->lock);
}

static bool removed_since(const struct volumes *vs, const char *name, uint64_t epoch)
{
	for (const struct tombstone *t = vs->tombstones; t; t = t->next) {
		if (t->epoch > epoch && strcmp(t->name, name) == 0)
			return true;
	}
	return false;
}

/* Listings that start after epoch no longer show what was removed up to it. */
static void prune_tombstones(struct volumes *vs, uint64_t epoch)
{
	struct tombstone **p = &vs->tombstones, *t;

	while ((t = *p)) {
		if (t->epoch <= epoch) {
			*p = t->next;
			free(t);
		} else {
			p = &t->next;
		}
	}
}

/* Merge a fresh catalogue listing into the table. Volumes changed locally since the
 * listing started (epoch) and busy ones are left alone. */
static void merge_catalogue(struct volumes *vs, const struct catalogue_listing *cat,
			    uint64_t start_epoch)
{
	char diff[2048];
	bool changed = false;
	struct vol *v, *next;

	for (size_t i = 0; i < cat->n; i++) {
		const struct volume_def *d = &cat->defs[i];

		v = find(vs, d->name);
		if (v && (v->busy || v->epoch > start_epoch))
			continue;
		if (!v && removed_since(vs, d->name, start_epoch))
			continue;
		if (!v) {
			v = vol_add(vs, d->name);
			if (!v)
				return;
			log_info("volume %s: found in the catalogue (created on another node)",
				 d->name);
		} else if (options_diff(&v->def, d, diff, sizeof(diff))) {
			log_info("volume %s: definition changed in the catalogue: %s", d->name,
				 diff);
		} else if (!v->removed_on_export) {
			continue;
		}
		v->def = *d;
		v->defined = true;
		v->removed_on_export = false;
		changed = true;
	}
	for (v = vs->head; v; v = next) {
		bool listed = listed_bad(cat, v->def.name);

		next = v->next;
		if (!v->defined || v->busy || v->epoch > start_epoch)
			continue;
		for (size_t i = 0; i < cat->n && !listed; i++)
			listed = strcmp(cat->defs[i].name, v->def.name) == 0;
		if (listed)
			continue;
		if (v->nids || v->fs) {
			if (!v->removed_on_export)
				log_warnx("volume %s: removed from the catalogue by another node "
					  "while mounted here: keeping it until the last unmount",
					  v->def.name);
			changed |= !v->removed_on_export;
			v->removed_on_export = true;
			continue;
		}
		log_info("volume %s: removed from the catalogue by another node", v->def.name);
		vol_unlink(vs, v);
		vol_free(v);
		changed = true;
	}
	prune_tombstones(vs, start_epoch);
	if (changed)
		save_locked(vs);
}

/* Read the catalogue and check the home server (no lock held on entry or exit). */
static void refresh_home(struct volumes *vs)
{
	struct catalogue_listing cat = {0};
	struct statvfs sv;
	struct nfsb *nb = NULL;
	char err[1024];
	uint64_t start;
	int ret;

	pthread_mutex_lock(&vs->lock);
	start = vs->epoch;
	pthread_mutex_unlock(&vs->lock);
	ret = connect_to(vs, vs->cfg.server, vs->cfg.export, &nb, err, sizeof(err));
	if (ret == 0)
		ret = catalogue_list(nb, &vs->cfg, &cat, err, sizeof(err));
	if (ret == 0)
		ret = nfsb_statvfs(nb, "/", &sv, err, sizeof(err));
	nfsb_close(nb);
	pthread_mutex_lock(&vs->lock);
	tstatus_set(vs, vs->cfg.server, vs->cfg.export, ret, err, ret == 0 ? &sv : NULL);
	if (ret == 0)
		merge_catalogue(vs, &cat, start);
	pthread_mutex_unlock(&vs->lock);
	catalogue_listing_fini(&cat);
}

/* Check every other server + export some volume uses. */
static void refresh_others(struct volumes *vs)
{
	char server[NFSB_SERVER_MAX], export[NFSB_EXPORT_MAX], err[1024];
	struct statvfs sv;
	struct nfsb *nb;
	struct tstatus *t;
	int ret;

	/* Make sure each target has an entry; then check those not checked this round. */
	pthread_mutex_lock(&vs->lock);
	for (struct vol *v = vs->head; v; v = v->next) {
		if (v->defined && !is_home(vs, &v->def))
			tstatus_get(vs, v->def.server, v->def.export, true);
	}
	for (t = vs->targets; t; t = t->next) {
		if (has_home(vs) && strcmp(t->server, vs->cfg.server) == 0 &&
		    strcmp(t->export, vs->cfg.export) == 0)
			continue;
		snprintf(server, sizeof(server), "%s", t->server);
		snprintf(export, sizeof(export), "%s", t->export);
		pthread_mutex_unlock(&vs->lock);
		nb = NULL;
		ret = connect_to(vs, server, export, &nb, err, sizeof(err));
		if (ret == 0)
			ret = nfsb_statvfs(nb, "/", &sv, err, sizeof(err));
		nfsb_close(nb);
		pthread_mutex_lock(&vs->lock);
		tstatus_set(vs, server, export, ret, err, ret == 0 ? &sv : NULL);
		if (vs->stop)
			break;
	}
	pthread_mutex_unlock(&vs->lock);
}

static void *refresher_main(void *arg)
{
	struct volumes *vs = arg;
	struct timespec until;

	for (;;) {
		remount_pass(vs);
		if (has_home(vs))
			refresh_home(vs);
		refresh_others(vs);
		pthread_mutex_lock(&vs->lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += vs->cfg.refresh_s;
		while (!vs->stop && !vs->refresh_asked) {
			if (pthread_cond_timedwait(&vs->wake, &vs->lock, &until) == ETIMEDOUT)
				break;
		}
		vs->refresh_asked = false;
		if (vs->stop) {
			pthread_mutex_unlock(&vs->lock);
			return NULL;
		}
		pthread_mutex_unlock(&vs->lock);
	}
}

void volumes_refresh_now(struct volumes *vs)
{
	pthread_mutex_lock(&vs->lock);
	vs->refresh_asked = true;
	pthread_cond_signal(&vs->wake);
	pthread_mutex_unlock(&vs->lock);
}

/* ---- open / close ---- */

static int load_state(struct volumes *vs, char *err, size_t errlen)
{
	struct state st = {0};
	struct vol *v;
	int ret;

	ret = state_load(vs->cfg.state_dir, vs->cfg.catalogue_dir, &st, err, errlen);
	if (ret < 0)
		goto out;
	for (size_t i = 0; i < st.n; i++) {
		struct state_entry *e = &st.v[i];

		v = vol_add(vs, e->def.name);
		if (!v) {
			ret = -ENOMEM;
			goto out;
		}
		v->def = e->def;
		v->defined = true;
		for (size_t k = 0; k < e->nmounts; k++) {
			for (unsigned int c = 0; c < e->mounts[k].count; c++) {
				ret = id_add(v, e->mounts[k].id);
				if (ret < 0)
					goto out;
			}
		}
		if (v->nids)
			log_info("volume %s: %u mounts (%zu IDs) to re-establish at %s/%s",
				 v->def.name, total_mounts(v), v->nids, vs->cfg.mount_root,
				 v->def.name);
	}
out:
	state_fini(&st);
	return ret;
}

int volumes_open(const struct settings *s, struct volumes **out, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	struct volumes *vs;
	int ret;

	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	vs->cfg = *s;
	pthread_mutex_init(&vs->lock, NULL);
	pthread_cond_init(&vs->changed, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vs->wake, &ca);
	pthread_condattr_destroy(&ca);
	ret = load_state(vs, err, errlen);
	if (ret < 0)
		goto close_volumes;
	ret = -pthread_create(&vs->refresher, NULL, refresher_main, vs);
	if (ret < 0) {
		snprintf(err, errlen, "cannot start the refresher thread: %s", errno_text(-ret));
		goto close_volumes;
	}
	vs->refresher_started = true;
	*out = vs;
	return 0;
close_volumes:
	volumes_close(vs);
	return ret;
}

void volumes_close(struct volumes *vs)
{
	struct vol *v;
	struct tstatus *t;

	if (!vs)
		return;
	if (vs->refresher_started) {
		pthread_mutex_lock(&vs->lock);
		vs->stop = true;
		pthread_cond_signal(&vs->wake);
		pthread_mutex_unlock(&vs->lock);
		pthread_join(vs->refresher, NULL);
	}
	/* The HTTP server has stopped: nothing else runs. Mount IDs stay in the state. */
	for (v = vs->head; v; v = v->next) {
		if (v->fs) {
			log_info("volume %s: unmounting %s (%u mounts stay recorded)", v->def.name,
				 v->mountpoint, total_mounts(v));
			volfs_unmount(v->fs);
			v->fs = NULL;
		}
	}
	if (vs->refresher_started)
		save_locked(vs);
	while ((v = vs->head)) {
		vs->head = v->next;
		vol_free(v);
	}
	prune_tombstones(vs, UINT64_MAX);
	while ((t = vs->targets)) {
		vs->targets = t->next;
		free(t);
	}
	pthread_cond_destroy(&vs->wake);
	pthread_cond_destroy(&vs->changed);
	pthread_mutex_destroy(&vs->lock);
	free(vs);
}

const struct settings *volumes_settings(const struct volumes *vs)
{
	return &vs->cfg;
}
