// SPDX-License-Identifier: MIT
/*
 * Unit tests for ipam-plugin/peers (document format, node names, staleness) and, in a
 * temporary directory, peer_sync's directory mode: two "nodes" publish, each sees the
 * other's networks tagged with its name, a departed node's stale document is ignored.
 * Also the decisions that use them (ipam_api with a fake host view): the global space
 * avoids every node's networks and names the node when refusing, the local space only
 * this host's.
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

#include "atomic_file.h"
#include "ipam_api.h"
#include "location.h"
#include "peer_sync.h"
#include "peers.h"
#include "pools.h"
#include "resolvconf.h"
#include "settings.h"
#include "testlib.h"

static struct hostnet H(enum hostnet_kind kind, const char *net, const char *addr,
			const char *dev) {
	struct hostnet h = {.kind = kind, .table = 254};
	char err[128];

	ck_assert_int_eq(cidr_parse(net, 0, &h.net, err, sizeof(err)), 0);
	h.net = cidr_network(&h.net);
	if (addr)
		ck_assert_int_eq(cidr_parse(addr, CIDR_PARSE_ALLOW_BARE, &h.addr, err, sizeof(err)),
				 0);
	snprintf(h.dev, sizeof(h.dev), "%s", dev);
	return h;
}

/* The two networks the sync tests publish: node 1's LAN address and node 2's VPN route. */
static struct hostnet lan_addr(void)
{
	return H(HOSTNET_ADDR, "10.0.0.0/24", "10.0.0.5/24", "eth1");
}

static struct hostnet vpn_route(void)
{
	return H(HOSTNET_ROUTE, "10.0.1.0/24", NULL, "vpn0");
}

static const struct {
	const char *name;
	bool ok;
} names[] = {
	{"n1", true},
	{"node-2.example_x", true},
	{"", false},
	{".hidden", false},
	{"a/b", false},
	{"a b", false},
	{"../x", false},
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
	struct hostnet h = lan_addr();
	struct hostnet peer = H(HOSTNET_ROUTE, "10.9.0.0/16", NULL, "x");
	char err[256], a[CIDR_STRLEN], desc[256];
	size_t skipped = 99;
	json_t *doc;

	ck_assert_int_eq(hostnet_list_add(&l, &h), 0);
	h = H(HOSTNET_ROUTE, "10.0.1.0/24", "198.18.0.9", "vpn0");
	ck_assert_int_eq(hostnet_list_add(&l, &h), 0);
	snprintf(peer.node, sizeof(peer.node), "other");
	ck_assert_int_eq(hostnet_list_add(&l, &peer), 0); /* must not be re-published */
	/* A DNS server of the host (resolvconf): its own kind, not a route. */
	h = H(HOSTNET_NAMESERVER, "10.0.9.53/32", "10.0.9.53", "resolv.conf");
	ck_assert_int_eq(hostnet_list_add(&l, &h), 0);
	doc = peers_encode("n2", 1000, &l);
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(json_array_size(json_object_get(doc, "networks")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(json_object_get(doc, "networks"), 2), "kind")),
			 "nameserver");
	ck_assert_int_eq(peers_decode(doc, "n2", &back, &skipped, err, sizeof(err)), 3);
	ck_assert_uint_eq(skipped, 0);
	ck_assert_int_eq(back.v[0].kind, HOSTNET_ADDR);
	ck_assert_str_eq(back.v[0].node, "n2");
	ck_assert_str_eq(back.v[0].dev, "eth1");
	ck_assert_str_eq(cidr_format(&back.v[0].addr, a, sizeof(a)), "10.0.0.5/24");
	ck_assert_int_eq(back.v[1].kind, HOSTNET_ROUTE);
	ck_assert_str_eq(cidr_format(&back.v[1].net, a, sizeof(a)), "10.0.1.0/24");
	ck_assert_str_eq(cidr_format_addr(&back.v[1].addr, a, sizeof(a)), "198.18.0.9");
	ck_assert_uint_eq(back.v[1].table, 254);
	ck_assert_int_eq(back.v[2].kind, HOSTNET_NAMESERVER);
	ck_assert_str_eq(cidr_format(&back.v[2].net, a, sizeof(a)), "10.0.9.53/32");
	ck_assert_str_eq(hostnet_describe(&back.v[2], desc, sizeof(desc)),
			 "nameserver 10.0.9.53 (resolv.conf) on node n2");
	ck_assert_str_eq(hostnet_describe(&back.v[0], desc, sizeof(desc)),
			 "interface eth1 10.0.0.5/24 on node n2");
	ck_assert_str_eq(hostnet_describe(&back.v[1], desc, sizeof(desc)),
			 "route 10.0.1.0/24 via 198.18.0.9 dev vpn0 table main on node n2");
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
	/* A nameserver entry needs no addr (net is the address); a bad addr is skipped. */
	doc = json_pack("{s:i,s:s,s:[{s:s,s:s},{s:s,s:s,s:s}]}", "format", 1, "node", "n1",
			"networks", "kind", "nameserver", "net", "fd00:53::53/128", "kind",
			"nameserver", "net", "10.0.9.53/32", "addr", "nope");
	ck_assert_int_eq(peers_decode(doc, "n1", &out, &skipped, err, sizeof(err)), 1);
	ck_assert_uint_eq(skipped, 1);
	ck_assert_int_eq(out.v[1].kind, HOSTNET_NAMESERVER);
	ck_assert(cidr_equal(&out.v[1].addr, &out.v[1].net));
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

