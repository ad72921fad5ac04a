// SPDX-License-Identifier: MIT
/*
 * peer_sync: the publisher/reader thread behind peer_sync.h. A round = collect this
 * host's networks, write our document, list the others, keep the fresh ones. Rounds are
 * serialised by round_lock; the copy the decisions read is guarded by copy_lock, which is
 * never held across I/O.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "location.h"
#include "log.h"
#include "nfs_backend.h"
#include "nfs_files.h"
#include "peer_sync.h"
#include "peers.h"

#define PEER_DIR ".openmpf-ipam-networks"
#define PEER_DOC_MAX (1u << 20)
#define PEER_NAMES_MAX 512
#define PEER_WARNED_MAX 16
#define PEER_DOCS_MAX 256
#define PEER_STOP_WAIT_S 3	/* how long peer_sync_stop waits for a running round */
#define PEER_RETRY_FIRST_MS 250 /* a failed round is retried after this, doubling... */
#define PEER_RETRY_MAX_MS 5000	/* ...up to this (or PUBLISH_INTERVAL if shorter) */

struct peer_sync {
	char location[PATH_MAX];
	char node[HOSTNET_NODE_LEN];
	unsigned long interval_s, stale_after_s;
	bool nfs;
	struct nfsb_target target; /* nfs: server and export */
	char dir[PATH_MAX];	   /* directory mode: where the documents are */
	unsigned long retry_max_ms;
	peer_collect_fn collect;
	void *collect_arg;
	char instance[20]; /* random per process: tells our document from a namesake's */
	bool published;	   /* round thread only (under round_lock) */
	bool dup_warned;   /* round thread only */
	char warned[PEER_WARNED_MAX][HOSTNET_NODE_LEN + 24]; /* round thread: see doc_ignored */
	size_t nwarned;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t round_lock;
	pthread_mutex_t copy_lock; /* guards everything below */
	pthread_cond_t wake;
	bool stopping;
	struct hostnet_list copy;
	char peers[PEER_NAMES_MAX]; /* "n2, n3" */
	char stale[PEER_NAMES_MAX]; /* "n4 (900 s)" */
	bool reachable;
	bool dirty;		    /* our networks or pools changed: publish at the next round */
	bool failed;		    /* the last round failed: retry with backoff */
	long long last_ok_ms;	    /* monotonic end of the last successful round */
	long long last_end_ms;	    /* monotonic end of the last round, whatever its outcome */
	long long round_start_ms;   /* round thread: start of the running round */
	long long last_ok_start_ms; /* start of the last successful round: what it saw is
				       at least that recent */
	long long last_start_ms;    /* start of the last round, whatever its outcome */
	bool duplicate;		    /* another plugin publishes under our NODE_NAME */
	bool read_only;		    /* publish nothing (the CLI) */
	time_t last_ok;
	char last_error[512];
};

/* ---------------------------------------------------------------- one round */

/* What a round found; swapped into the instance at its end. */
struct round {
	struct hostnet_list found;
	char peers[PEER_NAMES_MAX];
	char stale[PEER_NAMES_MAX];
	time_t ref; /* the store's clock (see struct listing) */
};

