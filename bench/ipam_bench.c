// SPDX-License-Identifier: MIT
/*
 * ipam_bench: how the IPAM driver's costs scale (issue 2: pool choice with 10,000 host
 * routes and 4,096 pools in use, under 1 ms; RequestAddress cost independent of the number
 * of addresses handed out; memory per /16 pool). Not a test: prints a table.
 *
 * Every figure is reported next to a baseline measured in the same run on the same
 * machine (an empty host for pool choice, an empty pool for addresses), as a ratio, so
 * the result does not depend on how fast this machine is.
 *
 *   ipam_bench [--netns]     --netns (root): also dump 10,000 real routes through
 *                            netlink inside a private network namespace
 *
 * The handlers are called directly (no HTTP), with the host networks supplied by a
 * callback, so what is measured is the plugin's own work per request.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "ipam_api.h"
#include "log.h"
#include "netlink.h"
#include "peer_sync.h"
#include "peers.h"
#include "settings.h"
#include "testlib.h"

/* The handlers over a pools instance, as the plugin's main.c assembles them. */
struct ipam {
	struct pools pools;
	struct ipam_api api;
};

static void ipam_init(struct ipam *ip, const struct settings *cfg, const char *dir,
		      pools_hostnets_fn hostnets, void *arg, char *err, size_t errlen)
{
	pools_init(&ip->pools, cfg, dir, err, errlen);
	ip->pools.hostnets = hostnets;
	ip->pools.hostnets_arg = arg;
	ip->api = (struct ipam_api){.pools = &ip->pools};
}

static void ipam_fini(struct ipam *ip)
{
	pools_fini(&ip->pools);
}

#define ROUTES 10000
#define POOLS_IN_USE 4096

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static struct hostnet_list bench_hosts;

