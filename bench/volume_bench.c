// SPDX-License-Identifier: MIT
/*
 * volume_bench: the volume data path (FUSE mount from fuse_fs) against raw libnfs calls
 * (nfs_backend, i.e. nfs_pwrite/nfs_pread/nfs_create directly), on the same NFS server in
 * one run. Not a test: it prints MB/s, files/s and the FUSE/raw ratios.
 *
 *   volume_bench -s SERVER -e EXPORT -p NFS_PORT -P MOUNT_PORT -d SUBDIR -m MOUNTPOINT
 *                [-S SEQ_MIB (256)] [-n SMALL_FILES (2000)] [-r RUNS (3)]
 *
 * Sequential write: 1 MiB calls from open to fsync (UNSTABLE WRITEs + COMMIT), read: 1 MiB
 * calls of the file just written (FUSE drops its page cache on open). Small files: create,
 * write 4 KiB, close. Each figure is the median of RUNS runs. Needs root (FUSE).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuse_fs.h"
#include "log.h"
#include "nfs_backend.h"

#define MIB (1024 * 1024)
#define SMALL 4096
#define MAX_RUNS 9

struct bench {
	struct nfsb_target t;
	const char *subdir, *mp;
	unsigned int seq_mib, files, runs;
	char *buf;
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

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void die(const char *what, int err)
{
	fprintf(stderr, "volume_bench: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
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

static double raw_seq_read(struct bench *b, struct nfsb *nb, const char *path)
{
	struct nfsb_file *f = NULL;
	double t0 = now_s();
	unsigned int i;
	int ret;

	ret = nfsb_file_open(nb, path, O_RDONLY, 0, &f);
	if (ret < 0)
		die("raw open", ret);
	for (i = 0; i < b->seq_mib; i++) {
		ssize_t n = nfsb_file_pread(nb, f, b->buf, MIB, (off_t)i * MIB);

		if (n != MIB)
			die("raw read", n < 0 ? (int)n : EIO);
	}
	nfsb_file_close(nb, f);
	return b->seq_mib * (double)MIB / 1e6 / (now_s() - t0);
}

static double raw_small(struct bench *b, struct nfsb *nb, const char *dir)
{
	char path[8192];
	double t0 = now_s();
	unsigned int i;

	for (i = 0; i < b->files; i++) {
		struct nfsb_file *f = NULL;
		int ret;

		if ((size_t)snprintf(path, sizeof(path), "%s/f%u", dir, i) >= sizeof(path))
			die("path", ENAMETOOLONG);
		ret = nfsb_file_open(nb, path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &f);
		if (ret < 0)
			die("raw small create", ret);
		if (nfsb_file_pwrite(nb, f, b->buf, SMALL, 0) != SMALL)
			die("raw small write", EIO);
		nfsb_file_close(nb, f);
	}
	return b->files / (now_s() - t0);
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
	close(fd);
	return b->seq_mib * (double)MIB / 1e6 / (now_s() - t0);
}

static double fuse_seq_read(struct bench *b, const char *path)
{
	double t0 = now_s();
	unsigned int i;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("fuse open", errno);
	for (i = 0; i < b->seq_mib; i++)
		if (read(fd, b->buf, MIB) != MIB)
			die("fuse read", errno);
	close(fd);
	return b->seq_mib * (double)MIB / 1e6 / (now_s() - t0);
}

static double fuse_small(struct bench *b, const char *dir)
{
	char path[8192];
	double t0 = now_s();
	unsigned int i;

	for (i = 0; i < b->files; i++) {
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
	return b->files / (now_s() - t0);
}

static void usage(void)
{
	fprintf(stderr, "usage: volume_bench -s SERVER -e EXPORT [-p NFS_PORT] [-P MOUNT_PORT] "
			"-d SUBDIR -m MOUNTPOINT [-S SEQ_MIB] [-n FILES] [-r RUNS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench b = {
		.t = {.version = 3, .timeout_s = 30}, .seq_mib = 256, .files = 2000, .runs = 3};
	struct volfs_opts o = {.uid = -1, .gid = -1, .allow_other = true, .fsname = "volbench"};
	double rw[MAX_RUNS], rr[MAX_RUNS], rs[MAX_RUNS], fw[MAX_RUNS], fr[MAX_RUNS], fs[MAX_RUNS];
	char path[4096], err[512];
	struct volfs *v = NULL;
	struct nfsb *nb = NULL;
	unsigned int run;
	int c, ret;

	log_init("volume_bench", LOG_LEVEL_WARN);
	while ((c = getopt(argc, argv, "s:e:p:P:d:m:S:n:r:")) != -1) {
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
		default:
			usage();
		}
	}
	if (b.t.server[0] == '\0' || b.t.export[0] == '\0' || b.subdir == NULL || b.mp == NULL ||
	    b.seq_mib == 0 || b.files == 0 || b.runs == 0 || b.runs > MAX_RUNS)
		usage();
	b.buf = malloc(MIB);
	if (b.buf == NULL)
		die("malloc", ENOMEM);
	for (size_t i = 0; i < MIB; i++)
		b.buf[i] = (char)(i * 2654435761u >> 13);

	ret = nfsb_connect(&b.t, -1, -1, &nb, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "volume_bench: %s\n", err);
		return 1;
	}
	ret = volfs_clean_mountpoint(b.mp, err, sizeof(err));
	if (ret == 0)
		ret = volfs_mount(b.mp, &b.t, b.subdir, &o, &v, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "volume_bench: %s\n", err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/raw-small", b.subdir);
	nfsb_mkdir_p(nb, path, 0755, -1, -1, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/fuse-small", b.mp);
	mkdir(path, 0755);

	/* interleave raw and FUSE runs so drifts (disk flushes) hit both alike */
	for (run = 0; run < b.runs; run++) {
		snprintf(path, sizeof(path), "%s/raw-seq.bin", b.subdir);
		rw[run] = raw_seq_write(&b, nb, path);
		rr[run] = raw_seq_read(&b, nb, path);
		snprintf(path, sizeof(path), "%s/fuse-seq.bin", b.mp);
		fw[run] = fuse_seq_write(&b, path);
		fr[run] = fuse_seq_read(&b, path);
		snprintf(path, sizeof(path), "%s/raw-small", b.subdir);
		rs[run] = raw_small(&b, nb, path);
		snprintf(path, sizeof(path), "%s/fuse-small", b.mp);
		fs[run] = fuse_small(&b, path);
		fprintf(stderr,
			"run %u: raw %.0f/%.0f MB/s %.0f files/s, fuse %.0f/%.0f MB/s "
			"%.0f files/s\n",
			run + 1, rw[run], rr[run], rs[run], fw[run], fr[run], fs[run]);
	}
	{
		double mrw = median(rw, b.runs), mrr = median(rr, b.runs), mrs = median(rs, b.runs);
		double mfw = median(fw, b.runs), mfr = median(fr, b.runs), mfs = median(fs, b.runs);

		printf("server %s export %s, median of %u runs\n", b.t.server, b.t.export, b.runs);
		printf("| test | raw libnfs | FUSE mount | FUSE/raw |\n|---|---|---|---|\n");
		printf("| sequential write %u MiB (1 MiB calls + fsync) | %.0f MB/s | %.0f MB/s | "
		       "%.2f |\n",
		       b.seq_mib, mrw, mfw, mfw / mrw);
		printf("| sequential read %u MiB (1 MiB calls) | %.0f MB/s | %.0f MB/s | %.2f |\n",
		       b.seq_mib, mrr, mfr, mfr / mrr);
		printf("| %u x 4 KiB files create+write+close | %.0f files/s | %.0f files/s | "
		       "%.2f |\n",
		       b.files, mrs, mfs, mfs / mrs);
	}
	volfs_unmount(v);
	snprintf(path, sizeof(path), "%s/raw-small", b.subdir);
	nfsb_remove_tree(nb, path, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/fuse-small", b.subdir);
	nfsb_remove_tree(nb, path, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/raw-seq.bin", b.subdir);
	nfsb_remove_tree(nb, path, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/fuse-seq.bin", b.subdir);
	nfsb_remove_tree(nb, path, err, sizeof(err));
	nfsb_close(nb);
	free(b.buf);
	return 0;
}
