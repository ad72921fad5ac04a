// SPDX-License-Identifier: MIT
/*
 * API tests: the real ipam-plugin binary on a temporary socket and state directory, spoken
 * to over AF_UNIX the way dockerd does (tests/lib/testlib.h). Every endpoint, every error
 * path, restart-and-reload, concurrent and keep-alive connections, both address spaces
 * and the operator CLI.
 *
 * As root the test moves itself into a new, empty network namespace first, so the host's
 * own networks cannot change which subnets are chosen and exact values are asserted;
 * without root exact subnets are only asserted where the host cannot interfere.
 *
 * usage: check_ipam_api PATH/TO/ipam-plugin
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "atomic_file.h"
#include "escape.h"
#include "testlib.h"

static const char *plugin_bin;
static bool isolated; /* in our own empty netns: subnet choices are deterministic */

struct plugin {
	char *dir;
	char sock[256], state[256], log[256], resolv[256];
	pid_t pid;
};

static struct plugin pl;

static void plugin_start_env(struct plugin *p, char *const env[])
{
	char *argv[] = {(char *)plugin_bin, "serve",	     "--socket", p->sock, "--state-dir",
			p->state,	    "--resolv-conf", p->resolv,	 NULL};

	p->pid = tl_spawn(argv, env, p->log);
	ck_assert_int_gt(p->pid, 0);
	/* Docker gives a managed plugin about 9.5 s; we want it up well within 3 s. */
	ck_assert_msg(tl_wait_until(3000, p->pid, tl_socket_ready, p->sock),
		      "plugin socket %s not ready (log %s)", p->sock, p->log);
}

static void plugin_stop(struct plugin *p)
{
	int st;

	if (p->pid <= 0)
		return;
	st = tl_stop(p->pid, SIGTERM, 5000);
	p->pid = -1;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "plugin exit status %#x", st);
}

static void setup_env(char *const env[])
{
	memset(&pl, 0, sizeof(pl));
	pl.dir = tl_tmpdir("ipam-api");
	ck_assert_ptr_nonnull(pl.dir);
	snprintf(pl.sock, sizeof(pl.sock), "%s/ipam.sock", pl.dir);
	snprintf(pl.state, sizeof(pl.state), "%s/state", pl.dir);
	snprintf(pl.log, sizeof(pl.log), "%s/plugin.log", pl.dir);
	snprintf(pl.resolv, sizeof(pl.resolv), "%s/resolv.conf", pl.dir);
	/* The host's own DNS servers must not change what this test expects. */
	ck_assert_int_eq(atomic_file_write(pl.resolv, "nameserver 10.250.0.53\n", 23, 0644), 0);
	plugin_start_env(&pl, env);
}

/* The settings of most tests (not the defaults: those changed with issue 7). */
static char *test_env[] = {"POOLS=10.0.0.0/8:24", "POOLS6=fd00::/8:64",
			   "EXCLUDE=", "LOG_LEVEL=debug", NULL};

static void setup(void)
{
	setup_env(test_env);
}

static void teardown(void)
{
	if (pl.pid > 0)
		tl_stop(pl.pid, SIGKILL, 1000);
	pl.pid = -1;
	if (getenv("IPAM_TEST_KEEP"))
		fprintf(stderr, "kept %s\n", pl.dir);
	else
		tl_rmtree(pl.dir);
	free(pl.dir);
	pl.dir = NULL;
}

/* POST and parse; assert the status. Returns a new reference. */
static json_t *call(const char *path, const char *body, int want)
{
	int status = 0;
	json_t *j = tl_call(pl.sock, path, body, &status);

	ck_assert_msg(status == want, "%s %s: status %d, want %d", path, body ? body : "", status,
		      want);
	ck_assert_msg(j && json_is_object(j), "%s: reply is not a JSON object", path);
	return j;
}

static const char *str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	ck_assert_msg(s, "reply has no string %s", key);
	return s;
}

/* Expect a 500 {"Err": ...} containing each of the NULL-terminated needles. */
static void expect_err(const char *path, const char *body, const char *needle)
{
	json_t *j = call(path, body, 500);
	const char *e = str(j, "Err");

	ck_assert_msg(strstr(e, needle), "%s %s: Err \"%s\" lacks \"%s\"", path, body, e, needle);
	json_decref(j);
}

/*
 * RequestPool with Pool and the members of the JSON object extra (may be NULL) on top of
 * dockerd's usual fields; returns PoolID (static buffer) and the pool in *pool_out.
 */
static const char *request_pool(const char *space, const char *pool, const char *extra,
				char *pool_out)
{
	static char id[128];
	json_t *req, *j;
	char *body;

	req = json_pack("{s:s, s:s, s:s, s:n, s:b}", "AddressSpace", space, "Pool", pool, "SubPool",
			"", "Options", "V6", 0);
	if (extra) {
		json_t *x = json_loads(extra, 0, NULL);

		ck_assert_msg(x, "bad test JSON %s", extra);
		json_object_update(req, x);
		json_decref(x);
	}
	body = json_dumps(req, JSON_COMPACT);
	j = call("/IpamDriver.RequestPool", body, 200);
	free(body);
	json_decref(req);
	snprintf(id, sizeof(id), "%s", str(j, "PoolID"));
	if (pool_out)
		snprintf(pool_out, 64, "%s", str(j, "Pool"));
	ck_assert(json_is_object(json_object_get(j, "Data")));
	json_decref(j);
	return id;
}

