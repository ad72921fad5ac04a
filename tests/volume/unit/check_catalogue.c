// SPDX-License-Identifier: MIT
/* Unit tests for volume-plugin/catalogue.c: the definition file format (encode, decode,
 * validation of what another node may have written) and catalogue paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "catalogue.h"
#include "testlib.h"

#define CAT ".openmpf-volumes"

static void make_def(struct volume_def *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "shared");
	snprintf(d->server, sizeof(d->server), "nfs1");
	snprintf(d->export, sizeof(d->export), "/srv/mpf");
	snprintf(d->subdir, sizeof(d->subdir), "mpf/share");
	d->uid = 376;
	d->gid = -1;
	d->mode = 0750;
	d->readonly = true;
	d->remove_data = false;
	d->created_at = 1795928198;
}

START_TEST(test_encode_exact)
{
	struct volume_def d;
	json_t *j;
	char *text;

	make_def(&d);
	j = catalogue_encode(&d);
	ck_assert_ptr_nonnull(j);
	text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(text, "{\"CreatedAt\":\"2026-11-29T04:56:38Z\",\"Export\":\"/srv/mpf\","
			       "\"Format\":1,\"Mode\":\"0750\",\"Name\":\"shared\",\"OnRemove\":"
			       "\"keep\",\"Readonly\":true,\"Server\":\"nfs1\",\"Subdir\":"
			       "\"mpf/share\",\"Uid\":376}");
	free(text);
	json_decref(j);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct volume_def d, back;
	char err[512];
	json_t *j;

	make_def(&d);
	for (int i = 0; i < 2; i++) {
		if (i) {
			d.uid = -1;
			d.gid = 0;
			d.remove_data = true;
			d.subdir[0] = 'x';
		}
		j = catalogue_encode(&d);
		ck_assert_int_eq(catalogue_decode(j, CAT, &back, err, sizeof(err)), 0);
		ck_assert_int_eq(options_diff(&d, &back, NULL, 0), 0);
		ck_assert_int_eq(back.created_at, d.created_at);
		json_decref(j);
	}
}
END_TEST

/* Definitions another node (or a person) may have left on the export. */
static const struct {
	const char *json;
	const char *msg;
} bad[] = {
	{"{}", "volume definition:"},
	{"{\"Format\":2,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"ab\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"keep\"}",
	 "Format 2"},
	{"{\"Format\":1,\"Name\":\"a/b\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"ab\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"keep\"}",
	 "volume name"},
	{"{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"../x\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"keep\"}",
	 "'..'"},
	{"{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"a//b\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"keep\"}",
	 "normal form"},
	{"{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"e\",\"Subdir\":\"ab\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"keep\"}",
	 "absolute"},
	{"{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"ab\","
	 "\"Mode\":\"9\",\"Readonly\":false,\"OnRemove\":\"keep\"}",
	 "Mode=9"},
	{"{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"ab\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"shred\"}",
	 "OnRemove=shred"},
	{"{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"ab\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"keep\",\"Uid\":-3}",
	 "Uid"},
	{"{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"ab\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"keep\",\"Gid\":\"1\"}",
	 "Gid"},
	{"{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"ab\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"keep\",\"CreatedAt\":\"yesterday\"}",
	 "CreatedAt=yesterday"},
	{"{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\",\"Subdir\":\"\","
	 "\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":\"delete\"}",
	 "whole export"},
};

START_TEST(test_decode_bad)
{
	struct volume_def d;
	char err[512] = "";
	json_t *j = json_loads(bad[_i].json, 0, NULL);

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(catalogue_decode(j, CAT, &d, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, bad[_i].msg), "case %d: \"%s\" lacks \"%s\"", _i, err,
		      bad[_i].msg);
	json_decref(j);
}
END_TEST

START_TEST(test_decode_extra_keys)
{
	/* A newer plugin may add fields: ignored. No CreatedAt: 0. */
	const char *text = "{\"Format\":1,\"Name\":\"ab\",\"Server\":\"s\",\"Export\":\"/e\","
			   "\"Subdir\":\"\",\"Mode\":\"0777\",\"Readonly\":false,\"OnRemove\":"
			   "\"keep\",\"Future\":{\"x\":1}}";
	struct volume_def d;
	char err[512];
	json_t *j = json_loads(text, 0, NULL);

	ck_assert_int_eq(catalogue_decode(j, CAT, &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d.subdir, "");
	ck_assert_int_eq(d.created_at, 0);
	ck_assert_int_eq(d.uid, -1);
	json_decref(j);
}
END_TEST

START_TEST(test_time_and_path)
{
	char buf[64];
	time_t t;

	ck_assert_str_eq(catalogue_format_time(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	ck_assert_int_eq(catalogue_parse_time("2026-11-29T04:56:38Z", &t), 0);
	ck_assert_int_eq(t, 1795928198);
	ck_assert_int_eq(catalogue_parse_time("2026-11-29 04:56:38", &t), -EINVAL);
	ck_assert_int_eq(catalogue_path(CAT, "vol1", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, ".openmpf-volumes/vol1.json");
	ck_assert_int_eq(catalogue_path(CAT, "vol1", buf, 10), -ENAMETOOLONG);
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_encode_exact);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_loop_test(tc, test_decode_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_decode_extra_keys);
	tcase_add_test(tc, test_time_and_path);
	return tl_run_tcase("volume catalogue", tc);
}
