// SPDX-License-Identifier: MIT
/* Unit tests for ipam-plugin/state.c: pool encode/decode and the per-pool files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>

#include "atomic_file.h"
#include "state.h"
#include "testlib.h"

static struct cidr P(const char *s) {
	struct cidr c;
	char err[256];

	ck_assert_msg(cidr_parse(s, CIDR_PARSE_ALLOW_BARE, &c, err, sizeof(err)) == 0, "%s", err);
	return c;
}

static struct pa_pool *
add(struct pa_allocator *a, enum pa_space sp, const char *net, const char *range)
{
	struct cidr n = P(net), r;
	struct pa_pool *p;
	char err[256];

	if (range)
		r = P(range);
	ck_assert_int_eq(pa_pool_add(a, sp, &n, range ? &r : NULL, &p, err, sizeof(err)), 0);
	return p;
}

static void get(struct pa_pool *p, const char *want)
{
	struct cidr w, got;
	char err[256];
	bool again;

	if (want)
		w = P(want);
	ck_assert_int_eq(pa_addr_request(p, want ? &w : NULL, PA_ADDR_SERIAL, &got, &again, err,
					 sizeof(err)),
			 0);
}

START_TEST(test_encode)
{
	struct pa_allocator a;
	struct pa_pool *p;
	json_t *j;
	char *text;

	pa_init(&a, "l", "g");
	p = add(&a, PA_SPACE_GLOBAL, "10.0.1.0/24", "10.0.1.128/25");
	get(p, "10.0.1.1");
	for (int i = 0; i < 6; i++)
		get(p, NULL);
	get(p, "10.0.1.200");
	j = state_encode_pool(p);
	text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(text, "{\"allocated\":[\"10.0.1.1\",\"10.0.1.128-10.0.1.133\","
			       "\"10.0.1.200\"],\"cursor\":\"10.0.1.134\",\"pool\":\"10.0.1.0/24\","
			       "\"range\":\"10.0.1.128/25\",\"space\":\"global\",\"version\":1}");
	free(text);
	json_decref(j);
	pa_fini(&a);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct pa_allocator a, b;
	struct pa_pool *p, *q;
	char err[256], n1[64], n2[64];
	json_t *j1, *j2;

	pa_init(&a, "l", "g");
	pa_init(&b, "l", "g");
	p = add(&a, PA_SPACE_LOCAL, "fd00:0:0:7::/64", NULL);
	p->chosen = true;
	get(p, "fd00:0:0:7::1");
	get(p, NULL);
	get(p, "fd00:0:0:7::ffff:1");
	j1 = state_encode_pool(p);
	ck_assert_int_eq(state_decode_pool(&b, j1, &q, err, sizeof(err)), 0);
	j2 = state_encode_pool(q);
	ck_assert(json_equal(j1, j2));
	ck_assert_str_eq(q->id, p->id);
	ck_assert(q->chosen);
	ck_assert(q->cursor == p->cursor);
	ck_assert_str_eq(state_file_name(p, n1, sizeof(n1)), "local_fd00-0-0-7--_64.json");
	ck_assert_str_eq(state_file_name(q, n2, sizeof(n2)), n1);
	/* Decoding the same pool twice is refused, not merged. */
	ck_assert_int_eq(state_decode_pool(&b, j1, &q, err, sizeof(err)), -EEXIST);
	json_decref(j1);
	json_decref(j2);
	pa_fini(&a);
	pa_fini(&b);
}
END_TEST

static const struct {
	const char *json, *msg;
} bad_docs[] = {
	{"{\"space\":\"local\",\"pool\":\"10.0.0.0/24\"}", "version"},
	{"{\"version\":2,\"space\":\"local\",\"pool\":\"10.0.0.0/24\"}", "version 2"},
	{"{\"version\":1,\"space\":\"mars\",\"pool\":\"10.0.0.0/24\"}", "space mars"},
	{"{\"version\":1,\"space\":\"local\",\"pool\":\"10.0.0.1/24\"}", "host bits"},
	{"{\"version\":1,\"space\":\"local\",\"pool\":7}", "Expected string"},
	{"{\"version\":1,\"space\":\"local\",\"pool\":\"10.0.0.0/24\",\"range\":\"10.1.0.0/25\"}",
	 "not inside pool"},
	{"{\"version\":1,\"space\":\"local\",\"pool\":\"10.0.0.0/24\",\"cursor\":\"10.0.9.1\"}",
	 "not an address of pool"},
	{"{\"version\":1,\"space\":\"local\",\"pool\":\"10.0.0.0/24\",\"allocated\":{}}",
	 "allocated: expected an array"},
	{"{\"version\":1,\"space\":\"local\",\"pool\":\"10.0.0.0/24\",\"allocated\":[1]}",
	 "allocated[0]: expected a string"},
	{"{\"version\":1,\"space\":\"local\",\"pool\":\"10.0.0.0/"
	 "24\",\"allocated\":[\"10.0.0.0\"]}",
	 "outside the usable addresses"},
	{"{\"version\":1,\"space\":\"local\",\"pool\":\"10.0.0.0/"
	 "24\",\"allocated\":[\"10.0.0.9-10.0.0.3\"]}",
	 "outside the usable addresses"},
	{"{\"version\":1,\"space\":\"local\",\"pool\":\"10.0.0.0/24\",\"allocated\":[\"x\"]}",
	 "not an IP address"},
};