static const char *request_addr(const char *id, const char *addr, const char *opts)
{
	static char out[64];
	char body[512];
	json_t *j;

	snprintf(body, sizeof(body), "{\"PoolID\":\"%s\",\"Address\":\"%s\",\"Options\":%s}\n", id,
		 addr, opts ? opts : "null");
	j = call("/IpamDriver.RequestAddress", body, 200);
	snprintf(out, sizeof(out), "%s", str(j, "Address"));
	json_decref(j);
	return out;
}

static void release_addr(const char *id, const char *addr)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"PoolID\":\"%s\",\"Address\":\"%s\"}\n", id, addr);
	json_decref(call("/IpamDriver.ReleaseAddress", body, 200));
}

static void release_pool(const char *id)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"PoolID\":\"%s\"}\n", id);
	json_decref(call("/IpamDriver.ReleasePool", body, 200));
}

#define GW "{\"RequestAddressType\":\"com.docker.network.gateway\"}"
#define SERIAL "{\"com.docker.network.ipam.serial\":\"true\"}"
#define LOCAL "openmpf-local"
#define GLOBAL "openmpf-global"

/* ---- tests ------------------------------------------------------------------------- */

START_TEST(test_handshake)
{
	json_t *j;
	char *dump;

	/* dockerd sends no body to these; Content-Length: 0. */
	j = call("/Plugin.Activate", NULL, 200);
	dump = json_dumps(j, JSON_COMPACT);
	ck_assert_str_eq(dump, "{\"Implements\":[\"IpamDriver\"]}");
	free(dump);
	json_decref(j);
	j = call("/IpamDriver.GetCapabilities", NULL, 200);
	ck_assert(json_is_false(json_object_get(j, "RequiresMACAddress")));
	ck_assert(json_is_false(json_object_get(j, "RequiresRequestReplay")));
	json_decref(j);
	j = call("/IpamDriver.GetDefaultAddressSpaces", "{}\n", 200);
	ck_assert_str_eq(str(j, "LocalDefaultAddressSpace"), LOCAL);
	ck_assert_str_eq(str(j, "GlobalDefaultAddressSpace"), GLOBAL);
	json_decref(j);
}
END_TEST

START_TEST(test_dynamic_pools)
{
	char p1[64], p2[64], p3[64], p4[64], p6[64];
	const char *id;
	json_t *j;

	id = request_pool(LOCAL, "", NULL, p1);
	ck_assert_str_eq(id, LOCAL "/10.0.0.0/24");
	id = request_pool(GLOBAL, "", NULL, p2);
	ck_assert_str_eq(p2, "10.0.1.0/24");
	ck_assert_str_eq(id, GLOBAL "/10.0.1.0/24");
	/* libnetwork's retry loop holds a rejected pool and asks again: never the same. */
	request_pool(LOCAL, "", NULL, p3);
	ck_assert_str_eq(p3, "10.0.2.0/24");
	/* Per-network size. */
	request_pool(LOCAL, "", "{\"Options\":{\"size\":\"26\"}}", p4);
	ck_assert_str_eq(p4, "10.0.3.0/26");
	request_pool(LOCAL, "", "{\"Options\":{\"size\":\"26\",\"com.docker.network.x\":\"1\"}}",
		     p4);
	ck_assert_str_eq(p4, "10.0.3.64/26");
	/* IPv6 (only local networks created with --ipv6 ask for it). */
	j = call("/IpamDriver.RequestPool",
		 "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"\",\"V6\":true}", 200);
	snprintf(p6, sizeof(p6), "%s", str(j, "Pool"));
	json_decref(j);
	if (isolated)
		ck_assert_str_eq(p6, "fd00::/64");
	/* In a pool we chose for a local network, a second request for a held --ip is refused;
	 * the gateway and explicit pools (node copies, replays) are granted again. */
	ck_assert_str_eq(request_addr(LOCAL "/10.0.0.0/24", "", GW), "10.0.0.1/24");
	ck_assert_str_eq(request_addr(LOCAL "/10.0.0.0/24", "10.0.0.1", GW), "10.0.0.1/24");
	ck_assert_str_eq(request_addr(LOCAL "/10.0.0.0/24", "10.0.0.9", NULL), "10.0.0.9/24");
	expect_err("/IpamDriver.RequestAddress",
		   "{\"PoolID\":\"" LOCAL "/10.0.0.0/24\",\"Address\":\"10.0.0.9\"}",
		   "address 10.0.0.9 is already in use in pool 10.0.0.0/24");
	ck_assert_str_eq(request_addr(GLOBAL "/10.0.1.0/24", "10.0.1.9", NULL), "10.0.1.9/24");
	ck_assert_str_eq(request_addr(GLOBAL "/10.0.1.0/24", "10.0.1.9", NULL), "10.0.1.9/24");
	/* A released pool is free again. */
	release_pool(LOCAL "/10.0.0.0/24");
	request_pool(LOCAL, "", NULL, p1);
	ck_assert_str_eq(p1, "10.0.0.0/24");
}
END_TEST

