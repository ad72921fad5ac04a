// SPDX-License-Identifier: MIT
/*
 * cidr: prefix math for IPv4 and IPv6 on 128-bit integers. inet_pton/inet_ntop do the
 * text work, so every form they accept ("::ffff:1.2.3.4", compressed zeros) works here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

unsigned int cidr_max_prefix(const struct cidr *c)
{
	return c->family == AF_INET6 ? 128 : 32;
}

cidr_u128 cidr_to_u128(const struct cidr *c)
{
	cidr_u128 v = 0;
	unsigned int n = c->family == AF_INET6 ? 16 : 4;

	for (unsigned int i = 0; i < n; i++)
		v = (v << 8) | c->addr[i];
	return v;
}

struct cidr cidr_from_u128(int family, cidr_u128 value, unsigned int prefix)
{
	struct cidr c = {.family = family, .prefix = prefix};
	unsigned int n = family == AF_INET6 ? 16 : 4;

	for (unsigned int i = n; i-- > 0;) {
		c.addr[i] = (uint8_t)(value & 0xff);
		value >>= 8;
	}
	return c;
}

/* Mask of the host bits for a prefix length within a family of max bits. */
static cidr_u128 host_mask(unsigned int max, unsigned int prefix)
{
	unsigned int host = max - prefix;

	if (host >= 128)
		return ~(cidr_u128)0;
	return ((cidr_u128)1 << host) - 1;
}

struct cidr cidr_network(const struct cidr *c)
{
	cidr_u128 v = cidr_to_u128(c) & ~host_mask(cidr_max_prefix(c), c->prefix);

	if (c->family == AF_INET)
		v &= 0xffffffffu;
	return cidr_from_u128(c->family, v, c->prefix);
}

struct cidr cidr_last(const struct cidr *c)
{
	cidr_u128 v = cidr_to_u128(c) | host_mask(cidr_max_prefix(c), c->prefix);

	if (c->family == AF_INET)
		v &= 0xffffffffu;
	return cidr_from_u128(c->family, v, c->prefix);
}

cidr_u128 cidr_size(const struct cidr *c)
{
	unsigned int host = cidr_max_prefix(c) - c->prefix;

	if (host >= 128)
		return ~(cidr_u128)0;
	return (cidr_u128)1 << host;
}

int cidr_parse(const char *text, int flags, struct cidr *out, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	char *end = NULL;
	unsigned long prefix;
	struct cidr c = {0};
	size_t alen;

	if (!text || !*text) {
		snprintf(err, errlen,
			 "empty address: expected CIDR such as 10.1.0.0/24 or fd00::/64");
		return -EINVAL;
	}
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(buf))
		goto bad_address;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, c.addr) == 1)
		c.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, c.addr) == 1)
		c.family = AF_INET6;
	else
		goto bad_address;

	if (!slash) {
		if (!(flags & CIDR_PARSE_ALLOW_BARE)) {
			snprintf(err, errlen,
				 "%s: prefix length missing: expected CIDR such as "
				 "10.1.0.0/24 or fd00::/64",
				 text);
			return -EINVAL;
		}
		c.prefix = cidr_max_prefix(&c);
	} else {
		errno = 0;
		if (slash[1] < '0' || slash[1] > '9')
			goto bad_prefix;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || *end || prefix > cidr_max_prefix(&c))
			goto bad_prefix;
		c.prefix = (unsigned int)prefix;
	}
	if ((flags & CIDR_PARSE_STRICT)) {
		struct cidr net = cidr_network(&c);
		char nbuf[CIDR_STRLEN];

		if (!cidr_equal(&net, &c)) {
			snprintf(err, errlen, "%s: host bits set: the network is %s", text,
				 cidr_format(&net, nbuf, sizeof(nbuf)));
			return -EINVAL;
		}
	}
	*out = c;
	return 0;
bad_address:
	snprintf(err, errlen,
		 "%s: not an IP address: expected CIDR such as 10.1.0.0/24 or fd00::/64", text);
	return -EINVAL;
bad_prefix:
	snprintf(err, errlen, "%s: prefix length must be 0-%u", text, cidr_max_prefix(&c));
	return -EINVAL;
}

char *cidr_format_addr(const struct cidr *c, char *buf, size_t len)
{
	if (!inet_ntop(c->family == AF_INET6 ? AF_INET6 : AF_INET, c->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

char *cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	cidr_format_addr(c, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->prefix);
	return buf;
}

bool cidr_equal(const struct cidr *a, const struct cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

bool cidr_contains(const struct cidr *outer, const struct cidr *inner)
{
	struct cidr o, i;

	if (outer->family != inner->family || inner->prefix < outer->prefix)
		return false;
	o = cidr_network(outer);
	i = *inner;
	i.prefix = outer->prefix;
	i = cidr_network(&i);
	return memcmp(o.addr, i.addr, sizeof(o.addr)) == 0;
}

bool cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
	if (a->family != b->family)
		return false;
	/* Two prefixes overlap exactly when the shorter one contains the longer one. */
	return a->prefix <= b->prefix ? cidr_contains(a, b) : cidr_contains(b, a);
}

bool cidr_next(const struct cidr *c, struct cidr *out)
{
	struct cidr net = cidr_network(c);
	cidr_u128 step = cidr_size(&net);
	cidr_u128 base = cidr_to_u128(&net);
	cidr_u128 top = c->family == AF_INET6 ? ~(cidr_u128)0 : 0xffffffffu;

	if (net.prefix == 0 || top - base < step)
		return false;
	*out = cidr_from_u128(c->family, base + step, c->prefix);
	return true;
}

int cidr_cmp(const struct cidr *a, const struct cidr *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (r)
		return r < 0 ? -1 : 1;
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return 0;
}
