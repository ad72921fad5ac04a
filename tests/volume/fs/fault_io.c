// SPDX-License-Identifier: MIT
/*
 * fault_io: one file-system call timed under a fault, for fs_faults.sh.
 *
 *   fault_io call DIR N CALL
 *	Opens N files DIR/other-<i> and writes 64 KiB into each (no fsync: they stay open,
 *	written and uncommitted), prepares CALL, prints "ready", waits for a line on stdin,
 *	then runs CALL once and prints "result CALL rc=<0|-1> errno=<name> ms=<elapsed>".
 *	CALL: write (to an open file), read (an open file never read: DIR/readme), fsync
 *	and close (an open file written before the fault), stat (DIR/statme), readdir
 *	(DIR/listme), mkdir (DIR/newdir), unlink (DIR/unlinkme). The other files are closed
 *	after a second line on stdin (their errors are ignored).
 *
 *   fault_io hold FILE SIZE SEED
 *	Writes SIZE bytes of a pattern made from SEED into FILE (no fsync), prints "ready",
 *	waits for a line on stdin, then fsyncs and closes and prints
 *	"result fsync=<0|errno name> close=<0|errno name>".
 *
 *   fault_io synced FILE SIZE SEED
 *	Writes SIZE bytes of the pattern into FILE, fsyncs, prints "synced <0|errno name>",
 *	waits for a line on stdin (the file stays open), closes and prints
 *	"closed <0|errno name>".
 *
 *   fault_io pattern SIZE SEED     the pattern on stdout (to compare with)
 *
 *   fault_io append FILE ID COUNT SIZE
 *	Appends COUNT records of SIZE bytes (>= 32) with O_APPEND, each with a CRC-32, the
 *	writer ID and a sequence number; prints "acked <n>" (writes that returned SIZE).
 *
 *   fault_io scan FILE
 *	Reads FILE and prints "writer <id> <records>" per writer and "torn <bytes>" (bytes
 *	not part of a valid record).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REC_MAGIC 0x52454331u /* "REC1" */
#define MAX_WRITERS 16

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t crc32_buf(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

static void fill_pattern(unsigned char *buf, size_t n, unsigned int seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static void wait_line(void)
{
	char line[64];

	if (fgets(line, sizeof(line), stdin) == NULL)
		exit(3);
}

static const char *ename(int e)
{
	switch (e) {
	case 0:
		return "0";
	case EIO:
		return "EIO";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ENOTCONN:
		return "ENOTCONN";
	case ENOENT:
		return "ENOENT";
	case EINTR:
		return "EINTR";
	default:
		return strerror(e);
	}
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int cmd_call(const char *dir, int n, const char *call)
{
	static unsigned char buf[65536];
	char path[4096];
	int *others, fd = -1, rc = 0, e = 0, i;
	int64_t t0;
	DIR *d;

	fill_pattern(buf, sizeof(buf), 7);
	others = calloc((size_t)n + 1, sizeof(int));
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/other-%d", dir, i);
		others[i] = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (others[i] < 0 || write_all(others[i], buf, sizeof(buf)) < 0) {
			perror(path);
			return 1;
		}
	}
	if (strcmp(call, "write") == 0 || strcmp(call, "fsync") == 0 ||
	    strcmp(call, "close") == 0) {
		snprintf(path, sizeof(path), "%s/target", dir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || (strcmp(call, "write") != 0 && write_all(fd, buf, sizeof(buf)) < 0)) {
			perror(path);
			return 1;
		}
	} else if (strcmp(call, "read") == 0) {
		snprintf(path, sizeof(path), "%s/readme", dir);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror(path);
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	wait_line();
	t0 = now_ms();
	errno = 0;
	if (strcmp(call, "write") == 0) {
		rc = write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf) ? 0 : -1;
	} else if (strcmp(call, "read") == 0) {
		rc = read(fd, buf, sizeof(buf)) < 0 ? -1 : 0;
	} else if (strcmp(call, "fsync") == 0) {
		rc = fsync(fd);
	} else if (strcmp(call, "close") == 0) {
		rc = close(fd);
		fd = -1;
	} else if (strcmp(call, "stat") == 0) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/statme", dir);
		rc = stat(path, &st);
	} else if (strcmp(call, "readdir") == 0) {
		snprintf(path, sizeof(path), "%s/listme", dir);
		d = opendir(path);
		if (d == NULL) {
			rc = -1;
		} else {
			while (readdir(d) != NULL)
				;
			rc = errno != 0 ? -1 : 0;
			closedir(d);
		}
	} else if (strcmp(call, "mkdir") == 0) {
		snprintf(path, sizeof(path), "%s/newdir", dir);
		rc = mkdir(path, 0755);
	} else if (strcmp(call, "unlink") == 0) {
		snprintf(path, sizeof(path), "%s/unlinkme", dir);
		rc = unlink(path);
	} else {
		fprintf(stderr, "fault_io: unknown call %s\n", call);
		return 2;
	}
	e = rc < 0 ? errno : 0;
	printf("result %s rc=%d errno=%s ms=%lld\n", call, rc, ename(e),
	       (long long)(now_ms() - t0));
	fflush(stdout);
	wait_line();
	if (fd >= 0)
		close(fd);
	for (i = 0; i < n; i++)
		close(others[i]);
	free(others);
	return 0;
}

static int cmd_hold(const char *file, size_t size, unsigned int seed)
{
	unsigned char *buf = malloc(size);
	int fd, rc, e1, e2;

	fill_pattern(buf, size, seed);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_all(fd, buf, size) < 0) {
		perror(file);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	wait_line();
	rc = fsync(fd);
	e1 = rc < 0 ? errno : 0;
	rc = close(fd);
	e2 = rc < 0 ? errno : 0;
	printf("result fsync=%s close=%s\n", ename(e1), ename(e2));
	free(buf);
	return 0;
}

static int cmd_synced(const char *file, size_t size, unsigned int seed)
{
	unsigned char *buf = malloc(size);
	int fd, rc;

	fill_pattern(buf, size, seed);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_all(fd, buf, size) < 0) {
		perror(file);
		return 1;
	}
	rc = fsync(fd);
	printf("synced %s\n", ename(rc < 0 ? errno : 0));
	fflush(stdout);
	wait_line();
	rc = close(fd);
	printf("closed %s\n", ename(rc < 0 ? errno : 0));
	free(buf);
	return 0;
}

