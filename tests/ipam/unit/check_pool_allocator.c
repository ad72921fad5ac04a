// SPDX-License-Identifier: MIT
/* Unit tests for ipam-plugin/pool_allocator.c: subnet choice, collision checks, addresses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <check.h>

#include "pool_allocator.h"
#include "testlib.h"

static struct cidr P(const char *s) {
	struct cidr c;
	char err[256];

	ck_assert_msg(cidr_parse(s, CIDR_PARSE_ALLOW_BARE, &c, err, sizeof(err)) == 0, "%s", err);
	return c;
}

static char *
F(const struct cidr *c)
{
	static __thread char buf[4][CIDR_STRLEN];
	static __thread int n;

	return cidr_format(c, buf[n++ % 4], CIDR_STRLEN);
}

/* "a dev addr/len" (interface), "r dev net [via gw] [table]" (route). */
static void add_host(struct hostnet_list *l, const char *spec)
{
	char kind, dev[32], a[64], b[64] = "";
	struct hostnet h = {0};
	unsigned int table = 254;
	int n = sscanf(spec, "%c %31s %63s %63s %u", &kind, dev, a, b, &table);

	ck_assert_int_ge(n, 3);
	snprintf(h.dev, sizeof(h.dev), "%.15s", dev);
	if (kind == 'a') {
		h.kind = HOSTNET_ADDR;
		h.addr = P(a);
		h.net = cidr_network(&h.addr);
	} else {
		h.kind = HOSTNET_ROUTE;
		h.net = cidr_network(&(struct cidr){0});
		h.net = P(a);
		h.net = cidr_network(&h.net);
		if (n >= 4 && strcmp(b, "-") != 0)
			h.addr = P(b);
		h.table = table;
	}
	ck_assert_int_eq(hostnet_list_add(l, &h), 0);
}

static bool has_line(const struct pa_reasons *r, const char *needle)
{
	for (size_t i = 0; i < r->n; i++) {
		if (strstr(r->line[i], needle))
			return true;
	}
	return false;
}

static void dump(const struct pa_reasons *r)
{
	for (size_t i = 0; i < r->n; i++)
		fprintf(stderr, "  reason: %s\n", r->line[i]);
}

/* ---- choice, table driven ---------------------------------------------------------- */

struct choose_case {
	const char *name;
	const char *ranges[3]; /* "CIDR:SIZE" */
	unsigned int size;
	const char *hosts[4];
	const char *exclude[3];
	const char *pools[4]; /* "L cidr" or "G cidr" */
	const char *want;     /* NULL: error */
	int ret;
	const char *reason; /* substring of one reason (or of err for errors) */
};

