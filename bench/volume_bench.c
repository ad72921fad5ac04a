// SPDX-License-Identifier: MIT
/*
 * volume_bench: the volume data path (FUSE mount from fuse_fs) against raw libnfs calls
 * (nfs_backend, i.e. libnfs READ/WRITE/COMMIT directly), on the same NFS server in one run.
 * Not a test: it prints MB/s, files/s and the FUSE/raw ratios with their spread.
 *
 *   volume_bench -s SERVER -e EXPORT -p NFS_PORT -P MOUNT_PORT -d SUBDIR -m MOUNTPOINT
 *                [-S SEQ_MIB (256)] [-n SMALL_FILES (2000)] [-r RUNS (3)]
 *                [-t CASES (all)] [-M both|raw|fuse]
 *
 * Cases (-t, comma-separated):
 *   seqw    sequential write: 1 MiB calls from open to fsync (UNSTABLE WRITEs + COMMIT)
 *   seqr    sequential read, 1 MiB calls: "cold" with no client cache (the mount's pages of
 *           the file dropped with POSIX_FADV_DONTNEED first: what a fresh mount sees; the
 *           server's own page cache stays warm for both sides), then "warm": the same file
 *           opened again, unchanged (raw libnfs has no cache: it reads over NFS again)
 *   cold    the cold half of seqr alone (for profiling)
 *   small   SMALL_FILES x (create, write 4 KiB, close). The mount's close() makes the data
 *           durable (COMMIT, see fuse_fs.c), so raw libnfs is measured both ways: with a
 *           COMMIT before closing (the same guarantee: the ratio) and without (reference)
 *   pread   4 threads each read the whole SEQ_MIB file at once (cold, as seqr); raw: 4
 *           threads with a connection each
 *   psmall  4 threads each create SMALL_FILES/4 files of 4 KiB in their own directory;
 *           raw: 4 threads with a connection each, COMMIT before close
 * -M raw|fuse runs one side only (for profiling one side with perf/strace).
 * Each figure: the median of RUNS runs and the spread (min-max); the ratio of the medians
 * and the min-max of the per-run ratios (raw and FUSE runs alternate). Needs root (FUSE).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuse_fs.h"
#include "log.h"
#include "nfs_backend.h"
#include "nfs_files.h"

#define MIB (1024 * 1024)
#define SMALL 4096
#define MAX_RUNS 15
#define NTHREADS 4

enum { C_SEQW, C_SEQR_COLD, C_SEQR_WARM, C_SMALL, C_SMALL_NOCOMMIT, C_PREAD, C_PSMALL, C_N };

/* row names: before[c], a number (none for C_SMALL_NOCOMMIT), after[c] */
static const char *const before[C_N] = {
	"sequential write ",	      "sequential read ",	"sequential read ", "",
	"  same, raw without COMMIT", "4 threads reading one ", "4 threads x ",
};
static const char *const after[C_N] = {
	" MiB (1 MiB calls + fsync), MB/s",  " MiB cold (1 MiB calls), MB/s",
	" MiB warm (same file again), MB/s", " x 4 KiB files create+write+close, files/s",
	" (not durable at close), files/s",  " MiB file (cold), MB/s total",
	" x 4 KiB files, files/s total",
};