/* A peer_sync that publishes h (collect_fixed), after its first round. */
static struct peer_sync *start_fixed(const struct peer_sync_config *c, struct hostnet *h)
{
	char err[512];
	struct peer_sync *p = peer_sync_start(c, collect_fixed, h, err, sizeof(err));

	ck_assert_msg(p, "%s", err);
	ck_assert(peer_sync_wait_first(p, 5000));
	return p;
}

START_TEST(test_sync_directory)
{
	char *dir = tl_tmpdir("check_peers");
	struct hostnet h1 = lan_addr(), h2 = vpn_route();
	struct peer_sync_config c1 = {
		.location = dir, .node = "n1", .interval_s = 3600, .stale_after_s = 300};
	struct peer_sync_config c2 = c1;
	struct peer_sync *p1, *p2;
	struct hostnet_list seen = {0};
	char err[512], path[600], desc[1024];
	struct utimbuf old = {.actime = 1, .modtime = 1};
	FILE *f;

	c2.node = "n2";
	p1 = start_fixed(&c1, &h1);
	p2 = start_fixed(&c2, &h2);
	ck_assert_int_eq(peer_sync_refresh(p1, err, sizeof(err)), 0);
	ck_assert_int_eq(peer_sync_snapshot(p1, &seen), 1);
	ck_assert_str_eq(seen.v[0].node, "n2");
	ck_assert_str_eq(seen.v[0].dev, "vpn0");
	hostnet_list_fini(&seen);
	ck_assert_int_eq(peer_sync_snapshot(p2, &seen), 1);
	ck_assert_str_eq(seen.v[0].node, "n1");
	hostnet_list_fini(&seen);

	/* The CLI on node n1: reads n2's networks once, writes nothing, no namesake alarm. */
	{
		struct peer_sync_config ro = c1;
		struct peer_sync *p3;
		struct stat before, after;

		snprintf(path, sizeof(path), "%s/n1.json", dir);
		ck_assert_int_eq(stat(path, &before), 0);
		ro.read_only = true;
		p3 = peer_sync_start(&ro, NULL, NULL, err, sizeof(err));
		ck_assert_msg(p3, "%s", err);
		ck_assert_int_eq(peer_sync_snapshot(p3, &seen), 1);
		ck_assert_str_eq(seen.v[0].node, "n2");
		hostnet_list_fini(&seen);
		peer_sync_stop(p3);
		ck_assert_int_eq(stat(path, &after), 0);
		ck_assert_int_eq(before.st_ino, after.st_ino); /* not replaced */
		ck_assert_int_eq(peer_sync_refresh(p1, err, sizeof(err)), 0);
		peer_sync_describe(p1, desc, sizeof(desc));
		ck_assert_msg(!strstr(desc, "ANOTHER PLUGIN"), "%s", desc);
	}

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

/* Two plugins with one NODE_NAME overwrite each other: the second round says so. */
START_TEST(test_sync_duplicate_name)
{
	char *dir = tl_tmpdir("check_peers_dup");
	struct hostnet h1 = lan_addr(), h2 = vpn_route();
	struct peer_sync_config c = {
		.location = dir, .node = "same", .interval_s = 3600, .stale_after_s = 300};
	struct peer_sync *p1, *p2;
	char err[512], desc[1024];

	p1 = start_fixed(&c, &h1);
	ck_assert_int_eq(peer_sync_refresh(p1, err, sizeof(err)), 0);
	peer_sync_describe(p1, desc, sizeof(desc));
	ck_assert_msg(!strstr(desc, "ANOTHER PLUGIN"), "%s", desc);
	p2 = start_fixed(&c, &h2);
	ck_assert_int_eq(peer_sync_refresh(p1, err, sizeof(err)), 0);
	peer_sync_describe(p1, desc, sizeof(desc));
	ck_assert_msg(strstr(desc, "ANOTHER PLUGIN PUBLISHES AS THIS NODE"), "%s", desc);
	peer_sync_stop(p2);
	/* Alone again: the next round finds its own document and clears the state. */
	ck_assert_int_eq(peer_sync_refresh(p1, err, sizeof(err)), 0);
	ck_assert_int_eq(peer_sync_refresh(p1, err, sizeof(err)), 0);
	peer_sync_describe(p1, desc, sizeof(desc));
	ck_assert_msg(!strstr(desc, "ANOTHER PLUGIN"), "%s", desc);
	peer_sync_stop(p1);
	tl_rmtree(dir);
	free(dir);
}
END_TEST

/* Read only where nobody has published yet: reachable, no peers, nothing created. */
START_TEST(test_sync_read_only_empty)
{
	char *dir = tl_tmpdir("check_peers_ro");
	char sub[600], err[512], desc[1024];
	struct peer_sync_config c = {.location = sub,
				     .node = "n1",
				     .interval_s = 3600,
				     .stale_after_s = 300,
				     .read_only = true};
	struct hostnet_list seen = {0};
	struct peer_sync *p;
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/none-yet", dir);
	p = peer_sync_start(&c, NULL, NULL, err, sizeof(err));
	ck_assert_msg(p, "%s", err);
	ck_assert_int_eq(peer_sync_snapshot(p, &seen), 0);
	peer_sync_describe(p, desc, sizeof(desc));
	ck_assert_msg(strstr(desc, ": reachable; peers []"), "%s", desc);
	ck_assert_int_eq(stat(sub, &st), -1);
	peer_sync_stop(p);
	tl_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_location_check)
{
	struct location l;
	char err[512];

	ck_assert_int_eq(location_parse("", &l, err, sizeof(err)), 0);
	ck_assert(location_is_off(&l));
	ck_assert_int_eq(location_parse("/srv/shared", &l, err, sizeof(err)), 0);
	ck_assert(!l.nfs);
	ck_assert_str_eq(l.dir, "/srv/shared");
	ck_assert_int_eq(location_parse("nfs://10.0.0.5/export?nfsport=2049&mountport=20048", &l,
					err, sizeof(err)),
			 0);
	ck_assert(l.nfs);
	ck_assert_str_eq(l.target.server, "10.0.0.5");
	ck_assert_str_eq(l.target.export, "/export");
	ck_assert_uint_eq(l.target.nfs_port, 2049);
	ck_assert_uint_eq(l.target.mount_port, 20048);
	ck_assert_int_eq(location_parse("nfs://10.0.0.5/export", &l, err, sizeof(err)), 0);
	ck_assert_int_eq(location_parse("relative/dir", &l, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "SHARED_NETWORKS=relative/dir"));
	ck_assert_int_eq(location_parse("nfs://host", &l, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(location_parse("nfs://h/e?nfsport=0", &l, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(location_parse("nfs://h/e?nfsport=", &l, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(location_parse("nfs://h/e?color=red", &l, err, sizeof(err)), -EINVAL);
}
END_TEST

/*
 * Decisions with other nodes' networks (ipam_api): the global space avoids every node's,
 * the local space only this host's; refusals name the node.
 */
static struct hostnet_list fake_hosts;

static int hostnets_fake(void *arg, bool global, struct hostnet_list *out, char *err,
			 size_t errlen)
{
	(void)arg;
	(void)global;
	(void)err;
	(void)errlen;
	for (size_t i = 0; i < fake_hosts.n; i++) {
		if (hostnet_list_add(out, &fake_hosts.v[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void add_fake(enum hostnet_kind kind, const char *net, const char *addr, const char *dev,
		     const char *node)
{
	struct hostnet h = H(kind, net, addr, dev);

	snprintf(h.node, sizeof(h.node), "%s", node);
	ck_assert_int_eq(hostnet_list_add(&fake_hosts, &h), 0);
}

/* The handlers over a pools instance, as the plugin's main.c assembles them. */
struct ipam {
	struct pools pools;
	struct ipam_api api;
};

static int ipam_init(struct ipam *ip, const struct settings *cfg, pools_hostnets_fn fn)
{
	char err[256];
	int ret = pools_init(&ip->pools, cfg, NULL, err, sizeof(err));

	ip->pools.hostnets = fn;
	ip->api = (struct ipam_api){.pools = &ip->pools};
	return ret;
}

static void ipam_fini(struct ipam *ip)
{
	pools_fini(&ip->pools);
}

static void call(struct ipam *ip, const char *path)
{
	for (size_t i = 0; i < ipam_nroutes; i++) {
		if (strcmp(ipam_routes[i].path, path) == 0)
			json_decref(ipam_routes[i].handler(&ip->api, NULL));
	}
}

/* RequestPool through the handler; returns the Pool or the Err text (static buffer). */
static const char *request_pool(struct ipam *ip, const char *space, const char *pool, bool *ok)
{
	static char out[2048];
	json_t *req = json_pack("{s:s,s:s}", "AddressSpace", space, "Pool", pool);
	json_t *reply = NULL;
	const char *v;

	for (size_t i = 0; i < ipam_nroutes; i++) {
		if (strcmp(ipam_routes[i].path, "/IpamDriver.RequestPool") == 0)
			reply = ipam_routes[i].handler(&ip->api, req);
	}
	ck_assert_ptr_nonnull(reply);
	*ok = json_object_get(reply, "Err") == NULL;
	v = json_string_value(json_object_get(reply, *ok ? "Pool" : "Err"));
	snprintf(out, sizeof(out), "%s", v ? v : "");
	json_decref(reply);
	json_decref(req);
	return out;
}

#define EXPECT_POOL(ip, space, pool, want)                                                         \
	do {                                                                                       \
		bool ok_;                                                                          \
		const char *got_ = request_pool(ip, space, pool, &ok_);                            \
		ck_assert_msg(ok_ &&strcmp(got_, want) == 0, "%s %s: got \"%s\", want %s", space,  \
			      pool, got_, want);                                                   \
	} while (0)

#define EXPECT_REFUSED(ip, space, pool, msg)                                                       \
	do {                                                                                       \
		bool ok_;                                                                          \
		const char *got_ = request_pool(ip, space, pool, &ok_);                            \
		ck_assert_msg(!ok_ && strstr(got_, msg), "%s %s: got \"%s\", want \"%s\"", space,  \
			      pool, got_, msg);                                                    \
	} while (0)

START_TEST(test_decisions)
{
	char *env[] = {"POOLS=10.0.0.0/16:24", "POOLS6=none", NULL};
	struct settings cfg;
	struct ipam ip;
	char err[512];

	ck_assert_int_eq(settings_parse(env, &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(ipam_init(&ip, &cfg, hostnets_fake), 0);
	add_fake(HOSTNET_ROUTE, "10.0.1.0/24", NULL, "eth0", "");
	add_fake(HOSTNET_ADDR, "10.0.0.0/24", "10.0.0.1/24", "lan0", "n2");
	add_fake(HOSTNET_NAMESERVER, "10.0.3.53/32", "10.0.3.53", "resolv.conf", "n3");
	add_fake(HOSTNET_ROUTE, "10.0.8.0/24", NULL, "vpn0", "n3");

	/* Global: another node's network is refused, naming the node. */
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.0.0/24",
		       "subnet 10.0.0.0/24 collides with interface lan0 10.0.0.1/24 on node n2; "
		       "a free /24 is 10.0.2.0/24");
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.0.0/23",
		       "subnet 10.0.0.0/23 collides with route 10.0.1.0/24 dev eth0 table main on "
		       "this host, interface lan0 10.0.0.1/24 on node n2; a free /23 is "
		       "10.0.4.0/23");
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.3.0/24",
		       "nameserver 10.0.3.53 (resolv.conf) on node n3");
	/* Global choices skip every node's networks. */
	EXPECT_POOL(&ip, POOLS_GLOBAL_SPACE, "", "10.0.2.0/24");
	EXPECT_POOL(&ip, POOLS_GLOBAL_SPACE, "", "10.0.4.0/24");
	/* Local: this host's networks only (n2's LAN is not here). */
	EXPECT_POOL(&ip, POOLS_LOCAL_SPACE, "10.0.0.0/24", "10.0.0.0/24");
	EXPECT_POOL(&ip, POOLS_LOCAL_SPACE, "", "10.0.3.0/24");
	EXPECT_REFUSED(&ip, POOLS_LOCAL_SPACE, "10.0.1.0/24",
		       "subnet 10.0.1.0/24 collides with route 10.0.1.0/24 dev eth0 table main on "
		       "this host; a free /24 is 10.0.5.0/24");
	/*
	 * The restore rule: a global request for the subnet of this node's local copy is a
	 * new leader restoring a swarm network from raft, accepted without host checks.
	 */
	EXPECT_POOL(&ip, POOLS_LOCAL_SPACE, "10.0.8.0/24", "10.0.8.0/24");
	EXPECT_POOL(&ip, POOLS_GLOBAL_SPACE, "10.0.8.0/24", "10.0.8.0/24");
	/* Without peers' entries the wording stays "on this host". */
	fake_hosts.n = 1;
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.1.0/24",
		       "subnet 10.0.1.0/24 collides with route 10.0.1.0/24 dev eth0 table main on "
		       "this host; a free /24 is 10.0.5.0/24");
	ipam_fini(&ip);
	hostnet_list_fini(&fake_hosts);
}
END_TEST

/*
 * The replay rule (pools.h): a held swarm subnet is granted once per allocator session
 * (GetCapabilities starts one), and refused to a second network in the same session.
 */
START_TEST(test_replay_rule)
{
	char *env[] = {"POOLS=10.0.0.0/16:24", "POOLS6=none", NULL};
	struct settings cfg;
	struct ipam ip;
	char err[512];

	ck_assert_int_eq(settings_parse(env, &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(ipam_init(&ip, &cfg, hostnets_fake), 0);
	call(&ip, "/IpamDriver.GetCapabilities");
	/* ingress chose 10.0.0.0/24; a network created with that --subnet is refused. */
	EXPECT_POOL(&ip, POOLS_GLOBAL_SPACE, "", "10.0.0.0/24");
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.0.0/24",
		       "subnet 10.0.0.0/24 is already used by another swarm network");
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.0.0/24", "a free /24 is 10.0.1.0/24");
	/* An explicit --subnet network: granted once, then refused to another network. */
	EXPECT_POOL(&ip, POOLS_GLOBAL_SPACE, "10.0.7.0/24", "10.0.7.0/24");
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.7.0/24", "already used");
	/* A new allocator (leader change, restart) replays both: granted once each. */
	call(&ip, "/IpamDriver.GetCapabilities");
	EXPECT_POOL(&ip, POOLS_GLOBAL_SPACE, "10.0.0.0/24", "10.0.0.0/24");
	EXPECT_POOL(&ip, POOLS_GLOBAL_SPACE, "10.0.7.0/24", "10.0.7.0/24");
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.7.0/24", "already used");
	/* A pool another node holds: avoided by choices, replayed once on request. */
	add_fake(HOSTNET_POOL, "10.0.1.0/24", NULL, "", "n1");
	EXPECT_POOL(&ip, POOLS_GLOBAL_SPACE, "", "10.0.2.0/24");
	EXPECT_POOL(&ip, POOLS_GLOBAL_SPACE, "10.0.1.0/24", "10.0.1.0/24");
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.1.0/24", "already used");
	/* ...but a subnet overlapping another node's pool (not equal) is refused. */
	add_fake(HOSTNET_POOL, "10.0.4.0/24", NULL, "", "n1");
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "10.0.4.0/23",
		       "collides with swarm pool 10.0.4.0/24 on node n1");
	/* Local space: node copies stay idempotent. */
	EXPECT_POOL(&ip, POOLS_LOCAL_SPACE, "10.0.7.0/24", "10.0.7.0/24");
	EXPECT_POOL(&ip, POOLS_LOCAL_SPACE, "10.0.7.0/24", "10.0.7.0/24");
	ipam_fini(&ip);
	hostnet_list_fini(&fake_hosts);
}
END_TEST

/* ROUTES: which routes count. */
START_TEST(test_route_policy)
{
	struct hostnet_route_policy p;
	struct hostnet_list l = {0};
	struct hostnet half = H(HOSTNET_ROUTE, "0.0.0.0/1", "10.8.0.1", "tun0");
	struct hostnet vpn = H(HOSTNET_ROUTE, "10.1.0.0/16", "10.8.0.1", "tun0");
	struct hostnet lan = H(HOSTNET_ROUTE, "192.168.1.0/24", NULL, "eth0");
	struct hostnet wide = H(HOSTNET_ADDR, "0.0.0.0/1", "10.0.0.1/1", "eth1");
	struct hostnet ns = H(HOSTNET_NAMESERVER, "10.0.9.53/32", "10.0.9.53", "resolv.conf");
	char err[256], buf[32];

	/* Default: routes broader than /8 (IPv4) do not count; /8 and longer do. */
	ck_assert_int_eq(settings_parse_routes(SETTINGS_DEFAULT_ROUTES, &p, err, sizeof(err)), 0);
	ck_assert(!hostnet_counts(&half, &p));
	ck_assert(!hostnet_counts(&wide, &p));
	ck_assert(hostnet_counts(&vpn, &p));
	ck_assert(hostnet_counts(&lan, &p));
	ck_assert(hostnet_counts(&ns, &p));
	ck_assert_str_eq(settings_format_routes(&p, buf, sizeof(buf)), "/8,/16");
	ck_assert_int_eq(settings_parse_routes("all", &p, err, sizeof(err)), 0);
	ck_assert(hostnet_counts(&half, &p));
	ck_assert_int_eq(settings_parse_routes("onlink", &p, err, sizeof(err)), 0);
	ck_assert(!hostnet_counts(&half, &p));
	ck_assert(!hostnet_counts(&vpn, &p));
	ck_assert(hostnet_counts(&lan, &p));
	ck_assert(hostnet_counts(&wide, &p));
	ck_assert_int_eq(settings_parse_routes("/20", &p, err, sizeof(err)), 0);
	ck_assert(!hostnet_counts(&vpn, &p));
	ck_assert(hostnet_counts(&lan, &p));
	ck_assert_uint_eq(p.min6, HOSTNET_DEFAULT_MIN6);
	ck_assert_int_eq(settings_parse_routes("/20,/48", &p, err, sizeof(err)), 0);
	ck_assert_uint_eq(p.min6, 48);
	ck_assert_int_eq(settings_parse_routes("/33", &p, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "ROUTES=/33: expected all"));
	ck_assert_int_eq(settings_parse_routes("some", &p, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(settings_parse_routes("/8,16", &p, err, sizeof(err)), -EINVAL);
	/* The filter keeps the order of what counts. */
	settings_parse_routes("/8", &p, err, sizeof(err));
	hostnet_list_add(&l, &half);
	hostnet_list_add(&l, &lan);
	hostnet_list_add(&l, &wide);
	hostnet_list_add(&l, &vpn);
	ck_assert_uint_eq(hostnet_list_filter(&l, &p), 2);
	ck_assert_uint_eq(l.n, 2);
	ck_assert(cidr_equal(&l.v[0].net, &lan.net));
	ck_assert(cidr_equal(&l.v[1].net, &vpn.net));
	hostnet_list_fini(&l);
}
END_TEST

/* A full-tunnel VPN host still gets a subnet by default; with ROUTES=all none, and why. */
START_TEST(test_full_tunnel)
{
	char *env[] = {"POOLS=10.128.0.0/9:24", "POOLS6=none", "ROUTES=all", NULL};
	struct settings cfg;
	struct ipam ip;
	char err[512];

	ck_assert_int_eq(settings_parse(env, &cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(ipam_init(&ip, &cfg, hostnets_fake), 0);
	add_fake(HOSTNET_ROUTE, "0.0.0.0/1", "10.8.0.1", "tun0", "");
	add_fake(HOSTNET_ROUTE, "128.0.0.0/1", "10.8.0.1", "tun0", "");
	/* hostnets_fake does not filter (hostview does): emulate ROUTES=all. */
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "", "ROUTES=onlink");
	EXPECT_REFUSED(&ip, POOLS_GLOBAL_SPACE, "", "10.128.0.0/24 would be free");
	ipam_fini(&ip);
	hostnet_list_fini(&fake_hosts);
}
END_TEST

/* systemd-resolved's stub: Docker's rule (only nameserver 127.0.0.53). */
START_TEST(test_resolved_stub)
{
	struct hostnet_list l = {0};

	ck_assert(resolvconf_is_resolved_stub("# stub\nnameserver 127.0.0.53\noptions edns0\n"));
	ck_assert(!resolvconf_is_resolved_stub("nameserver 127.0.0.53\nnameserver 10.0.0.2\n"));
	ck_assert(!resolvconf_is_resolved_stub("nameserver 10.0.0.2\n"));
	ck_assert(!resolvconf_is_resolved_stub(""));
	ck_assert(!resolvconf_is_resolved_stub("nameserver 127.0.0.1\n"));
	/* The stub itself is loopback and never counts. */
	ck_assert_int_eq(resolvconf_parse("nameserver 127.0.0.53\n", &l), 0);
	ck_assert_int_eq(resolvconf_parse("nameserver 10.128.0.53\n", &l), 1);
	hostnet_list_fini(&l);
}
END_TEST

/* Documents are input from anyone: a huge or broken one is ignored, the round goes on. */
START_TEST(test_sync_hostile_docs)
{
	char *dir = tl_tmpdir("check_peers_hostile");
	struct hostnet h1 = lan_addr(), h2 = vpn_route();
	struct peer_sync_config c = {
		.location = dir, .node = "n1", .interval_s = 3600, .stale_after_s = 300};
	struct peer_sync *p1, *p2;
	struct hostnet_list seen = {0};
	char err[512], path[600];
	size_t big = (2u << 20);
	char *junk = malloc(big);
	FILE *f;

	ck_assert_ptr_nonnull(junk);
	memset(junk, ' ', big);
	snprintf(path, sizeof(path), "%s/huge.json", dir);
	ck_assert_int_eq(atomic_file_write(path, junk, big, 0644), 0);
	free(junk);
	snprintf(path, sizeof(path), "%s/broken.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"format\":1,\"node\":\"broken\",\"networks\":[{\"kind\":\"interface\"", f);
	fclose(f);
	p1 = start_fixed(&c, &h1);
	c.node = "n2";
	p2 = start_fixed(&c, &h2);
	ck_assert_int_eq(peer_sync_refresh(p1, err, sizeof(err)), 0);
	ck_assert_int_eq(peer_sync_snapshot(p1, &seen), 1);
	ck_assert_str_eq(seen.v[0].node, "n2");
	hostnet_list_fini(&seen);
	peer_sync_stop(p1);
	peer_sync_stop(p2);
	tl_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_keep_own)
{
	struct hostnet_list l = {0};
	struct hostnet h = H(HOSTNET_ROUTE, "10.1.0.0/16", NULL, "a");

	ck_assert(!hostnet_list_has_peers(&l));
	for (int i = 0; i < 5; i++) {
		snprintf(h.node, sizeof(h.node), "%s", i % 2 ? "n2" : "");
		snprintf(h.dev, sizeof(h.dev), "d%d", i);
		ck_assert_int_eq(hostnet_list_add(&l, &h), 0);
	}
	ck_assert(hostnet_list_has_peers(&l));
	hostnet_list_keep_own(&l);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.v[0].dev, "d0");
	ck_assert_str_eq(l.v[1].dev, "d2");
	ck_assert_str_eq(l.v[2].dev, "d4");
	ck_assert(!hostnet_list_has_peers(&l));
	hostnet_list_fini(&l);
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_node_names, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_decode_bad);
	tcase_add_test(tc, test_stale);
	tcase_add_test(tc, test_sync_directory);
	tcase_add_test(tc, test_sync_duplicate_name);
	tcase_add_test(tc, test_sync_read_only_empty);
	tcase_add_test(tc, test_location_check);
	tcase_add_test(tc, test_decisions);
	tcase_add_test(tc, test_keep_own);
	tcase_add_test(tc, test_replay_rule);
	tcase_add_test(tc, test_sync_hostile_docs);
	tcase_add_test(tc, test_route_policy);
	tcase_add_test(tc, test_full_tunnel);
	tcase_add_test(tc, test_resolved_stub);
	return tl_run_tcase("peers", tc);
}