static int fake_hosts(void *arg, bool global, struct hostnet_list *out, char *err, size_t errlen)
{
	(void)arg;
	(void)global;
	(void)err;
	(void)errlen;
	/* What netlink_read_hostnets hands over: a fresh copy per decision. */
	for (size_t i = 0; i < bench_hosts.n; i++) {
		if (hostnet_list_add(out, &bench_hosts.v[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Three nodes sharing their networks (SHARED_NETWORKS): ours plus two peers' copies, as
 * the host view appends peer_sync_snapshot() (a struct copy per entry).
 */
static struct hostnet_list bench_hosts3;
static void make_routes(struct hostnet_list *l, FILE *batch, unsigned int seed);

static int fake_hosts_3nodes(void *arg, bool global, struct hostnet_list *out, char *err,
			     size_t errlen)
{
	static const char *const nodes[] = {"", "n2", "n3"};

	(void)arg;
	(void)global;
	(void)err;
	(void)errlen;
	/* Each node its own 10,000 routes (another seed), tagged with its name. */
	for (size_t k = bench_hosts3.n ? 3 : 0; k < 3; k++) {
		size_t first = bench_hosts3.n;

		make_routes(&bench_hosts3, NULL, 12345 + 7919 * (unsigned int)k);
		for (size_t i = first; i < bench_hosts3.n; i++)
			snprintf(bench_hosts3.v[i].node, HOSTNET_NODE_LEN, "%s", nodes[k]);
	}
	for (size_t i = 0; i < bench_hosts3.n; i++) {
		if (hostnet_list_add(out, &bench_hosts3.v[i]) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* arg: a netlink_view (cached until the kernel reports a change) or NULL (fresh dump). */
static int real_hosts(void *arg, bool global, struct hostnet_list *out, char *err, size_t errlen)
{
	(void)global;
	return arg ? netlink_view_read(arg, out, err, errlen)
		   : netlink_read_hostnets(out, err, errlen);
}

static http_handler_fn handler(const char *path)
{
	for (size_t i = 0; i < ipam_nroutes; i++) {
		if (strcmp(ipam_routes[i].path, path) == 0)
			return ipam_routes[i].handler;
	}
	abort();
}

/* Call path with body; abort unless it succeeds. Returns the reply (new reference). */
static json_t *must(struct ipam *ip, const char *path, const char *body)
{
	json_t *req = json_loads(body, 0, NULL), *rep = handler(path)(&ip->api, req);

	if (!rep || json_object_get(rep, "Err")) {
		fprintf(stderr, "%s %s failed: %s\n", path, body,
			rep ? json_string_value(json_object_get(rep, "Err")) : "NULL");
		exit(1);
	}
	json_decref(req);
	return rep;
}

/* 10,000 routes, deterministic: /24s and /23s scattered over 10.0.0.0/8 (about 1 in 5). */
static void make_routes(struct hostnet_list *l, FILE *batch, unsigned int seed)
{
	unsigned int x = seed;

	for (int i = 0; i < ROUTES; i++) {
		struct hostnet h = {.kind = HOSTNET_ROUTE, .table = 254};
		unsigned int third;

		x = x * 1103515245u + 12345u;
		third = (x >> 8) % 65536;
		h.net = cidr_from_u128(AF_INET, (cidr_u128)((10u << 24) | (third << 8)),
				       i % 10 ? 24 : 23);
		h.net = cidr_network(&h.net);
		snprintf(h.dev, sizeof(h.dev), "veth%d", i % 8);
		hostnet_list_add(l, &h);
		if (batch) {
			char c[CIDR_STRLEN];

			fprintf(batch, "route replace %s dev bench%d\n",
				cidr_format(&h.net, c, sizeof(c)), i % 8);
		}
	}
}

static const char *space(int i)
{
	return i % 2 ? POOLS_GLOBAL_SPACE : POOLS_LOCAL_SPACE;
}

/*
 * Mean microseconds per RequestPool over n calls (each pool kept: the set grows by n),
 * alternating the spaces, or all in only (not NULL).
 */
static double time_request_pool_in(struct ipam *ip, int n, const char *only)
{
	char body[128];
	double t0 = now_us();

	for (int i = 0; i < n; i++) {
		snprintf(body, sizeof(body), "{\"AddressSpace\":\"%s\",\"Pool\":\"\"}",
			 only ? only : space(i));
		json_decref(must(ip, "/IpamDriver.RequestPool", body));
	}
	return (now_us() - t0) / n;
}

static double time_request_pool(struct ipam *ip, int n)
{
	return time_request_pool_in(ip, n, NULL);
}

static void fill_pools(struct ipam *ip, int n)
{
	time_request_pool(ip, n);
}

/* Mean microseconds per RequestAddress (serial) over n calls in pool id. */
static double time_request_address(struct ipam *ip, const char *id, int n)
{
	char body[256];
	double t0;

	snprintf(body, sizeof(body),
		 "{\"PoolID\":\"%s\",\"Address\":\"\",\"Options\":{\"com.docker.network.ipam."
		 "serial\":"
		 "\"true\"}}",
		 id);
	t0 = now_us();
	for (int i = 0; i < n; i++)
		json_decref(must(ip, "/IpamDriver.RequestAddress", body));
	return (now_us() - t0) / n;
}

/* Host view of the fresh-read case: our routes, then the peers re-read every time. */
static int fresh_hosts(void *arg, bool global, struct hostnet_list *out, char *err, size_t errlen)
{
	struct peer_sync *ps = arg;
	int ret = fake_hosts(NULL, global, out, err, errlen);

	if (ret == 0 && global) {
		peer_sync_freshen(ps);
		ret = peer_sync_snapshot(ps, out) < 0 ? -ENOMEM : 0;
	}
	return ret;
}

/*
 * Mean microseconds per global RequestPool (4,096 pools in use) when each decision first
 * reads two other nodes' documents of 10,000 routes each from a shared directory.
 */
static double time_fresh_read(const struct settings *cfg, int n)
{
	char *dir = tl_tmpdir("ipam-bench-peers");
	struct peer_sync_config pc = {.location = dir,
				      .node = "n1",
				      .interval_s = 3600,
				      .stale_after_s = 3600,
				      .read_only = true};
	struct peer_sync *ps;
	struct ipam ip;
	char err[512], path[4200];
	double v = 0;

	for (unsigned int k = 2; k <= 3; k++) {
		struct hostnet_list l = {0};
		json_t *doc;
		char node[8];

		make_routes(&l, NULL, 777 * k);
		snprintf(node, sizeof(node), "n%u", k);
		doc = peers_encode(node, time(NULL), &l);
		snprintf(path, sizeof(path), "%s/%s.json", dir, node);
		if (!doc || json_dump_file(doc, path, JSON_COMPACT) < 0)
			abort();
		json_decref(doc);
		hostnet_list_fini(&l);
	}
	ps = peer_sync_start(&pc, NULL, NULL, err, sizeof(err));
	if (!ps)
		abort();
	ipam_init(&ip, cfg, NULL, fresh_hosts, ps, err, sizeof(err));
	fill_pools(&ip, POOLS_IN_USE - 200);
	v = time_request_pool_in(&ip, n, POOLS_GLOBAL_SPACE);
	ipam_fini(&ip);
	peer_sync_stop(ps);
	tl_rmtree(dir);
	free(dir);
	return v;
}

static void row(const char *what, double base, double val, const char *unit)
{
	printf("%-58s %10.2f %s   baseline %8.2f %s   ratio %6.2f\n", what, val, unit, base, unit,
	       base > 0 ? val / base : 0);
}

/*
 * Baseline for the netlink figure: the same RTM_GETROUTE dumps (IPv4 and IPv6, all
 * tables) received and thrown away, no parsing. Returns the number of messages.
 */
static long raw_route_dump(void)
{
	static char buf[65536];
	long msgs = 0;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -1;
	for (int fam = 0; fam < 2; fam++) {
		struct {
			struct nlmsghdr h;
			struct rtmsg r;
		} req = {{.nlmsg_len = sizeof(req),
			  .nlmsg_type = RTM_GETROUTE,
			  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			  .nlmsg_seq = 1},
			 {.rtm_family = fam ? AF_INET6 : AF_INET}};
		bool done = false;

		if (send(fd, &req, sizeof(req), 0) < 0)
			break;
		while (!done) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			struct nlmsghdr *h = (struct nlmsghdr *)buf;

			if (n <= 0)
				break;
			for (; NLMSG_OK(h, (unsigned int)n); h = NLMSG_NEXT(h, n)) {
				if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
					done = true;
				msgs++;
			}
		}
	}
	close(fd);
	return msgs;
}

static int setup_netns(void)
{
	char path[] = "/tmp/ipam-bench-routes.XXXXXX", cmd[512];
	struct hostnet_list dummy = {0};
	FILE *f;
	int fd, ret;

	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET) (needs root)");
		return -1;
	}
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f)
		return -1;
	for (int i = 0; i < 8; i += 2)
		fprintf(f, "link add bench%d type veth peer name bench%d\n", i, i + 1);
	for (int i = 0; i < 8; i++)
		fprintf(f, "link set bench%d up\n", i);
	make_routes(&dummy, f, 12345);
	hostnet_list_fini(&dummy);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "ip -batch %s", path);
	ret = system(cmd);
	unlink(path);
	return ret == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	bool netns = argc > 1 && strcmp(argv[1], "--netns") == 0;
	char *env[] = {"POOLS=10.0.0.0/8:24", "POOLS6=fd00::/8:64", NULL};
	struct settings cfg;
	struct ipam base, loaded;
	char err[1024];
	double b, v;
	json_t *rep;
	char id[128];

	log_init("ipam-bench", LOG_LEVEL_ERROR);
	json_object_seed(0);
	if (settings_parse(env, &cfg, err, sizeof(err)) < 0)
		return 1;
	make_routes(&bench_hosts, NULL, 12345);
	printf("ipam_bench: %d host routes in 10.0.0.0/8, %d pools in use, POOLS=10.0.0.0/8:24\n\n",
	       ROUTES, POOLS_IN_USE);

	/* Pool choice: empty host vs 10,000 routes + 4,096 pools. */
	ipam_init(&base, &cfg, NULL, NULL, NULL, err, sizeof(err));
	ipam_init(&loaded, &cfg, NULL, fake_hosts, NULL, err, sizeof(err));
	b = time_request_pool(&base, 200);
	fill_pools(&loaded, POOLS_IN_USE - 200);
	v = time_request_pool(&loaded, 200);
	row("RequestPool (choice + bookkeeping, no netlink, no disk)", b, v, "us");
	{
		struct ipam one, three;

		/* Global-space choices (the swarm leader's), 4,096 pools in use: one node's
		 * 10,000 routes vs three nodes' (SHARED_NETWORKS: two peers' copies too). */
		ipam_init(&one, &cfg, NULL, fake_hosts, NULL, err, sizeof(err));
		ipam_init(&three, &cfg, NULL, fake_hosts_3nodes, NULL, err, sizeof(err));
		fill_pools(&one, POOLS_IN_USE - 200);
		fill_pools(&three, POOLS_IN_USE - 200);
		b = time_request_pool_in(&one, 200, POOLS_GLOBAL_SPACE);
		v = time_request_pool_in(&three, 200, POOLS_GLOBAL_SPACE);
		row("RequestPool global, 3 nodes x 10,000 routes (vs 1 node)", b, v, "us");
		ipam_fini(&three);
		/* The same with the two peers' documents read from the shared place before
		 * every decision (a directory here; NFS adds its round trips). */
		v = time_fresh_read(&cfg, 50);
		row("RequestPool global, fresh read of 2 peers' documents (vs 1 node)", b, v, "us");
		ipam_fini(&one);
	}
	{
		struct hostnet_list l = {0};
		struct pa_env e = {
			.ranges = cfg.pools, .nranges = cfg.npools, .exclude = NULL, .hosts = &l};
		struct cidr out;
		struct pa_env e0 = {.ranges = cfg.pools, .nranges = cfg.npools};
		struct pa_allocator empty;
		double t0;
		int n = 200;

		fake_hosts(NULL, true, &l, err, sizeof(err));
		pa_init(&empty, "l", "g");
		t0 = now_us();
		for (int i = 0; i < n; i++)
			pa_choose(&empty, &e0, AF_INET, 0, &out, NULL, err, sizeof(err));
		b = (now_us() - t0) / n;
		t0 = now_us();
		for (int i = 0; i < n; i++)
			pa_choose(&loaded.pools.alloc, &e, AF_INET, 0, &out, NULL, err,
				  sizeof(err));
		v = (now_us() - t0) / n;
		row("pa_choose alone (sort + merge + sweep of 14,096 blockers)", b, v, "us");
		pa_fini(&empty);
		hostnet_list_fini(&l);
	}

	/* RequestAddress: empty /16 vs the same /16 with 60,000 addresses handed out. */
	rep = must(&base, "/IpamDriver.RequestPool",
		   "{\"AddressSpace\":\"openmpf-global\",\"Pool\":\"172.20.0.0/16\"}");
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(rep, "PoolID")));
	json_decref(rep);
	b = time_request_address(&base, id, 1000);
	time_request_address(&base, id, 59000);
	v = time_request_address(&base, id, 1000);
	row("RequestAddress in a /16 (serial), 60,000 already allocated", b, v, "us");
	rep = must(&base, "/IpamDriver.RequestPool",
		   "{\"AddressSpace\":\"openmpf-global\",\"Pool\":\"fd00:42::/64\"}");
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(rep, "PoolID")));
	json_decref(rep);
	b = time_request_address(&base, id, 1000);
	time_request_address(&base, id, 99000);
	v = time_request_address(&base, id, 1000);
	row("RequestAddress in an IPv6 /64 (sparse), 100,000 allocated", b, v, "us");
	{
		struct pa_allocator a;
		struct pa_pool *p24, *p16;
		struct cidr n24 = cidr_from_u128(AF_INET, 0xac150000u, 24);
		struct cidr n16 = cidr_from_u128(AF_INET, 0xac160000u, 16);

		pa_init(&a, "l", "g");
		pa_pool_add(&a, PA_SPACE_LOCAL, &n24, NULL, &p24, err, sizeof(err));
		pa_pool_add(&a, PA_SPACE_LOCAL, &n16, NULL, &p16, err, sizeof(err));
		row("memory per /16 pool (bytes; baseline: a /24)", (double)pa_pool_memory(p24),
		    (double)pa_pool_memory(p16), "B ");
		pa_fini(&a);
	}

	/* With persistence: one atomic pool-file write (fsync) per change. */
	{
		char *dir = tl_tmpdir("ipam-bench");
		struct ipam disk;

		ipam_init(&disk, &cfg, dir, NULL, NULL, err, sizeof(err));
		rep = must(&disk, "/IpamDriver.RequestPool",
			   "{\"AddressSpace\":\"openmpf-global\",\"Pool\":\"172.20.0.0/16\"}");
		json_decref(rep);
		b = time_request_address(&disk, "openmpf-global/172.20.0.0/16", 100);
		for (int i = 0; i < 60000; i++) {
			struct cidr got;
			bool again;

			pa_addr_request(
				pa_pool_by_id(&disk.pools.alloc, "openmpf-global/172.20.0.0/16"),
				NULL, PA_ADDR_SERIAL, &got, &again, err, sizeof(err));
		}
		v = time_request_address(&disk, "openmpf-global/172.20.0.0/16", 100);
		row("RequestAddress + atomic state write, 60,000 allocated", b, v, "us");
		ipam_fini(&disk);
		tl_rmtree(dir);
		free(dir);
	}

	if (netns) {
		struct ipam real0, real;
		struct hostnet_list l = {0};
		double t0;
		long msgs = 0;
		double empty_ns;

		/* Baseline first, in this (near empty) namespace; then move to the big one. */
		ipam_init(&real0, &cfg, NULL, real_hosts, NULL, err, sizeof(err));
		empty_ns = time_request_pool(&real0, 50);
		if (setup_netns() < 0) {
			fprintf(stderr, "--netns: could not set up the namespace; skipped\n");
			return 0;
		}
		t0 = now_us();
		for (int i = 0; i < 20; i++)
			msgs = raw_route_dump();
		b = (now_us() - t0) / 20;
		t0 = now_us();
		for (int i = 0; i < 20; i++) {
			l.n = 0;
			netlink_read_hostnets(&l, err, sizeof(err));
		}
		v = (now_us() - t0) / 20;
		printf("\nin a network namespace with %d real routes (%ld route messages, %zu "
		       "networks kept):\n",
		       ROUTES, msgs, l.n);
		row("netlink view (links+addrs+routes, parsed; baseline: raw dump)", b, v, "us");
		hostnet_list_fini(&l);
		/* Same 4,096 pools in use, chosen against the same routes without netlink. */
		ipam_init(&real, &cfg, NULL, real_hosts, NULL, err, sizeof(err));
		{
			struct hostnet_list hl = {0};
			struct pa_env e = {
				.ranges = cfg.pools, .nranges = cfg.npools, .hosts = &hl};

			fake_hosts(NULL, true, &hl, err, sizeof(err));
			for (int i = 0; i < POOLS_IN_USE - 50; i++) {
				struct pa_pool *p;
				struct cidr out;

				pa_choose(&real.pools.alloc, &e, AF_INET, 0, &out, NULL, err,
					  sizeof(err));
				pa_pool_add(&real.pools.alloc, i % 2, &out, NULL, &p, err,
					    sizeof(err));
			}
			hostnet_list_fini(&hl);
		}
		v = time_request_pool(&real, 50);
		row("RequestPool incl. fresh netlink dump (baseline: host ns, no pools)", empty_ns,
		    v, "us");
		{
			struct netlink_view *view = netlink_view_open(err, sizeof(err));
			char cmd[128];

			real.pools.hostnets_arg = view;
			time_request_pool(&real, 1);
			v = time_request_pool(&real, 50);
			row("RequestPool with the served view, no change in between", empty_ns, v,
			    "us");
			/* A route change before every call: each one pays a dump. */
			t0 = now_us();
			for (int i = 0; i < 20; i++) {
				snprintf(cmd, sizeof(cmd),
					 "ip route replace 10.250.%d.0/24 dev bench0", i);
				if (system(cmd) != 0)
					break;
			}
			b = (now_us() - t0) / 20;
			t0 = now_us();
			for (int i = 0; i < 20; i++) {
				snprintf(cmd, sizeof(cmd),
					 "ip route replace 10.251.%d.0/24 dev bench0", i);
				if (system(cmd) != 0)
					break;
				time_request_pool(&real, 1);
			}
			v = (now_us() - t0) / 20;
			row("route change + RequestPool (baseline: the route change alone)", b, v,
			    "us");
			printf("  (%lu netlink dumps for 71 RequestPool calls)\n",
			       netlink_view_dumps(view));
			real.pools.hostnets_arg = NULL;
			netlink_view_close(view);
		}
		ipam_fini(&real);
		ipam_fini(&real0);
	}
	ipam_fini(&base);
	ipam_fini(&loaded);
	hostnet_list_fini(&bench_hosts);
	return 0;
}