static const struct choose_case choose_cases[] = {
	{"empty host",
	 {"10.0.0.0/8:24"},
	 0,
	 {0},
	 {0},
	 {0},
	 "10.0.0.0/24",
	 0,
	 "chose 10.0.0.0/24 from range 10.0.0.0/8"},
	{"interface",
	 {"10.0.0.0/8:24"},
	 0,
	 {"a eth1 10.0.0.5/24"},
	 {0},
	 {0},
	 "10.0.1.0/24",
	 0,
	 "skip 10.0.0.0/24: overlaps interface eth1 10.0.0.5/24"},
	{"route /16 jumps",
	 {"10.0.0.0/8:24"},
	 0,
	 {"r eth0 10.0.0.0/16 198.18.0.1"},
	 {0},
	 {0},
	 "10.1.0.0/24",
	 0,
	 "overlap route 10.0.0.0/16 via 198.18.0.1 dev eth0 table main"},
	{"route in another table",
	 {"10.0.0.0/8:24"},
	 0,
	 {"r vpn0 10.0.0.0/23 - 100"},
	 {0},
	 {0},
	 "10.0.2.0/24",
	 0,
	 "table 100"},
	{"small /32 address",
	 {"10.0.0.0/8:24"},
	 0,
	 {"a lo0 10.0.0.77/32"},
	 {0},
	 {0},
	 "10.0.1.0/24",
	 0,
	 "interface lo0 10.0.0.77/32"},
	{"exclusion",
	 {"10.0.0.0/8:24"},
	 0,
	 {0},
	 {"10.0.0.0/12"},
	 {0},
	 "10.16.0.0/24",
	 0,
	 "excluded range 10.0.0.0/12 (EXCLUDE)"},
	{"pools of both spaces",
	 {"10.0.0.0/8:24"},
	 0,
	 {0},
	 {0},
	 {"L 10.0.0.0/24", "G 10.0.1.0/24", "G 10.0.3.0/24"},
	 "10.0.2.0/24",
	 0,
	 "pool 10.0.1.0/24 in use (g)"},
	{"size override",
	 {"10.0.0.0/8:24"},
	 26,
	 {"a eth1 10.0.0.5/26"},
	 {0},
	 {0},
	 "10.0.0.64/26",
	 0,
	 "skip 10.0.0.0/26"},
	{"size bigger than blocker",
	 {"10.0.0.0/8:24"},
	 16,
	 {"a eth1 10.0.200.5/24"},
	 {0},
	 {0},
	 "10.1.0.0/16",
	 0,
	 "skip 10.0.0.0/16"},
	{"second range after exhaustion",
	 {"198.18.0.0/23:24", "198.19.0.0/16:24"},
	 0,
	 {"r e 198.18.0.0/24", "a f 198.18.1.1/24"},
	 {0},
	 {0},
	 "198.19.0.0/24",
	 0,
	 "range 198.18.0.0/23: no free /24 left"},
	{"exhausted",
	 {"198.18.0.0/23:24"},
	 0,
	 {0},
	 {0},
	 {"L 198.18.0.0/24", "G 198.18.1.0/24"},
	 NULL,
	 -ENOSPC,
	 "no free subnet left in 198.18.0.0/23 (/24)"},
	{"blocker covers everything",
	 {"10.0.0.0/8:24"},
	 0,
	 {"r eth0 0.0.0.0/1"},
	 {0},
	 {0},
	 NULL,
	 -ENOSPC,
	 "no free subnet"},
	{"size fits no range",
	 {"10.0.0.0/8:24"},
	 4,
	 {0},
	 {0},
	 {0},
	 NULL,
	 -EINVAL,
	 "size /4 fits no candidate range"},
	{"size fits only the second range",
	 {"10.0.0.0/16:24", "172.16.0.0/12:24"},
	 14,
	 {0},
	 {0},
	 {0},
	 "172.16.0.0/14",
	 0,
	 "range 10.0.0.0/16: size /14 does not fit"},
	{"ipv6",
	 {"fd00::/8:64"},
	 0,
	 {"a eth0 fd00::2/64", "r eth0 fd00:0:0:1::/64"},
	 {0},
	 {0},
	 "fd00:0:0:2::/64",
	 0,
	 "skip fd00::/64 to fd00:0:0:1::/64 (2 subnets)"},
	{"ipv6 top of space",
	 {"ffff::/16:17"},
	 0,
	 {"r eth0 ffff::/17"},
	 {0},
	 {0},
	 "ffff:8000::/17",
	 0,
	 "skip ffff::/17"},
	{"ipv6 blocker at the very top",
	 {"ffff::/16:17"},
	 0,
	 {"r eth0 ffff::/16"},
	 {0},
	 {0},
	 NULL,
	 -ENOSPC,
	 "no free subnet"},
	{"adjacent blockers merge",
	 {"10.0.0.0/8:24"},
	 0,
	 {"a e1 10.0.0.1/24", "a e2 10.0.1.1/24", "r e3 10.0.2.0/23", "a e4 10.0.4.1/25"},
	 {0},
	 {0},
	 "10.0.5.0/24",
	 0,
	 "(5 subnets)"},
};

