// SPDX-License-Identifier: MIT
/*
 * config: settings from an envp-style array. Every parser validates the whole value and
 * names the variable, the value and what is accepted when it refuses.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

const char *config_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++) {
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	}
	return NULL;
}

int config_parse_uint(const char *name, const char *text, unsigned long min, unsigned long max,
		      unsigned long *out, char *err, size_t errlen)
{
	char *end = NULL;
	unsigned long v;

	if (!text || !*text || text[0] == '-' || text[0] == '+' || text[0] == ' ')
		goto refuse;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v < min || v > max)
		goto refuse;
	*out = v;
	return 0;
refuse:
	snprintf(err, errlen, "%s=%s: expected a whole number from %lu to %lu", name,
		 text ? text : "", min, max);
	return -EINVAL;
}

int config_get_uint(char *const *envp, const char *name, unsigned long def, unsigned long min,
		    unsigned long max, unsigned long *out, char *err, size_t errlen)
{
	const char *v = config_env_get(envp, name);

	if (!v || !*v) {
		*out = def;
		return 0;
	}
	return config_parse_uint(name, v, min, max, out, err, errlen);
}

int config_parse_bool(const char *name, const char *text, bool *out, char *err, size_t errlen)
{
	static const char *const yes[] = {"true", "yes", "1", "on"};
	static const char *const no[] = {"false", "no", "0", "off"};

	for (size_t i = 0; text && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(err, errlen, "%s=%s: expected true or false (also yes/no, 1/0, on/off)", name,
		 text ? text : "");
	return -EINVAL;
}

int config_get_bool(char *const *envp, const char *name, bool def, bool *out, char *err,
		    size_t errlen)
{
	const char *v = config_env_get(envp, name);

	if (!v || !*v) {
		*out = def;
		return 0;
	}
	return config_parse_bool(name, v, out, err, errlen);
}

int config_get_choice(char *const *envp, const char *name, const char *const *choices, int def,
		      int *out, char *err, size_t errlen)
{
	const char *v = config_env_get(envp, name);
	size_t used;

	if (!v || !*v) {
		*out = def;
		return 0;
	}
	for (int i = 0; choices[i]; i++) {
		if (strcasecmp(v, choices[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	used = (size_t)snprintf(err, errlen, "%s=%s: expected one of", name, v);
	for (int i = 0; choices[i] && used < errlen; i++)
		used += (size_t)snprintf(err + used, errlen - used, "%s %s", i ? "," : "",
					 choices[i]);
	return -EINVAL;
}