struct bench {
	struct nfsb_target t;
	const char *subdir, *mp;
	unsigned int seq_mib, files, runs;
	bool raw, fuse;
	char *buf;
	double res[2][C_N][MAX_RUNS]; /* [0] raw, [1] FUSE */
	bool done[C_N];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* median, min and max of v[0..n) */
static void stats(const double *in, unsigned int n, double *med, double *lo, double *hi)
{
	double v[MAX_RUNS];

	memcpy(v, in, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_double);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*lo = v[0];
	*hi = v[n - 1];
}

static void die(const char *what, int err)
{
	fprintf(stderr, "volume_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static struct nfsb *connect_or_die(const struct bench *b)
{
	struct nfsb *nb = NULL;
	char err[512];

	if (nfsb_connect(&b->t, -1, -1, &nb, err, sizeof(err)) < 0) {
		fprintf(stderr, "volume_bench: %s\n", err);
		exit(1);
	}
	return nb;
}

/* ---- raw libnfs ---- */

static double raw_seq_write(struct bench *b, struct nfsb *nb, const char *path)
{
	struct nfsb_file *f = NULL;
	double t0 = now_s();
	unsigned int i;
	int ret;

	ret = nfsb_file_open(nb, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);
	if (ret < 0)
		die("raw create", ret);
	for (i = 0; i < b->seq_mib; i++) {
		ssize_t n = nfsb_file_pwrite(nb, f, b->buf, MIB, (off_t)i * MIB);

		if (n != MIB)
			die("raw write", n < 0 ? (int)n : EIO);
	}
	ret = nfsb_file_fsync(nb, f);
	if (ret < 0)
		die("raw fsync", ret);
	nfsb_file_close(nb, f);
	return b->seq_mib * (double)MIB / 1e6 / (now_s() - t0);
}

static double raw_seq_read(struct bench *b, struct nfsb *nb, const char *path, char *buf)
{
	struct nfsb_file *f = NULL;
	double t0 = now_s();
	unsigned int i;
	int ret;

	ret = nfsb_file_open(nb, path, O_RDONLY, 0, &f);
	if (ret < 0)
		die("raw open", ret);
	for (i = 0; i < b->seq_mib; i++) {
		ssize_t n = nfsb_file_pread(nb, f, buf, MIB, (off_t)i * MIB);

		if (n != MIB)
			die("raw read", n < 0 ? (int)n : EIO);
	}
	nfsb_file_close(nb, f);
	return b->seq_mib * (double)MIB / 1e6 / (now_s() - t0);
}

/* count files in dir; commit: COMMIT before closing (what the mount's close() does) */
static void raw_small_files(struct bench *b, struct nfsb *nb, const char *dir, unsigned int count,
			    bool commit)
{
	char path[8192];
	unsigned int i;

	for (i = 0; i < count; i++) {
		struct nfsb_file *f = NULL;
		int ret;

		if ((size_t)snprintf(path, sizeof(path), "%s/f%u", dir, i) >= sizeof(path))
			die("path", ENAMETOOLONG);
		ret = nfsb_file_open(nb, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);
		if (ret < 0)
			die("raw small create", ret);
		if (nfsb_file_pwrite(nb, f, b->buf, SMALL, 0) != SMALL)
			die("raw small write", EIO);
		if (commit && (ret = nfsb_file_fsync(nb, f)) < 0)
			die("raw small commit", ret);
		nfsb_file_close(nb, f);
	}
}

/* ---- through the FUSE mount ---- */

static double fuse_seq_write(struct bench *b, const char *path)
{
	double t0 = now_s();
	unsigned int i;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("fuse create", errno);
	for (i = 0; i < b->seq_mib; i++)
		if (write(fd, b->buf, MIB) != MIB)
			die("fuse write", errno);
	if (fsync(fd) != 0)
		die("fuse fsync", errno);
	if (close(fd) != 0)
		die("fuse close", errno);
	return b->seq_mib * (double)MIB / 1e6 / (now_s() - t0);
}

/* Drop this mount's cached pages of path: the cold start a fresh mount would have. */
static void fuse_drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("fuse open (drop cache)", errno);
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0)
		die("posix_fadvise", EINVAL);
	close(fd);
}

static double fuse_seq_read(struct bench *b, const char *path, char *buf)
{
	double t0 = now_s();
	unsigned int i;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("fuse open", errno);
	for (i = 0; i < b->seq_mib; i++)
		if (read(fd, buf, MIB) != MIB)
			die("fuse read", errno);
	close(fd);
	return b->seq_mib * (double)MIB / 1e6 / (now_s() - t0);
}

static void fuse_small_files(struct bench *b, const char *dir, unsigned int count)
{
	char path[8192];
	unsigned int i;

	for (i = 0; i < count; i++) {
		int fd;

		if ((size_t)snprintf(path, sizeof(path), "%s/f%u", dir, i) >= sizeof(path))
			die("path", ENAMETOOLONG);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die("fuse small create", errno);
		if (write(fd, b->buf, SMALL) != SMALL)
			die("fuse small write", errno);
		if (close(fd) != 0)
			die("fuse small close", errno);
	}
}

/* ---- 4 threads ---- */

struct worker {
	struct bench *b;
	bool fuse;
	int kind; /* C_PREAD or C_PSMALL */
	unsigned int idx;
	struct nfsb *nb; /* raw: this thread's own connection */
	char path[4096];
	char *buf;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->kind == C_PREAD && w->fuse)
		fuse_seq_read(w->b, w->path, w->buf);
	else if (w->kind == C_PREAD)
		raw_seq_read(w->b, w->nb, w->path, w->buf);
	else if (w->fuse)
		fuse_small_files(w->b, w->path, w->b->files / NTHREADS);
	else
		raw_small_files(w->b, w->nb, w->path, w->b->files / NTHREADS, true);
	return NULL;
}

