// SPDX-License-Identifier: MIT
/*
 * path: normalise and check slash-separated paths under a caller's rules (see path.h).
 */
#include <ctype.h>
#include <string.h>

#include "path.h"

/* The refusal for one component p[0..len), or PATH_OK. */
static enum path_refusal check_component(const char *p, size_t len, unsigned int flags)
{
	if (len == 1 && p[0] == '.')
		return (flags & PATH_REFUSE_DOT) ? PATH_DOT : PATH_OK;
	if (len == 2 && p[0] == '.' && p[1] == '.')
		return PATH_DOTDOT;
	for (const char *c = p; c < p + len; c++) {
		if ((flags & PATH_REFUSE_CNTRL) && iscntrl((unsigned char)*c))
			return PATH_CNTRL;
		if ((flags & PATH_REFUSE_URL) && (*c == '?' || *c == '&' || *c == '#'))
			return PATH_URL_CHAR;
	}
	return PATH_OK;
}

enum path_refusal path_normalize(const char *in, unsigned int flags, const char *reserved,
				 char *out, size_t outlen)
{
	const char *p = in;
	size_t used = 0;

	if ((flags & PATH_ABSOLUTE) && in[0] != '/')
		return PATH_RELATIVE;
	while (*p) {
		enum path_refusal r;
		size_t len, sep;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		r = check_component(p, len, flags);
		if (r != PATH_OK)
			return r;
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (used == 0 && reserved && strlen(reserved) == len &&
		    strncmp(p, reserved, len) == 0)
			return PATH_RESERVED;
		sep = (used > 0 || (flags & PATH_LEADING_SLASH)) ? 1 : 0;
		if (out) {
			if (used + sep + len + 1 > outlen)
				return PATH_TOO_LONG;
			if (sep)
				out[used] = '/';
			memcpy(out + used + sep, p, len);
		}
		used += sep + len;
		p += len;
	}
	if (!out)
		return PATH_OK;
	if (used == 0 && (flags & PATH_ROOT_SLASH)) {
		if (outlen < 2)
			return PATH_TOO_LONG;
		out[used++] = '/';
	}
	if (outlen == 0)
		return PATH_TOO_LONG;
	out[used] = '\0';
	return PATH_OK;
}
