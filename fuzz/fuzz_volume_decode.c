// SPDX-License-Identifier: MIT
/*
 * Volume plugin decoders: the first byte picks the local state file or a catalogue
 * entry (what another node, or anyone who can write the export, wrote). Invariants:
 * whatever decodes re-encodes to a document that decodes to the same thing, a catalogue
 * entry that decodes passes the same checks as a Create, and the guards never crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalogue.h"
#include "fuzz_util.h"
#include "options.h"
#include "settings.h"
#include "state.h"

#define CAT ".openmpf-volumes"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_def(const struct volume_def *a, const struct volume_def *b)
{
	fuzz_must(options_diff(a, b, NULL, 0) == 0, "definition changed in a round trip", NULL);
	fuzz_must(strcmp(a->name, b->name) == 0, "name changed in a round trip", NULL);
	fuzz_must(a->created_at == b->created_at, "CreatedAt changed in a round trip", NULL);
}

static void catalogue_case(json_t *j)
{
	static struct settings cfg;
	static int ready;
	struct volume_def d, back;
	char err[2048];
	json_t *again;

	if (!ready) {
		char *env[] = {"NFS_SERVER=nfs1", "NFS_EXPORT=/srv/mpf",
			       "ALLOWED_EXPORTS=nfs2:/data", NULL};

		fuzz_must(settings_parse(env, &cfg, err, sizeof(err)) == 0, "settings", NULL);
		ready = 1;
	}
	if (catalogue_decode(j, CAT, &d, err, sizeof(err)) < 0)
		return;
	fuzz_must(options_check_def(&d, CAT, err, sizeof(err)) == 0,
		  "decoded entry fails the check", NULL);
	(void)options_check_policy(&d, &cfg, err, sizeof(err));
	again = catalogue_encode(&d);
	fuzz_must(again != NULL, "encode", NULL);
	fuzz_must(catalogue_decode(again, CAT, &back, err, sizeof(err)) == 0, "re-decode", NULL);
	same_def(&d, &back);
	json_decref(again);
}

static void state_case(json_t *j)
{
	struct state st = {0}, back = {0};
	char err[2048];
	json_t *again;

	if (state_decode(j, CAT, &st, err, sizeof(err)) < 0) {
		state_fini(&st);
		return;
	}
	again = state_encode(&st);
	fuzz_must(again != NULL, "encode", NULL);
	fuzz_must(state_decode(again, CAT, &back, err, sizeof(err)) == 0, "re-decode", NULL);
	fuzz_must(back.n == st.n, "volume count changed in a round trip", NULL);
	for (size_t i = 0; i < st.n; i++) {
		same_def(&st.v[i].def, &back.v[i].def);
		fuzz_must(strcmp(st.v[i].mountpoint, back.v[i].mountpoint) == 0, "mountpoint",
			  NULL);
		fuzz_must(st.v[i].nmounts == back.v[i].nmounts, "mount count", NULL);
		for (size_t k = 0; k < st.v[i].nmounts; k++)
			fuzz_must(strcmp(st.v[i].mounts[k].id, back.v[i].mounts[k].id) == 0 &&
					  st.v[i].mounts[k].count == back.v[i].mounts[k].count,
				  "mount IDs", NULL);
	}
	json_decref(again);
	state_fini(&st);
	state_fini(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *j;

	if (size < 1)
		return 0;
	j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return 0;
	if (data[0] & 1)
		catalogue_case(j);
	else
		state_case(j);
	json_decref(j);
	return 0;
}
