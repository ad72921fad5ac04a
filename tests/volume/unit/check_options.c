// SPDX-License-Identifier: MIT
/* Unit tests for volume-plugin/options.c: names, subdirs, Create options, diffs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "options.h"
#include "testlib.h"
#include "volume_api.h"

static struct settings cfg;

static void setup(void)
{
	char *env[] = {"NFS_SERVER=nfs1", "NFS_EXPORT=/srv/mpf", "ALLOWED_EXPORTS=10.1.1.1:/other",
		       NULL};
	char err[256];

	ck_assert_int_eq(settings_parse(env, &cfg, err, sizeof(err)), 0);
}

static const struct {
	const char *name;
	bool ok;
} names[] = {
	{"ab", true},
	{"openmpf_shared_data", true},
	{"a.b-c_d", true},
	{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true},
	{"a", false},
	{"", false},
	{"_ab", false},
	{".ab", false},
	{"-ab", false},
	{"a/b", false},
	{"a b", false},
	{"..", false},
	{"a..", true},
	{"ab\n", false},
	{"é1", false},
};

START_TEST(test_names)
{
	char err[512] = "";
	int ret = options_check_name(names[_i].name, err, sizeof(err));

	ck_assert_msg((ret == 0) == names[_i].ok, "name \"%s\": got %d (%s)", names[_i].name, ret,
		      err);
	if (!names[_i].ok)
		ck_assert_ptr_nonnull(strstr(err, "[a-zA-Z0-9][a-zA-Z0-9_.-]+"));
}
END_TEST

START_TEST(test_name_length)
{
	char name[VOL_NAME_MAX + 2], err[512];

	memset(name, 'a', sizeof(name));
	name[VOL_NAME_MAX] = '\0';
	ck_assert_int_eq(options_check_name(name, err, sizeof(err)), 0);
	name[VOL_NAME_MAX] = 'a';
	name[VOL_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(options_check_name(name, err, sizeof(err)), -EINVAL);
}
END_TEST

static const struct {
	const char *in;
	const char *out; /* NULL: refused */
} subdirs[] = {
	{"a", "a"},
	{"/a", "a"},
	{"a/b/c", "a/b/c"},
	{"//a//./b/", "a/b"},
	{"/", ""},
	{"", ""},
	{".", ""},
	{"./x/.", "x"},
	{"..", NULL},
	{"../x", NULL},
	{"a/../../etc", NULL},
	{"a/..", NULL},
	{"/..", NULL},
	{"a/b\tc", NULL},
	{".openmpf-volumes", NULL},
	{"/.openmpf-volumes/x", NULL},
	{"x/.openmpf-volumes", "x/.openmpf-volumes"},
	{"..a/b..", "..a/b.."},
};

START_TEST(test_subdirs)
{
	char out[VOL_SUBDIR_MAX], err[512] = "";
	int ret = options_normalize_subdir(subdirs[_i].in, ".openmpf-volumes", out, sizeof(out),
					   err, sizeof(err));

	if (subdirs[_i].out) {
		ck_assert_msg(ret == 0, "subdir \"%s\" refused: %s", subdirs[_i].in, err);
		ck_assert_str_eq(out, subdirs[_i].out);
	} else {
		ck_assert_msg(ret == -EINVAL, "subdir \"%s\" accepted as \"%s\"", subdirs[_i].in,
			      out);
		ck_assert_ptr_nonnull(strstr(err, "subdir="));
	}
}
END_TEST

/* options_parse on Opts as JSON (o may be NULL), read as the API layer reads them */
static int parse_json(const char *name, json_t *o, const struct settings *s, struct volume_def *d,
		      char *err, size_t errlen)
{
	struct volume_opts opts;
	int ret;

	ck_assert_int_eq(volume_api_opts(o, &opts), 0);
	ret = options_parse(name, &opts, s, d, err, errlen);
	free((void *)opts.v);
	return ret;
}

static int parse(const char *name, const char *opts_json, struct volume_def *d, char *err,
		 size_t errlen)
{
	json_t *o = NULL;
	int ret;

	if (opts_json) {
		o = json_loads(opts_json, JSON_DECODE_ANY, NULL);
		ck_assert_ptr_nonnull(o);
	}
	ret = parse_json(name, o, &cfg, d, err, errlen);
	json_decref(o);
	return ret;
}

