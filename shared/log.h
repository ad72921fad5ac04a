/* SPDX-License-Identifier: MIT */
/*
 * log: one line per event, info and debug on stdout, warnings and errors on stderr;
 * dockerd keeps both in its own log tagged with the plugin ID (stdout at level=info,
 * stderr at level=error). Modelled on relayd's log.c: log_warn appends the errno text, log_warnx
 * does not, log_debug is gated by the level. Thread-safe: each call is one fprintf.
 */
#ifndef SHARED_LOG_H
#define SHARED_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Set the program tag (borrowed, must outlive logging) and the level. Default: info. */
void log_init(const char *tag, enum log_level level);
enum log_level log_get_level(void);
bool log_enabled(enum log_level level);

/* "error", "warn", "info" or "debug" (case-insensitive). Returns 0 or -EINVAL. */
int log_level_parse(const char *text, enum log_level *out);
const char *log_level_name(enum log_level level);

/*
 * The text of errno value errnum ("No such file or directory"), the one way the tree turns
 * an errno into words: thread-safe (unlike strerror), no buffer to pass. An unknown value
 * reads "Unknown error N" as strerror has it (in a per-thread buffer, valid until the
 * thread's next call with an unknown value).
 */
const char *errno_text(int errnum);

/* log_warn/log_error append ": <errno_text(errno)>"; the x variants do not. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only main.c may call these, and only while starting. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
