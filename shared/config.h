/* SPDX-License-Identifier: MIT */
/*
 * config: primitives to read plugin settings from an envp-style array ("KEY=VALUE"
 * strings, NULL-terminated). Pure: nothing here calls getenv, so tests pass fake arrays.
 * Each parser validates fully and, on failure, writes a message naming the variable,
 * the bad value and what is accepted into err (caller's buffer), returning -EINVAL.
 */
#ifndef SHARED_CONFIG_H
#define SHARED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* The value of name in envp, or NULL if absent. Borrowed from envp. */
const char *config_env_get(char *const *envp, const char *name);

/* Unsigned decimal in [min, max]; empty or absent -> *out = def. */
int config_get_uint(char *const *envp, const char *name, unsigned long def, unsigned long min,
		    unsigned long max, unsigned long *out, char *err, size_t errlen);

/* true/false, yes/no, 1/0, on/off (case-insensitive); absent or empty -> def. */
int config_get_bool(char *const *envp, const char *name, bool def, bool *out, char *err,
		    size_t errlen);

/* Parse text as a bool with the same words; name is only used in the message. */
int config_parse_bool(const char *name, const char *text, bool *out, char *err, size_t errlen);

/* Unsigned decimal in [min, max]; name is only used in the message. */
int config_parse_uint(const char *name, const char *text, unsigned long min, unsigned long max,
		      unsigned long *out, char *err, size_t errlen);

/*
 * One of choices (NULL-terminated, case-insensitive); *out = its index. Absent or empty ->
 * *out = def. The message lists every choice.
 */
int config_get_choice(char *const *envp, const char *name, const char *const *choices, int def,
		      int *out, char *err, size_t errlen);

#endif
