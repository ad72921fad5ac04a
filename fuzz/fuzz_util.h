/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util: what every harness needs besides its target: an invariant check that crashes
 * (libFuzzer reports the input), and fuzzer bytes read as an environment.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Abort, printing "fuzz: invariant broken: WHAT (DETAIL)", unless cond holds. detail may be
 * NULL (then no parenthesis). */
void fuzz_must(int cond, const char *what, const char *detail);

/* The len bytes at data as a new NUL-terminated string (free()), NULL when out of memory. */
char *fuzz_text(const uint8_t *data, size_t len);

/*
 * Split text (changed in place) at newlines into env, an envp-style array of at most max
 * entries besides its NULL end (env holds max + 1). Returns the number of entries.
 */
size_t fuzz_env_lines(char *text, char **env, size_t max);

#endif
