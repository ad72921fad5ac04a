// SPDX-License-Identifier: MIT
/*
 * preflight: the volume side of scripts/preflight.sh (see preflight.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nfs_backend.h"
#include "preflight.h"

#define RTT_SAMPLES 5

__attribute__((format(printf, 2, 3))) static void add(struct preflight_report *r, const char *fmt,
						      ...)
{
	va_list ap;
	int n;

	if (!r->text)
		return; /* out of memory earlier: reported by the caller */
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(r->text + r->len, r->size - r->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (r->len + (size_t)n + 2 <= r->size)
			break;
		char *bigger = realloc(r->text, r->size * 2 + (size_t)n + 2);

		if (!bigger) {
			free(r->text);
			r->text = NULL;
			return;
		}
		r->text = bigger;
		r->size = r->size * 2 + (size_t)n + 2;
	}
	r->len += (size_t)n;
	r->text[r->len++] = '\n';
	r->text[r->len] = '\0';
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A unique test file name at the export root. */
static void test_name(char *buf, size_t len)
{
	static unsigned int counter;
	char host[64] = "node";

	if (gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "node");
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, len, "/.openmpf-preflight.%s.%d.%u", host, (int)getpid(),
		 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
}

/* Create (O_EXCL) path as the connection's identity: 0 or -errno; the owner in *st. */
static int create_file(struct nfsb *nb, const char *path, struct stat *st)
{
	struct nfsb_file *f = NULL;
	int ret = nfsb_file_open(nb, path, O_CREAT | O_EXCL | O_WRONLY, 0600, &f);

	if (ret < 0)
		return ret;
	ret = nfsb_file_getattr(nb, f, st);
	nfsb_file_close(nb, f);
	return ret;
}

int preflight_volume(const struct settings *cfg, struct preflight_report *r)
{
	char err[1024], path[160], where[NFSB_SERVER_MAX + NFSB_EXPORT_MAX + 32];
	double rtt[RTT_SAMPLES], t0, connect_ms;
	struct nfsb_target t;
	struct nfsb *nb = NULL;
	struct stat st;
	bool squashed = false;
	int ret, n = 0;

	memset(r, 0, sizeof(*r));
	r->size = 1024;
	r->text = malloc(r->size);
	if (!r->text)
		return -ENOMEM;
	r->text[0] = '\0';
	r->ok = true;

	if (!cfg->server[0] || !cfg->export[0]) {
		r->ok = false;
		add(r,
		    "PROBLEM: NFS_SERVER and NFS_EXPORT are not set: a stack file that names only "
		    "the driver cannot create volumes. Fix: docker plugin disable -f NAME; docker "
		    "plugin set NAME NFS_SERVER=host NFS_EXPORT=/path; docker plugin enable NAME");
		goto out;
	}
	settings_target(cfg, cfg->server, cfg->export, &t);
	snprintf(where, sizeof(where), "NFS server %s export %s", t.server, t.export);

	/* 1. the server answers (as root: the identity of Create's first calls) */
	t0 = now_ms();
	ret = nfsb_connect(&t, 0, 0, &nb, err, sizeof(err));
	connect_ms = now_ms() - t0;
	if (ret < 0) {
		size_t wl = strlen(where);
		const char *why = err;

		/* err names the server and export already: say it once */
		if (strncmp(err, where, wl) == 0 && strncmp(err + wl, ": ", 2) == 0)
			why = err + wl + 2;
		r->ok = false;
		add(r,
		    "PROBLEM: %s does not answer from this node: %s. Fix: start the NFS server, "
		    "check that this node reaches it (TCP 2049, and 111 unless NFS_PORT and "
		    "NFS_MOUNT_PORT are set) and that the export allows this node",
		    where, why);
		goto out;
	}
	for (n = 0; n < RTT_SAMPLES; n++) {
		t0 = now_ms();
		if (nfsb_getattr(nb, "/", &st) < 0)
			break;
		rtt[n] = now_ms() - t0;
	}
	if (n == 0) {
		r->ok = false;
		add(r, "PROBLEM: %s: GETATTR of the export root failed: %s", where,
		    nfsb_last_error(nb));
		goto out;
	}
	qsort(rtt, (size_t)n, sizeof(rtt[0]), cmp_double);
	add(r,
	    "ok: %s answers (connect and MOUNT %.1f ms, round trip %.2f ms, median of %d "
	    "GETATTR)",
	    where, connect_ms, rtt[n / 2], n);

	/* 2. is root squashed? */
	test_name(path, sizeof(path));
	nfsb_set_identity(nb, 0, 0);
	ret = create_file(nb, path, &st);
	if (ret == 0) {
		squashed = st.st_uid != 0;
		nfsb_unlink(nb, path);
		if (squashed)
			add(r,
			    "ok: root is squashed by the server (a file created as uid 0 "
			    "belongs to uid %u)",
			    (unsigned int)st.st_uid);
		else
			add(r,
			    "ok: root is not squashed (no_root_squash): root in containers acts as "
			    "root on the export");
	} else if (ret == -EACCES || ret == -EPERM) {
		squashed = true;
		add(r, "ok: root is squashed by the server (uid 0 may not create files at the "
		       "export root)");
	} else {
		r->ok = false;
		add(r, "PROBLEM: %s: creating a test file at the export root as uid 0 failed: %s",
		    where, errno_text(-ret));
		goto out;
	}

	/* 3. writable as the configured identity */
	if (cfg->default_uid >= 0) {
		int gid = cfg->default_gid >= 0 ? cfg->default_gid : cfg->default_uid;

		test_name(path, sizeof(path));
		nfsb_set_identity(nb, (uid_t)cfg->default_uid, (gid_t)gid);
		ret = create_file(nb, path, &st);
		if (ret == 0) {
			nfsb_unlink(nb, path);
			add(r,
			    "ok: the export root is writable as DEFAULT_UID=%d DEFAULT_GID=%d "
			    "(volumes are created and used as that identity)",
			    cfg->default_uid, gid);
		} else {
			r->ok = false;
			add(r,
			    "PROBLEM: the export root is not writable as DEFAULT_UID=%d "
			    "DEFAULT_GID=%d: %s. Fix: on the server, chown %d:%d (or chmod 1777) "
			    "the exported directory, or set DEFAULT_UID/DEFAULT_GID to its owner",
			    cfg->default_uid, gid, errno_text(-ret), cfg->default_uid, gid);
		}
	} else if (squashed) {
		r->ok = false;
		add(r,
		    "PROBLEM: root is squashed and DEFAULT_UID/DEFAULT_GID are not set: Docker's "
		    "copy of image data into a new volume fails (lchown: operation not "
		    "permitted) and root in containers acts as the anonymous user. Fix: "
		    "docker plugin disable -f NAME; docker plugin set NAME DEFAULT_UID=376 "
		    "DEFAULT_GID=376 (the uid and gid your images write as; OpenMPF: 376); "
		    "docker plugin enable NAME");
	} else {
		add(r, "ok: DEFAULT_UID is not set: requests carry the calling process's uid and "
		       "gid, and the server enforces permissions");
	}
out:
	nfsb_close(nb);
	if (!r->text)
		return -ENOMEM;
	log_info("preflight: %s", r->ok ? "deploying volumes would work" : "problems found");
	return 0;
}
