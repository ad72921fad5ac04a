// SPDX-License-Identifier: MIT
/* Unit tests for volume-plugin/state.c: state file encoding, validation, save and load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "state.h"
#include "testlib.h"

#define CAT ".openmpf-volumes"

static void make_def(struct volume_def *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->server, sizeof(d->server), "nfs1");
	snprintf(d->export, sizeof(d->export), "/srv");
	snprintf(d->subdir, sizeof(d->subdir), "%s", name);
	d->uid = d->gid = -1;
	d->mode = 0777;
	d->created_at = 1795928198;
}

static void make_state(struct state *st)
{
	struct state_mount m[2] = {{"aaaa", 1}, {"bbbb", 3}};
	struct volume_def d;

	memset(st, 0, sizeof(*st));
	make_def(&d, "v1");
	ck_assert_ptr_nonnull(state_add(st, &d, "/mnt/volumes/v1", m, 2));
	make_def(&d, "v2");
	ck_assert_ptr_nonnull(state_add(st, &d, NULL, NULL, 0));
}

START_TEST(test_roundtrip)
{
	struct state st, back = {0};
	char err[512], *a, *b;
	json_t *j, *j2;

	make_state(&st);
	j = state_encode(&st);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(state_decode(j, CAT, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_str_eq(back.v[0].def.name, "v1");
	ck_assert_str_eq(back.v[0].mountpoint, "/mnt/volumes/v1");
	ck_assert_uint_eq(back.v[0].nmounts, 2);
	ck_assert_uint_eq(back.v[1].nmounts, 0);
	ck_assert_str_eq(back.v[1].mountpoint, "");
	j2 = state_encode(&back);
	a = json_dumps(j, JSON_SORT_KEYS);
	b = json_dumps(j2, JSON_SORT_KEYS);
	ck_assert_str_eq(a, b);
	ck_assert_ptr_nonnull(strstr(a, "\"Mounts\": {\"aaaa\": 1, \"bbbb\": 3}"));
	free(a);
	free(b);
	json_decref(j);
	json_decref(j2);
	state_fini(&st);
	state_fini(&back);
	state_fini(NULL);
}
END_TEST

static const struct {
	const char *json;
	const char *msg;
} bad[] = {
	{"{}", "state:"},
	{"{\"Format\":9,\"Volumes\":[]}", "expected format 1"},
	{"{\"Format\":1,\"Volumes\":{}}", "an array"},
	{"{\"Format\":1,\"Volumes\":[{}]}", "Volumes[0]"},
	{"{\"Format\":1,\"Volumes\":[{\"Definition\":{}}]}", "Volumes[0]: volume definition"},
};

START_TEST(test_decode_bad)
{
	struct state st = {0};
	char err[512] = "";
	json_t *j = json_loads(bad[_i].json, 0, NULL);

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(state_decode(j, CAT, &st, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, bad[_i].msg), "case %d: \"%s\" lacks \"%s\"", _i, err,
		      bad[_i].msg);
	state_fini(&st);
	json_decref(j);
}
END_TEST

/* Corrupt mounts and duplicates, built from a good state. */
START_TEST(test_decode_bad_mounts)
{
	struct state st, back = {0};
	char err[512];
	json_t *j, *vol, *mounts;

	make_state(&st);
	j = state_encode(&st);
	vol = json_array_get(json_object_get(j, "Volumes"), 0);
	mounts = json_object_get(vol, "Mounts");
	json_object_set_new(mounts, "cccc", json_integer(0));
	ck_assert_int_eq(state_decode(j, CAT, &back, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "mount \"cccc\""));
	json_object_set_new(mounts, "cccc", json_integer(1));
	json_object_set_new(mounts, "has space", json_integer(1));
	ck_assert_int_eq(state_decode(j, CAT, &back, err, sizeof(err)), -EINVAL);
	json_object_del(mounts, "has space");
	ck_assert_int_eq(state_decode(j, CAT, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.v[0].nmounts, 3);
	json_array_append(json_object_get(j, "Volumes"), vol);
	ck_assert_int_eq(state_decode(j, CAT, &back, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "volume v1 is listed twice"));
	state_fini(&back);
	state_fini(&st);
	json_decref(j);
}
END_TEST

START_TEST(test_save_load)
{
	char dir[] = "/tmp/check_volume_state.XXXXXX", path[256], err[512];
	struct state st, back = {0};
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* No file yet: an empty state. */
	ck_assert_int_eq(state_load(dir, CAT, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n, 0);
	make_state(&st);
	ck_assert_int_eq(state_save(dir, &st), 0);
	ck_assert_int_eq(state_load(dir, CAT, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_uint_eq(back.v[0].mounts[1].count, 3);
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	f = fopen(path, "w");
	fputs("{not json", f);
	fclose(f);
	ck_assert_int_eq(state_load(dir, CAT, &back, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, path));
	unlink(path);
	rmdir(dir);
	state_fini(&st);
	state_fini(&back);
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_loop_test(tc, test_decode_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_decode_bad_mounts);
	tcase_add_test(tc, test_save_load);
	return tl_run_tcase("volume state", tc);
}