/* Run kind on NTHREADS threads; returns the total rate. */
static double run_parallel(struct bench *b, struct worker *w, bool fuse, int kind,
			   const char *seqfile)
{
	pthread_t th[NTHREADS];
	unsigned int i;
	double t0;

	for (i = 0; i < NTHREADS; i++) {
		w[i].b = b;
		w[i].fuse = fuse;
		w[i].kind = kind;
		w[i].idx = i;
		if (kind == C_PREAD)
			snprintf(w[i].path, sizeof(w[i].path), "%s", seqfile);
		else
			snprintf(w[i].path, sizeof(w[i].path), "%s/%s-par%u",
				 fuse ? b->mp : b->subdir, fuse ? "fuse" : "raw", i);
	}
	t0 = now_s();
	for (i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0)
			die("pthread_create", EAGAIN);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	if (kind == C_PREAD)
		return NTHREADS * b->seq_mib * (double)MIB / 1e6 / (now_s() - t0);
	return (b->files / NTHREADS) * NTHREADS / (now_s() - t0);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: volume_bench -s SERVER -e EXPORT [-p NFS_PORT] [-P MOUNT_PORT] "
		"-d SUBDIR -m MOUNTPOINT [-S SEQ_MIB] [-n FILES] [-r RUNS (1-%d)] "
		"[-t seqw,seqr,cold,small,pread,psmall] [-M both|raw|fuse]\n",
		MAX_RUNS);
	exit(2);
}

