// SPDX-License-Identifier: MIT
/* fuzz_util: invariant checks and fuzzer input as an environment (see fuzz_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

void fuzz_must(int cond, const char *what, const char *detail)
{
	if (cond)
		return;
	if (detail)
		fprintf(stderr, "fuzz: invariant broken: %s (%s)\n", what, detail);
	else
		fprintf(stderr, "fuzz: invariant broken: %s\n", what);
	abort();
}

char *fuzz_text(const uint8_t *data, size_t len)
{
	char *text = malloc(len + 1);

	if (text) {
		memcpy(text, data, len);
		text[len] = '\0';
	}
	return text;
}

size_t fuzz_env_lines(char *text, char **env, size_t max)
{
	char *save = NULL, *line;
	size_t n = 0;

	for (line = strtok_r(text, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save))
		env[n++] = line;
	env[n] = NULL;
	return n;
}