START_TEST(test_explicit_pools)
{
	char p[64];
	const char *id;
	char id1[128];

	id = request_pool(LOCAL, "10.50.0.0/24", "{\"SubPool\":\"10.50.0.128/25\"}", p);
	snprintf(id1, sizeof(id1), "%s", id);
	ck_assert_str_eq(p, "10.50.0.0/24");
	/* The same request again (replay, node copy after a restart): same PoolID. */
	ck_assert_str_eq(request_pool(LOCAL, "10.50.0.0/24", "{\"SubPool\":\"10.50.0.128/25\"}", p),
			 id1);
	/* The global space keeps its own copy of the same subnet (docs/plugin-protocol.md 5.2). */
	ck_assert_str_eq(request_pool(GLOBAL, "10.50.0.0/24", NULL, p), GLOBAL "/10.50.0.0/24");
	/* The address range comes from SubPool. */
	ck_assert_str_eq(request_addr(id1, "", GW), "10.50.0.1/24");
	ck_assert_str_eq(request_addr(id1, "", NULL), "10.50.0.128/24");
	/* Anything overlapping, in either space, is refused, naming the pool and suggesting. */
	expect_err("/IpamDriver.RequestPool",
		   "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"10.50.0.0/16\"}",
		   "collides with pool 10.50.0.0/24 in use (" LOCAL
		   "), pool 10.50.0.0/24 in use (" GLOBAL ")");
	expect_err("/IpamDriver.RequestPool",
		   "{\"AddressSpace\":\"" GLOBAL "\",\"Pool\":\"10.50.0.128/25\"}",
		   "a free /25 is 10.0.0.0/25");
	/* Host bits are cleared, as Docker's own IPAM does (Go's net.ParseCIDR). */
	ck_assert_str_eq(request_pool(LOCAL, "10.50.0.7/24", "{\"SubPool\":\"10.50.0.130/25\"}", p),
			 id1);
	ck_assert_str_eq(p, "10.50.0.0/24");
	/* Dynamic choices skip explicit pools. */
	request_pool(LOCAL, "", "{\"Options\":{\"size\":\"16\"}}", p);
	ck_assert_str_eq(p, "10.0.0.0/16");
	request_pool(LOCAL, "", "{\"Options\":{\"size\":\"16\"}}", p);
	ck_assert_str_eq(p, "10.1.0.0/16");
	request_pool(GLOBAL, "10.60.0.0/16", NULL, p);
	request_pool(LOCAL, "", "{\"Options\":{\"size\":\"16\"}}", p);
	ck_assert_str_eq(p, "10.2.0.0/16");
}
END_TEST

START_TEST(test_local_global)
{
	char p[64], gid[128], lid[128];

	/* Leader's allocator picks a pool in the global space ... */
	snprintf(gid, sizeof(gid), "%s", request_pool(GLOBAL, "", NULL, p));
	ck_assert_str_eq(p, "10.0.0.0/24");
	ck_assert_str_eq(request_addr(gid, "",
				      "{\"RequestAddressType\":\"com.docker.network."
				      "gateway\",\"com.docker.network.ipam.serial\":"
				      "\"true\"}"),
			 "10.0.0.1/24");
	ck_assert_str_eq(request_addr(gid, "", SERIAL), "10.0.0.2/24");
	/* ... and this node's libnetwork builds its local copy with explicit values. */
	snprintf(lid, sizeof(lid), "%s", request_pool(LOCAL, "10.0.0.0/24", NULL, p));
	ck_assert_str_eq(lid, LOCAL "/10.0.0.0/24");
	ck_assert_str_eq(request_addr(lid, "10.0.0.1", GW), "10.0.0.1/24");
	ck_assert_str_eq(request_addr(lid, "10.0.0.2", NULL), "10.0.0.2/24");
	/* A new local network never gets the copy's subnet. */
	request_pool(LOCAL, "", NULL, p);
	ck_assert_str_eq(p, "10.0.1.0/24");
	/* Another network asking for that subnet is refused, naming the holder ... */
	expect_err("/IpamDriver.RequestPool",
		   "{\"AddressSpace\":\"" GLOBAL "\",\"Pool\":\"10.0.0.0/24\"}",
		   "subnet 10.0.0.0/24 is already used by another swarm network (pool " GLOBAL
		   "/10.0.0.0/24)");
	/* ... but a new leader's allocator (it calls GetCapabilities first) restoring from
	 * raft gets its explicit requests of known values, once. */
	json_decref(call("/IpamDriver.GetCapabilities", "", 200));
	ck_assert_str_eq(request_pool(GLOBAL, "10.0.0.0/24", NULL, p), gid);
	ck_assert_str_eq(request_addr(gid, "10.0.0.2", SERIAL), "10.0.0.2/24");
	/* Releases arrive in any order, per space. */
	release_addr(gid, "10.0.0.2");
	release_addr(gid, "10.0.0.1");
	release_pool(gid);
	ck_assert_str_eq(request_addr(lid, "", NULL), "10.0.0.3/24");
	release_addr(lid, "10.0.0.2");
	release_addr(lid, "10.0.0.1");
	release_pool(lid);
	expect_err("/IpamDriver.ReleasePool", "{\"PoolID\":\"" LOCAL "/10.0.0.0/24\"}",
		   "unknown PoolID");
}
END_TEST

