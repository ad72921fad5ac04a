// SPDX-License-Identifier: MIT
/* Unit tests for volume-plugin/settings.c: environment parsing, defaults and refusals. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "settings.h"
#include "testlib.h"

START_TEST(test_defaults)
{
	char *env[] = {"PATH=/bin", NULL};
	struct settings s;
	char err[512], buf[2048];

	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(
		settings_format(&s, buf, sizeof(buf)),
		"NFS_SERVER= NFS_EXPORT= NFS_VERSION=3 NFS_PORT=0 NFS_MOUNT_PORT=0 "
		"NFS_TIMEOUT=5 REFRESH_INTERVAL=10 LOG_LEVEL=info STATE_DIR=/state "
		"MOUNT_ROOT=/mnt/volumes CATALOGUE_DIR=.openmpf-volumes DEFAULT_UID= "
		"DEFAULT_GID= DEFAULT_MODE=auto ALLOWED_EXPORTS= ALLOW_ROOT_IDENTITY=false "
		"CATALOGUE_UID=2147483646 CATALOGUE_GID=2147483646");
	ck_assert_int_eq(s.default_uid, -1);
	ck_assert_int_eq(s.default_gid, -1);
	/* Empty values are the defaults too (docker plugin set NFS_TIMEOUT=). */
	char *empty[] = {
		"NFS_SERVER=",	  "NFS_EXPORT=", "NFS_VERSION=", "NFS_TIMEOUT=", "DEFAULT_MODE=",
		"CATALOGUE_DIR=", NULL};
	ck_assert_int_eq(settings_parse(empty, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.timeout_s, 5);
	ck_assert_uint_eq(s.default_mode, SETTINGS_MODE_AUTO);
}
END_TEST

START_TEST(test_full)
{
	char *env[] = {"NFS_SERVER=nfs-1.example", "NFS_EXPORT=//srv//mpf/", "NFS_VERSION=3",
		       "NFS_PORT=12049",	   "NFS_MOUNT_PORT=12050",   "NFS_TIMEOUT=3",
		       "REFRESH_INTERVAL=2",	   "LOG_LEVEL=DEBUG",	     "STATE_DIR=/var/lib/x",
		       "MOUNT_ROOT=/mnt/v",	   "CATALOGUE_DIR=.cat",     "DEFAULT_UID=376",
		       "DEFAULT_GID=377",	   "DEFAULT_MODE=1770",	     NULL};
	struct settings s;
	struct nfsb_target t;
	char err[512], buf[2048];

	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(settings_format(&s, buf, sizeof(buf)),
			 "NFS_SERVER=nfs-1.example NFS_EXPORT=/srv/mpf NFS_VERSION=3 "
			 "NFS_PORT=12049 NFS_MOUNT_PORT=12050 NFS_TIMEOUT=3 REFRESH_INTERVAL=2 "
			 "LOG_LEVEL=debug STATE_DIR=/var/lib/x MOUNT_ROOT=/mnt/v "
			 "CATALOGUE_DIR=.cat DEFAULT_UID=376 DEFAULT_GID=377 DEFAULT_MODE=1770 "
			 "ALLOWED_EXPORTS= ALLOW_ROOT_IDENTITY=false CATALOGUE_UID=2147483646 "
			 "CATALOGUE_GID=2147483646");
	settings_target(&s, "other", "/e", &t);
	ck_assert_str_eq(t.server, "other");
	ck_assert_str_eq(t.export, "/e");
	ck_assert_uint_eq(t.nfs_port, 12049);
	ck_assert_uint_eq(t.mount_port, 12050);
	ck_assert_uint_eq(t.timeout_s, 3);
	ck_assert_int_eq(t.version, 3);
}
END_TEST