START_TEST(test_choose)
{
	const struct choose_case *tc = &choose_cases[_i];
	struct pa_range ranges[3];
	struct cidr exclude[3], out;
	struct hostnet_list hosts = {0};
	struct pa_reasons why = {0};
	struct pa_allocator a;
	struct pa_env env = {0};
	char err[1024] = "";
	int family = AF_INET, ret;
	size_t n;

	pa_init(&a, "l", "g");
	for (n = 0; n < 3 && tc->ranges[n]; n++) {
		char buf[64], *colon;

		snprintf(buf, sizeof(buf), "%s", tc->ranges[n]);
		colon = strrchr(buf, ':');
		*colon = '\0';
		ranges[n].net = P(buf);
		ranges[n].size = (unsigned int)atoi(colon + 1);
		family = ranges[n].net.family;
	}
	env.ranges = ranges;
	env.nranges = n;
	for (n = 0; n < 3 && tc->exclude[n]; n++)
		exclude[n] = P(tc->exclude[n]);
	env.exclude = exclude;
	env.nexclude = n;
	for (n = 0; n < 4 && tc->hosts[n]; n++)
		add_host(&hosts, tc->hosts[n]);
	env.hosts = &hosts;
	for (n = 0; n < 4 && tc->pools[n]; n++) {
		struct pa_pool *p;
		struct cidr c = P(tc->pools[n] + 2);

		ck_assert_int_eq(
			pa_pool_add(&a, tc->pools[n][0] == 'G' ? PA_SPACE_GLOBAL : PA_SPACE_LOCAL,
				    &c, NULL, &p, err, sizeof(err)),
			0);
	}
	ret = pa_choose(&a, &env, family, tc->size, &out, &why, err, sizeof(err));
	if (ret != tc->ret)
		dump(&why);
	ck_assert_msg(ret == tc->ret, "%s: ret %d, want %d (%s)", tc->name, ret, tc->ret, err);
	if (tc->want) {
		ck_assert_str_eq(F(&out), tc->want);
		if (!has_line(&why, tc->reason))
			dump(&why);
		ck_assert_msg(has_line(&why, tc->reason), "%s: no reason with \"%s\"", tc->name,
			      tc->reason);
	} else {
		ck_assert_msg(strstr(err, tc->reason), "%s: err \"%s\" lacks \"%s\"", tc->name, err,
			      tc->reason);
	}
	pa_reasons_fini(&why);
	hostnet_list_fini(&hosts);
	pa_fini(&a);
}
END_TEST

/* Brute force reference: lowest candidate of size in r overlapping none of nets. */
static bool reference_choice(const struct cidr *r, unsigned int size, const struct cidr *nets,
			     size_t n, struct cidr *out)
{
	struct cidr c = *r;

	c.prefix = size;
	c = cidr_network(&c);
	while (cidr_contains(r, &c)) {
		bool free_ = true;

		for (size_t i = 0; i < n && free_; i++)
			free_ = !cidr_overlaps(&nets[i], &c);
		if (free_) {
			*out = c;
			return true;
		}
		if (!cidr_next(&c, &c))
			break;
	}
	return false;
}

/* Random blockers (routes, exclusions, pools) against the brute-force reference. */
START_TEST(test_choose_random)
{
	int family = _i ? AF_INET6 : AF_INET;
	struct pa_range r = {P(_i ? "fd00::/112" : "10.0.0.0/16"), 0};
	unsigned int max = _i ? 128 : 32, rp = r.net.prefix;
	unsigned int seed = 7;

	for (int iter = 0; iter < 300; iter++) {
		struct hostnet_list hosts = {0};
		struct cidr nets[64], ex[8], want, got;
		struct pa_env env = {.ranges = &r, .nranges = 1, .exclude = ex, .hosts = &hosts};
		struct pa_allocator a;
		size_t n = 0;
		char err[512];
		int nb, ret;
		bool have;

		pa_init(&a, "l", "g");
		r.size = rp + 4 + (unsigned int)(rand_r(&seed) % 9);
		nb = rand_r(&seed) % 60;
		for (int k = 0; k < nb; k++) {
			unsigned int plen = rp - 2 + (unsigned int)(rand_r(&seed) % (max - rp + 3));
			cidr_u128 off = (cidr_u128)rand_r(&seed) % ((cidr_u128)1 << (max - rp));
			struct cidr c = cidr_from_u128(family, cidr_to_u128(&r.net) + off, plen);
			struct hostnet h = {.kind = HOSTNET_ROUTE};
			struct pa_pool *p;

			c = cidr_network(&c);
			switch (k % 3) {
			case 0:
				h.net = c;
				hostnet_list_add(&hosts, &h);
				nets[n++] = c;
				break;
			case 1:
				if (env.nexclude < 8) {
					ex[env.nexclude++] = c;
					nets[n++] = c;
				}
				break;
			default:
				if (c.prefix >= 1 && c.prefix <= max - 2 &&
				    pa_pool_add(&a, k % 2 ? PA_SPACE_GLOBAL : PA_SPACE_LOCAL, &c,
						NULL, &p, err, sizeof(err)) == 0)
					nets[n++] = c;
			}
		}
		have = reference_choice(&r.net, r.size, nets, n, &want);
		ret = pa_choose(&a, &env, family, 0, &got, NULL, err, sizeof(err));
		ck_assert_msg(have == (ret == 0), "iter %d: reference %d, pa_choose %d (%s)", iter,
			      have, ret, err);
		if (have)
			ck_assert_msg(cidr_equal(&want, &got), "iter %d: want %s, got %s", iter,
				      F(&want), F(&got));
		hostnet_list_fini(&hosts);
		pa_fini(&a);
	}
}
END_TEST

