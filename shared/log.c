// SPDX-License-Identifier: MIT
/*
 * log: level-gated, one fprintf per event: info and debug to stdout, warnings and errors
 * to stderr. dockerd stores a managed plugin's stdout at level=info and its stderr at
 * level=error in its own log, so the format is short: "<tag>: <level>: <message>".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "escape.h"
#include "log.h"

static const char *log_tag = "plugin";
static enum log_level log_current = LOG_LEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *tag, enum log_level level)
{
	if (tag)
		log_tag = tag;
	log_current = level;
}

enum log_level log_get_level(void)
{
	return log_current;
}

bool log_enabled(enum log_level level)
{
	return level <= log_current;
}

int log_level_parse(const char *text, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (text && strcasecmp(text, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (text && strcasecmp(text, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if ((size_t)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "?";
}

const char *errno_text(int errnum)
{
	static __thread char unknown[32];
	const char *text = strerrordesc_np(errnum);

	if (text != NULL)
		return text;
	snprintf(unknown, sizeof(unknown), "Unknown error %d", errnum);
	return unknown;
}

__attribute__((format(printf, 3, 0))) static void log_emit(enum log_level level, int errnum,
							   const char *fmt, va_list ap)
{
	FILE *out = level <= LOG_LEVEL_WARN ? stderr : stdout;
	char msg[4096];

	if (!log_enabled(level))
		return;
	/* Messages quote text from outside: one event stays one line (escape.h). */
	escape_vformat(msg, sizeof(msg), fmt, ap);
	if (errnum) {
		fprintf(out, "%s: %s: %s: %s\n", log_tag, log_level_name(level), msg,
			errno_text(errnum));
	} else {
		fprintf(out, "%s: %s: %s\n", log_tag, log_level_name(level), msg);
	}
	/* stdout is block-buffered on a pipe (dockerd's): each line goes out at once. */
	if (out == stdout)
		fflush(out);
}

#define LOG_FN(name, level, with_errno)                                                            \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int saved = errno;                                                                 \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_emit(level, with_errno ? saved : 0, fmt, ap);                                  \
		va_end(ap);                                                                        \
		errno = saved;                                                                     \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR, 1)
LOG_FN(log_errorx, LOG_LEVEL_ERROR, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
