// SPDX-License-Identifier: MIT
/*
 * shared/ parsers: CIDR text (cidr_parse with the flags from the first byte) and the
 * escape function. Invariants: a parsed CIDR formats to text that parses back to the
 * same value and its network contains it; escaped text is plain UTF-8, escaping it again
 * changes nothing, and it never outgrows its buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "escape.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256], buf[CIDR_STRLEN + 8], err[512], out[1024], again[1024];
	struct cidr c, back, net;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1 < sizeof(text) - 1 ? size - 1 : sizeof(text) - 1;
	memcpy(text, data + 1, n);
	text[n] = '\0';
	if (cidr_parse(text, data[0] & 0x0f, &c, err, sizeof(err)) == 0) {
		cidr_format(&c, buf, sizeof(buf));
		fuzz_must(cidr_parse(buf, data[0] & 0x0f, &back, err, sizeof(err)) == 0,
			  "formatted CIDR does not parse", NULL);
		fuzz_must(cidr_equal(&c, &back), "CIDR round trip", NULL);
		net = cidr_network(&c);
		fuzz_must(cidr_contains(&net, &c), "the network does not contain the CIDR", NULL);
	}
	n = escape_text(out, 1 + data[0] % sizeof(out), (const char *)data + 1, size - 1);
	fuzz_must(n == strlen(out) && n < 1 + data[0] % sizeof(out), "escape length", NULL);
	fuzz_must(escape_is_plain(out, n), "escaped text is not plain", NULL);
	escape_text(again, sizeof(again), out, n);
	fuzz_must(strcmp(again, out) == 0, "escape is not idempotent", NULL);
	return 0;
}
