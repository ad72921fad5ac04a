// SPDX-License-Identifier: MIT
/*
 * Unit tests for ipam-plugin/peers (document format, node names, staleness) and, in a
 * temporary directory, peer_sync's directory mode: two "nodes" publish, each sees the
 * other's networks tagged with its name, a departed node's stale document is ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <check.h>

#include "peer_sync.h"
#include "peers.h"
#include "testlib.h"

static struct hostnet H(enum hostnet_kind kind, const char *net, const char *addr, const char *dev)
{
	struct hostnet h = {.kind = kind, .table = 254};
	char err[128];

	ck_assert_int_eq(cidr_parse(net, 0, &h.net, err, sizeof(err)), 0);
	h.net = cidr_network(&h.net);
	if (addr)
		ck_assert_int_eq(cidr_parse(addr, CIDR_PARSE_ALLOW_BARE, &h.addr, err, sizeof(err)), 0);
	snprintf(h.dev, sizeof(h.dev), "%s", dev);
	return h;
}

static const struct {
	const char *name;
	bool ok;
} names[] = {
	{"n1", true}, {"node-2.example_x", true}, {"", false}, {".hidden", false},
	{"a/b", false}, {"a b", false}, {"../x", false},
	{"0123456789012345678901234567890123456789012345678901234567890123", false},
};

START_TEST(test_node_names)
{
	ck_assert(peers_node_name_valid(names[_i].name) == names[_i].ok);
}
END_TEST

START_TEST(test_roundtrip)
{
	struct hostnet_list l = {0}, back = {0};
	struct hostnet h = H(HOSTNET_ADDR, "10.0.0.0/24", "10.0.0.5/24", "eth1");
	struct hostnet peer = H(HOSTNET_ROUTE, "10.9.0.0/16", NULL, "x");
	char err[256], a[CIDR_STRLEN];
	size_t skipped = 99;
	json_t *doc;

	ck_assert_int_eq(hostnet_list_add(&l, &h), 0);
	h = H(HOSTNET_ROUTE, "10.0.1.0/24", "198.18.0.9", "vpn0");
	ck_assert_int_eq(hostnet_list_add(&l, &h), 0);
	snprintf(peer.node, sizeof(peer.node), "other");
	ck_assert_int_eq(hostnet_list_add(&l, &peer), 0); /* must not be re-published */
	doc = peers_encode("n2", 1000, &l);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "networks")), 2);
	ck_assert_int_eq(peers_decode(doc, "n2", &back, &skipped, err, sizeof(err)), 2);
	ck_assert_uint_eq(skipped, 0);
	ck_assert_int_eq(back.v[0].kind, HOSTNET_ADDR);
	ck_assert_str_eq(back.v[0].node, "n2");
	ck_assert_str_eq(back.v[0].dev, "eth1");
	ck_assert_str_eq(cidr_format(&back.v[0].addr, a, sizeof(a)), "10.0.0.5/24");
	ck_assert_int_eq(back.v[1].kind, HOSTNET_ROUTE);
	ck_assert_str_eq(cidr_format(&back.v[1].net, a, sizeof(a)), "10.0.1.0/24");
	ck_assert_str_eq(cidr_format_addr(&back.v[1].addr, a, sizeof(a)), "198.18.0.9");
	ck_assert_uint_eq(back.v[1].table, 254);
	/* A document filed under another node's name is refused. */
	ck_assert_int_eq(peers_decode(doc, "n3", &back, &skipped, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "n2"));
	json_decref(doc);
	hostnet_list_fini(&l);
	hostnet_list_fini(&back);
}
END_TEST

START_TEST(test_decode_bad)
{
	struct hostnet_list out = {0};
	char err[256];
	size_t skipped;
	json_t *doc;

	doc = json_pack("{s:i}", "format", 1);
	ck_assert_int_eq(peers_decode(doc, NULL, &out, &skipped, err, sizeof(err)), -EINVAL);
	json_decref(doc);
	doc = json_pack("{s:i,s:s,s:[]}", "format", 7, "node", "n1", "networks");
	ck_assert_int_eq(peers_decode(doc, NULL, &out, &skipped, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "format 7"));
	json_decref(doc);
	doc = json_pack("{s:i,s:s,s:[{s:s,s:s},{s:s,s:s},{s:s,s:s,s:s},{s:s,s:s}]}", "format", 1,
			"node", "n1", "networks", "kind", "route", "net", "10.1.0.0/16", "kind",
			"route", "net", "0.0.0.0/0", "kind", "interface", "net", "bogus", "addr",
			"1.2.3.4", "kind", "tunnel", "net", "10.2.0.0/16");
	ck_assert_int_eq(peers_decode(doc, "n1", &out, &skipped, err, sizeof(err)), 1);
	ck_assert_uint_eq(skipped, 3); /* default route, bad CIDR, unknown kind */
	json_decref(doc);
	hostnet_list_fini(&out);
}
END_TEST

