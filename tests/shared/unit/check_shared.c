// SPDX-License-Identifier: MIT
/*
 * Unit tests for shared/: CIDR math, settings parsing, JSON helpers, atomic files, path
 * normalisation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "atomic_file.h"
#include "cidr.h"
#include "config.h"
#include "escape.h"
#include "jsonutil.h"
#include "log.h"
#include "path.h"
#include "testlib.h"

static struct cidr P(const char *s) {
	struct cidr c;
	char err[256];

	ck_assert_msg(cidr_parse(s, CIDR_PARSE_ALLOW_BARE, &c, err, sizeof(err)) == 0, "%s", err);
	return c;
}

static const struct {
	const char *in, *canon;
	int flags;
	int ret;
} parse_cases[] = {
	{"10.0.0.0/8", "10.0.0.0/8", 0, 0},
	{"10.1.2.3/24", "10.1.2.3/24", 0, 0},
	{"10.1.2.3/24", NULL, CIDR_PARSE_STRICT, -EINVAL},
	{"10.1.2.0/24", "10.1.2.0/24", CIDR_PARSE_STRICT, 0},
	{"10.1.2.3", NULL, 0, -EINVAL},
	{"10.1.2.3", "10.1.2.3/32", CIDR_PARSE_ALLOW_BARE, 0},
	{"10.1.2.0/33", NULL, 0, -EINVAL},
	{"10.1.2.0/", NULL, 0, -EINVAL},
	{"10.1.2.0/2x", NULL, 0, -EINVAL},
	{"10.1.2.0/-1", NULL, 0, -EINVAL},
	{"300.1.2.0/24", NULL, 0, -EINVAL},
	{"", NULL, 0, -EINVAL},
	{"fd00::/8", "fd00::/8", CIDR_PARSE_STRICT, 0},
	{"FD00:0:0::1/64", "fd00::1/64", 0, 0},
	{"fd00::/129", NULL, 0, -EINVAL},
	{"::/0", "::/0", CIDR_PARSE_STRICT, 0},
	{"0.0.0.0/0", "0.0.0.0/0", CIDR_PARSE_STRICT, 0},
};

START_TEST(test_cidr_parse)
{
	struct cidr c;
	char err[256] = "", buf[CIDR_STRLEN];
	int ret = cidr_parse(parse_cases[_i].in, parse_cases[_i].flags, &c, err, sizeof(err));

	ck_assert_int_eq(ret, parse_cases[_i].ret);
	if (ret == 0)
		ck_assert_str_eq(cidr_format(&c, buf, sizeof(buf)), parse_cases[_i].canon);
	else
		ck_assert_msg(strstr(err, parse_cases[_i].in) || !*parse_cases[_i].in,
			      "message names the input: %s", err);
}
END_TEST

static const struct {
	const char *a, *b;
	bool overlaps, a_contains_b;
} overlap_cases[] = {
	{"10.0.0.0/8", "10.1.0.0/16", true, true},
	{"10.1.0.0/16", "10.0.0.0/8", true, false},
	{"10.0.0.0/24", "10.0.1.0/24", false, false},
	{"10.0.0.0/23", "10.0.1.0/24", true, true},
	{"10.0.0.5/24", "10.0.0.0/24", true, true},
	{"0.0.0.0/0", "192.168.1.1/32", true, true},
	{"fd00::/8", "fd12::/64", true, true},
	{"fd00::/8", "10.0.0.0/8", false, false},
	{"fe80::/64", "fe80::1/128", true, true},
	{"2001:db8::/32", "2001:db9::/32", false, false},
};

START_TEST(test_cidr_overlaps)
{
	struct cidr a = P(overlap_cases[_i].a), b = P(overlap_cases[_i].b);

	ck_assert(cidr_overlaps(&a, &b) == overlap_cases[_i].overlaps);
	ck_assert(cidr_overlaps(&b, &a) == overlap_cases[_i].overlaps);
	ck_assert(cidr_contains(&a, &b) == overlap_cases[_i].a_contains_b);
}
END_TEST

START_TEST(test_cidr_next_and_network)
{
	struct cidr c = P("10.0.0.77/24"), n, last;
	char buf[CIDR_STRLEN];

	n = cidr_network(&c);
	ck_assert_str_eq(cidr_format(&n, buf, sizeof(buf)), "10.0.0.0/24");
	last = cidr_last(&c);
	ck_assert_str_eq(cidr_format_addr(&last, buf, sizeof(buf)), "10.0.0.255");
	ck_assert(cidr_next(&c, &n));
	ck_assert_str_eq(cidr_format(&n, buf, sizeof(buf)), "10.0.1.0/24");
	c = P("255.255.255.0/24");
	ck_assert(!cidr_next(&c, &n));
	c = P("255.255.254.0/24");
	ck_assert(cidr_next(&c, &n));
	ck_assert_str_eq(cidr_format(&n, buf, sizeof(buf)), "255.255.255.0/24");
	c = P("fd00:0:0:ffff::/64");
	ck_assert(cidr_next(&c, &n));
	ck_assert_str_eq(cidr_format(&n, buf, sizeof(buf)), "fd00:0:1::/64");
	c = P("ffff:ffff:ffff:ffff::/64");
	ck_assert(!cidr_next(&c, &n));
	ck_assert(cidr_size(&c) == (cidr_u128)1 << 64);
	c = P("10.0.0.0/30");
	ck_assert(cidr_size(&c) == 4);
	c = P("0.0.0.0/0");
	ck_assert(!cidr_next(&c, &n));
	ck_assert(cidr_size(&c) == (cidr_u128)1 << 32);
}
END_TEST

START_TEST(test_cidr_u128_roundtrip)
{
	struct cidr c = P("10.1.2.3/24"), r;

	ck_assert(cidr_to_u128(&c) == 0x0a010203u);
	r = cidr_from_u128(AF_INET, cidr_to_u128(&c) + 1, 24);
	ck_assert(cidr_equal(
		&r, &(struct cidr){.family = AF_INET, .addr = {10, 1, 2, 4}, .prefix = 24}));
	c = P("fd00::ff/64");
	r = cidr_from_u128(AF_INET6, cidr_to_u128(&c) + 1, 64);
	ck_assert(r.addr[15] == 0 && r.addr[14] == 1 && r.addr[0] == 0xfd);
	ck_assert_int_lt(cidr_cmp(&(struct cidr){.family = AF_INET, .addr = {10}, .prefix = 8}, &r),
			 0);
}
END_TEST

START_TEST(test_config)
{
	char *env[] = {"A=42", "B=", "C=yes", "D=abc", "LOG=Debug", "X=-1", NULL};
	static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
	char err[256];
	unsigned long v;
	bool b;
	int choice;

	ck_assert_ptr_null(config_env_get(env, "Z"));
	ck_assert_str_eq(config_env_get(env, "A"), "42");
	ck_assert_int_eq(config_get_uint(env, "A", 1, 0, 100, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(config_get_uint(env, "B", 7, 0, 100, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(config_get_uint(env, "A", 1, 0, 10, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "A=42: expected a whole number from 0 to 10");
	ck_assert_int_eq(config_get_uint(env, "X", 1, 0, 10, &v, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(config_get_uint(env, "D", 1, 0, 10, &v, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(config_get_bool(env, "C", false, &b, err, sizeof(err)), 0);
	ck_assert(b);
	ck_assert_int_eq(config_get_bool(env, "D", false, &b, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "D=abc"));
	ck_assert_int_eq(config_get_choice(env, "LOG", levels, 2, &choice, err, sizeof(err)), 0);
	ck_assert_int_eq(choice, 3);
	ck_assert_int_eq(config_get_choice(env, "D", levels, 2, &choice, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "D=abc: expected one of error, warn, info, debug");
}
END_TEST

START_TEST(test_log_level_parse)
{
	enum log_level l;

	ck_assert_int_eq(log_level_parse("DEBUG", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_level_parse("warning", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_WARN);
	ck_assert_int_eq(log_level_parse("loud", &l), -EINVAL);
	ck_assert_int_eq(log_level_parse(NULL, &l), -EINVAL);
}
END_TEST

START_TEST(test_jsonutil_request)
{
	char err[256];
	json_t *j;
	const char *s;
	json_t *o;
	bool b;

	j = jsonutil_parse_request("", 0, err, sizeof(err));
	ck_assert(json_is_object(j) && json_object_size(j) == 0);
	json_decref(j);
	j = jsonutil_parse_request("{\"a\":1,\"a\":2}\n", 14, err, sizeof(err));
	ck_assert_ptr_null(j);
	ck_assert_ptr_nonnull(strstr(err, "malformed JSON"));
	j = jsonutil_parse_request("[1]", 3, err, sizeof(err));
	ck_assert_ptr_null(j);
	ck_assert_str_eq(err, "request body must be a JSON object, got array");
	j = jsonutil_parse_request("{\"Name\":\"v\",\"Opts\":null,\"N\":3,\"B\":true}\n", 39, err,
				   sizeof(err));
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(jsonutil_get_string(j, "Name", true, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s, "v");
	ck_assert_int_eq(jsonutil_get_object(j, "Opts", false, &o, err, sizeof(err)), 0);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(jsonutil_get_object(j, "Opts", true, &o, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(jsonutil_get_string(j, "N", false, &s, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "N: expected a string, got number");
	ck_assert_int_eq(jsonutil_get_bool(j, "B", false, &b, err, sizeof(err)), 0);
	ck_assert(b);
	ck_assert_int_eq(jsonutil_get_bool(j, "Name", false, &b, err, sizeof(err)), -EINVAL);
	json_decref(j);
	j = jsonutil_error("bad %s", "thing");
	ck_assert_str_eq(json_string_value(json_object_get(j, "Err")), "bad thing");
	json_decref(j);
}
END_TEST

static const struct {
	const char *in;
	size_t len;
	const char *out;
} escape_cases[] = {
	{"plain text", 10, "plain text"},
	{"x\nipam-plugin: error: forged", 28, "x\\nipam-plugin: error: forged"},
	{"a\r\tb", 4, "a\\r\\tb"},
	{"nul\0byte", 8, "nul\\x00byte"},
	{"esc\x1b[31m", 8, "esc\\x1b[31m"},
	{"del\x7f", 4, "del\\x7f"},
	{"/\xff", 2, "/\\xff"},
	{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3", 14,
	 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3"},
	{"c1\xc2\x85", 4, "c1\\u0085"},
	{"overlong\xc0\xaf", 10, "overlong\\xc0\\xaf"},
	{"surrogate\xed\xa0\x80", 12, "surrogate\\xed\\xa0\\x80"},
	{"toobig\xf4\x90\x80\x80", 10, "toobig\\xf4\\x90\\x80\\x80"},
	{"cut\xe2\x82", 5, "cut\\xe2\\x82"},
	{"back\\slash\\x41", 14, "back\\slash\\x41"},
};

START_TEST(test_escape_text)
{
	char out[128], again[128];
	size_t n;

	n = escape_text(out, sizeof(out), escape_cases[_i].in, escape_cases[_i].len);
	ck_assert_str_eq(out, escape_cases[_i].out);
	ck_assert_uint_eq(n, strlen(out));
	ck_assert(escape_is_plain(out, n));
	/* Idempotent: escaping twice changes nothing (log.c escapes what jsonutil did). */
	escape_text(again, sizeof(again), out, n);
	ck_assert_str_eq(again, out);
	ck_assert(escape_is_plain(escape_cases[_i].in, escape_cases[_i].len) ==
		  (strcmp(escape_cases[_i].in, escape_cases[_i].out) == 0 &&
		   strlen(escape_cases[_i].in) == escape_cases[_i].len));
}
END_TEST

