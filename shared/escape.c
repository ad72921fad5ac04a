// SPDX-License-Identifier: MIT
/*
 * escape: control characters and invalid UTF-8 to visible escapes (see escape.h).
 * Pure: no allocation, no I/O.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

/*
 * Length of the well-formed UTF-8 sequence at s (at most len bytes), 0 if the bytes are
 * not one (RFC 3629 table 3-7: second-byte ranges exclude overlong forms and surrogates).
 * *cp gets the code point.
 */
static size_t utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		unsigned char b = s[i];

		if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
			return 0;
		v = (v << 6) | (b & 0x3f);
	}
	*cp = v;
	return n;
}

size_t escape_text(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t out = 0, i = 0;

	if (!dstlen)
		return 0;
	while (i < srclen) {
		char esc[8];
		const char *piece = esc;
		size_t plen, n;
		uint32_t cp = 0;

		n = utf8_seq(s + i, srclen - i, &cp);
		if (n == 0) {
			n = 1;
			plen = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
		} else if (cp == '\n') {
			piece = "\\n";
			plen = 2;
		} else if (cp == '\r') {
			piece = "\\r";
			plen = 2;
		} else if (cp == '\t') {
			piece = "\\t";
			plen = 2;
		} else if (cp < 0x20 || cp == 0x7f) {
			plen = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", (unsigned int)cp);
		} else if (cp >= 0x80 && cp <= 0x9f) {
			plen = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", (unsigned int)cp);
		} else {
			piece = (const char *)s + i;
			plen = n;
		}
		if (out + plen >= dstlen)
			break;
		memcpy(dst + out, piece, plen);
		out += plen;
		i += n;
	}
	dst[out] = '\0';
	return out;
}

const char *escape_str(char *dst, size_t dstlen, const char *src)
{
	if (!src)
		src = "";
	escape_text(dst, dstlen, src, strlen(src));
	return dst;
}

size_t escape_utf8_whole(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t back = 0, start, need;

	/* Find the lead byte of the last sequence: at most 3 continuation bytes back. */
	while (back < len && back < 4 && (u[len - 1 - back] & 0xc0) == 0x80)
		back++;
	if (back == len)
		return len;
	start = len - 1 - back;
	if (u[start] >= 0xf0)
		need = 4;
	else if (u[start] >= 0xe0)
		need = 3;
	else if (u[start] >= 0xc0)
		need = 2;
	else
		return len;
	/* An incomplete multi-byte sequence at the end: drop it. */
	return back + 1 < need ? start : len;
}

size_t escape_vformat(char *dst, size_t dstlen, const char *fmt, va_list ap)
{
	char raw[2048];
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	size_t len;

	if (n < 0)
		len = 0;
	else if ((size_t)n >= sizeof(raw))
		len = escape_utf8_whole(raw, sizeof(raw) - 1);
	else
		len = (size_t)n;
	return escape_text(dst, dstlen, raw, len);
}

bool escape_is_plain(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp = 0;
		size_t n = utf8_seq(u + i, len - i, &cp);

		if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += n;
	}
	return true;
}
