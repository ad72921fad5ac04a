// SPDX-License-Identifier: MIT
/*
 * IPAM plugin decoders; the first byte picks one:
 *   0  netlink: the bytes as one RTM_NEWLINK/NEWADDR/NEWROUTE message (its length field
 *      set to the input's), fed to the three parse functions netlink.c applies to a dump
 *   1  settings: one KEY=VALUE per line for settings_parse
 *   2  state: a pool file for state_decode_pool; a pool that decodes re-encodes to a file
 *      that decodes to the same pool (id, network, range, allocated addresses)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <linux/rtnetlink.h>

#include "fuzz_util.h"
#include "netlink.h"
#include "pool_allocator.h"
#include "settings.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void netlink_case(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE};
	struct nlmsghdr *nlh;
	struct hostnet h;
	char name[64];
	int idx;

	if (size < sizeof(*nlh) || size > 65536)
		return;
	/* A message in a receive buffer is followed by its padding (libmnl reads up to
	 * MNL_ALIGN(nlmsg_len)), so the copy has it too. */
	nlh = calloc(1, (size + 3) & ~(size_t)3);
	if (!nlh)
		return;
	memcpy(nlh, data, size);
	nlh->nlmsg_len = (uint32_t)size;
	/* Mostly the types the parsers expect, sometimes anything. */
	if (nlh->nlmsg_flags & 0x8000u)
		nlh->nlmsg_type = types[nlh->nlmsg_seq % 3];
	(void)netlink_parse_link(nlh, &idx, name, sizeof(name));
	memset(&h, 0, sizeof(h));
	(void)netlink_parse_addr(nlh, &h, &idx);
	memset(&h, 0, sizeof(h));
	(void)netlink_parse_route(nlh, &h, &idx);
	free(nlh);
}

static void settings_case(const char *text)
{
	char *copy = strdup(text), *env[64], err[2048], buf[16384];
	struct settings s;

	if (!copy)
		return;
	fuzz_env_lines(copy, env, 63);
	if (settings_parse(env, &s, err, sizeof(err)) == 0)
		settings_format(&s, buf, sizeof(buf));
	free(copy);
}

static void state_case(const char *text, size_t len)
{
	struct pa_allocator a, b;
	struct pa_pool *p = NULL, *q = NULL;
	char err[2048];
	json_t *j, *again;

	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return;
	pa_init(&a, "openmpf-local", "openmpf-global");
	pa_init(&b, "openmpf-local", "openmpf-global");
	if (state_decode_pool(&a, j, &p, err, sizeof(err)) == 0) {
		again = state_encode_pool(p);
		fuzz_must(again != NULL, "encode", NULL);
		fuzz_must(state_decode_pool(&b, again, &q, err, sizeof(err)) == 0, "re-decode",
			  NULL);
		fuzz_must(strcmp(p->id, q->id) == 0 && p->space == q->space &&
				  cidr_equal(&p->net, &q->net) && p->has_range == q->has_range &&
				  cidr_equal(&p->range, &q->range) && p->set.count == q->set.count,
			  "pool changed in a round trip", NULL);
		json_decref(again);
	}
	pa_fini(&a);
	pa_fini(&b);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	if (data[0] % 3 == 0) {
		netlink_case(data + 1, size - 1);
		return 0;
	}
	text = fuzz_text(data + 1, size - 1);
	if (!text)
		return 0;
	if (data[0] % 3 == 1)
		settings_case(text);
	else
		state_case(text, size - 1);
	free(text);
	return 0;
}
