// SPDX-License-Identifier: MIT
/* Unit tests for ipam-plugin/settings.c: environment parsing and the size option. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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
		"POOLS=10.128.0.0/9:24 POOLS6=auto:(not chosen yet) ROUTES=/8,/16 EXCLUDE= "
		"LOG_LEVEL=info "
		"STATE_DIR=/state SHARED_NETWORKS= (off)");
	ck_assert_str_eq(s.shared_networks, "");
	ck_assert_str_eq(s.node_name, "");
	ck_assert_uint_eq(s.publish_interval, 30);
	ck_assert_uint_eq(s.peer_stale_after, 300);
	ck_assert_uint_eq(s.nfs_timeout, 5);
	/* Empty values mean the default too (docker plugin set POOLS=). */
	char *empty[] = {"POOLS=",
			 "POOLS6=",
			 "EXCLUDE=",
			 "LOG_LEVEL=",
			 "STATE_DIR=",
			 "SHARED_NETWORKS=",
			 "NODE_NAME=",
			 "PUBLISH_INTERVAL=",
			 "PEER_STALE_AFTER=",
			 "NFS_TIMEOUT=",
			 NULL};
	ck_assert_int_eq(settings_parse(empty, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.npools, 1);
	ck_assert_uint_eq(s.pools[0].size, 24);
	ck_assert_uint_eq(s.publish_interval, 30);
	ck_assert_str_eq(s.shared_networks, "");
}
END_TEST

START_TEST(test_peers)
{
	char *nfs[] = {"SHARED_NETWORKS=nfs://10.9.0.5/export?nfsport=2049&mountport=20048",
		       "NODE_NAME=n2",
		       "PUBLISH_INTERVAL=10",
		       "PEER_STALE_AFTER=11",
		       "NFS_TIMEOUT=25",
		       NULL};
	char *dir[] = {"SHARED_NETWORKS=/srv/shared/ipam", "PUBLISH_INTERVAL=3600",
		       "PEER_STALE_AFTER=7200", NULL};
	struct settings s;
	char err[512], buf[4096];

	ck_assert_int_eq(settings_parse(nfs, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.shared_networks, "nfs://10.9.0.5/export?nfsport=2049&mountport=20048");
	ck_assert_str_eq(s.node_name, "n2");
	ck_assert_uint_eq(s.publish_interval, 10);
	ck_assert_uint_eq(s.peer_stale_after, 11);
	ck_assert_uint_eq(s.nfs_timeout, 25);
	ck_assert_ptr_nonnull(strstr(settings_format(&s, buf, sizeof(buf)),
				     " SHARED_NETWORKS=nfs://10.9.0.5/export?nfsport=2049&"
				     "mountport=20048 NODE_NAME=n2 PUBLISH_INTERVAL=10 "
				     "PEER_STALE_AFTER=11 NFS_TIMEOUT=25"));
	/* A name that was set is kept; the host name is only the default. */
	ck_assert_int_eq(settings_default_node(&s, "myhost", err, sizeof(err)), 0);
	ck_assert_str_eq(s.node_name, "n2");

	ck_assert_int_eq(settings_parse(dir, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(s.shared_networks, "/srv/shared/ipam");
	ck_assert_str_eq(s.node_name, "");
	ck_assert_int_eq(settings_default_node(&s, "worker-3.example.org", err, sizeof(err)), 0);
	ck_assert_str_eq(s.node_name, "worker-3.example.org");
	s.node_name[0] = '\0';
	ck_assert_int_eq(settings_default_node(&s, "", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "NODE_NAME is not set and the host name \"\" is not a valid"),
		      "%s", err);
	ck_assert_int_eq(settings_default_node(&s, NULL, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_full)
{
	char *env[] = {"POOLS=10.0.0.0/8:24, 172.16.0.0/12:20,192.168.0.0/16",
		       "POOLS6=fd12::/16:56",
		       "EXCLUDE=10.10.0.0/16,10.20.0.0/24,198.18.0.7,fd12:1::/32",
		       "LOG_LEVEL=DEBUG",
		       "STATE_DIR=/var/lib/x",
		       NULL};
	struct settings s;
	char err[512], buf[2048];

	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), 0);
	ck_assert_str_eq(
		settings_format(&s, buf, sizeof(buf)),
		"POOLS=10.0.0.0/8:24,172.16.0.0/12:20,192.168.0.0/16:24 "
		"POOLS6=fd12::/16:56 ROUTES=/8,/16 EXCLUDE=10.10.0.0/16,10.20.0.0/24,198.18.0.7/32,"
		"fd12:1::/32 LOG_LEVEL=debug STATE_DIR=/var/lib/x SHARED_NETWORKS= (off)");
	ck_assert_int_eq(s.log_level, LOG_LEVEL_DEBUG);
	ck_assert_uint_eq(s.nexclude, 4);
}
END_TEST

START_TEST(test_none_and_long_prefix)
{
	char *env[] = {"POOLS6=none", "POOLS=198.18.0.0/27", NULL};
	struct settings s;
	char err[512];

	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.npools6, 0);
	/* The default size never goes below the range's own prefix. */
	ck_assert_uint_eq(s.pools[0].size, 27);
}
END_TEST

static const struct {
	const char *env, *msg;
} bad[] = {
	{"POOLS=10.0.0.0/8:33",
	 "POOLS size of 10.0.0.0/8=33: expected a whole number from 8 to 30"},
	{"POOLS=10.0.0.0/16:8", "expected a whole number from 16 to 30"},
	{"POOLS=10.0.0.1/8", "POOLS: 10.0.0.1/8: host bits set: the network is 10.0.0.0/8"},
	{"POOLS=fd00::/8", "POOLS: fd00::/8 is not an IPv4 range (use POOLS6 for IPv6)"},
	{"POOLS6=10.0.0.0/8", "POOLS6: 10.0.0.0/8 is not an IPv6 range"},
	{"POOLS=bogus", "POOLS: bogus: not an IP address"},
	{"POOLS=10.0.0.0/8:x", "expected a whole number"},
	{"POOLS=10.0.0.0/31", "range prefix length must be 1-30"},
	{"POOLS=,", "POOLS=,: expected CIDR[:SIZE],... such as 10.128.0.0/9:24, or none"},
	{"EXCLUDE=10.0.0.0/8,nope", "EXCLUDE: nope: not an IP address"},
	{"EXCLUDE=10.1.0.0/8", "EXCLUDE: 10.1.0.0/8: host bits set"},
	{"LOG_LEVEL=loud", "LOG_LEVEL=loud: expected one of error, warn, info, debug"},
	{"STATE_DIR=relative", "STATE_DIR=relative: expected an absolute directory path"},
	{"SHARED_NETWORKS=shared/dir",
	 "SHARED_NETWORKS=shared/dir: expected nfs://SERVER/EXPORT[?nfsport=N&mountport=N], an "
	 "absolute directory, or empty (off)"},
	{"SHARED_NETWORKS=nfs://srv", "SHARED_NETWORKS=nfs://srv: expected nfs://SERVER/EXPORT"},
	{"SHARED_NETWORKS=nfs://srv/e?nfsport=70000", "SHARED_NETWORKS=nfs://srv/e?nfsport=70000"},
	{"NODE_NAME=a/b", "NODE_NAME=a/b: expected 1-63 characters of A-Z a-z 0-9 _ . -"},
	{"NODE_NAME=.n1", "NODE_NAME=.n1: expected"},
	{"PUBLISH_INTERVAL=0", "PUBLISH_INTERVAL=0: expected a whole number from 1 to 3600"},
	{"PUBLISH_INTERVAL=3601", "PUBLISH_INTERVAL=3601: expected a whole number from 1 to 3600"},
	{"PUBLISH_INTERVAL=300", "PEER_STALE_AFTER=300: must exceed PUBLISH_INTERVAL=300"},
	{"PEER_STALE_AFTER=30", "PEER_STALE_AFTER=30: must exceed PUBLISH_INTERVAL=30"},
	{"PEER_STALE_AFTER=x", "PEER_STALE_AFTER=x: expected a whole number from 2 to 604800"},
	{"NFS_TIMEOUT=0", "NFS_TIMEOUT=0: expected a whole number from 1 to 25"},
	{"NFS_TIMEOUT=26", "NFS_TIMEOUT=26: expected a whole number from 1 to 25"},
};

START_TEST(test_bad)
{
	char *env[] = {(char *)bad[_i].env, NULL};
	struct settings s;
	char err[512] = "";

	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, bad[_i].msg), "%s: got \"%s\"", bad[_i].env, err);
}
END_TEST

