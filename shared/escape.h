/* SPDX-License-Identifier: MIT */
/*
 * escape: make text from outside (request strings, file contents, peer documents) safe
 * to put in a log line or an error reply. The one function every log line and every
 * {"Err": ...} text goes through, so that a log line is always one line and a reply
 * always valid UTF-8 that json_pack accepts.
 */
#ifndef SHARED_ESCAPE_H
#define SHARED_ESCAPE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Copy srclen bytes of src into dst (dstlen > 0 bytes, always NUL-terminated) with:
 *   - C0 controls and DEL as \n, \r, \t or \xHH (a NUL byte in src as \x00);
 *   - C1 controls (U+0080-U+009F) as \u0080-\u009f;
 *   - every byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlong
 *     forms, no surrogates, nothing above U+10FFFF) as \xHH.
 * Valid printable UTF-8 is copied unchanged, backslashes included, so escaping an
 * escaped text changes nothing. When dst is too small the output stops before the first
 * character or escape that does not fit whole (never inside either). Returns the length
 * of dst.
 */
size_t escape_text(char *dst, size_t dstlen, const char *src, size_t srclen);

/* escape_text on a NUL-terminated string (NULL is taken as ""). Returns dst. */
const char *escape_str(char *dst, size_t dstlen, const char *src);

/*
 * Length of the longest prefix of s (len bytes) that does not end inside a UTF-8
 * sequence: use it after a truncating snprintf so the cut keeps whole characters.
 */
size_t escape_utf8_whole(const char *s, size_t len);

/* True if s (len bytes) is well-formed UTF-8 with no C0/C1 control and no DEL: text
 * escape_text would copy unchanged. For settings and names that must be UTF-8. */
bool escape_is_plain(const char *s, size_t len);

/*
 * vsnprintf into at most 2 KiB (a longer text is cut after its last whole character),
 * then escape_text the result into dst. Returns the length of dst.
 */
size_t escape_vformat(char *dst, size_t dstlen, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