static void names_add(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void names_add(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 3 >= len)
		return;
	if (used)
		used += (size_t)snprintf(buf + used, len - used, ", ");
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/* The node a file name stands for, or false for files that are not documents. */
static bool doc_node(const char *name, char *node, size_t len)
{
	size_t n = strlen(name);

	if (n <= 5 || strcmp(name + n - 5, ".json") != 0 || n - 5 >= len)
		return false;
	memcpy(node, name, n - 5);
	node[n - 5] = '\0';
	return peers_node_name_valid(node);
}

/*
 * A document that cannot be used: warn once per document version (node and mtime), then
 * only at debug, so a hostile or broken file costs one warning, not one per round.
 */
static void doc_ignored(struct peer_sync *ps, const char *node, time_t mtime, const char *why)
{
	char key[HOSTNET_NODE_LEN + 24];

	snprintf(key, sizeof(key), "%s@%lld", node, (long long)mtime);
	for (size_t i = 0; i < PEER_WARNED_MAX; i++) {
		if (strcmp(ps->warned[i], key) == 0) {
			log_debug("peers: %s: document of node %s ignored: %s", ps->location, node,
				  why);
			return;
		}
	}
	snprintf(ps->warned[ps->nwarned++ % PEER_WARNED_MAX], sizeof(ps->warned[0]), "%s", key);
	log_warnx("peers: %s: document of node %s ignored: %s", ps->location, node, why);
}

/* Decode one peer's document text into r (or note it stale/broken). */
static void take_doc(struct peer_sync *ps, struct round *r, const char *node, time_t mtime,
		     const char *text, size_t len)
{
	json_error_t jerr;
	char err[256];
	size_t skipped = 0;
	json_t *doc;
	int n;

	if (peers_is_stale(mtime, r->ref, ps->stale_after_s)) {
		names_add(r->stale, sizeof(r->stale), "%s (%ld s)", node, (long)(r->ref - mtime));
		return;
	}
	doc = json_loadb(text, len, 0, &jerr);
	if (!doc) {
		snprintf(err, sizeof(err), "does not parse: %s", jerr.text);
		doc_ignored(ps, node, mtime, err);
		return;
	}
	n = peers_decode(doc, node, &r->found, &skipped, err, sizeof(err));
	json_decref(doc);
	if (n < 0) {
		doc_ignored(ps, node, mtime, err);
		return;
	}
	if (skipped)
		log_debug("peers: node %s: %zu entries ignored", node, skipped);
	names_add(r->peers, sizeof(r->peers), "%s", node);
}

/*
 * Our document as found before overwriting it: once we have written it, another
 * instance in it means a second plugin publishes under the same NODE_NAME (cloned hosts,
 * or nodes in namespaces of one machine with the same host name). Both would overwrite
 * each other and skip each other's networks as their "own", so say so loudly.
 */
static void check_own_doc(struct peer_sync *ps, const char *text, size_t len)
{
	const char *other = NULL;
	bool dup;
	json_t *doc;

	if (!ps->published || !text)
		return;
	doc = json_loadb(text, len, 0, NULL);
	if (json_unpack(doc, "{s:s}", "instance", &other) < 0) {
		json_decref(doc);
		return;
	}
	dup = strcmp(other, ps->instance) != 0;
	pthread_mutex_lock(&ps->copy_lock);
	ps->duplicate = dup;
	pthread_mutex_unlock(&ps->copy_lock);
	if (dup) {
		if (!ps->dup_warned)
			log_warnx("peers: another plugin publishes as node %s too (instance %s, "
				  "ours %s): give every node its own NODE_NAME; until then they "
				  "overwrite each other's networks",
				  ps->node, other, ps->instance);
		ps->dup_warned = true;
	} else {
		ps->dup_warned = false;
	}
	json_decref(doc);
}

/*
 * The documents in the shared place: names and mtimes first, read afterwards (the NFS
 * listing callback must not issue more calls). The round's clock is the store's: the
 * mtime of our own document just written, or in a read-only round the newest of all.
 */
struct listing {
	char (*names)[HOSTNET_NODE_LEN];
	time_t *mtimes;
	size_t n, cap;
	const char *self;
	time_t self_mtime, newest;
};

static time_t listing_clock(const struct listing *l)
{
	return l->self_mtime ? l->self_mtime : l->newest;
}

static int listing_init(struct listing *l, const char *self)
{
	memset(l, 0, sizeof(*l));
	l->cap = PEER_DOCS_MAX; /* a bound on what anyone can make us parse per round */
	l->self = self;
	l->names = calloc(l->cap, sizeof(*l->names));
	l->mtimes = calloc(l->cap, sizeof(*l->mtimes));
	return l->names && l->mtimes ? 0 : -ENOMEM;
}

static void listing_fini(struct listing *l)
{
	free(l->names);
	free(l->mtimes);
}

static void listing_add(struct listing *l, const char *name, const struct stat *st)
{
	char node[HOSTNET_NODE_LEN];

	if (!S_ISREG(st->st_mode) || !doc_node(name, node, sizeof(node)))
		return;
	if (st->st_mtime > l->newest)
		l->newest = st->st_mtime;
	if (strcmp(node, l->self) == 0)
		l->self_mtime = st->st_mtime;
	if (strcmp(node, l->self) == 0 || l->n == l->cap)
		return;
	snprintf(l->names[l->n], HOSTNET_NODE_LEN, "%s", node);
	l->mtimes[l->n++] = st->st_mtime;
}

/*
 * Where the documents live: a directory (any shared file system) or an NFS export
 * spoken to through libnfs. One round (below) runs over either; paths are relative to
 * the documents' directory, except for NFS, where they are relative to the export.
 */
struct store {
	struct peer_sync *ps;
	struct nfsb *nb; /* NFS: the connection of this round */
	char path[PATH_MAX + HOSTNET_NODE_LEN + 16];
};

static const char *store_path(struct store *st, const char *node)
{
	if (st->nb)
		snprintf(st->path, sizeof(st->path), "%s/%s.json", PEER_DIR, node);
	else
		snprintf(st->path, sizeof(st->path), "%s/%s.json", st->ps->dir, node);
	return st->path;
}

static int store_open(struct store *st, char *err, size_t errlen)
{
	if (!st->ps->nfs)
		return 0;
	return nfsb_connect(&st->ps->target, -1, -1, &st->nb, err, errlen);
}

static void store_close(struct store *st)
{
	nfsb_close(st->nb);
	st->nb = NULL;
}

/* Read node's document (NULL err: quiet). Returns 0, -ENOENT or -errno with a message. */
static int store_read(struct store *st, const char *node, char **buf, size_t *len, char *err,
		      size_t errlen)
{
	int ret;

	if (st->nb)
		return nfsb_read_file(st->nb, store_path(st, node), PEER_DOC_MAX, buf, len, err,
				      errlen);
	ret = atomic_file_read(store_path(st, node), PEER_DOC_MAX, buf, len);
	if (ret < 0 && ret != -ENOENT && err)
		snprintf(err, errlen, "read %s: %s", st->path, errno_text(-ret));
	return ret;
}

/* Write our document atomically, creating the directory. Returns 0 or -errno (message). */
static int store_write(struct store *st, const char *text, char *err, size_t errlen)
{
	struct stat sb;
	int ret;

	if (st->nb) {
		/* 1777: under root_squash every node's plugin writes as the anonymous user. */
		ret = nfsb_mkdir_p(st->nb, PEER_DIR, 01777, -1, -1, err, errlen);
		return ret ? ret
			   : nfsb_write_file_atomic(st->nb, store_path(st, st->ps->node), text,
						    strlen(text), 0644, err, errlen);
	}
	ret = atomic_file_mkdirs(st->ps->dir, 0755);
	if (!ret)
		ret = atomic_file_write(store_path(st, st->ps->node), text, strlen(text), 0644);
	if (!ret && stat(st->path, &sb) < 0)
		ret = -errno;
	if (ret)
		snprintf(err, errlen, "write %s: %s", st->path, errno_text(-ret));
	return ret;
}

static int nfs_list_cb(const char *name, const struct stat *st, void *arg)
{
	listing_add(arg, name, st);
	return 0;
}

/* The documents' names and mtimes into l. Returns 0, -ENOENT or -errno (message). */
static int store_list(struct store *st, struct listing *l, char *err, size_t errlen)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int ret;

	if (st->nb)
		return nfsb_list_dir(st->nb, PEER_DIR, nfs_list_cb, l, err, errlen);
	d = opendir(st->ps->dir);
	if (!d) {
		ret = -errno;
		snprintf(err, errlen, "list %s: %s", st->ps->dir, errno_text(-ret));
		return ret;
	}
	while ((de = readdir(d))) {
		if (snprintf(path, sizeof(path), "%s/%s", st->ps->dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (stat(path, &sb) == 0)
			listing_add(l, de->d_name, &sb);
	}
	closedir(d);
	return 0;
}

/*
 * One round over the store: check our document (namesakes), publish text (NULL: read
 * only), list the others and keep the fresh ones in r.
 */
static int round_store(struct peer_sync *ps, const char *text, struct round *r, char *err,
		       size_t errlen)
{
	struct store st = {.ps = ps};
	struct listing l;
	int ret;

	ret = listing_init(&l, ps->node);
	if (ret) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = store_open(&st, err, errlen);
	if (ret)
		goto out;
	if (text) {
		if (ps->published) {
			char *own = NULL;
			size_t len = 0;

			if (store_read(&st, ps->node, &own, &len, NULL, 0) == 0)
				check_own_doc(ps, own, len);
			free(own);
		}
		ret = store_write(&st, text, err, errlen);
		if (ret)
			goto out;
		ps->published = true;
	}
	ret = store_list(&st, &l, err, errlen);
	if (ret == -ENOENT && !text)
		ret = 0; /* read only, and nobody has published yet */
	if (ret)
		goto out;
	r->ref = text ? listing_clock(&l) : l.newest;
	for (size_t i = 0; i < l.n; i++) {
		char *buf = NULL;
		size_t len = 0;

		if (peers_is_stale(l.mtimes[i], r->ref, ps->stale_after_s)) {
			take_doc(ps, r, l.names[i], l.mtimes[i], "", 0);
			continue;
		}
		ret = store_read(&st, l.names[i], &buf, &len, err, errlen);
		if (ret == -ENOENT)
			continue; /* removed meanwhile */
		if (ret == -EFBIG || ret == -EACCES || ret == -EPERM || ret == -EISDIR) {
			/* One document is input from anyone: it cannot stop the round. */
			doc_ignored(ps, l.names[i], l.mtimes[i], err);
			continue;
		}
		if (ret)
			goto out;
		take_doc(ps, r, l.names[i], l.mtimes[i], buf, len);
		free(buf);
	}
	ret = 0;
out:
	store_close(&st);
	listing_fini(&l);
	return ret;
}

/* Swap a finished round in, or note the failure; log only changes of state. */
static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void round_finish(struct peer_sync *ps, struct round *r, int ret, const char *err)
{
	pthread_mutex_lock(&ps->copy_lock);
	ps->last_end_ms = now_ms();
	ps->last_start_ms = ps->round_start_ms;
	ps->failed = ret != 0;
	if (ret) {
		/* Log changes only: the first failure differs from the empty last_error. */
		if (ps->reachable || strcmp(ps->last_error, err) != 0)
			log_warnx("peers: shared networks %s unreachable (%s): choosing with this "
				  "node's networks and the last copy of %zu peer networks",
				  ps->location, err, ps->copy.n);
		ps->reachable = false;
		snprintf(ps->last_error, sizeof(ps->last_error), "%s", err);
		pthread_mutex_unlock(&ps->copy_lock);
		hostnet_list_fini(&r->found);
		return;
	}
	if (!ps->reachable)
		log_info("peers: shared networks %s reachable: %s node %s", ps->location,
			 ps->read_only ? "read only, as" : "published as", ps->node);
	if (strcmp(ps->peers, r->peers) != 0 && r->peers[0])
		log_info("peers: networks of %zu entries from nodes [%s]", r->found.n, r->peers);
	else if (strcmp(ps->peers, r->peers) != 0)
		log_info("peers: no other node's networks now (none published or all departed)");
	if (strcmp(ps->stale, r->stale) != 0 && r->stale[0])
		log_info("peers: ignoring departed nodes (no update for over %lu s): %s",
			 ps->stale_after_s, r->stale);
	hostnet_list_fini(&ps->copy);
	ps->copy = r->found;
	snprintf(ps->peers, sizeof(ps->peers), "%s", r->peers);
	snprintf(ps->stale, sizeof(ps->stale), "%s", r->stale);
	ps->reachable = true;
	ps->last_ok = time(NULL);
	ps->last_ok_ms = ps->last_end_ms;
	ps->last_ok_start_ms = ps->round_start_ms;
	ps->last_error[0] = '\0';
	pthread_mutex_unlock(&ps->copy_lock);
}

/*
 * One round; publish false only reads (a decision's refresh, when our document is
 * already current). Called with round_lock held.
 */
static int do_round_locked(struct peer_sync *ps, bool publish, char *err, size_t errlen)
{
	struct hostnet_list local = {0};
	struct round r = {0};
	json_t *doc = NULL;
	char *text = NULL;
	bool dirty;
	int ret;

	pthread_mutex_lock(&ps->copy_lock);
	dirty = ps->dirty;
	ps->dirty = false;
	ps->round_start_ms = now_ms();
	pthread_mutex_unlock(&ps->copy_lock);
	if (ps->read_only || (!publish && !dirty && ps->published))
		goto round; /* text NULL: publish nothing */
	ret = ps->collect(ps->collect_arg, &local);
	if (ret) {
		snprintf(err, errlen, "reading this host's networks: %s", errno_text(-ret));
		goto out;
	}
	doc = peers_encode(ps->node, time(NULL), &local);
	if (doc)
		json_object_set_new(doc, "instance", json_string(ps->instance));
	text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!text) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
round:
	ret = round_store(ps, text, &r, err, errlen);
out:
	if (ret && text) {
		/* Not published: the next round (retried soon) tries again. */
		pthread_mutex_lock(&ps->copy_lock);
		ps->dirty = true;
		pthread_mutex_unlock(&ps->copy_lock);
	}
	round_finish(ps, &r, ret, err);
	free(text);
	json_decref(doc);
	hostnet_list_fini(&local);
	return ret;
}

static int do_round(struct peer_sync *ps, bool publish, char *err, size_t errlen)
{
	int ret;

	pthread_mutex_lock(&ps->round_lock);
	ret = do_round_locked(ps, publish, err, errlen);
	pthread_mutex_unlock(&ps->round_lock);
	return ret;
}

/* ---------------------------------------------------------------- thread and API */

static void *sync_main(void *arg)
{
	struct peer_sync *ps = arg;
	unsigned long retry_ms = PEER_RETRY_FIRST_MS;
	char err[512];
	struct timespec until;
	long long wait_ms;

	pthread_mutex_lock(&ps->copy_lock);
	while (!ps->stopping) {
		/*
		 * A failed round (the place unreachable at start, say) is retried soon, with
		 * a doubling backoff, not a whole PUBLISH_INTERVAL later; a change to publish
		 * (dirty) wakes us at once.
		 */
		wait_ms = ps->failed ? (long long)retry_ms : (long long)ps->interval_s * 1000;
		retry_ms = ps->failed ? retry_ms * 2 : PEER_RETRY_FIRST_MS;
		if (retry_ms > ps->retry_max_ms)
			retry_ms = ps->retry_max_ms;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(wait_ms / 1000);
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!ps->stopping && !ps->dirty &&
		       pthread_cond_timedwait(&ps->wake, &ps->copy_lock, &until) != ETIMEDOUT)
			;
		if (ps->stopping)
			break;
		pthread_mutex_unlock(&ps->copy_lock);
		do_round(ps, true, err, sizeof(err));
		pthread_mutex_lock(&ps->copy_lock);
	}
	pthread_mutex_unlock(&ps->copy_lock);
	return NULL;
}