START_TEST(test_addresses)
{
	char id[128];

	snprintf(id, sizeof(id), "%s", request_pool(LOCAL, "198.18.7.0/29", NULL, NULL));
	ck_assert_str_eq(request_addr(id, "", GW), "198.18.7.1/29");
	ck_assert_str_eq(request_addr(id, "", SERIAL), "198.18.7.2/29");
	ck_assert_str_eq(request_addr(id, "", SERIAL), "198.18.7.3/29");
	release_addr(id, "198.18.7.2");
	/* serial: continue after the last one; without: the lowest free. */
	ck_assert_str_eq(request_addr(id, "", SERIAL), "198.18.7.4/29");
	ck_assert_str_eq(request_addr(id, "", NULL), "198.18.7.2/29");
	ck_assert_str_eq(request_addr(id, "198.18.7.6", NULL), "198.18.7.6/29");
	ck_assert_str_eq(request_addr(id, "198.18.7.6", NULL), "198.18.7.6/29");
	ck_assert_str_eq(request_addr(id, "",
				      "{\"com.docker.network.endpoint.macaddress\":"
				      "\"02:42:ac:11:00:02\"}"),
			 "198.18.7.5/29");
	/* Exhausted (.0 and .7 are never handed out). */
	expect_err("/IpamDriver.RequestAddress",
		   "{\"PoolID\":\"" LOCAL "/198.18.7.0/29\",\"Address\":\"\"}",
		   "pool 198.18.7.0/29 has no free address left");
	expect_err("/IpamDriver.RequestAddress",
		   "{\"PoolID\":\"" LOCAL "/198.18.7.0/29\",\"Address\":\"198.18.7.7\"}",
		   "broadcast address");
	/* Releasing an address that is not held is not an error (replays, restarts). */
	release_addr(id, "198.18.7.5");
	release_addr(id, "198.18.7.5");
	ck_assert_str_eq(request_addr(id, "", NULL), "198.18.7.5/29");
	/* IPv6: CIDR with the pool's prefix. */
	snprintf(id, sizeof(id), "%s", request_pool(LOCAL, "fd00:77::/64", NULL, NULL));
	ck_assert_str_eq(request_addr(id, "", GW), "fd00:77::1/64");
	ck_assert_str_eq(request_addr(id, "fd00:77::abcd", NULL), "fd00:77::abcd/64");
	/* Explicit addresses do not move the serial cursor. */
	ck_assert_str_eq(request_addr(id, "", SERIAL), "fd00:77::2/64");
}
END_TEST

static const struct {
	const char *path, *body, *needle;
} errors[] = {
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":", "malformed JSON"},
	{"/IpamDriver.RequestPool", "[1,2]", "must be a JSON object"},
	{"/IpamDriver.RequestPool", "{\"Pool\":\"\"}", "AddressSpace: required"},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":5}",
	 "AddressSpace: expected a string, got number"},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":\"nope\"}",
	 "unknown AddressSpace \"nope\": accepted " LOCAL " and " GLOBAL},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":[]}",
	 "Pool: expected a string, got array"},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"Options\":\"x\"}",
	 "Options: expected an object, got string"},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"V6\":\"yes\"}", "V6"},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"10.0.0.0/33\"}",
	 "Pool 10.0.0.0/33: prefix length must be 0-32"},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"banana\"}",
	 "not an IP address"},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"10.0.0.0/31\"}",
	 "prefix length must be 1-30"},
	{"/IpamDriver.RequestPool",
	 "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"\",\"SubPool\":\"10.0.0.0/25\"}",
	 "SubPool 10.0.0.0/25 given without Pool"},
	{"/IpamDriver.RequestPool",
	 "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"10.0.0.0/24\",\"SubPool\":\"10.0.1.0/25\"}",
	 "SubPool 10.0.1.0/25 is not inside pool 10.0.0.0/24"},
	{"/IpamDriver.RequestPool",
	 "{\"AddressSpace\":\"" LOCAL "\",\"Options\":{\"colour\":\"blue\"}}",
	 "unknown IPAM option colour: the accepted option is size=N"},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"Options\":{\"size\":\"4\"}}",
	 "size=4: expected a whole number from 8 to 30"},
	{"/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"Options\":{\"size\":24}}",
	 "Options.size: expected a string, got number"},
	{"/IpamDriver.ReleasePool", "{}", "PoolID: required"},
	{"/IpamDriver.ReleasePool", "{\"PoolID\":\"nope\"}", "unknown PoolID \"nope\""},
	{"/IpamDriver.ReleasePool", "{\"PoolID\":7}", "PoolID: expected a string"},
	{"/IpamDriver.RequestAddress", "{\"PoolID\":\"" LOCAL "/10.9.9.0/24\",\"Address\":\"\"}",
	 "unknown PoolID \"" LOCAL "/10.9.9.0/24\""},
	{"/IpamDriver.RequestAddress", "{\"PoolID\":\"" LOCAL "/10.77.0.0/24\",\"Address\":\"x\"}",
	 "Address x: not an IP address"},
	{"/IpamDriver.RequestAddress",
	 "{\"PoolID\":\"" LOCAL "/10.77.0.0/24\",\"Address\":\"10.78.0.1\"}",
	 "address 10.78.0.1 is not inside pool 10.77.0.0/24"},
	{"/IpamDriver.RequestAddress",
	 "{\"PoolID\":\"" LOCAL "/10.77.0.0/24\",\"Address\":\"10.77.0.0\"}", "network address"},
	{"/IpamDriver.RequestAddress",
	 "{\"PoolID\":\"" LOCAL
	 "/10.77.0.0/24\",\"Options\":{\"com.docker.network.ipam.serial\":\"maybe\"}}",
	 "expected true or false"},
	{"/IpamDriver.RequestAddress", "{\"PoolID\":\"" LOCAL "/10.77.0.0/24\",\"Options\":[]}",
	 "Options: expected an object, got array"},
	{"/IpamDriver.ReleaseAddress", "{\"PoolID\":\"" LOCAL "/10.77.0.0/24\"}",
	 "Address: required"},
	{"/IpamDriver.ReleaseAddress",
	 "{\"PoolID\":\"" LOCAL "/10.77.0.0/24\",\"Address\":\"10.1.1.1\"}", "not inside pool"},
	{"/IpamDriver.ReleaseAddress", "{\"PoolID\":\"x\",\"Address\":\"10.1.1.1\"}",
	 "unknown PoolID"},
};