START_TEST(test_decode_bad)
{
	struct pa_allocator a;
	struct pa_pool *p;
	json_error_t jerr;
	json_t *j = json_loads(bad_docs[_i].json, 0, &jerr);
	char err[256] = "";

	ck_assert_ptr_nonnull(j);
	pa_init(&a, "l", "g");
	ck_assert_int_eq(state_decode_pool(&a, j, &p, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, bad_docs[_i].msg), "%s: got \"%s\"", bad_docs[_i].json, err);
	/* Nothing half-loaded stays behind. */
	ck_assert_uint_eq(a.n, 0);
	json_decref(j);
	pa_fini(&a);
}
END_TEST

START_TEST(test_files)
{
	char *dir = tl_tmpdir("ipam-state");
	struct pa_allocator a, b;
	struct pa_pool *p1, *p2, *p3;
	char err[512], path[1024];
	json_t *e1, *e2;

	pa_init(&a, "l", "g");
	pa_init(&b, "l", "g");
	ck_assert_int_eq(state_load(dir, &b, err, sizeof(err)), 0); /* no pools dir yet */
	p1 = add(&a, PA_SPACE_LOCAL, "10.0.0.0/24", NULL);
	p2 = add(&a, PA_SPACE_GLOBAL, "10.0.0.0/24", NULL);
	p3 = add(&a, PA_SPACE_GLOBAL, "fd00::/64", NULL);
	get(p1, NULL);
	get(p2, "10.0.0.77");
	ck_assert_int_eq(state_save_pool(dir, p1, err, sizeof(err)), 0);
	ck_assert_int_eq(state_save_pool(dir, p2, err, sizeof(err)), 0);
	ck_assert_int_eq(state_save_pool(dir, p3, err, sizeof(err)), 0);
	ck_assert_int_eq(state_delete_pool(dir, p3, err, sizeof(err)), 0);
	ck_assert_int_eq(state_delete_pool(dir, p3, err, sizeof(err)), 0); /* idempotent */
	/* Stray files are ignored: temp files and non-JSON names. */
	snprintf(path, sizeof(path), "%s/pools/local_x.json.tmp.abc", dir);
	ck_assert_int_eq(atomic_file_write(path, "junk", 4, 0600), 0);
	ck_assert_int_eq(state_load(dir, &b, err, sizeof(err)), 2);
	e1 = state_encode_pool(p2);
	e2 = state_encode_pool(pa_pool_by_id(&b, "g/10.0.0.0/24"));
	ck_assert(json_equal(e1, e2));
	json_decref(e1);
	json_decref(e2);
	ck_assert_ptr_null(pa_pool_by_id(&b, "g/fd00::/64"));
	pa_fini(&b);

	/* A corrupt file stops the load and is named. */
	pa_init(&b, "l", "g");
	snprintf(path, sizeof(path), "%s/pools/global_10.9.0.0_24.json", dir);
	ck_assert_int_eq(atomic_file_write(path, "{not json", 9, 0600), 0);
	ck_assert_int_lt(state_load(dir, &b, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "global_10.9.0.0_24.json"), "%s", err);
	pa_fini(&b);
	pa_fini(&a);
	tl_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_unwritable)
{
	struct pa_allocator a;
	struct pa_pool *p;
	char err[512] = "";

	pa_init(&a, "l", "g");
	p = add(&a, PA_SPACE_LOCAL, "10.0.0.0/24", NULL);
	ck_assert_int_lt(state_save_pool("/proc/version/nope", p, err, sizeof(err)), 0);
	ck_assert(strstr(err, "/proc/version/nope"));
	pa_fini(&a);
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_encode);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_loop_test(tc, test_decode_bad, 0, sizeof(bad_docs) / sizeof(bad_docs[0]));
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_unwritable);
	return tl_run_tcase("state", tc);
}