START_TEST(test_stale)
{
	ck_assert(!peers_is_stale(1000, 1000, 300));
	ck_assert(!peers_is_stale(1000, 1300, 300));
	ck_assert(peers_is_stale(1000, 1301, 300));
	ck_assert(!peers_is_stale(2000, 1000, 300)); /* a newer peer is never stale */
}
END_TEST

/* Fake netlink: each "node" reports a fixed list. */
static int collect_fixed(void *arg, struct hostnet_list *out)
{
	const struct hostnet *h = arg;

	return hostnet_list_add(out, h);
}

START_TEST(test_sync_directory)
{
	char *dir = tl_tmpdir("check_peers");
	struct hostnet h1 = H(HOSTNET_ADDR, "10.0.0.0/24", "10.0.0.5/24", "eth1");
	struct hostnet h2 = H(HOSTNET_ROUTE, "10.0.1.0/24", NULL, "vpn0");
	struct peer_sync_config c1 = {.location = dir, .node = "n1", .interval_s = 3600,
				      .stale_after_s = 300};
	struct peer_sync_config c2 = c1;
	struct peer_sync *p1, *p2;
	struct hostnet_list seen = {0};
	char err[512], path[600], desc[1024];
	struct utimbuf old = {.actime = 1, .modtime = 1};
	FILE *f;

	c2.node = "n2";
	p1 = peer_sync_start(&c1, collect_fixed, &h1, err, sizeof(err));
	ck_assert_msg(p1, "%s", err);
	p2 = peer_sync_start(&c2, collect_fixed, &h2, err, sizeof(err));
	ck_assert_msg(p2, "%s", err);
	ck_assert_int_eq(peer_sync_refresh(p1, err, sizeof(err)), 0);
	ck_assert_int_eq(peer_sync_snapshot(p1, &seen), 1);
	ck_assert_str_eq(seen.v[0].node, "n2");
	ck_assert_str_eq(seen.v[0].dev, "vpn0");
	hostnet_list_fini(&seen);
	ck_assert_int_eq(peer_sync_snapshot(p2, &seen), 1);
	ck_assert_str_eq(seen.v[0].node, "n1");
	hostnet_list_fini(&seen);

	/* n3 departed long ago: its document stays but is ignored. */
	snprintf(path, sizeof(path), "%s/n3.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"format\":1,\"node\":\"n3\",\"published\":1,\"networks\":"
	      "[{\"kind\":\"route\",\"net\":\"10.7.0.0/16\",\"dev\":\"x\"}]}",
	      f);
	fclose(f);
	ck_assert_int_eq(utime(path, &old), 0);
	/* and a broken document from n4 is skipped without harming the rest */
	snprintf(path, sizeof(path), "%s/n4.json", dir);
	f = fopen(path, "w");
	fputs("{not json", f);
	fclose(f);
	ck_assert_int_eq(peer_sync_refresh(p1, err, sizeof(err)), 0);
	ck_assert_int_eq(peer_sync_snapshot(p1, &seen), 1);
	ck_assert_str_eq(seen.v[0].node, "n2");
	hostnet_list_fini(&seen);
	peer_sync_describe(p1, desc, sizeof(desc));
	ck_assert_msg(strstr(desc, "n3 (") && strstr(desc, "reachable"), "%s", desc);

	/* The place goes away: the last copy is kept and the failure is reported. */
	peer_sync_stop(p2);
	tl_rmtree(dir);
	f = fopen(dir, "w"); /* a file where the directory was: every round fails */
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_ne(peer_sync_refresh(p1, err, sizeof(err)), 0);
	ck_assert_int_eq(peer_sync_snapshot(p1, &seen), 1);
	hostnet_list_fini(&seen);
	peer_sync_describe(p1, desc, sizeof(desc));
	ck_assert_msg(strstr(desc, "UNREACHABLE"), "%s", desc);
	peer_sync_stop(p1);
	unlink(dir);
	free(dir);
}
END_TEST

START_TEST(test_location_check)
{
	char err[512];

	ck_assert_int_eq(peer_sync_location_check("", err, sizeof(err)), 0);
	ck_assert_int_eq(peer_sync_location_check("/srv/shared", err, sizeof(err)), 0);
	ck_assert_int_eq(
		peer_sync_location_check("nfs://10.0.0.5/export?nfsport=2049&mountport=20048", err,
					 sizeof(err)),
		0);
	ck_assert_int_eq(peer_sync_location_check("nfs://10.0.0.5/export", err, sizeof(err)), 0);
	ck_assert_int_eq(peer_sync_location_check("relative/dir", err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "SHARED_NETWORKS=relative/dir"));
	ck_assert_int_eq(peer_sync_location_check("nfs://host", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(peer_sync_location_check("nfs://h/e?nfsport=0", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(peer_sync_location_check("nfs://h/e?color=red", err, sizeof(err)), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("peers");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_node_names, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_decode_bad);
	tcase_add_test(tc, test_stale);
	tcase_add_test(tc, test_sync_directory);
	tcase_add_test(tc, test_location_check);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