/* Each bad environment and a piece of the message it must produce. */
static const struct {
	const char *env[3];
	const char *msg;
} bad[] = {
	{{"NFS_VERSION=4", "NFS_SERVER=a", "NFS_EXPORT=/e"}, "NFS_VERSION=4: NFS version 4"},
	{{"NFS_VERSION=2"}, "NFS_VERSION=2"},
	{{"NFS_VERSION=three"}, "NFS_VERSION=three: expected a whole number"},
	{{"NFS_TIMEOUT=0"}, "NFS_TIMEOUT=0: expected a whole number from 1 to 20"},
	{{"NFS_TIMEOUT=21"}, "from 1 to 20"},
	{{"NFS_TIMEOUT=1.5"}, "NFS_TIMEOUT=1.5"},
	{{"NFS_PORT=70000"}, "NFS_PORT=70000"},
	{{"NFS_MOUNT_PORT=-1"}, "NFS_MOUNT_PORT=-1"},
	{{"NFS_SERVER=a/b", "NFS_EXPORT=/e"}, "NFS_SERVER=a/b: expected a host name"},
	{{"NFS_SERVER=a?x=1", "NFS_EXPORT=/e"}, "NFS_SERVER=a?x=1"},
	{{"NFS_SERVER=a", "NFS_EXPORT=srv"}, "NFS_EXPORT=srv: must be an absolute path"},
	{{"NFS_SERVER=a", "NFS_EXPORT=/srv/../etc"}, "'.' and '..'"},
	{{"NFS_SERVER=a", "NFS_EXPORT=/srv?x"}, "'?'"},
	{{"NFS_SERVER=a", "NFS_EXPORT=/srv/\xff"}, "must be UTF-8 text"},
	{{"NFS_SERVER=a", "NFS_EXPORT=/srv/caf\xc3"}, "must be UTF-8 text"},
	{{"STATE_DIR=/var/\xfe"}, "UTF-8 text"},
	{{"NFS_SERVER=a"}, "NFS_EXPORT is not"},
	{{"NFS_EXPORT=/e"}, "NFS_SERVER is not"},
	{{"LOG_LEVEL=loud"}, "LOG_LEVEL=loud: expected error, warn, info or debug"},
	{{"STATE_DIR=state"}, "STATE_DIR=state: expected an absolute path"},
	{{"MOUNT_ROOT=rel"}, "MOUNT_ROOT=rel"},
	{{"CATALOGUE_DIR=a/b"}, "CATALOGUE_DIR=a/b: expected one directory name"},
	{{"CATALOGUE_DIR=.."}, "CATALOGUE_DIR=.."},
	{{"DEFAULT_UID=-5"}, "DEFAULT_UID=-5"},
	{{"DEFAULT_GID=abc"}, "DEFAULT_GID=abc"},
	{{"DEFAULT_MODE=0999"}, "DEFAULT_MODE=0999: expected an octal mode"},
	{{"DEFAULT_MODE=17777"}, "DEFAULT_MODE=17777"},
	{{"REFRESH_INTERVAL=0"}, "REFRESH_INTERVAL=0"},
	{{"DEFAULT_UID=0"}, "needs ALLOW_ROOT_IDENTITY=true"},
	{{"DEFAULT_GID=0"}, "needs ALLOW_ROOT_IDENTITY=true"},
	{{"ALLOW_ROOT_IDENTITY=maybe"}, "ALLOW_ROOT_IDENTITY=maybe"},
	{{"ALLOWED_EXPORTS=nfs2"}, "nfs2 has no ':'"},
	{{"ALLOWED_EXPORTS=nfs2:/a,,b:/c"}, "empty or too long entry"},
	{{"ALLOWED_EXPORTS=nfs2:/a/../b"}, "'.' and '..'"},
	{{"ALLOWED_EXPORTS=a:/1,a:/2,a:/3,a:/4,a:/5,a:/6,a:/7,a:/8,a:/9"}, "more than 8"},
	{{"CATALOGUE_UID=0"}, "CATALOGUE_UID=0"},
	{{"CATALOGUE_UID=376", "DEFAULT_UID=376"}, "must differ from every volume's"},
};

START_TEST(test_bad)
{
	char *env[4] = {NULL};
	struct settings s;
	char err[512] = "";

	for (int i = 0; i < 3; i++)
		env[i] = (char *)bad[_i].env[i];
	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, bad[_i].msg), "case %d: \"%s\" lacks \"%s\"", _i, err,
		      bad[_i].msg);
}
END_TEST

START_TEST(test_guards)
{
	char *env[] = {"NFS_SERVER=nfs1",
		       "NFS_EXPORT=/srv/mpf",
		       "ALLOWED_EXPORTS=nfs2:/data//x/,nfs3:/",
		       "DEFAULT_UID=0",
		       "ALLOW_ROOT_IDENTITY=yes",
		       "CATALOGUE_UID=4242",
		       NULL};
	struct settings s;
	char err[512];

	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.nallowed, 2);
	ck_assert(s.allow_root);
	ck_assert_int_eq(s.catalogue_uid, 4242);
	ck_assert(settings_export_allowed(&s, "nfs1", "/srv/mpf"));
	ck_assert(settings_export_allowed(&s, "nfs2", "/data/x"));
	ck_assert(settings_export_allowed(&s, "nfs3", "/"));
	ck_assert(!settings_export_allowed(&s, "nfs1", "/srv"));
	ck_assert(!settings_export_allowed(&s, "nfs2", "/data"));
	ck_assert(!settings_export_allowed(&s, "evil", "/srv/mpf"));
}
END_TEST

START_TEST(test_mode_and_export)
{
	unsigned int m;
	char out[64], err[256];

	ck_assert_int_eq(settings_parse_mode("m", "755", &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(m, 0755);
	ck_assert_int_eq(settings_parse_mode("m", "01777", &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(m, 01777);
	ck_assert_int_eq(settings_parse_mode("m", "", &m, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(settings_parse_mode("m", "0o755", &m, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(settings_normalize_export("e", "/", out, sizeof(out), err, sizeof(err)),
			 0);
	ck_assert_str_eq(out, "/");
	ck_assert_int_eq(
		settings_normalize_export("e", "/a/./b", out, sizeof(out), err, sizeof(err)),
		-EINVAL);
	ck_assert_int_eq(settings_normalize_export("e", "/abcdef", out, 4, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(settings_check_server("s", "10.1.2.3", err, sizeof(err)), 0);
	ck_assert_int_eq(settings_check_server("s", "", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(settings_check_server("s", "fd00::1", err, sizeof(err)), -EINVAL);
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_mode_and_export);
	tcase_add_test(tc, test_guards);
	return tl_run_tcase("volume settings", tc);
}