/* Repeated choices never return a pool twice (libnetwork's retry loop,
 * docs/plugin-protocol.md 4.4). */
START_TEST(test_choose_repeated_distinct)
{
	struct pa_range r = {P("10.0.0.0/8"), 24};
	struct pa_env env = {.ranges = &r, .nranges = 1};
	struct pa_allocator a;
	char err[512];

	pa_init(&a, "l", "g");
	for (int i = 0; i < 300; i++) {
		struct pa_pool *p;
		struct cidr out;
		char want[32];

		ck_assert_int_eq(pa_choose(&a, &env, AF_INET, 0, &out, NULL, err, sizeof(err)), 0);
		snprintf(want, sizeof(want), "10.0.%d.0/24", i % 256 + 0);
		if (i >= 256)
			snprintf(want, sizeof(want), "10.1.%d.0/24", i - 256);
		ck_assert_str_eq(F(&out), want);
		ck_assert_int_eq(pa_pool_add(&a, i % 2 ? PA_SPACE_GLOBAL : PA_SPACE_LOCAL, &out,
					     NULL, &p, err, sizeof(err)),
				 0);
	}
	pa_fini(&a);
}
END_TEST

START_TEST(test_reasons_capped)
{
	struct pa_range r = {P("10.0.0.0/8"), 24};
	struct hostnet_list hosts = {0};
	struct pa_env env = {.ranges = &r, .nranges = 1, .hosts = &hosts};
	struct pa_reasons why = {0};
	struct pa_allocator a;
	struct cidr out;
	char err[512], spec[64];

	pa_init(&a, "l", "g");
	/* Every other /24 of 10.0.0.0/17 blocked: 64 separate blockers. */
	for (int i = 0; i < 64; i++) {
		snprintf(spec, sizeof(spec), "a e%d 10.0.%d.1/24", i, 2 * i);
		add_host(&hosts, spec);
	}
	ck_assert_int_eq(pa_choose(&a, &env, AF_INET, 0, &out, &why, err, sizeof(err)), 0);
	ck_assert_str_eq(F(&out), "10.0.1.0/24");
	ck_assert_uint_eq(why.n, 2);
	/* Now block the odd ones with one route: the choice jumps past 10.0.0.0/16's blockers. */
	pa_reasons_fini(&why);
	add_host(&hosts, "r vpn 10.0.0.0/17");
	ck_assert_int_eq(pa_choose(&a, &env, AF_INET, 0, &out, &why, err, sizeof(err)), 0);
	ck_assert_str_eq(F(&out), "10.0.128.0/24");
	ck_assert(has_line(&why, "(128 subnets)"));
	ck_assert(has_line(&why, "and 57 more"));
	pa_reasons_fini(&why);
	hostnet_list_fini(&hosts);
	pa_fini(&a);
}
END_TEST

/* ---- collision checks -------------------------------------------------------------- */

