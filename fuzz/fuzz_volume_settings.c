// SPDX-License-Identifier: MIT
/*
 * Volume plugin settings and Create options. First byte even: the input is an
 * environment (one KEY=VALUE per line) for settings_parse; odd: a JSON Opts object for
 * options_parse. Invariants: parsed settings re-normalise to themselves and format; a
 * definition options_parse accepts passes options_check_def and the guards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_util.h"
#include "options.h"
#include "settings.h"
#include "volume_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void settings_case(const char *text)
{
	char *copy = strdup(text), *env[64];
	char err[2048], out[NFSB_EXPORT_MAX], buf[8192];
	struct settings s;

	if (!copy)
		return;
	fuzz_env_lines(copy, env, 63);
	if (settings_parse(env, &s, err, sizeof(err)) == 0) {
		settings_format(&s, buf, sizeof(buf));
		if (s.export[0]) {
			fuzz_must(settings_normalize_export("x", s.export, out, sizeof(out), err,
							    sizeof(err)) == 0,
				  "normalised export refused", err);
			fuzz_must(strcmp(out, s.export) == 0, "export normalisation not idempotent",
				  out);
		}
	}
	free(copy);
}

static void options_case(const char *text, size_t len)
{
	static struct settings cfg;
	static int ready;
	struct volume_def d;
	char err[2048];
	struct volume_opts o;
	json_t *opts;

	if (!ready) {
		char *env[] = {"NFS_SERVER=nfs1", "NFS_EXPORT=/srv/mpf",
			       "ALLOWED_EXPORTS=nfs2:/data", NULL};

		fuzz_must(settings_parse(env, &cfg, err, sizeof(err)) == 0, "settings", err);
		ready = 1;
	}
	opts = json_loadb(text, len, 0, NULL);
	fuzz_must(volume_api_opts(opts, &o) == 0, "volume_api_opts", "out of memory");
	if (options_parse("v1", &o, &cfg, &d, err, sizeof(err)) == 0) {
		fuzz_must(options_check_def(&d, cfg.catalogue_dir, err, sizeof(err)) == 0,
			  "accepted options fail options_check_def", err);
		fuzz_must(options_check_policy(&d, &cfg, err, sizeof(err)) == 0,
			  "accepted options fail the guards", err);
	}
	free((void *)o.v);
	json_decref(opts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = fuzz_text(data + 1, size - 1);
	if (!text)
		return 0;
	if (data[0] & 1)
		options_case(text, size - 1);
	else
		settings_case(text);
	free(text);
	return 0;
}