START_TEST(test_errors)
{
	/* A pool that the address cases refer to. */
	request_pool(LOCAL, "10.77.0.0/24", NULL, NULL);
	expect_err(errors[_i].path, errors[_i].body, errors[_i].needle);
}
END_TEST

START_TEST(test_http_errors)
{
	char *resp = NULL;
	const char get[] = "GET /IpamDriver.GetCapabilities HTTP/1.1\r\nHost: \r\n"
			   "Connection: close\r\n\r\n";

	ck_assert_int_eq(tl_http_post(pl.sock, "/IpamDriver.Nope", "{}", &resp), 404);
	ck_assert_ptr_nonnull(strstr(resp, "\"Err\""));
	free(resp);
	ck_assert_int_eq(tl_http_raw(pl.sock, get, sizeof(get) - 1, &resp), 405);
	free(resp);
	/* The plugin is still fine. */
	json_decref(call("/IpamDriver.GetCapabilities", NULL, 200));
}
END_TEST

/* Lines of the plugin's log containing needle; every line must be plain one-line text
 * and none may start with forged. */
static int log_count(const char *needle, const char *forged)
{
	char *data = NULL, *line, *save = NULL;
	size_t len;
	int n = 0;

	ck_assert_int_eq(atomic_file_read(pl.log, 1 << 24, &data, &len), 0);
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(escape_is_plain(line, strlen(line)), "log line: %s", line);
		ck_assert_msg(strncmp(line, forged, strlen(forged)) != 0, "forged: %s", line);
		if (strstr(line, needle))
			n++;
	}
	free(data);
	return n;
}

