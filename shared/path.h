/* SPDX-License-Identifier: MIT */
/*
 * path: the one normaliser of slash-separated paths that come from outside (an export
 * setting, a volume's subdir option, a catalogue entry, a path handed to the NFS backend).
 * Pure: no I/O, no allocation. Each caller names its rules with flags and turns the
 * refusal it gets back into its own message.
 */
#ifndef SHARED_PATH_H
#define SHARED_PATH_H

#include <stddef.h>

/* Rules for path_normalize(); ".." is always refused (a path must stay inside its root). */
enum path_flags {
	PATH_ABSOLUTE = 1 << 0,	    /* the input must start with '/' */
	PATH_REFUSE_DOT = 1 << 1,   /* refuse "." components (otherwise they are dropped) */
	PATH_REFUSE_CNTRL = 1 << 2, /* refuse control characters */
	PATH_REFUSE_URL = 1 << 3,   /* refuse '?', '&' and '#' (the path goes into an nfs:// URL) */
	PATH_LEADING_SLASH = 1 << 4, /* write "/a/b" (otherwise "a/b") */
	PATH_ROOT_SLASH = 1 << 5,    /* write "/" for a path with no component (otherwise "") */
};

/* Why path_normalize() refused a path (0: it did not). */
enum path_refusal {
	PATH_OK = 0,
	PATH_RELATIVE, /* PATH_ABSOLUTE and the input does not start with '/' */
	PATH_DOT,      /* a "." component under PATH_REFUSE_DOT */
	PATH_DOTDOT,   /* a ".." component */
	PATH_CNTRL,    /* a control character under PATH_REFUSE_CNTRL */
	PATH_URL_CHAR, /* '?', '&' or '#' under PATH_REFUSE_URL */
	PATH_RESERVED, /* the first component is the reserved name */
	PATH_TOO_LONG, /* the result and its NUL do not fit in outlen bytes */
};

/*
 * Normalise in (NUL-terminated) into out: components joined by single slashes, empty
 * components (repeated, leading and trailing slashes) dropped, "." dropped unless
 * PATH_REFUSE_DOT. Components are checked left to right, each for ".", "..", control
 * characters, URL characters, the reserved first name (reserved, NULL for none) and then
 * room in out, in that order, and the first refusal is returned, so the reason a caller
 * reports does not depend on what follows. out may be NULL (outlen is then ignored) to
 * check in without writing it. Returns PATH_OK, or the refusal (out is then undefined).
 */
enum path_refusal path_normalize(const char *in, unsigned int flags, const char *reserved,
				 char *out, size_t outlen);

#endif