START_TEST(test_check)
{
	struct pa_range r = {P("10.0.0.0/8"), 24};
	struct cidr ex = P("10.9.0.0/16"), net;
	struct hostnet_list hosts = {0};
	struct pa_env env = {
		.ranges = &r, .nranges = 1, .exclude = &ex, .nexclude = 1, .hosts = &hosts};
	struct pa_reasons c = {0};
	struct pa_allocator a;
	struct pa_pool *p;
	char err[512];

	pa_init(&a, "loc", "glob");
	add_host(&hosts, "a eth1 10.0.0.5/24");
	add_host(&hosts, "r wg0 10.1.0.0/16 - 254");
	net = P("10.5.0.0/24");
	ck_assert_int_eq(pa_pool_add(&a, PA_SPACE_GLOBAL, &net, NULL, &p, err, sizeof(err)), 0);

	net = P("10.0.0.0/16");
	ck_assert_uint_eq(pa_check(&a, &env, &net, PA_SPACE_LOCAL, &c), 1);
	ck_assert_str_eq(c.line[0], "interface eth1 10.0.0.5/24");
	pa_reasons_fini(&c);

	net = P("10.1.2.0/24");
	ck_assert_uint_eq(pa_check(&a, &env, &net, PA_SPACE_LOCAL, &c), 1);
	ck_assert_str_eq(c.line[0], "route 10.1.0.0/16 dev wg0 table main");
	pa_reasons_fini(&c);

	net = P("10.9.9.0/24");
	ck_assert_uint_eq(pa_check(&a, &env, &net, PA_SPACE_LOCAL, &c), 1);
	ck_assert_str_eq(c.line[0], "excluded range 10.9.0.0/16 (EXCLUDE)");
	pa_reasons_fini(&c);

	/* The node's copy of a global pool is not a collision in the local space ... */
	net = P("10.5.0.0/24");
	ck_assert_uint_eq(pa_check(&a, &env, &net, PA_SPACE_LOCAL, &c), 0);
	ck_assert(pa_other_space_has(&a, PA_SPACE_LOCAL, &net));
	/* ... but it is in its own space, and for the operator's check. */
	ck_assert_uint_eq(pa_check(&a, &env, &net, PA_SPACE_GLOBAL, &c), 1);
	ck_assert_str_eq(c.line[0], "pool 10.5.0.0/24 in use (glob)");
	pa_reasons_fini(&c);
	ck_assert_uint_eq(pa_check(&a, &env, &net, -1, &c), 1);
	pa_reasons_fini(&c);
	/* A larger subnet containing the pool is a collision in every space. */
	net = P("10.5.0.0/16");
	ck_assert_uint_eq(pa_check(&a, &env, &net, PA_SPACE_LOCAL, &c), 1);
	pa_reasons_fini(&c);
	/* Without host networks only pools and exclusions count. */
	env.hosts = NULL;
	net = P("10.0.0.0/24");
	ck_assert_uint_eq(pa_check(&a, &env, &net, PA_SPACE_LOCAL, &c), 0);
	net = P("fd00::/64");
	ck_assert_uint_eq(pa_check(&a, &env, &net, PA_SPACE_LOCAL, &c), 0);

	hostnet_list_fini(&hosts);
	pa_fini(&a);
}
END_TEST

/* ---- pools and IDs ----------------------------------------------------------------- */

START_TEST(test_pool_ids)
{
	struct pa_allocator a;
	struct pa_pool *p, *q;
	struct cidr n4 = P("10.0.0.0/24"), n6 = P("fd00:1::/64"), sub = P("10.0.0.128/25");
	char err[512];

	pa_init(&a, "openmpf-local", "openmpf-global");
	ck_assert_int_eq(pa_pool_add(&a, PA_SPACE_LOCAL, &n4, &sub, &p, err, sizeof(err)), 0);
	ck_assert_str_eq(p->id, "openmpf-local/10.0.0.0/24");
	ck_assert(p->has_range);
	ck_assert_int_eq(pa_pool_add(&a, PA_SPACE_LOCAL, &n4, NULL, &q, err, sizeof(err)), -EEXIST);
	ck_assert_int_eq(pa_pool_add(&a, PA_SPACE_GLOBAL, &n4, NULL, &q, err, sizeof(err)), 0);
	ck_assert_str_eq(q->id, "openmpf-global/10.0.0.0/24");
	ck_assert_int_eq(pa_pool_add(&a, PA_SPACE_GLOBAL, &n6, NULL, &q, err, sizeof(err)), 0);
	ck_assert_str_eq(q->id, "openmpf-global/fd00:1::/64");
	ck_assert_ptr_eq(pa_pool_by_id(&a, "openmpf-local/10.0.0.0/24"), p);
	ck_assert_ptr_eq(pa_pool_by_id(&a, "openmpf-global/fd00:1::/64"), q);
	ck_assert_ptr_null(pa_pool_by_id(&a, "openmpf-local/10.0.1.0/24"));
	ck_assert_ptr_null(pa_pool_by_id(&a, "other/10.0.0.0/24"));
	ck_assert_ptr_null(pa_pool_by_id(&a, "openmpf-local/10.0.0.1/24"));
	ck_assert_ptr_null(pa_pool_by_id(&a, "openmpf-local"));
	ck_assert_ptr_null(pa_pool_by_id(&a, ""));
	ck_assert_ptr_null(pa_pool_by_id(&a, NULL));
	ck_assert_int_eq(pa_space_parse(&a, "openmpf-global"), PA_SPACE_GLOBAL);
	ck_assert_int_eq(pa_space_parse(&a, "nope"), -1);
	pa_pool_remove(&a, p);
	ck_assert_ptr_null(pa_pool_by_id(&a, "openmpf-local/10.0.0.0/24"));
	ck_assert_uint_eq(a.n, 2);
	pa_fini(&a);
}
END_TEST