START_TEST(test_escape_truncation)
{
	char out[8];
	char big[5000];
	json_t *j;
	const char *e;

	/* Never cut an escape or a character. */
	ck_assert_uint_eq(escape_text(out, sizeof(out), "abcd\n", 5), 6);
	ck_assert_str_eq(out, "abcd\\n");
	ck_assert_uint_eq(escape_text(out, sizeof(out), "abcdef\n", 7), 6);
	ck_assert_str_eq(out, "abcdef");
	ck_assert_uint_eq(escape_text(out, sizeof(out), "abcde\xe2\x82\xac", 8), 5);
	ck_assert_uint_eq(escape_text(out, 1, "abc", 3), 0);
	ck_assert_uint_eq(escape_utf8_whole("ab\xe2\x82", 4), 2);
	ck_assert_uint_eq(escape_utf8_whole("ab\xe2\x82\xac", 5), 5);
	ck_assert_uint_eq(escape_utf8_whole("ab\xf0", 3), 2);
	ck_assert_uint_eq(escape_utf8_whole("\x80\x80", 2), 2);
	/* A 5,000-byte error of 3-byte characters: cut whole, still a valid reply. */
	for (size_t i = 0; i + 3 < sizeof(big); i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[sizeof(big) - 1 - (sizeof(big) - 1) % 3] = '\0';
	j = jsonutil_error("refused: %s", big);
	e = json_string_value(json_object_get(j, "Err"));
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_gt(strlen(e), 1900);
	ck_assert_ptr_null(strstr(e, "\\x"));
	ck_assert(escape_is_plain(e, strlen(e)));
	json_decref(j);
	j = jsonutil_error("unknown %s", "\xff\n");
	ck_assert_str_eq(json_string_value(json_object_get(j, "Err")), "unknown \\xff\\n");
	json_decref(j);
}
END_TEST

START_TEST(test_atomic_files)
{
	char *dir = tl_tmpdir("check_shared");
	char path[600], sub[512], err[256];
	char *data = NULL;
	size_t len = 0;
	json_t *j = NULL, *back = NULL;
	struct stat st;

	ck_assert_ptr_nonnull(dir);
	snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
	ck_assert_int_eq(atomic_file_mkdirs(sub, 0700), 0);
	ck_assert_int_eq(atomic_file_mkdirs(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/state.json", sub);
	ck_assert_int_eq(atomic_file_read(path, 100, &data, &len), -ENOENT);
	ck_assert_int_eq(jsonutil_load(path, &j, err, sizeof(err)), -ENOENT);
	j = json_pack("{s:i,s:[s]}", "n", 5, "l", "x");
	ck_assert_int_eq(jsonutil_save(path, j), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(jsonutil_load(path, &back, err, sizeof(err)), 0);
	ck_assert(json_equal(j, back));
	json_decref(back);
	ck_assert_int_eq(atomic_file_read(path, 5, &data, &len), -EFBIG);
	ck_assert_int_eq(atomic_file_write(path, "not json", 8, 0600), 0);
	ck_assert_int_eq(atomic_file_read(path, 100, &data, &len), 0);
	ck_assert_uint_eq(len, 8);
	ck_assert_str_eq(data, "not json");
	free(data);
	ck_assert_int_eq(jsonutil_load(path, &back, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, path));
	json_decref(j);
	tl_rmtree(dir);
	free(dir);
}
END_TEST

static void touch_file(const char *dir, const char *name)
{
	char path[700];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{\"half\":", 8), 8);
	close(fd);
}

static bool exists_in(const char *dir, const char *name)
{
	char path[700];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

/* atomic_file_clean_dir: crash leftovers go, live writers' files and other names stay */
START_TEST(test_atomic_clean_dir)
{
	char *dir = tl_tmpdir("check_clean");
	char path[700], *data = NULL;
	size_t len = 0;
	int held;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ck_assert_int_eq(atomic_file_write(path, "{}", 2, 0600), 0);
	touch_file(dir, "state.json.tmp.Ab12Cd"); /* a crash between write and rename */
	touch_file(dir, "pool_10.0.0.0_8.json.tmp.x9Y8z7");
	touch_file(dir, "notes.tmp");	   /* not our naming: kept */
	touch_file(dir, "a.tmp.toolong7"); /* 7 chars: not mkostemp's */
	touch_file(dir, ".tmp.abcdef");	   /* no name before .tmp. */
	touch_file(dir, "b.tmp.ab-def");   /* '-' is not mkostemp's */
	snprintf(path, sizeof(path), "%s/d.tmp.abcdef", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);	 /* not a regular file */
	touch_file(dir, "live.json.tmp.QwErTy"); /* a writer still holds it (flock) */
	snprintf(path, sizeof(path), "%s/live.json.tmp.QwErTy", dir);
	held = open(path, O_RDONLY);
	ck_assert_int_ge(held, 0);
	ck_assert_int_eq(flock(held, LOCK_EX), 0);

	ck_assert_int_eq(atomic_file_clean_dir(dir), 2);
	ck_assert(!exists_in(dir, "state.json.tmp.Ab12Cd"));
	ck_assert(!exists_in(dir, "pool_10.0.0.0_8.json.tmp.x9Y8z7"));
	ck_assert(exists_in(dir, "state.json"));
	ck_assert(exists_in(dir, "notes.tmp"));
	ck_assert(exists_in(dir, "a.tmp.toolong7"));
	ck_assert(exists_in(dir, ".tmp.abcdef"));
	ck_assert(exists_in(dir, "b.tmp.ab-def"));
	ck_assert(exists_in(dir, "d.tmp.abcdef"));
	ck_assert(exists_in(dir, "live.json.tmp.QwErTy"));
	/* the writer dies: its lock goes, the next clean removes the file */
	close(held);
	ck_assert_int_eq(atomic_file_clean_dir(dir), 1);
	ck_assert(!exists_in(dir, "live.json.tmp.QwErTy"));
	ck_assert_int_eq(atomic_file_clean_dir(dir), 0);
	/* the state itself is intact and saves still work after a clean */
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ck_assert_int_eq(atomic_file_read(path, 100, &data, &len), 0);
	ck_assert_str_eq(data, "{}");
	free(data);
	ck_assert_int_eq(atomic_file_write(path, "{\"a\":1}", 7, 0600), 0);
	ck_assert_int_eq(atomic_file_clean_dir(dir), 0);
	/* a missing directory is nothing to clean */
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(atomic_file_clean_dir(path), 0);
	tl_rmtree(dir);
	free(dir);
}
END_TEST

/* The rules of each caller of path_normalize (see the callers for their messages). */
#define SUBDIR PATH_REFUSE_CNTRL
#define EXPORT                                                                                     \
	(PATH_ABSOLUTE | PATH_REFUSE_DOT | PATH_REFUSE_CNTRL | PATH_REFUSE_URL |                   \
	 PATH_LEADING_SLASH | PATH_ROOT_SLASH)
#define ROOT (PATH_REFUSE_DOT | PATH_LEADING_SLASH)

static const struct {
	const char *in;
	unsigned int flags;
	const char *reserved;
	size_t outlen; /* 0: no output buffer (check only) */
	enum path_refusal want;
	const char *out;
} path_cases[] = {
	/* a volume's subdir: relative, "." dropped, the catalogue reserved */
	{"mpf/share", SUBDIR, ".cat", 64, PATH_OK, "mpf/share"},
	{"//mpf/./share//", SUBDIR, ".cat", 64, PATH_OK, "mpf/share"},
	{"/", SUBDIR, ".cat", 64, PATH_OK, ""},
	{".", SUBDIR, ".cat", 64, PATH_OK, ""},
	{"", SUBDIR, ".cat", 64, PATH_OK, ""},
	{"a/../b", SUBDIR, ".cat", 64, PATH_DOTDOT, NULL},
	{"a/b\tc", SUBDIR, ".cat", 64, PATH_CNTRL, NULL},
	{"a/b?c", SUBDIR, ".cat", 64, PATH_OK, "a/b?c"},
	{".cat", SUBDIR, ".cat", 64, PATH_RESERVED, NULL},
	{"./.cat/x", SUBDIR, ".cat", 64, PATH_RESERVED, NULL},
	{"a/.cat", SUBDIR, ".cat", 64, PATH_OK, "a/.cat"},
	{".catalogue", SUBDIR, ".cat", 64, PATH_OK, ".catalogue"},
	/* the first refusal left to right wins, before length */
	{".cat/\x01", SUBDIR, ".cat", 64, PATH_RESERVED, NULL},
	{"abcdef/..", SUBDIR, NULL, 4, PATH_TOO_LONG, NULL},
	{"ab/cd", SUBDIR, NULL, 6, PATH_OK, "ab/cd"},
	{"ab/cd", SUBDIR, NULL, 5, PATH_TOO_LONG, NULL},
	/* an export: absolute, no ".", no URL characters, "/" for the root */
	{"/srv//nfs/", EXPORT, NULL, 64, PATH_OK, "/srv/nfs"},
	{"/", EXPORT, NULL, 64, PATH_OK, "/"},
	{"///", EXPORT, NULL, 2, PATH_OK, "/"},
	{"/", EXPORT, NULL, 1, PATH_TOO_LONG, NULL},
	{"srv", EXPORT, NULL, 64, PATH_RELATIVE, NULL},
	{"", EXPORT, NULL, 64, PATH_RELATIVE, NULL},
	{"/a/./b", EXPORT, NULL, 64, PATH_DOT, NULL},
	{"/a/../b", EXPORT, NULL, 64, PATH_DOTDOT, NULL},
	{"/a#b", EXPORT, NULL, 64, PATH_URL_CHAR, NULL},
	{"/a&b", EXPORT, NULL, 64, PATH_URL_CHAR, NULL},
	{"/a\nb", EXPORT, NULL, 64, PATH_CNTRL, NULL},
	{"/abcdef", EXPORT, NULL, 4, PATH_TOO_LONG, NULL},
	{"/ab", EXPORT, NULL, 4, PATH_OK, "/ab"},
	/* a volume's root below the export: "/a/b", "" for the export root */
	{"a//b/", ROOT, NULL, 64, PATH_OK, "/a/b"},
	{"", ROOT, NULL, 64, PATH_OK, ""},
	{"a/./b", ROOT, NULL, 64, PATH_DOT, NULL},
	{"a/..", ROOT, NULL, 64, PATH_DOTDOT, NULL},
	{"a\tb", ROOT, NULL, 64, PATH_OK, "/a\tb"},
	/* a path handed to the NFS backend: only ".." refused, nothing written */
	{"/a/./b\x01", 0, NULL, 0, PATH_OK, NULL},
	{"/a/../b", 0, NULL, 0, PATH_DOTDOT, NULL},
	{"..", 0, NULL, 0, PATH_DOTDOT, NULL},
	{"/a/..b/...", 0, NULL, 0, PATH_OK, NULL},
};

START_TEST(test_path_normalize)
{
	char out[64];
	size_t outlen = path_cases[_i].outlen;
	enum path_refusal got =
		path_normalize(path_cases[_i].in, path_cases[_i].flags, path_cases[_i].reserved,
			       outlen ? out : NULL, outlen);

	ck_assert_msg(got == path_cases[_i].want, "\"%s\": refusal %d, want %d", path_cases[_i].in,
		      got, path_cases[_i].want);
	if (path_cases[_i].out != NULL)
		ck_assert_str_eq(out, path_cases[_i].out);
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cidr_parse, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_loop_test(tc, test_cidr_overlaps, 0,
			    sizeof(overlap_cases) / sizeof(overlap_cases[0]));
	tcase_add_test(tc, test_cidr_next_and_network);
	tcase_add_test(tc, test_cidr_u128_roundtrip);
	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_log_level_parse);
	tcase_add_test(tc, test_jsonutil_request);
	tcase_add_test(tc, test_atomic_files);
	tcase_add_loop_test(tc, test_escape_text, 0,
			    sizeof(escape_cases) / sizeof(escape_cases[0]));
	tcase_add_test(tc, test_escape_truncation);
	tcase_add_test(tc, test_atomic_clean_dir);
	tcase_add_loop_test(tc, test_path_normalize, 0, sizeof(path_cases) / sizeof(path_cases[0]));
	return tl_run_tcase("shared", tc);
}