START_TEST(test_hostile_pool_id)
{
	const char *forged = "ipam-plugin: error: forged";
	const char *body = "{\"PoolID\":\"x\\nipam-plugin: error: forged line\"}";
	const char *raw_bad = "{\"PoolID\":\"\xff\\n\"}";
	char *resp = NULL;
	json_t *j;
	const char *e;

	ck_assert_int_eq(tl_http_post(pl.sock, "/IpamDriver.ReleasePool", body, &resp), 500);
	j = json_loads(resp, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", resp);
	e = json_string_value(json_object_get(j, "Err"));
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(strstr(e, "unknown PoolID \"x\\nipam-plugin: error: forged line\""));
	json_decref(j);
	free(resp);
	ck_assert_int_eq(log_count("unknown PoolID \"x\\nipam-plugin", forged), 1);
	/* Not UTF-8 at all: still one JSON reply. */
	ck_assert_int_eq(tl_http_post(pl.sock, "/IpamDriver.ReleasePool", raw_bad, &resp), 500);
	j = json_loads(resp, 0, NULL);
	ck_assert_msg(json_is_string(json_object_get(j, "Err")), "reply: %s", resp);
	json_decref(j);
	free(resp);
	ck_assert_int_eq(log_count("malformed JSON", forged), 1);
	json_decref(call("/IpamDriver.GetCapabilities", NULL, 200));
}
END_TEST

START_TEST(test_exhausted_pools)
{
	char *env[] = {"POOLS=198.18.0.0/22:24", "POOLS6=none", NULL};
	char p[64];

	teardown();
	setup_env(env);
	for (int i = 0; i < 4; i++) {
		char want[32];

		snprintf(want, sizeof(want), "198.18.%d.0/24", i);
		request_pool(i % 2 ? GLOBAL : LOCAL, "", NULL, p);
		if (isolated)
			ck_assert_str_eq(p, want);
	}
	expect_err("/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"\"}",
		   "no free subnet left in 198.18.0.0/22 (/24)");
	expect_err("/IpamDriver.RequestPool",
		   "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"\",\"V6\":true}",
		   "no candidate ranges configured for IPv6 (POOLS6)");
	/* An explicit pool outside the candidate ranges is fine. */
	request_pool(LOCAL, "10.99.0.0/24", NULL, p);
}
END_TEST

START_TEST(test_restart_reload)
{
	char gid[128], lid[128], v6[128], p[64];

	snprintf(gid, sizeof(gid), "%s", request_pool(GLOBAL, "", NULL, p));
	snprintf(lid, sizeof(lid), "%s",
		 request_pool(LOCAL, "10.0.0.0/24", "{\"SubPool\":\"10.0.0.64/26\"}", p));
	snprintf(v6, sizeof(v6), "%s", request_pool(LOCAL, "fd00:9::/64", NULL, p));
	ck_assert_str_eq(request_addr(gid, "", GW), "10.0.0.1/24");
	ck_assert_str_eq(request_addr(gid, "", SERIAL), "10.0.0.2/24");
	ck_assert_str_eq(request_addr(gid, "", SERIAL), "10.0.0.3/24");
	release_addr(gid, "10.0.0.2");
	ck_assert_str_eq(request_addr(lid, "", NULL), "10.0.0.64/24");
	ck_assert_str_eq(request_addr(v6, "", SERIAL), "fd00:9::1/64");
	plugin_stop(&pl);
	plugin_start_env(&pl, test_env);
	/* Same PoolIDs, same addresses held, serial continues after the last one. */
	ck_assert_str_eq(request_addr(gid, "", SERIAL), "10.0.0.4/24");
	ck_assert_str_eq(request_addr(gid, "", NULL), "10.0.0.2/24");
	ck_assert_str_eq(request_addr(lid, "", NULL), "10.0.0.65/24");
	ck_assert_str_eq(request_addr(v6, "", SERIAL), "fd00:9::2/64");
	ck_assert_str_eq(request_pool(LOCAL, "10.0.0.0/24", "{\"SubPool\":\"10.0.0.64/26\"}", p),
			 lid);
	request_pool(GLOBAL, "", NULL, p);
	ck_assert_str_eq(p, "10.0.1.0/24");
	release_pool(gid);
	/* A release survives a restart too. */
	plugin_stop(&pl);
	plugin_start_env(&pl, test_env);
	expect_err("/IpamDriver.RequestAddress", "{\"PoolID\":\"" GLOBAL "/10.0.0.0/24\"}",
		   "unknown PoolID");
	request_pool(GLOBAL, "", "{\"Options\":{\"size\":\"25\"}}", p);
	ck_assert_str_eq(p, "10.0.2.0/25");
}
END_TEST

/* ---- concurrency ------------------------------------------------------------------- */

#define THREADS 8
#define ROUNDS 12

struct worker {
	int n;
	char pools[ROUNDS][64];
	char addrs[ROUNDS][2][64];
	char failure[256];
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < ROUNDS; i++) {
		const char *space = (w->n + i) % 2 ? GLOBAL : LOCAL;
		char body[256], *resp = NULL;
		const char *id;
		json_t *j;
		int st;

		snprintf(body, sizeof(body), "{\"AddressSpace\":\"%s\",\"Pool\":\"\"}", space);
		j = tl_call(pl.sock, "/IpamDriver.RequestPool", body, &st);
		id = json_string_value(json_object_get(j, "PoolID"));
		if (st != 200 || !id) {
			snprintf(w->failure, sizeof(w->failure), "RequestPool: %d", st);
			json_decref(j);
			return NULL;
		}
		snprintf(w->pools[i], 64, "%s", json_string_value(json_object_get(j, "Pool")));
		for (int k = 0; k < 2; k++) {
			json_t *a;

			snprintf(body, sizeof(body),
				 "{\"PoolID\":\"%s\",\"Address\":\"\",\"Options\":%s}", id,
				 k ? "null" : GW);
			a = tl_call(pl.sock, "/IpamDriver.RequestAddress", body, &st);
			if (st != 200) {
				snprintf(w->failure, sizeof(w->failure), "RequestAddress: %d", st);
				json_decref(a);
				json_decref(j);
				return NULL;
			}
			snprintf(w->addrs[i][k], 64, "%s",
				 json_string_value(json_object_get(a, "Address")));
			json_decref(a);
		}
		json_decref(j);
		free(resp);
	}
	return NULL;
}

START_TEST(test_concurrency)
{
	static struct worker w[THREADS];
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].n = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		ck_assert_msg(!w[i].failure[0], "worker %d: %s", i, w[i].failure);
		for (int r = 0; r < ROUNDS; r++) {
			char net[64];

			/* Each network got .1 (gateway) and .2 of its own pool. */
			snprintf(net, sizeof(net), "%s", w[i].pools[r]);
			*strrchr(net, '.') = '\0';
			ck_assert_msg(strncmp(w[i].addrs[r][0], net, strlen(net)) == 0 &&
					      strstr(w[i].addrs[r][0], ".1/24"),
				      "%s in %s", w[i].addrs[r][0], w[i].pools[r]);
			ck_assert(strstr(w[i].addrs[r][1], ".2/24"));
			for (int j = 0; j < THREADS; j++)
				for (int s = 0; s < ROUNDS; s++)
					ck_assert_msg((i == j && r == s) ||
							      strcmp(w[i].pools[r], w[j].pools[s]),
						      "pool %s handed out twice", w[i].pools[r]);
		}
	}
}
END_TEST