static const struct {
	const char *net, *range, *msg;
} invalid_pools[] = {
	{"10.0.0.0/31", NULL, "prefix length must be 1-30"},
	{"10.0.0.0/32", NULL, "prefix length must be 1-30"},
	{"fd00::/127", NULL, "prefix length must be 1-126"},
	{"0.0.0.0/0", NULL, "prefix length must be 1-30"},
	{"10.0.0.1/24", NULL, "host bits set"},
	{"10.0.0.0/24", "10.0.1.0/25", "not inside pool"},
	{"10.0.0.0/24", "fd00::/64", "not inside pool"},
};

START_TEST(test_pool_invalid)
{
	struct cidr n = P(invalid_pools[_i].net), r;
	struct pa_allocator a;
	struct pa_pool *p;
	char err[512] = "";

	if (invalid_pools[_i].range)
		r = P(invalid_pools[_i].range);
	pa_init(&a, "l", "g");
	ck_assert_int_eq(pa_pool_add(&a, PA_SPACE_LOCAL, &n, invalid_pools[_i].range ? &r : NULL,
				     &p, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strstr(err, invalid_pools[_i].msg), "%s", err);
	ck_assert_uint_eq(a.n, 0);
	pa_fini(&a);
}
END_TEST

/* ---- addresses --------------------------------------------------------------------- */

static struct pa_pool *new_pool(struct pa_allocator *a, const char *net, const char *range)
{
	struct cidr n = P(net), r;
	struct pa_pool *p;
	char err[512];

	if (range)
		r = P(range);
	pa_init(a, "l", "g");
	ck_assert_int_eq(
		pa_pool_add(a, PA_SPACE_LOCAL, &n, range ? &r : NULL, &p, err, sizeof(err)), 0);
	return p;
}

static const char *req(struct pa_pool *p, const char *want, int flags, int expect_ret)
{
	static __thread char out[512];
	struct cidr w, got;
	char err[512] = "";
	bool again;
	int ret;

	if (want)
		w = P(want);
	ret = pa_addr_request(p, want ? &w : NULL, flags, &got, &again, err, sizeof(err));
	ck_assert_msg(ret == expect_ret, "request %s: %d (%s)", want ? want : "any", ret, err);
	if (ret < 0)
		memcpy(out, err, sizeof(out));
	else
		cidr_format(&got, out, sizeof(out));
	return out;
}

static bool rel(struct pa_pool *p, const char *addr)
{
	struct cidr c = P(addr);
	char err[512];
	bool was;

	ck_assert_int_eq(pa_addr_release(p, &c, &was, err, sizeof(err)), 0);
	return was;
}

START_TEST(test_addr_basic)
{
	struct pa_allocator a;
	struct pa_pool *p = new_pool(&a, "10.0.0.0/24", NULL);

	ck_assert_str_eq(req(p, NULL, PA_ADDR_GATEWAY, 0), "10.0.0.1/24");
	ck_assert_str_eq(req(p, NULL, 0, 0), "10.0.0.2/24");
	ck_assert_str_eq(req(p, NULL, 0, 0), "10.0.0.3/24");
	ck_assert(rel(p, "10.0.0.2"));
	ck_assert(!rel(p, "10.0.0.2"));
	/* Without serial the lowest free comes back at once (Docker's default). */
	ck_assert_str_eq(req(p, NULL, 0, 0), "10.0.0.2/24");
	ck_assert_str_eq(req(p, "10.0.0.200", 0, 0), "10.0.0.200/24");
	/* An explicit address already held is granted again (replays). */
	ck_assert_str_eq(req(p, "10.0.0.200", 0, 0), "10.0.0.200/24");
	ck_assert(strstr(req(p, "10.0.0.200", PA_ADDR_UNIQUE, -EEXIST), "already in use"));
	ck_assert(strstr(req(p, "10.0.0.0", 0, -EINVAL), "network address"));
	ck_assert(strstr(req(p, "10.0.0.255", 0, -EINVAL), "broadcast address"));
	ck_assert(strstr(req(p, "10.0.1.1", 0, -EINVAL), "not inside pool 10.0.0.0/24"));
	ck_assert(strstr(req(p, "fd00::1", 0, -EINVAL), "not inside pool"));
	ck_assert_uint_eq((unsigned int)p->set.count, 4);
	pa_fini(&a);
}
END_TEST

START_TEST(test_addr_serial)
{
	struct pa_allocator a;
	struct pa_pool *p = new_pool(&a, "10.0.0.0/29", NULL);

	ck_assert_str_eq(req(p, NULL, PA_ADDR_GATEWAY | PA_ADDR_SERIAL, 0), "10.0.0.1/29");
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "10.0.0.2/29");
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "10.0.0.3/29");
	ck_assert(rel(p, "10.0.0.2"));
	/* Serial: the just-released address is not reused before the range wraps. */
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "10.0.0.4/29");
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "10.0.0.5/29");
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "10.0.0.6/29");
	/* .7 is the broadcast address: wrap to the lowest free. */
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "10.0.0.2/29");
	ck_assert(strstr(req(p, NULL, PA_ADDR_SERIAL, -ENOSPC), "no free address"));
	ck_assert(strstr(req(p, NULL, 0, -ENOSPC), "no free address"));
	/* A gateway request when .1 is taken gets the next free address. */
	ck_assert(rel(p, "10.0.0.5"));
	ck_assert_str_eq(req(p, NULL, PA_ADDR_GATEWAY, 0), "10.0.0.5/29");
	pa_fini(&a);
}
END_TEST