static int cmd_pattern(size_t size, unsigned int seed)
{
	unsigned char *buf = malloc(size);

	fill_pattern(buf, size, seed);
	fwrite(buf, 1, size, stdout);
	free(buf);
	return 0;
}

/* record: magic, writer id, seq, length, crc32 of the rest after the header, payload */
struct rec_hdr {
	uint32_t magic, id, seq, len, crc;
};

static int cmd_append(const char *file, unsigned int id, unsigned int count, size_t size)
{
	unsigned char *buf = malloc(size);
	struct rec_hdr h;
	unsigned int i, acked = 0;
	int fd;

	if (size < sizeof(h) + 8) {
		fprintf(stderr, "fault_io: record size too small\n");
		return 2;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	for (i = 0; i < count; i++) {
		fill_pattern(buf + sizeof(h), size - sizeof(h), id * 100000 + i);
		h.magic = REC_MAGIC;
		h.id = id;
		h.seq = i;
		h.len = (uint32_t)size;
		h.crc = crc32_buf(buf + sizeof(h), size - sizeof(h));
		memcpy(buf, &h, sizeof(h));
		if (write(fd, buf, size) == (ssize_t)size)
			acked++;
	}
	close(fd);
	printf("acked %u\n", acked);
	free(buf);
	return 0;
}

static int cmd_scan(const char *file)
{
	unsigned int counts[MAX_WRITERS] = {0};
	unsigned char *data;
	size_t len, pos = 0, torn = 0;
	struct stat st;
	FILE *fp;
	int i;

	fp = fopen(file, "rb");
	if (fp == NULL || fstat(fileno(fp), &st) < 0) {
		perror(file);
		return 1;
	}
	len = (size_t)st.st_size;
	data = malloc(len + 1);
	if (fread(data, 1, len, fp) != len) {
		perror(file);
		return 1;
	}
	fclose(fp);
	while (pos < len) {
		struct rec_hdr h;

		if (len - pos >= sizeof(h)) {
			memcpy(&h, data + pos, sizeof(h));
			if (h.magic == REC_MAGIC && h.id < MAX_WRITERS && h.len >= sizeof(h) &&
			    h.len <= len - pos &&
			    crc32_buf(data + pos + sizeof(h), h.len - sizeof(h)) == h.crc) {
				counts[h.id]++;
				pos += h.len;
				continue;
			}
		}
		torn++;
		pos++;
	}
	for (i = 0; i < MAX_WRITERS; i++)
		if (counts[i] != 0)
			printf("writer %d %u\n", i, counts[i]);
	printf("torn %zu\n", torn);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "call") == 0)
		return cmd_call(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 5 && strcmp(argv[1], "hold") == 0)
		return cmd_hold(argv[2], strtoul(argv[3], NULL, 10),
				(unsigned int)strtoul(argv[4], NULL, 10));
	if (argc == 5 && strcmp(argv[1], "synced") == 0)
		return cmd_synced(argv[2], strtoul(argv[3], NULL, 10),
				  (unsigned int)strtoul(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "pattern") == 0)
		return cmd_pattern(strtoul(argv[2], NULL, 10),
				   (unsigned int)strtoul(argv[3], NULL, 10));
	if (argc == 6 && strcmp(argv[1], "append") == 0)
		return cmd_append(argv[2], (unsigned int)atoi(argv[3]), (unsigned int)atoi(argv[4]),
				  strtoul(argv[5], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "scan") == 0)
		return cmd_scan(argv[2]);
	fprintf(stderr,
		"usage: fault_io call DIR N CALL | hold FILE SIZE SEED | synced FILE SIZE SEED"
		" | pattern SIZE SEED | append FILE ID COUNT SIZE | scan FILE\n");
	return 2;
}
