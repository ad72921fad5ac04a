// SPDX-License-Identifier: MIT
/*
 * atomic_file: crash-safe whole-file replacement. The temp file lives in the target's
 * directory so rename(2) is atomic; the directory is fsynced so the rename itself is
 * durable. The temp file is flock()ed from creation to rename, so that
 * atomic_file_clean_dir() can tell a writer's file from one a crash left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char copy[PATH_MAX];
	int fd, ret = 0;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return -ENAMETOOLONG;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int atomic_file_write(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd = -1, ret;

	for (;;) {
		struct stat st;

		if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0)
			return -errno;
		/* held until after the rename: a locked temp file belongs to a live writer */
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
			ret = -errno;
			goto out_unlink;
		}
		if (st.st_nlink > 0)
			break;
		/* a cleaner removed it between mkostemp and flock: take another name */
		close(fd);
	}
	if (fchmod(fd, mode) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	ret = write_all(fd, data, len);
	if (ret)
		goto out_unlink;
	if (fsync(fd) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	if (close(fd) < 0) {
		ret = -errno;
		return ret; /* renamed: the new content is in place, but say so */
	}
	return fsync_dir_of(path);
out_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return ret;
}

int atomic_file_read(const char *path, size_t max_len, char **data, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if ((size_t)st.st_size > max_len) {
		ret = -EFBIG;
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out_free;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	close(fd);
	return 0;
out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

int atomic_file_mkdirs(const char *path, mode_t mode)
{
	char copy[PATH_MAX];
	size_t len;

	len = (size_t)snprintf(copy, sizeof(copy), "%s", path);
	if (len >= sizeof(copy))
		return -ENAMETOOLONG;
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(copy, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* "<name>.tmp.XXXXXX" as mkostemp() fills it in atomic_file_write() */
static int is_our_temp(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	size_t i;

	if (t == NULL || t == name)
		return 0;
	while (strstr(t + 1, ".tmp.") != NULL)
		t = strstr(t + 1, ".tmp.");
	t += 5;
	for (i = 0; t[i] != '\0'; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return i == 6;
}

int atomic_file_clean_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	int removed = 0, ret = 0;
	DIR *d;

	d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		struct stat st, st2;
		int fd;

		if (!is_our_temp(de->d_name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone already, or not a file we could have made */
		/* locked: a writer is alive (this or another process); unlocked: left by a crash */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
		    S_ISREG(st.st_mode) && lstat(path, &st2) == 0 && st.st_ino == st2.st_ino &&
		    st.st_dev == st2.st_dev) {
			if (unlink(path) == 0)
				removed++;
			else if (errno != ENOENT && ret == 0)
				ret = -errno;
		}
		close(fd);
	}
	closedir(d);
	return ret < 0 ? ret : removed;
}