START_TEST(test_addr_range)
{
	struct pa_allocator a;
	struct pa_pool *p = new_pool(&a, "10.0.0.0/24", "10.0.0.128/30");

	/* The gateway is the pool's first usable address, even outside --ip-range. */
	ck_assert_str_eq(req(p, NULL, PA_ADDR_GATEWAY, 0), "10.0.0.1/24");
	ck_assert_str_eq(req(p, NULL, 0, 0), "10.0.0.128/24");
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "10.0.0.129/24");
	ck_assert_str_eq(req(p, NULL, 0, 0), "10.0.0.130/24");
	ck_assert_str_eq(req(p, NULL, 0, 0), "10.0.0.131/24");
	ck_assert(strstr(req(p, NULL, 0, -ENOSPC), "10.0.0.128/30"));
	/* Explicit addresses may lie anywhere in the pool (as with Docker's own IPAM). */
	ck_assert_str_eq(req(p, "10.0.0.9", 0, 0), "10.0.0.9/24");
	pa_fini(&a);
}
END_TEST

START_TEST(test_addr_dense_full)
{
	struct pa_allocator a;
	struct pa_pool *p = new_pool(&a, "10.0.0.0/16", NULL);
	struct cidr got;
	char err[512];
	bool again;

	ck_assert_ptr_nonnull(p->set.bits);
	for (int i = 0; i < 65534; i++)
		ck_assert_int_eq(
			pa_addr_request(p, NULL, PA_ADDR_SERIAL, &got, &again, err, sizeof(err)),
			0);
	ck_assert_str_eq(F(&got), "10.0.255.254/16");
	ck_assert_int_eq(pa_addr_request(p, NULL, 0, &got, &again, err, sizeof(err)), -ENOSPC);
	ck_assert(rel(p, "10.0.77.3"));
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "10.0.77.3/16");
	ck_assert(pa_pool_memory(p) < 9 * 1024);
	pa_fini(&a);
}
END_TEST

START_TEST(test_addr_sparse)
{
	struct pa_allocator a;
	struct pa_pool *p = new_pool(&a, "fd00:1::/64", NULL);

	ck_assert_ptr_null(p->set.bits);
	ck_assert_str_eq(req(p, NULL, PA_ADDR_GATEWAY, 0), "fd00:1::1/64");
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "fd00:1::2/64");
	ck_assert_str_eq(req(p, "fd00:1::4", 0, 0), "fd00:1::4/64");
	ck_assert_str_eq(req(p, NULL, 0, 0), "fd00:1::3/64");
	ck_assert_str_eq(req(p, NULL, 0, 0), "fd00:1::5/64");
	ck_assert(rel(p, "fd00:1::3"));
	ck_assert_str_eq(req(p, NULL, PA_ADDR_SERIAL, 0), "fd00:1::6/64");
	ck_assert_str_eq(req(p, NULL, 0, 0), "fd00:1::3/64");
	/* The last address is fine in IPv6; offset 0 (subnet-router anycast) is not. */
	ck_assert_str_eq(req(p, "fd00:1::ffff:ffff:ffff:ffff", 0, 0),
			 "fd00:1::ffff:ffff:ffff:ffff/64");
	ck_assert(strstr(req(p, "fd00:1::", 0, -EINVAL), "anycast"));
	ck_assert_uint_eq((unsigned int)p->set.count, 7);
	pa_fini(&a);
}
END_TEST