static bool want(const char *cases, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	if (cases == NULL)
		return true;
	for (p = cases; (p = strstr(p, name)) != NULL; p += n)
		if ((p == cases || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static void print_row(struct bench *b, int c)
{
	double rmed, rlo, rhi, fmed, flo, fhi, qmed, qlo, qhi, q[MAX_RUNS];
	char name[160];
	unsigned int i;

	if (!b->done[c])
		return;
	if (c == C_SMALL_NOCOMMIT)
		snprintf(name, sizeof(name), "%s%s", before[c], after[c]);
	else
		snprintf(name, sizeof(name), "%s%u%s", before[c],
			 c == C_SMALL	 ? b->files
			 : c == C_PSMALL ? b->files / NTHREADS
					 : b->seq_mib,
			 after[c]);
	if (b->raw && b->fuse)
		for (i = 0; i < b->runs; i++)
			q[i] = b->res[1][c == C_SMALL_NOCOMMIT ? C_SMALL : c][i] / b->res[0][c][i];
	stats(b->res[0][c], b->runs, &rmed, &rlo, &rhi);
	stats(b->res[1][c == C_SMALL_NOCOMMIT ? C_SMALL : c], b->runs, &fmed, &flo, &fhi);
	if (!(b->raw && b->fuse)) {
		printf("| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | - |\n", name, rmed, rlo, rhi,
		       fmed, flo, fhi);
		return;
	}
	stats(q, b->runs, &qmed, &qlo, &qhi);
	printf("| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f (%.2f-%.2f) |\n", name, rmed, rlo,
	       rhi, fmed, flo, fhi, fmed / rmed, qlo, qhi);
}

int main(int argc, char **argv)
{
	struct bench b = {.t = {.version = 3, .timeout_s = 30},
			  .seq_mib = 256,
			  .files = 2000,
			  .runs = 3,
			  .raw = true,
			  .fuse = true};
	struct volfs_opts o = {.uid = -1, .gid = -1, .allow_other = true, .fsname = "volbench"};
	struct worker w[NTHREADS];
	char path[4096], rawseq[4096], fuseseq[4096], err[512];
	const char *cases = NULL;
	struct volfs *v = NULL;
	struct nfsb *nb = NULL;
	unsigned int run, i;
	double t0;
	int c, ret;

	log_init("volume_bench", LOG_LEVEL_WARN);
	while ((c = getopt(argc, argv, "s:e:p:P:d:m:S:n:r:t:M:")) != -1) {
		switch (c) {
		case 's':
			snprintf(b.t.server, sizeof(b.t.server), "%s", optarg);
			break;
		case 'e':
			snprintf(b.t.export, sizeof(b.t.export), "%s", optarg);
			break;
		case 'p':
			b.t.nfs_port = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			b.t.mount_port = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			b.subdir = optarg;
			break;
		case 'm':
			b.mp = optarg;
			break;
		case 'S':
			b.seq_mib = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			b.files = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			b.runs = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 't':
			cases = optarg;
			break;
		case 'M':
			b.raw = strcmp(optarg, "fuse") != 0;
			b.fuse = strcmp(optarg, "raw") != 0;
			if (strcmp(optarg, "both") && strcmp(optarg, "raw") &&
			    strcmp(optarg, "fuse"))
				usage();
			break;
		default:
			usage();
		}
	}
	if (b.t.server[0] == '\0' || b.t.export[0] == '\0' || b.subdir == NULL || b.mp == NULL ||
	    b.seq_mib == 0 || b.files < NTHREADS || b.runs == 0 || b.runs > MAX_RUNS)
		usage();
	b.buf = malloc(MIB);
	for (i = 0; i < NTHREADS; i++)
		w[i].buf = malloc(MIB);
	if (b.buf == NULL || w[NTHREADS - 1].buf == NULL)
		die("malloc", ENOMEM);
	for (size_t k = 0; k < MIB; k++)
		b.buf[k] = (char)(k * 2654435761u >> 13);

	nb = connect_or_die(&b);
	for (i = 0; i < NTHREADS; i++)
		w[i].nb = connect_or_die(&b);
	ret = volfs_clean_mountpoint(b.mp, err, sizeof(err));
	if (ret == 0)
		ret = volfs_mount(b.mp, &b.t, b.subdir, &o, &v, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "volume_bench: %s\n", err);
		return 1;
	}
	const char *dirs[] = {"small", "par0", "par1", "par2", "par3"};
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/raw-%s", b.subdir, dirs[i]);
		nfsb_mkdir_p(nb, path, 0755, -1, -1, err, sizeof(err));
		snprintf(path, sizeof(path), "%s/fuse-%s", b.mp, dirs[i]);
		mkdir(path, 0755);
	}
	snprintf(rawseq, sizeof(rawseq), "%s/raw-seq.bin", b.subdir);
	snprintf(fuseseq, sizeof(fuseseq), "%s/fuse-seq.bin", b.mp);
	/* the read cases need the files even when seqw is not measured */
	if (b.raw)
		raw_seq_write(&b, nb, rawseq);
	if (b.fuse)
		fuse_seq_write(&b, fuseseq);

	/* interleave raw and FUSE runs so drifts (disk flushes) hit both alike */
	for (run = 0; run < b.runs; run++) {
		if (want(cases, "seqw")) {
			b.done[C_SEQW] = true;
			if (b.raw)
				b.res[0][C_SEQW][run] = raw_seq_write(&b, nb, rawseq);
			if (b.fuse)
				b.res[1][C_SEQW][run] = fuse_seq_write(&b, fuseseq);
		}
		if (want(cases, "seqr") || want(cases, "cold")) {
			bool warm = want(cases, "seqr");

			b.done[C_SEQR_COLD] = true;
			b.done[C_SEQR_WARM] = warm;
			if (b.raw) {
				b.res[0][C_SEQR_COLD][run] = raw_seq_read(&b, nb, rawseq, b.buf);
				if (warm)
					b.res[0][C_SEQR_WARM][run] =
						raw_seq_read(&b, nb, rawseq, b.buf);
			}
			if (b.fuse) {
				fuse_drop_cache(fuseseq);
				b.res[1][C_SEQR_COLD][run] = fuse_seq_read(&b, fuseseq, b.buf);
				if (warm)
					b.res[1][C_SEQR_WARM][run] =
						fuse_seq_read(&b, fuseseq, b.buf);
			}
		}
		if (want(cases, "small")) {
			b.done[C_SMALL] = true;
			b.done[C_SMALL_NOCOMMIT] = b.raw;
			if (b.raw) {
				snprintf(path, sizeof(path), "%s/raw-small", b.subdir);
				t0 = now_s();
				raw_small_files(&b, nb, path, b.files, true);
				b.res[0][C_SMALL][run] = b.files / (now_s() - t0);
				t0 = now_s();
				raw_small_files(&b, nb, path, b.files, false);
				b.res[0][C_SMALL_NOCOMMIT][run] = b.files / (now_s() - t0);
			}
			if (b.fuse) {
				snprintf(path, sizeof(path), "%s/fuse-small", b.mp);
				t0 = now_s();
				fuse_small_files(&b, path, b.files);
				b.res[1][C_SMALL][run] = b.files / (now_s() - t0);
			}
		}
		if (want(cases, "pread")) {
			b.done[C_PREAD] = true;
			if (b.raw)
				b.res[0][C_PREAD][run] =
					run_parallel(&b, w, false, C_PREAD, rawseq);
			if (b.fuse) {
				fuse_drop_cache(fuseseq);
				b.res[1][C_PREAD][run] =
					run_parallel(&b, w, true, C_PREAD, fuseseq);
			}
		}
		if (want(cases, "psmall")) {
			b.done[C_PSMALL] = true;
			if (b.raw)
				b.res[0][C_PSMALL][run] =
					run_parallel(&b, w, false, C_PSMALL, NULL);
			if (b.fuse)
				b.res[1][C_PSMALL][run] = run_parallel(&b, w, true, C_PSMALL, NULL);
		}
		fprintf(stderr, "run %u done\n", run + 1);
	}
	printf("server %s export %s, %u runs: median (min-max); ratio of the medians "
	       "(min-max of the per-run ratios)\n",
	       b.t.server, b.t.export, b.runs);
	printf("| test | raw libnfs | FUSE mount | FUSE/raw |\n|---|---|---|---|\n");
	for (c = 0; c < C_N; c++)
		print_row(&b, c);

	volfs_unmount(v);
	const char *rm[] = {"raw-small", "fuse-small", "raw-seq.bin", "fuse-seq.bin",
			    "raw-par0",	 "raw-par1",   "raw-par2",    "raw-par3",
			    "fuse-par0", "fuse-par1",  "fuse-par2",   "fuse-par3"};
	for (i = 0; i < sizeof(rm) / sizeof(rm[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", b.subdir, rm[i]);
		nfsb_remove_tree(nb, path, err, sizeof(err));
	}
	for (i = 0; i < NTHREADS; i++) {
		nfsb_close(w[i].nb);
		free(w[i].buf);
	}
	nfsb_close(nb);
	free(b.buf);
	return 0;
}
