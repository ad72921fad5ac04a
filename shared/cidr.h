/* SPDX-License-Identifier: MIT */
/*
 * cidr: IPv4 and IPv6 prefix math. Pure value code: no allocation, no I/O.
 * An address is a struct cidr with prefix 32 or 128. Arithmetic is done on 128-bit
 * unsigned integers; IPv4 uses the low 32 bits.
 */
#ifndef SHARED_CIDR_H
#define SHARED_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 cidr_u128;

struct cidr {
	int family;	     /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network byte order; IPv4 uses the first 4 bytes */
	unsigned int prefix; /* 0-32 or 0-128 */
};

/* Longest text cidr_format can write, with the terminating NUL. */
#define CIDR_STRLEN 50

enum cidr_parse_flags {
	CIDR_PARSE_STRICT = 1,	   /* refuse host bits set ("10.0.0.1/24") */
	CIDR_PARSE_ALLOW_BARE = 2, /* accept "10.0.0.1" as /32 (/128) */
};

/*
 * Parse "a.b.c.d/n" or "x::y/n". Without CIDR_PARSE_STRICT host bits are kept (use
 * cidr_network to clear them). Returns 0 or -EINVAL with a message in err naming the
 * text and what is accepted.
 */
int cidr_parse(const char *text, int flags, struct cidr *out, char *err, size_t errlen);

/* "10.0.0.0/24" into buf (at least CIDR_STRLEN). Returns buf. */
char *cidr_format(const struct cidr *c, char *buf, size_t len);
/* The address part only: "10.0.0.1". Returns buf. */
char *cidr_format_addr(const struct cidr *c, char *buf, size_t len);

/* 32 or 128. */
unsigned int cidr_max_prefix(const struct cidr *c);
/* The network: host bits cleared. */
struct cidr cidr_network(const struct cidr *c);
/* Last address of the prefix (all host bits set), prefix kept. */
struct cidr cidr_last(const struct cidr *c);
bool cidr_equal(const struct cidr *a, const struct cidr *b);
/* Same family and the prefixes share at least one address. */
bool cidr_overlaps(const struct cidr *a, const struct cidr *b);
/* Same family and every address of inner is in outer. */
bool cidr_contains(const struct cidr *outer, const struct cidr *inner);

/* Address as an integer (IPv4 in the low 32 bits), and back (prefix kept from like). */
cidr_u128 cidr_to_u128(const struct cidr *c);
struct cidr cidr_from_u128(int family, cidr_u128 value, unsigned int prefix);
/* Number of addresses in the prefix (2^(max-prefix)); saturates at UINT128 max for ::/0. */
cidr_u128 cidr_size(const struct cidr *c);

/*
 * The next prefix of the same length after c. Returns false when c is the last one of
 * its family (no wrap-around).
 */
bool cidr_next(const struct cidr *c, struct cidr *out);

/* Compare for sorting: family, then address, then prefix length. */
int cidr_cmp(const struct cidr *a, const struct cidr *b);

#endif