static int collect_runs(void *arg, cidr_u128 first, cidr_u128 last)
{
	char *buf = arg;

	snprintf(buf + strlen(buf), 256 - strlen(buf), "[%u-%u]", (unsigned int)first,
		 (unsigned int)last);
	return 0;
}

START_TEST(test_runs_and_mark)
{
	struct pa_allocator a;
	struct pa_pool *p = new_pool(&a, "10.0.0.0/23", NULL), *q;
	char runs[256] = "", err[512];
	struct cidr n6 = P("fd00::/120");

	ck_assert_int_eq(pa_pool_mark(p, 1, 70, err, sizeof(err)), 0);
	ck_assert_int_eq(pa_pool_mark(p, 128, 128, err, sizeof(err)), 0);
	ck_assert_int_eq(pa_pool_mark(p, 500, 510, err, sizeof(err)), 0);
	ck_assert_int_eq(pa_pool_mark(p, 0, 3, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(pa_pool_mark(p, 500, 511, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(pa_pool_mark(p, 5, 600, err, sizeof(err)), -EINVAL);
	pa_pool_for_each_run(p, collect_runs, runs);
	ck_assert_str_eq(runs, "[1-70][128-128][500-510]");
	ck_assert_uint_eq((unsigned int)p->set.count, 82);
	ck_assert_int_eq(pa_pool_add(&a, PA_SPACE_GLOBAL, &n6, NULL, &q, err, sizeof(err)), 0);
	/* /120 is small enough for the bitmap; runs ending at the very last address. */
	ck_assert_int_eq(pa_pool_mark(q, 250, 255, err, sizeof(err)), 0);
	runs[0] = '\0';
	pa_pool_for_each_run(q, collect_runs, runs);
	ck_assert_str_eq(runs, "[250-255]");
	pa_fini(&a);
}
END_TEST

START_TEST(test_runs_sparse)
{
	struct pa_allocator a;
	struct pa_pool *p = new_pool(&a, "fd00::/64", NULL);
	char runs[256] = "", err[512];

	ck_assert_int_eq(pa_pool_mark(p, 1, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(pa_pool_mark(p, 10, 10, err, sizeof(err)), 0);
	ck_assert_int_eq(pa_pool_mark(p, 2, 5, err, sizeof(err)), 0);
	pa_pool_for_each_run(p, collect_runs, runs);
	ck_assert_str_eq(runs, "[1-5][10-10]");
	ck_assert_int_eq(pa_pool_mark(p, 100, 100 + ((cidr_u128)1 << 30), err, sizeof(err)),
			 -EINVAL);
	pa_fini(&a);
}
END_TEST

START_TEST(test_u128_format)
{
	char buf[48];

	ck_assert_str_eq(pa_u128_format(0, buf, sizeof(buf)), "0");
	ck_assert_str_eq(pa_u128_format(18446744073709551615u, buf, sizeof(buf)),
			 "18446744073709551615");
	ck_assert_str_eq(pa_u128_format(~(cidr_u128)0, buf, sizeof(buf)),
			 "340282366920938463463374607431768211455");
}
END_TEST

int main(void)
{
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_choose, 0, sizeof(choose_cases) / sizeof(choose_cases[0]));
	tcase_add_loop_test(tc, test_choose_random, 0, 2);
	tcase_add_test(tc, test_choose_repeated_distinct);
	tcase_add_test(tc, test_reasons_capped);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_pool_ids);
	tcase_add_loop_test(tc, test_pool_invalid, 0,
			    sizeof(invalid_pools) / sizeof(invalid_pools[0]));
	tcase_add_test(tc, test_addr_basic);
	tcase_add_test(tc, test_addr_serial);
	tcase_add_test(tc, test_addr_range);
	tcase_add_test(tc, test_addr_dense_full);
	tcase_add_test(tc, test_addr_sparse);
	tcase_add_test(tc, test_runs_and_mark);
	tcase_add_test(tc, test_runs_sparse);
	tcase_add_test(tc, test_u128_format);
	return tl_run_tcase("pool_allocator", tc);
}