START_TEST(test_too_many)
{
	char big[8192] = "EXCLUDE=";
	char *env[] = {big, NULL};
	struct settings s;
	char err[512];

	for (int i = 0; i < 300; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "10.%d.%d.0/24,", i / 256,
			 i % 256);
	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "more than 256"));
}
END_TEST

START_TEST(test_size_option)
{
	struct settings s;
	char *env[] = {"POOLS=10.0.0.0/16:24,172.16.0.0/12:24", NULL};
	char err[512];
	unsigned int size;

	ck_assert_int_eq(settings_parse(env, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(
		settings_parse_size("26", AF_INET, s.pools, s.npools, &size, err, sizeof(err)), 0);
	ck_assert_uint_eq(size, 26);
	ck_assert_int_eq(
		settings_parse_size("/20", AF_INET, s.pools, s.npools, &size, err, sizeof(err)), 0);
	ck_assert_uint_eq(size, 20);
	ck_assert_int_eq(
		settings_parse_size("12", AF_INET, s.pools, s.npools, &size, err, sizeof(err)), 0);
	ck_assert_int_eq(
		settings_parse_size("11", AF_INET, s.pools, s.npools, &size, err, sizeof(err)),
		-EINVAL);
	ck_assert_msg(strstr(err, "size=11: expected a whole number from 12 to 30"), "%s", err);
	ck_assert_int_eq(
		settings_parse_size("31", AF_INET, s.pools, s.npools, &size, err, sizeof(err)),
		-EINVAL);
	ck_assert_int_eq(
		settings_parse_size("x", AF_INET, s.pools, s.npools, &size, err, sizeof(err)),
		-EINVAL);
	ck_assert_int_eq(
		settings_parse_size("64", AF_INET6, s.pools, s.npools, &size, err, sizeof(err)),
		-EINVAL);
	ck_assert(strstr(err, "no IPv6 candidate ranges"));
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_none_and_long_prefix);
	tcase_add_test(tc, test_peers);
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_size_option);
	return tl_run_tcase("settings", tc);
}
