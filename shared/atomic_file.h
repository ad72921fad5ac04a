/* SPDX-License-Identifier: MIT */
/*
 * atomic_file: whole-file writes that survive a crash at any point: the old content or
 * the new one, never a mix. Temp file in the same directory, fsync, rename, fsync dir.
 */
#ifndef SHARED_ATOMIC_FILE_H
#define SHARED_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Replace path with len bytes of data, created with mode. Returns 0 or -errno. */
int atomic_file_write(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Read the whole file into a new NUL-terminated buffer (*data, caller frees; *len excludes
 * the NUL). Files over max_len give -EFBIG. Returns 0, -ENOENT or another -errno.
 */
int atomic_file_read(const char *path, size_t max_len, char **data, size_t *len);

/*
 * Remove the temp files ("<name>.tmp.XXXXXX") that atomic_file_write() left in dir when
 * its process died between creating and renaming them. A temp file a live writer (any
 * process) still holds is kept: writers flock() it until the rename. Safe to call at
 * any time. Returns how many were removed, 0 for a missing dir, or -errno.
 */
int atomic_file_clean_dir(const char *dir);

/* mkdir -p with mode for missing components. Returns 0 or -errno. */
int atomic_file_mkdirs(const char *path, mode_t mode);

#endif