/* Read one response (headers + Content-Length body) from a kept-alive connection. */
static int read_one(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	int status = -1;

	for (;;) {
		char *end = NULL, *cl;
		ssize_t n;

		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end && (cl = strcasestr(buf, "Content-Length:")) && cl < end &&
		    len >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
			break;
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

START_TEST(test_keepalive)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *req = "POST /IpamDriver.GetCapabilities HTTP/1.1\r\nHost: \r\n"
			  "User-Agent: Go-http-client/1.1\r\nContent-Length: 0\r\n"
			  "Accept: application/vnd.docker.plugins.v1.2+json\r\n\r\n";
	const char *body = "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"\"}\n";
	char buf[4096], req2[512];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	ck_assert_uint_lt(strlen(pl.sock), sizeof(sun.sun_path));
	memcpy(sun.sun_path, pl.sock, strlen(pl.sock) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(req2, sizeof(req2),
		 "POST /IpamDriver.RequestPool HTTP/1.1\r\nHost: \r\nContent-Length: %zu\r\n\r\n%s",
		 strlen(body), body);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
		ck_assert_int_eq(read_one(fd, buf, sizeof(buf)), 200);
		ck_assert_ptr_nonnull(strstr(buf, "RequiresRequestReplay"));
		ck_assert_int_eq(send(fd, req2, strlen(req2), MSG_NOSIGNAL), (ssize_t)strlen(req2));
		ck_assert_int_eq(read_one(fd, buf, sizeof(buf)), 200);
		ck_assert_ptr_nonnull(strstr(buf, "\"PoolID\""));
	}
	close(fd);
}
END_TEST

/* ---- start-up and CLI -------------------------------------------------------------- */

static bool log_contains(const char *needle)
{
	char *data = NULL;
	size_t len;
	bool found;

	if (atomic_file_read(pl.log, 1 << 24, &data, &len) < 0)
		return false;
	found = strstr(data, needle) != NULL;
	free(data);
	return found;
}

START_TEST(test_bad_settings)
{
	char *env[] = {"POOLS=10.0.0.0/8:40", NULL};

	/*
	 * A bad setting does not stop the plugin (Docker would only say that the socket
	 * never appeared): it serves and answers every request with the reason and the fix.
	 */
	plugin_stop(&pl);
	plugin_start_env(&pl, env);
	json_decref(call("/Plugin.Activate", "", 200));
	json_decref(call("/IpamDriver.GetDefaultAddressSpaces", "", 200));
	expect_err("/IpamDriver.RequestPool", "{\"AddressSpace\":\"" GLOBAL "\",\"Pool\":\"\"}",
		   "invalid setting POOLS size of 10.0.0.0/8=40: expected a whole number from 8 "
		   "to 30");
	expect_err("/IpamDriver.RequestPool", "{\"AddressSpace\":\"" LOCAL "\",\"Pool\":\"\"}",
		   "docker plugin set");
	ck_assert(log_contains("invalid setting POOLS size of 10.0.0.0/8=40"));
}
END_TEST

/* Preflight.Ipam (scripts/preflight.sh): facts and PROBLEM lines, Ok only when all is well. */
START_TEST(test_preflight)
{
	char p[64];
	json_t *j;
	const char *rep;

	request_pool(GLOBAL, "", NULL, p); /* 10.0.0.0/24 */
	j = call("/Preflight.Ipam",
		 "{\"Subnets\":[\"10.0.0.0/24\",\"10.0.9.0/24\"],"
		 "\"DefaultAddrPools\":[\"10.0.0.0/8\"]}",
		 200);
	ck_assert(json_is_false(json_object_get(j, "Ok")));
	rep = str(j, "Report");
	ck_assert_msg(strstr(rep, "PROBLEM: POOLS range 10.0.0.0/8 holds the bottom of the "
				  "swarm's default address pool 10.0.0.0/8"),
		      "%s", rep);
	ck_assert_msg(strstr(rep, "PROBLEM: subnet 10.0.0.0/24 collides with pool 10.0.0.0/24"),
		      "%s", rep);
	ck_assert_msg(strstr(rep, "subnet 10.0.9.0/24 is free"), "%s", rep);
	ck_assert_msg(strstr(rep, "a new swarm network would get 10.0.1.0/24 now"), "%s", rep);
	json_decref(j);
	/* A clean node: a free subnet and a default pool that POOLS does not start in. */
	j = call("/Preflight.Ipam",
		 "{\"Subnets\":[\"10.0.9.0/24\"],\"DefaultAddrPools\":[\"172.30.0.0/16\"]}", 200);
	ck_assert_msg(json_is_true(json_object_get(j, "Ok")), "%s", str(j, "Report"));
	json_decref(j);
	expect_err("/Preflight.Ipam", "{\"Subnets\":\"10.0.0.0/24\"}", "expected {");
}
END_TEST

START_TEST(test_logs_decisions)
{
	char p[64];

	request_pool(LOCAL, "10.0.0.0/24", NULL, p);
	request_pool(GLOBAL, "", NULL, p);
	ck_assert(log_contains("settings: POOLS=10.0.0.0/8:24"));
	ck_assert(log_contains("pool: skip 10.0.0.0/24: overlaps pool 10.0.0.0/24 in use (" LOCAL
			       ")"));
	ck_assert(log_contains("pool: chose 10.0.1.0/24 in " GLOBAL));
}
END_TEST

/* Run the CLI; stdout+stderr to a file. Returns the exit code. */
static int cli(const char *out, char *const argv[], char *const env[])
{
	int st = 0;
	pid_t pid;

	unlink(out);
	pid = tl_spawn(argv, env, out);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static bool file_has(const char *path, const char *needle)
{
	char *data = NULL;
	size_t len;
	bool found;

	if (atomic_file_read(path, 1 << 24, &data, &len) < 0)
		return false;
	found = strstr(data, needle) != NULL;
	if (!found)
		fprintf(stderr, "--- %s:\n%s---\n", path, data);
	free(data);
	return found;
}

START_TEST(test_cli)
{
	char out[300], p[64];
	char *env[] = {"POOLS=10.0.0.0/8:24", "EXCLUDE=10.0.2.0/24", NULL};
#define R "--resolv-conf", pl.resolv
	char *check_used[] = {(char *)plugin_bin, "check", "10.0.0.0/16", "--state-dir",
			      pl.state,		  R,	   NULL};
	char *check_free[] = {
		(char *)plugin_bin, "check", "10.201.0.0/16", "--state-dir", pl.state, R, NULL};
	char *check_dns[] = {
		(char *)plugin_bin, "check", "10.250.0.0/24", "--state-dir", pl.state, R, NULL};
	char *check_bad[] = {(char *)plugin_bin, "check", "10.200.0.1/16", NULL};
	char *suggest[] = {(char *)plugin_bin, "suggest", "--state-dir", pl.state, R, NULL};
	char *suggest26[] = {(char *)plugin_bin, "suggest", "--size", "26",
			     "--state-dir",	 pl.state,  R,	      NULL};
	char *suggest_bad[] = {(char *)plugin_bin, "suggest", "--size", "3",
			       "--state-dir",	   pl.state,  R,	NULL};
#undef R
	char *usage[] = {(char *)plugin_bin, "frobnicate", NULL};

	snprintf(out, sizeof(out), "%s/cli.out", pl.dir);
	request_pool(GLOBAL, "", NULL, p);
	request_pool(LOCAL, "", NULL, p);
	ck_assert_int_eq(cli(out, check_used, env), 1);
	ck_assert(file_has(out, "10.0.0.0/16 collides with 3 networks:"));
	ck_assert(file_has(out, "  excluded range 10.0.2.0/24 (EXCLUDE)"));
	ck_assert(file_has(out, "  pool 10.0.0.0/24 in use (" GLOBAL ")"));
	ck_assert(file_has(out, "suggestion: 10.1.0.0/16"));
	ck_assert_int_eq(cli(out, check_free, env), 0);
	ck_assert(file_has(out, "10.201.0.0/16 is free"));
	ck_assert_int_eq(cli(out, check_dns, env), 1);
	ck_assert(file_has(out, "  nameserver 10.250.0.53 (resolv.conf)"));
	ck_assert(file_has(out, "suggestion: 10.0.3.0/24"));
	ck_assert_int_eq(cli(out, check_bad, env), 2);
	ck_assert(file_has(out, "host bits set"));
	ck_assert_int_eq(cli(out, suggest, env), 0);
	if (isolated) {
		ck_assert(file_has(out, "skip 10.0.0.0/24 to 10.0.2.0/24 (3 subnets)"));
		ck_assert(file_has(out, "\n10.0.3.0/24\n"));
	}
	ck_assert_int_eq(cli(out, suggest26, env), 0);
	if (isolated)
		ck_assert(file_has(out, "10.0.3.0/26"));
	ck_assert_int_eq(cli(out, suggest_bad, env), 2);
	ck_assert(file_has(out, "size=3: expected a whole number from 8 to 30"));
	ck_assert_int_eq(cli(out, usage, env), 2);
	ck_assert(file_has(out, "usage: ipam-plugin"));
}
END_TEST

/* The test case, its fixture and its tests (tl_run_tcase takes it). */
static TCase *api_tcase(void)
{
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_handshake);
	tcase_add_test(tc, test_dynamic_pools);
	tcase_add_test(tc, test_explicit_pools);
	tcase_add_test(tc, test_local_global);
	tcase_add_test(tc, test_addresses);
	tcase_add_loop_test(tc, test_errors, 0, sizeof(errors) / sizeof(errors[0]));
	tcase_add_test(tc, test_http_errors);
	tcase_add_test(tc, test_hostile_pool_id);
	tcase_add_test(tc, test_exhausted_pools);
	tcase_add_test(tc, test_restart_reload);
	tcase_add_test(tc, test_concurrency);
	tcase_add_test(tc, test_keepalive);
	tcase_add_test(tc, test_bad_settings);
	tcase_add_test(tc, test_logs_decisions);
	tcase_add_test(tc, test_preflight);
	tcase_add_test(tc, test_cli);
	return tc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/ipam-plugin\n", argv[0]);
		return 2;
	}
	plugin_bin = argv[1];
	/* An empty network namespace of our own makes every choice predictable. */
	isolated = unshare(CLONE_NEWNET) == 0;
	if (!isolated)
		fprintf(stderr,
			"note: not root, running in the current network namespace; exact "
			"subnet choices are asserted only where the host cannot interfere\n");
	return tl_run_tcase("ipam_api", api_tcase());
}