/* 16 hex digits, random (getrandom; time and pid if that fails). */
static void instance_new(char *buf, size_t len)
{
	unsigned long long v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = ((unsigned long long)time(NULL) << 20) ^ (unsigned long long)getpid();
	snprintf(buf, len, "%016llx", v);
}

struct peer_sync *peer_sync_start(const struct peer_sync_config *cfg, peer_collect_fn collect,
				  void *arg, char *err, size_t errlen)
{
	struct peer_sync *ps = NULL;
	struct location loc;
	pthread_condattr_t ca;
	char rerr[512];

	if (!cfg->location || !*cfg->location) {
		snprintf(err, errlen, "SHARED_NETWORKS is empty");
		return NULL;
	}
	if (location_parse(cfg->location, &loc, err, errlen) < 0)
		return NULL;
	if (!peers_node_name_valid(cfg->node)) {
		snprintf(err, errlen,
			 "NODE_NAME=%s: expected 1-63 characters of A-Z a-z 0-9 _ . - (not "
			 "starting with a dot)",
			 cfg->node ? cfg->node : "");
		return NULL;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(ps->location, sizeof(ps->location), "%s", cfg->location);
	snprintf(ps->node, sizeof(ps->node), "%s", cfg->node);
	ps->interval_s = cfg->interval_s ? cfg->interval_s : 1;
	ps->retry_max_ms = ps->interval_s * 1000 < PEER_RETRY_MAX_MS ? ps->interval_s * 1000
								     : PEER_RETRY_MAX_MS;
	ps->stale_after_s = cfg->stale_after_s;
	ps->collect = collect;
	ps->collect_arg = arg;
	ps->read_only = cfg->read_only;
	instance_new(ps->instance, sizeof(ps->instance));
	ps->nfs = loc.nfs;
	ps->target = loc.target;
	ps->target.timeout_s = cfg->timeout_s ? (unsigned int)cfg->timeout_s : 5;
	snprintf(ps->dir, sizeof(ps->dir), "%s", loc.dir);
	pthread_mutex_init(&ps->round_lock, NULL);
	pthread_mutex_init(&ps->copy_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ps->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (ps->read_only) {
		/* One round, no thread: the CLI. A failure is logged; the copy stays empty. */
		do_round(ps, false, rerr, sizeof(rerr));
		return ps;
	}
	/*
	 * The first round runs on the thread (dirty), so that the caller can bound how long
	 * it waits for it (peer_sync_wait_first) before serving: Docker gives a plugin about
	 * 9.5 s to create its socket, less than a connect to a silent server plus
	 * NFS_TIMEOUT=25. A failed first round is retried with a short backoff.
	 */
	ps->dirty = true;
	if (pthread_create(&ps->thread, NULL, sync_main, ps) != 0) {
		snprintf(err, errlen, "cannot start the shared-networks thread");
		peer_sync_stop(ps);
		return NULL;
	}
	ps->thread_started = true;
	return ps;
}

void peer_sync_stop(struct peer_sync *ps)
{
	struct timespec until;

	if (!ps)
		return;
	if (ps->thread_started) {
		pthread_mutex_lock(&ps->copy_lock);
		ps->stopping = true;
		pthread_cond_broadcast(&ps->wake);
		pthread_mutex_unlock(&ps->copy_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += PEER_STOP_WAIT_S;
		if (pthread_timedjoin_np(ps->thread, NULL, &until) != 0) {
			/*
			 * A round is stuck on a silent NFS server (up to a connect plus
			 * NFS_TIMEOUT). Docker kills a plugin 10 s after SIGTERM, so let the
			 * process exit without it: the thread and ps are left behind on purpose.
			 */
			log_warnx("peers: a round is still waiting for %s; stopping without it",
				  ps->location);
			return;
		}
	}
	hostnet_list_fini(&ps->copy);
	pthread_cond_destroy(&ps->wake);
	pthread_mutex_destroy(&ps->copy_lock);
	pthread_mutex_destroy(&ps->round_lock);
	free(ps);
}

int peer_sync_snapshot(struct peer_sync *ps, struct hostnet_list *out)
{
	int n = 0;

	if (!ps)
		return 0;
	pthread_mutex_lock(&ps->copy_lock);
	for (size_t i = 0; i < ps->copy.n; i++) {
		if (hostnet_list_add(out, &ps->copy.v[i]) < 0) {
			n = -ENOMEM;
			break;
		}
		n++;
	}
	pthread_mutex_unlock(&ps->copy_lock);
	return n;
}

int peer_sync_refresh(struct peer_sync *ps, char *err, size_t errlen)
{
	if (!ps)
		return 0;
	return do_round(ps, true, err, errlen);
}

bool peer_sync_wait_first(struct peer_sync *ps, unsigned int max_ms)
{
	struct timespec until;
	bool done;

	if (!ps)
		return true;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += max_ms / 1000;
	until.tv_nsec += (long)(max_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	/* round_lock is held by the first round; taking it means that round has ended. */
	while (pthread_mutex_timedlock(&ps->round_lock, &until) == 0) {
		pthread_mutex_lock(&ps->copy_lock);
		done = ps->last_end_ms != 0;
		pthread_mutex_unlock(&ps->copy_lock);
		pthread_mutex_unlock(&ps->round_lock);
		if (done)
			return true;
		/* The thread has not taken the lock yet: let it. */
		sched_yield();
	}
	return false;
}

int peer_sync_freshen(struct peer_sync *ps)
{
	long long asked = now_ms(), last_ok, last_start;
	bool failed;
	char err[512];
	int ret = 0;

	if (!ps)
		return 0;
	pthread_mutex_lock(&ps->copy_lock);
	last_ok = ps->last_ok_start_ms;
	failed = ps->failed;
	pthread_mutex_unlock(&ps->copy_lock);
	/*
	 * Only a read that started after the caller asked can hold what another node did
	 * just before: an operator creates a bridge on one node and a swarm network on the
	 * leader within the same second, so a copy "young enough" is not good enough.
	 */
	if (last_ok > asked)
		return 0;
	/*
	 * A known outage (read before, failing now): decide from the last copy at once; the
	 * thread retries with backoff and logged the outage. Before the first successful
	 * read there is no copy worth deciding from, so wait for the place (bounded).
	 */
	if (last_ok && failed)
		return -EAGAIN;
	pthread_mutex_lock(&ps->round_lock);
	/*
	 * Concurrent requests share one read: whoever held round_lock before us ran a round
	 * that started after we asked (one that started earlier may have missed a document
	 * written just before we asked), successful or not (a failure is not retried here,
	 * so a dead place costs one NFS_TIMEOUT, not one per waiting request).
	 */
	pthread_mutex_lock(&ps->copy_lock);
	last_start = ps->last_start_ms;
	pthread_mutex_unlock(&ps->copy_lock);
	if (last_start <= asked)
		ret = do_round_locked(ps, false, err, sizeof(err));
	pthread_mutex_unlock(&ps->round_lock);
	return ret;
}

void peer_sync_poke(struct peer_sync *ps)
{
	if (!ps)
		return;
	pthread_mutex_lock(&ps->copy_lock);
	ps->dirty = true;
	pthread_cond_broadcast(&ps->wake);
	pthread_mutex_unlock(&ps->copy_lock);
}

void peer_sync_describe(struct peer_sync *ps, char *buf, size_t len)
{
	if (!ps) {
		snprintf(buf, len, "shared networks: off (SHARED_NETWORKS empty)");
		return;
	}
	pthread_mutex_lock(&ps->copy_lock);
	snprintf(buf, len, "shared networks %s as node %s: %s; peers [%s]; departed [%s]%s%s%s",
		 ps->location, ps->node, ps->reachable ? "reachable" : "UNREACHABLE", ps->peers,
		 ps->stale,
		 ps->duplicate ? "; ANOTHER PLUGIN PUBLISHES AS THIS NODE (set NODE_NAME)" : "",
		 ps->last_error[0] ? "; last error: " : "", ps->last_error);
	pthread_mutex_unlock(&ps->copy_lock);
}

int peer_sync_publish_now(struct peer_sync *ps, char *err, size_t errlen)
{
	bool failed;

	if (!ps)
		return 0;
	pthread_mutex_lock(&ps->copy_lock);
	failed = ps->failed;
	pthread_mutex_unlock(&ps->copy_lock);
	if (failed) {
		/* A known outage: nothing waits; the thread publishes once it is back. */
		peer_sync_poke(ps);
		return -EAGAIN;
	}
	return do_round(ps, true, err, errlen);
}