START_TEST(test_defaults_from_settings)
{
	struct volume_def d;
	char err[512];

	/* A stack file that only names the driver: Opts is null or {}. */
	ck_assert_int_eq(parse("shared", NULL, &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d.name, "shared");
	ck_assert_str_eq(d.server, "nfs1");
	ck_assert_str_eq(d.export, "/srv/mpf");
	ck_assert_str_eq(d.subdir, "shared");
	ck_assert_int_eq(d.uid, -1);
	ck_assert_int_eq(d.gid, -1);
	ck_assert_uint_eq(d.mode, 01777); /* DEFAULT_MODE auto, caller's identity: like /tmp */
	ck_assert(!d.readonly);
	ck_assert(!d.remove_data);
	ck_assert_int_eq(parse("shared", "null", &d, err, sizeof(err)), 0);
	ck_assert_int_eq(parse("shared", "{}", &d, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_all_options)
{
	struct volume_def d;
	char err[512];

	ck_assert_int_eq(parse("v1",
			       "{\"server\":\"10.1.1.1\",\"export\":\"/other/\",\"subdir\":"
			       "\"/mpf//share\",\"uid\":\"376\",\"gid\":\"377\",\"mode\":\"0750\","
			       "\"readonly\":\"yes\",\"on_remove\":\"delete\"}",
			       &d, err, sizeof(err)),
			 0);
	ck_assert_str_eq(d.server, "10.1.1.1");
	ck_assert_str_eq(d.export, "/other");
	ck_assert_str_eq(d.subdir, "mpf/share");
	ck_assert_int_eq(d.uid, 376);
	ck_assert_int_eq(d.gid, 377);
	ck_assert_uint_eq(d.mode, 0750);
	ck_assert(d.readonly);
	ck_assert(d.remove_data);
	/* "-o readonly" without a value */
	ck_assert_int_eq(parse("v1", "{\"readonly\":\"\"}", &d, err, sizeof(err)), 0);
	ck_assert(d.readonly);
	ck_assert_int_eq(parse("v1", "{\"on_remove\":\"KEEP\",\"readonly\":\"false\"}", &d, err,
			       sizeof(err)),
			 0);
	ck_assert(!d.readonly);
	ck_assert(!d.remove_data);
}
END_TEST

static const struct {
	const char *name;
	const char *opts;
	const char *msg;
} bad_opts[] = {
	{"v1", "{\"size\":\"1G\"}",
	 "unknown option \"size\"; accepted options: server, export, "
	 "subdir, uid, gid, mode, readonly, on_remove"},
	{"v1", "{\"uid\":376}", "option uid: expected a string value"},
	{"v1", "{\"uid\":\"-1\"}", "uid=-1: expected a whole number"},
	{"v1", "{\"gid\":\"x\"}", "gid=x"},
	{"v1", "{\"mode\":\"0800\"}", "mode=0800: expected an octal mode"},
	{"v1", "{\"readonly\":\"maybe\"}", "readonly=maybe"},
	{"v1", "{\"on_remove\":\"purge\"}", "on_remove=purge: expected keep or delete"},
	{"v1", "{\"subdir\":\"../etc\"}", "subdir=../etc: '..' is not accepted"},
	{"v1", "{\"subdir\":\"/a/../../\"}", "'..' is not accepted"},
	{"v1", "{\"subdir\":\".openmpf-volumes\"}", "catalogue directory"},
	{"v1", "{\"export\":\"rel\"}", "export=rel: must be an absolute path"},
	{"v1", "{\"server\":\"a b\"}", "server=a b"},
	{"v1", "{\"subdir\":\"/\",\"on_remove\":\"delete\"}", "whole export"},
	{"v1", "[\"a\"]", "Opts: expected an object"},
	{"a/b", "{}", "volume name \"a/b\""},
	{"..", "{}", "volume name"},
};

START_TEST(test_bad_options)
{
	struct volume_def d;
	char err[1024] = "";

	ck_assert_int_eq(parse(bad_opts[_i].name, bad_opts[_i].opts, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, bad_opts[_i].msg), "case %d: \"%s\" lacks \"%s\"", _i, err,
		      bad_opts[_i].msg);
}
END_TEST

/* Definitions that parse but break the guards (also applied to catalogue entries). */
static const struct {
	const char *opts;
	const char *msg;
} refused[] = {
	{"{\"server\":\"evil\"}", "server evil export /srv/mpf is neither the home export"},
	{"{\"export\":\"/srv\"}", "export /srv is neither"},
	{"{\"server\":\"10.1.1.1\",\"export\":\"/\"}", "ALLOWED_EXPORTS"},
	{"{\"uid\":\"0\"}", "needs ALLOW_ROOT_IDENTITY=true"},
	{"{\"gid\":\"0\",\"uid\":\"5\"}", "root as the NFS identity"},
	{"{\"subdir\":\"/\"}", "catalogue directory .openmpf-volumes"},
	{"{\"uid\":\"2147483646\"}", "the catalogue's identity"},
	{"{\"subdir\":\"//./\"}", "subdir=/ on the home export"},
};

START_TEST(test_policy)
{
	struct volume_def d;
	char err[1024] = "";

	ck_assert_int_eq(parse("v1", refused[_i].opts, &d, err, sizeof(err)), -EPERM);
	ck_assert_msg(strstr(err, refused[_i].msg), "case %d: \"%s\" lacks \"%s\"", _i, err,
		      refused[_i].msg);
}
END_TEST

START_TEST(test_policy_allowed)
{
	char *env[] = {"NFS_SERVER=nfs1", "NFS_EXPORT=/srv/mpf", "ALLOW_ROOT_IDENTITY=true",
		       "ALLOWED_EXPORTS=nfs2:/", NULL};
	struct settings s;
	struct volume_def d;
	json_t *o;
	char err[512];

	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), 0);
	o = json_pack("{s:s, s:s, s:s, s:s}", "uid", "0", "server", "nfs2", "export", "/", "subdir",
		      "/");
	ck_assert_int_eq(parse_json("v1", o, &s, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(d.uid, 0);
	ck_assert_str_eq(d.subdir, "");
	json_decref(o);
}
END_TEST

START_TEST(test_no_server)
{
	char *env[] = {NULL};
	struct settings bare;
	struct volume_def d;
	json_t *o;
	char err[512];

	ck_assert_int_eq(settings_parse(env, &bare, err, sizeof(err)), 0);
	ck_assert_int_eq(parse_json("v1", NULL, &bare, &d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no NFS server"));
	o = json_pack("{s:s}", "server", "s1");
	ck_assert_int_eq(parse_json("v1", o, &bare, &d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no NFS export"));
	json_object_set_new(o, "export", json_string("/e"));
	ck_assert_int_eq(parse_json("v1", o, &bare, &d, err, sizeof(err)), 0);
	/* No home export, no shared catalogue: any server, but still no root identity. */
	json_object_set_new(o, "uid", json_string("0"));
	ck_assert_int_eq(parse_json("v1", o, &bare, &d, err, sizeof(err)), -EPERM);
	json_decref(o);
}
END_TEST

START_TEST(test_diff)
{
	struct volume_def a, b;
	char err[512], buf[1024];

	ck_assert_int_eq(parse("v1", "{}", &a, err, sizeof(err)), 0);
	ck_assert_int_eq(parse("v1", "{}", &b, err, sizeof(err)), 0);
	b.created_at = 12345;
	ck_assert_int_eq(options_diff(&a, &b, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(parse("v1", "{\"uid\":\"376\",\"mode\":\"0755\",\"on_remove\":\"delete\"}",
			       &b, err, sizeof(err)),
			 0);
	ck_assert_int_eq(options_diff(&a, &b, buf, sizeof(buf)), 3);
	ck_assert_str_eq(buf,
			 "uid \"none\" (existing) vs \"376\" (requested), mode \"1777\" "
			 "(existing) vs \"0755\" (requested), on_remove \"keep\" (existing) vs "
			 "\"delete\" (requested)");
	ck_assert_int_eq(options_diff(&a, &b, NULL, 0), 3);
	ck_assert_int_eq(options_check_def(&b, cfg.catalogue_dir, err, sizeof(err)), 0);
	snprintf(b.subdir, sizeof(b.subdir), "a/../b");
	ck_assert_int_eq(options_check_def(&b, cfg.catalogue_dir, err, sizeof(err)), -EINVAL);
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, test_names, 0, (int)(sizeof(names) / sizeof(names[0])));
	tcase_add_test(tc, test_name_length);
	tcase_add_loop_test(tc, test_subdirs, 0, (int)(sizeof(subdirs) / sizeof(subdirs[0])));
	tcase_add_test(tc, test_defaults_from_settings);
	tcase_add_test(tc, test_all_options);
	tcase_add_loop_test(tc, test_bad_options, 0, (int)(sizeof(bad_opts) / sizeof(bad_opts[0])));
	tcase_add_loop_test(tc, test_policy, 0, (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, test_policy_allowed);
	tcase_add_test(tc, test_no_server);
	tcase_add_test(tc, test_diff);
	return tl_run_tcase("volume options", tc);
}
