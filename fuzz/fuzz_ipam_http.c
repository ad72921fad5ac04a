// SPDX-License-Identifier: MIT
/*
 * IPAM plugin request path: the handler table ipam main.c serves (ipam_routes over a
 * struct ipam_api on a pools_init'ed struct pools) through the real http_server, with a fixed view of host
 * networks. Invariants: one well-formed JSON reply per request, and no two pools of one
 * address space overlap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_http_client.h"
#include "http_server.h"
#include "ipam_api.h"
#include "log.h"
#include "settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char sock[108];
static struct pools ps;
static struct ipam_api api = {.pools = &ps};
static struct http_server *srv; /* kept: lives until the process exits */
static const char *paths[] = {
	"/Plugin.Activate",
	"/IpamDriver.GetCapabilities",
	"/IpamDriver.GetDefaultAddressSpaces",
	"/IpamDriver.RequestPool",
	"/IpamDriver.ReleasePool",
	"/IpamDriver.RequestAddress",
	"/IpamDriver.ReleaseAddress",
	"/Preflight.Ipam",
};

/* This "host": one address and one route, so decisions have something to avoid. */
static int hostnets(void *arg, bool global, struct hostnet_list *out, char *err, size_t errlen)
{
	struct hostnet h = {.kind = HOSTNET_ADDR, .table = 254};

	(void)arg;
	(void)global;
	if (cidr_parse("10.0.0.0/24", 0, &h.net, err, errlen) < 0 ||
	    cidr_parse("10.0.0.5/24", 0, &h.addr, err, errlen) < 0)
		return -EINVAL;
	snprintf(h.dev, sizeof(h.dev), "eth0");
	return hostnet_list_add(out, &h);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/fuzz-ipam.XXXXXX";
	static struct settings cfg;
	char err[1024];
	char *env[] = {"POOLS=10.0.0.0/8:24,172.16.0.0/12:16", "POOLS6=fd00::/8:64",
		       "EXCLUDE=", NULL};

	(void)argc;
	(void)argv;
	log_init("fuzz", LOG_LEVEL_ERROR);
	json_object_seed(1);
	if (!mkdtemp(dir))
		abort();
	fuzz_remove_at_exit(dir);
	snprintf(sock, sizeof(sock), "%s/i.sock", dir);
	if (settings_parse(env, &cfg, err, sizeof(err)) < 0 ||
	    pools_init(&ps, &cfg, NULL, err, sizeof(err)) < 0 ||
	    !(ps.hostnets = hostnets) ||
	    !(srv = http_server_start(sock, ipam_routes, ipam_nroutes, &api, err, sizeof(err)))) {
		fprintf(stderr, "fuzz_ipam_http: setup: %s\n", err);
		abort();
	}
	return 0;
}

static void check_no_overlap(void)
{
	pthread_mutex_lock(&ps.lock);
	for (size_t i = 0; i < ps.alloc.n; i++) {
		for (size_t k = i + 1; k < ps.alloc.n; k++) {
			const struct pa_pool *a = ps.alloc.pools[i], *b = ps.alloc.pools[k];

			if (a->space == b->space && cidr_overlaps(&a->net, &b->net)) {
				fprintf(stderr, "fuzz: pools %s and %s overlap\n", a->id, b->id);
				abort();
			}
		}
	}
	pthread_mutex_unlock(&ps.lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char url[512];
	size_t used;

	fuzz_pick_url(data, size, paths, sizeof(paths) / sizeof(paths[0]), url, sizeof(url), &used);
	fuzz_post_and_check(sock, url, data + used, size - used);
	check_no_overlap();
	return 0;
}
