// SPDX-License-Identifier: MIT
/*
 * pool_allocator: subnet choice, collision checks and address allocation. See the header
 * for the data structures and their costs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pool_allocator.h"

/* Pools with more addresses than this use the sparse set (2^20 bits = 128 KiB). */
#define DENSE_MAX ((cidr_u128)1 << 20)
/* A sparse pool loaded from state may hold at most this many addresses. */
#define SPARSE_MAX ((size_t)1 << 24)

/* ---- reasons ---------------------------------------------------------------------- */

void pa_reasons_fini(struct pa_reasons *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->line[i]);
	free(r->line);
	memset(r, 0, sizeof(*r));
}

void pa_reasons_add(struct pa_reasons *r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (!r)
		return;
	if (r->n >= PA_REASONS_MAX) {
		r->dropped++;
		return;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		char **v = reallocarray(r->line, cap, sizeof(*v));

		if (!v) {
			r->dropped++;
			return;
		}
		r->line = v;
		r->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		r->dropped++;
		return;
	}
	r->line[r->n++] = s;
}

char *pa_u128_format(cidr_u128 v, char *buf, size_t len)
{
	char tmp[48];
	size_t i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v && i > 0);
	snprintf(buf, len, "%s", tmp + i);
	return buf;
}

/* ---- address sets ------------------------------------------------------------------ */

static int set_init(struct pa_addrset *s, cidr_u128 size)
{
	memset(s, 0, sizeof(*s));
	s->size = size;
	if (size > DENSE_MAX)
		return 0;
	s->nwords = (size_t)((size + 63) / 64);
	s->nfull = (s->nwords + 63) / 64;
	s->bits = calloc(s->nwords, sizeof(*s->bits));
	s->full = calloc(s->nfull, sizeof(*s->full));
	if (!s->bits || !s->full) {
		free(s->bits);
		free(s->full);
		s->bits = s->full = NULL;
		return -ENOMEM;
	}
	/* Padding bits count as allocated so that "full" works on the last word. */
	if (size % 64)
		s->bits[s->nwords - 1] = ~0ULL << (size % 64);
	if (s->nwords % 64)
		s->full[s->nfull - 1] = ~0ULL << (s->nwords % 64);
	return 0;
}

static void set_fini(struct pa_addrset *s)
{
	free(s->bits);
	free(s->full);
	free(s->offs);
	memset(s, 0, sizeof(*s));
}

/* First index i with offs[i] >= off. */
static size_t sparse_lower(const struct pa_addrset *s, cidr_u128 off)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->offs[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool set_test(const struct pa_addrset *s, cidr_u128 off)
{
	size_t i;

	if (off >= s->size)
		return false;
	if (s->bits)
		return (s->bits[off / 64] >> (off % 64)) & 1;
	i = sparse_lower(s, off);
	return i < s->n && s->offs[i] == off;
}

/* Mark off (known to be free). */
static int set_add(struct pa_addrset *s, cidr_u128 off)
{
	size_t i;

	if (s->bits) {
		size_t w = (size_t)(off / 64);

		s->bits[w] |= 1ULL << (off % 64);
		if (s->bits[w] == ~0ULL)
			s->full[w / 64] |= 1ULL << (w % 64);
		s->count++;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		cidr_u128 *v = reallocarray(s->offs, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->offs = v;
		s->cap = cap;
	}
	/* Serial allocation appends, so the common case moves nothing. */
	i = (s->n && s->offs[s->n - 1] < off) ? s->n : sparse_lower(s, off);
	memmove(s->offs + i + 1, s->offs + i, (s->n - i) * sizeof(*s->offs));
	s->offs[i] = off;
	s->n++;
	s->count++;
	return 0;
}

/* Clear off (known to be allocated). */
static void set_del(struct pa_addrset *s, cidr_u128 off)
{
	size_t i;

	if (s->bits) {
		size_t w = (size_t)(off / 64);

		s->bits[w] &= ~(1ULL << (off % 64));
		s->full[w / 64] &= ~(1ULL << (w % 64));
		s->count--;
		return;
	}
	i = sparse_lower(s, off);
	memmove(s->offs + i, s->offs + i + 1, (s->n - i - 1) * sizeof(*s->offs));
	s->n--;
	s->count--;
}

/* First free offset in [a, b] of a dense set. */
static bool dense_find(const struct pa_addrset *s, uint64_t a, uint64_t b, uint64_t *out)
{
	uint64_t w = a / 64, last = b / 64;

	while (w <= last) {
		uint64_t sum = s->full[w / 64] >> (w % 64);
		uint64_t fr;

		if (sum & 1) {
			/* Skip the whole run of full words this summary word shows. */
			w += ~sum ? (uint64_t)__builtin_ctzll(~sum) : 64;
			continue;
		}
		fr = ~s->bits[w];
		if (w == a / 64)
			fr &= ~0ULL << (a % 64);
		if (w == last && b % 64 != 63)
			fr &= (1ULL << (b % 64 + 1)) - 1;
		if (fr) {
			*out = w * 64 + (uint64_t)__builtin_ctzll(fr);
			return true;
		}
		w++;
	}
	return false;
}

/* First free offset in [a, b] of a sparse set. */
static bool sparse_find(const struct pa_addrset *s, cidr_u128 a, cidr_u128 b, cidr_u128 *out)
{
	size_t i = sparse_lower(s, a);
	cidr_u128 c = a;

	while (i < s->n && s->offs[i] == c) {
		if (c == b)
			return false;
		c++;
		i++;
	}
	*out = c;
	return true;
}

static bool set_find(const struct pa_addrset *s, cidr_u128 a, cidr_u128 b, cidr_u128 *out)
{
	uint64_t o;

	if (a > b)
		return false;
	if (!s->bits)
		return sparse_find(s, a, b, out);
	if (!dense_find(s, (uint64_t)a, (uint64_t)b, &o))
		return false;
	*out = o;
	return true;
}

/* ---- pools ------------------------------------------------------------------------- */

void pa_init(struct pa_allocator *a, const char *local_name, const char *global_name)
{
	memset(a, 0, sizeof(*a));
	a->space_name[PA_SPACE_LOCAL] = local_name;
	a->space_name[PA_SPACE_GLOBAL] = global_name;
}

static void pool_free(struct pa_pool *p)
{
	if (!p)
		return;
	set_fini(&p->set);
	free(p);
}

void pa_fini(struct pa_allocator *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		pool_free(a->pools[i]);
	free(a->pools);
	a->pools = NULL;
	a->n = a->cap = 0;
}

int pa_space_parse(const struct pa_allocator *a, const char *name)
{
	for (int i = 0; i < PA_NSPACES; i++) {
		if (name && a->space_name[i] && strcmp(name, a->space_name[i]) == 0)
			return i;
	}
	return -1;
}

static int key_cmp(enum pa_space sa, const struct cidr *na, enum pa_space sb, const struct cidr *nb)
{
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return cidr_cmp(na, nb);
}

/* Index of the first pool not below (space, net). */
static size_t pool_lower(const struct pa_allocator *a, enum pa_space space, const struct cidr *net)
{
	size_t lo = 0, hi = a->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pa_pool *p = a->pools[mid];

		if (key_cmp(p->space, &p->net, space, net) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pa_pool *pa_pool_find(const struct pa_allocator *a, enum pa_space space,
			     const struct cidr *net)
{
	size_t i = pool_lower(a, space, net);

	if (i < a->n && a->pools[i]->space == space && cidr_equal(&a->pools[i]->net, net))
		return a->pools[i];
	return NULL;
}

struct pa_pool *pa_pool_by_id(const struct pa_allocator *a, const char *id)
{
	const char *slash = id ? strchr(id, '/') : NULL;
	char name[64], err[128];
	struct cidr net;
	int space;

	if (!slash || (size_t)(slash - id) >= sizeof(name))
		return NULL;
	memcpy(name, id, (size_t)(slash - id));
	name[slash - id] = '\0';
	space = pa_space_parse(a, name);
	if (space < 0 || cidr_parse(slash + 1, CIDR_PARSE_STRICT, &net, err, sizeof(err)) < 0)
		return NULL;
	return pa_pool_find(a, (enum pa_space)space, &net);
}

int pa_pool_validate(const struct cidr *net, const struct cidr *range, char *err, size_t errlen)
{
	unsigned int maxp = net->family == AF_INET6 ? PA_MAX_PREFIX6 : PA_MAX_PREFIX4;
	char b1[CIDR_STRLEN], b2[CIDR_STRLEN];
	struct cidr canon = cidr_network(net);

	if (!cidr_equal(&canon, net)) {
		snprintf(err, errlen, "pool %s has host bits set: the network is %s",
			 cidr_format(net, b1, sizeof(b1)), cidr_format(&canon, b2, sizeof(b2)));
		return -EINVAL;
	}
	if (net->prefix < 1 || net->prefix > maxp) {
		snprintf(err, errlen, "pool %s: prefix length must be 1-%u for %s pools",
			 cidr_format(net, b1, sizeof(b1)), maxp,
			 net->family == AF_INET6 ? "IPv6" : "IPv4");
		return -EINVAL;
	}
	if (range && !cidr_contains(net, range)) {
		snprintf(err, errlen, "SubPool %s is not inside pool %s",
			 cidr_format(range, b1, sizeof(b1)), cidr_format(net, b2, sizeof(b2)));
		return -EINVAL;
	}
	return 0;
}

int pa_pool_set_range(struct pa_pool *p, const struct cidr *range, char *err, size_t errlen)
{
	int ret = pa_pool_validate(&p->net, range, err, errlen);

	if (ret < 0)
		return ret;
	p->has_range = range != NULL;
	p->range = range ? cidr_network(range) : p->net;
	return 0;
}

int pa_pool_add(struct pa_allocator *a, enum pa_space space, const struct cidr *net,
		const struct cidr *range, struct pa_pool **out, char *err, size_t errlen)
{
	char buf[CIDR_STRLEN];
	struct pa_pool *p = NULL;
	size_t i;
	int ret;

	ret = pa_pool_validate(net, range, err, errlen);
	if (ret < 0)
		return ret;
	i = pool_lower(a, space, net);
	if (i < a->n && a->pools[i]->space == space && cidr_equal(&a->pools[i]->net, net)) {
		snprintf(err, errlen, "pool %s already exists in %s",
			 cidr_format(net, buf, sizeof(buf)), a->space_name[space]);
		return -EEXIST;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;
		struct pa_pool **v = reallocarray(a->pools, cap, sizeof(*v));

		if (!v)
			goto out_nomem;
		a->pools = v;
		a->cap = cap;
	}
	p = calloc(1, sizeof(*p));
	if (!p || set_init(&p->set, cidr_size(net)) < 0)
		goto out_nomem;
	p->space = space;
	p->net = *net;
	pa_pool_set_range(p, range, err, errlen);
	p->cursor = 0;
	snprintf(p->id, sizeof(p->id), "%s/%s", a->space_name[space],
		 cidr_format(net, buf, sizeof(buf)));
	memmove(a->pools + i + 1, a->pools + i, (a->n - i) * sizeof(*a->pools));
	a->pools[i] = p;
	a->n++;
	*out = p;
	return 0;
out_nomem:
	free(p);
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

void pa_pool_remove(struct pa_allocator *a, struct pa_pool *p)
{
	size_t i = pool_lower(a, p->space, &p->net);

	if (i < a->n && a->pools[i] == p) {
		memmove(a->pools + i, a->pools + i + 1, (a->n - i - 1) * sizeof(*a->pools));
		a->n--;
	}
	pool_free(p);
}

bool pa_other_space_has(const struct pa_allocator *a, enum pa_space space, const struct cidr *net)
{
	enum pa_space other = space == PA_SPACE_LOCAL ? PA_SPACE_GLOBAL : PA_SPACE_LOCAL;

	return pa_pool_find(a, other, net) != NULL;
}

/* ---- choosing ---------------------------------------------------------------------- */

enum blk_kind { BLK_HOST, BLK_EXCLUDE, BLK_POOL };

struct blk {
	cidr_u128 lo, hi;
	enum blk_kind kind;
	const void *src;
};

struct group {
	cidr_u128 lo, hi;
	size_t first, last; /* indexes into the sorted blockers */
};

static void blk_describe(const struct pa_allocator *a, const struct blk *b, char *buf, size_t len)
{
	char c[CIDR_STRLEN];

	switch (b->kind) {
	case BLK_HOST:
		hostnet_describe(b->src, buf, len);
		break;
	case BLK_EXCLUDE:
		snprintf(buf, len, "excluded range %s (EXCLUDE)",
			 cidr_format(b->src, c, sizeof(c)));
		break;
	case BLK_POOL: {
		const struct pa_pool *p = b->src;

		snprintf(buf, len, "pool %s in use (%s)", cidr_format(&p->net, c, sizeof(c)),
			 a->space_name[p->space]);
		break;
	}
	}
}

struct blockers {
	struct blk *v;
	size_t n, cap;
	struct group *g;
	size_t ng;
	cidr_u128 (*span)[2]; /* [lo, hi] of each candidate range of the family */
	size_t nspan;
};

static void blockers_fini(struct blockers *b)
{
	free(b->v);
	free(b->g);
	free(b->span);
}

/* Host-bit mask of a prefix of length prefix in a family of max bits. */
static cidr_u128 host_bits(unsigned int max, unsigned int prefix)
{
	return max - prefix >= 128 ? ~(cidr_u128)0 : ((cidr_u128)1 << (max - prefix)) - 1;
}

static int blockers_push(struct blockers *b, const struct cidr *net, enum blk_kind kind,
			 const void *src)
{
	cidr_u128 mask = host_bits(cidr_max_prefix(net), net->prefix);
	cidr_u128 lo = cidr_to_u128(net) & ~mask, hi = lo | mask;
	bool relevant = false;

	/* Only what touches a candidate range matters; routes elsewhere are dropped early. */
	for (size_t i = 0; i < b->nspan && !relevant; i++)
		relevant = lo <= b->span[i][1] && hi >= b->span[i][0];
	if (!relevant)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		struct blk *v = reallocarray(b->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = (struct blk){lo, hi, kind, src};
	return 0;
}

/*
 * Sort blockers by lo: an LSD radix sort over the 16 key bytes, skipping every byte
 * position where all keys agree (the upper 12 bytes of IPv4 keys, the zero interface
 * halves of IPv6 /64s). O(n) per useful pass instead of qsort's O(n log n) compares.
 */
static int blk_sort(struct blk *v, size_t n)
{
	size_t(*count)[256] = NULL;
	struct blk *tmp = NULL, *src = v, *dst;
	int ret = 0;

	if (n < 2)
		return 0;
	count = calloc(16, sizeof(*count));
	tmp = malloc(n * sizeof(*tmp));
	if (!count || !tmp) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		cidr_u128 k = v[i].lo;

		for (int b = 0; b < 16; b++, k >>= 8)
			count[b][k & 0xff]++;
	}
	dst = tmp;
	for (int b = 0; b < 16; b++) {
		size_t pos = 0;

		if (count[b][(src[0].lo >> (8 * b)) & 0xff] == n)
			continue;
		for (int d = 0; d < 256; d++) {
			size_t c = count[b][d];

			count[b][d] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[b][(src[i].lo >> (8 * b)) & 0xff]++] = src[i];
		dst = src;
		src = src == v ? tmp : v;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
out:
	free(count);
	free(tmp);
	return ret;
}

/* Collect, sort and merge everything of family that blocks a candidate. */
static int blockers_build(struct blockers *b, const struct pa_allocator *a,
			  const struct pa_env *env, int family)
{
	size_t i;
	int ret = 0;

	b->span = calloc(env->nranges ? env->nranges : 1, sizeof(*b->span));
	if (!b->span)
		return -ENOMEM;
	for (i = 0; i < env->nranges; i++) {
		const struct cidr *r = &env->ranges[i].net;
		cidr_u128 mask = host_bits(cidr_max_prefix(r), r->prefix);

		if (r->family != family)
			continue;
		b->span[b->nspan][0] = cidr_to_u128(r) & ~mask;
		b->span[b->nspan++][1] = (cidr_to_u128(r) & ~mask) | mask;
	}
	for (i = 0; ret == 0 && i < env->nexclude; i++) {
		if (env->exclude[i].family == family)
			ret = blockers_push(b, &env->exclude[i], BLK_EXCLUDE, &env->exclude[i]);
	}
	for (i = 0; ret == 0 && env->hosts && i < env->hosts->n; i++) {
		if (env->hosts->v[i].net.family == family)
			ret = blockers_push(b, &env->hosts->v[i].net, BLK_HOST, &env->hosts->v[i]);
	}
	for (i = 0; ret == 0 && i < a->n; i++) {
		if (a->pools[i]->net.family == family)
			ret = blockers_push(b, &a->pools[i]->net, BLK_POOL, a->pools[i]);
	}
	if (ret < 0)
		return ret;
	if (blk_sort(b->v, b->n) < 0)
		return -ENOMEM;
	b->g = calloc(b->n ? b->n : 1, sizeof(*b->g));
	if (!b->g)
		return -ENOMEM;
	for (i = 0; i < b->n; i++) {
		struct group *g = b->ng ? &b->g[b->ng - 1] : NULL;

		/* Merge overlapping and adjacent blockers (hi + 1 == lo) into one span. */
		if (g && (g->hi == ~(cidr_u128)0 || b->v[i].lo <= g->hi + 1)) {
			if (b->v[i].hi > g->hi)
				g->hi = b->v[i].hi;
			g->last = i;
			continue;
		}
		b->g[b->ng++] = (struct group){b->v[i].lo, b->v[i].hi, i, i};
	}
	return 0;
}

/* Blockers named in one skip line; the rest are counted. */
#define SKIP_SHOWN 8

/* Log line for a skipped span [lo, hi] of candidates of size step, blocked by group g. */
static void note_skip(const struct pa_allocator *a, const struct blockers *b, const struct group *g,
		      int family, unsigned int size, cidr_u128 lo, cidr_u128 hi, cidr_u128 step,
		      struct pa_reasons *why)
{
	char first[CIDR_STRLEN], lastc[CIDR_STRLEN], cnt[48], desc[256];
	char list[SKIP_SHOWN * (sizeof(desc) + 2) + 32] = "";
	struct cidr c1 = cidr_from_u128(family, lo, size);
	struct cidr c2 = cidr_from_u128(family, hi - step + 1, size);
	size_t shown = 0, more = 0, used = 0;

	if (!why)
		return;
	if (why->n >= PA_REASONS_MAX) {
		why->dropped++;
		return;
	}
	for (size_t i = g->first; i <= g->last; i++) {
		if (b->v[i].hi < lo || b->v[i].lo > hi)
			continue;
		if (shown++ >= SKIP_SHOWN) {
			more++;
			continue;
		}
		blk_describe(a, &b->v[i], desc, sizeof(desc));
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
					 shown > 1 ? ", " : "", desc);
	}
	if (more)
		snprintf(list + used, sizeof(list) - used, " and %zu more", more);
	cidr_format(&c1, first, sizeof(first));
	if (lo + step - 1 == hi) {
		pa_reasons_add(why, "skip %s: overlaps %s", first, list);
		return;
	}
	pa_u128_format((hi - lo) / step + 1, cnt, sizeof(cnt));
	pa_reasons_add(why, "skip %s to %s (%s subnets): overlap %s", first,
		       cidr_format(&c2, lastc, sizeof(lastc)), cnt, list);
}

/* Lowest free subnet of size in range r; false when the range is exhausted. */
static bool choose_in_range(const struct pa_allocator *a, const struct blockers *b,
			    const struct pa_range *r, unsigned int size, struct cidr *out,
			    struct pa_reasons *why)
{
	int family = r->net.family;
	struct cidr rn = cidr_network(&r->net), rl = cidr_last(&rn);
	cidr_u128 lo = cidr_to_u128(&rn), hi = cidr_to_u128(&rl);
	cidr_u128 step = (cidr_u128)1 << (cidr_max_prefix(&rn) - size);
	cidr_u128 cand = lo;
	size_t g = 0;

	for (;;) {
		cidr_u128 cend = cand + step - 1, next, x;

		if (cend < cand || cend > hi)
			return false;
		while (g < b->ng && b->g[g].hi < cand)
			g++;
		if (g == b->ng || b->g[g].lo > cend) {
			*out = cidr_from_u128(family, cand, size);
			return true;
		}
		/* Jump past the whole merged span, staying aligned to the subnet size. */
		if (b->g[g].hi == ~(cidr_u128)0)
			next = 0;
		else {
			x = b->g[g].hi + 1;
			next = (x + step - 1) & ~(step - 1);
			if (next < x)
				next = 0;
		}
		if (next == 0 || next - 1 > hi) {
			note_skip(a, b, &b->g[g], family, size, cand, hi - ((hi - cand + 1) % step),
				  step, why);
			return false;
		}
		note_skip(a, b, &b->g[g], family, size, cand, next - 1, step, why);
		cand = next;
	}
}

int pa_choose(const struct pa_allocator *a, const struct pa_env *env, int family, unsigned int size,
	      struct cidr *out, struct pa_reasons *why, char *err, size_t errlen)
{
	unsigned int maxp = family == AF_INET6 ? PA_MAX_PREFIX6 : PA_MAX_PREFIX4;
	struct blockers b = {0};
	size_t used = 0, usable = 0, nfam = 0;
	char buf[CIDR_STRLEN];
	int ret;

	ret = blockers_build(&b, a, env, family);
	if (ret < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	err[0] = '\0';
	for (size_t i = 0; i < env->nranges; i++) {
		const struct pa_range *r = &env->ranges[i];
		unsigned int s = size ? size : r->size;

		if (r->net.family != family)
			continue;
		nfam++;
		cidr_format(&r->net, buf, sizeof(buf));
		if (s < r->net.prefix || s > maxp || s < 1) {
			pa_reasons_add(why, "range %s: size /%u does not fit (accepted %u-%u)", buf,
				       s, r->net.prefix, maxp);
			continue;
		}
		usable++;
		if (choose_in_range(a, &b, r, s, out, why)) {
			char c[CIDR_STRLEN];

			pa_reasons_add(why, "chose %s from range %s",
				       cidr_format(out, c, sizeof(c)), buf);
			ret = 0;
			goto out;
		}
		pa_reasons_add(why, "range %s: no free /%u left", buf, s);
		if (used < errlen)
			used += (size_t)snprintf(err + used, errlen - used, "%s%s (/%u)",
						 used ? ", " : "", buf, s);
	}
	if (!usable) {
		used = (size_t)snprintf(err, errlen,
					"size /%u fits no candidate range; accepted:", size);
		for (size_t i = 0; i < env->nranges && used < errlen; i++) {
			if (env->ranges[i].net.family == family)
				used += (size_t)snprintf(
					err + used, errlen - used, " %u-%u for %s",
					env->ranges[i].net.prefix, maxp,
					cidr_format(&env->ranges[i].net, buf, sizeof(buf)));
		}
		if (nfam == 0)
			snprintf(err, errlen, "no candidate ranges configured for %s",
				 family == AF_INET6 ? "IPv6 (POOLS6)" : "IPv4 (POOLS)");
		ret = -EINVAL;
		goto out;
	}
	{
		char tail[512];

		snprintf(tail, sizeof(tail), "%s", err);
		snprintf(err, errlen,
			 "no free subnet left in %s: every candidate overlaps a host network, an "
			 "excluded range or a pool in use; release pools, add ranges to %s or ask "
			 "for another size (--ipam-opt size=N)",
			 tail, family == AF_INET6 ? "POOLS6" : "POOLS");
	}
	ret = -ENOSPC;
out:
	blockers_fini(&b);
	return ret;
}

size_t pa_check(const struct pa_allocator *a, const struct pa_env *env, const struct cidr *net,
		int space, struct pa_reasons *culprits)
{
	char d[256], c[CIDR_STRLEN];
	size_t n = 0;

	for (size_t i = 0; i < env->nexclude; i++) {
		if (cidr_overlaps(&env->exclude[i], net)) {
			pa_reasons_add(culprits, "excluded range %s (EXCLUDE)",
				       cidr_format(&env->exclude[i], c, sizeof(c)));
			n++;
		}
	}
	for (size_t i = 0; env->hosts && i < env->hosts->n; i++) {
		const struct hostnet *h = &env->hosts->v[i];

		if (cidr_overlaps(&h->net, net)) {
			pa_reasons_add(culprits, "%s%s", hostnet_describe(h, d, sizeof(d)),
				       env->mark_own && !h->node[0] ? " on this host" : "");
			n++;
		}
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct pa_pool *p = a->pools[i];

		if (!cidr_overlaps(&p->net, net))
			continue;
		if (space >= 0 && (int)p->space != space && cidr_equal(&p->net, net))
			continue;
		pa_reasons_add(culprits, "pool %s in use (%s)", cidr_format(&p->net, c, sizeof(c)),
			       a->space_name[p->space]);
		n++;
	}
	return n;
}

/* ---- addresses --------------------------------------------------------------------- */

bool pa_pool_offset(const struct pa_pool *p, const struct cidr *addr, cidr_u128 *off)
{
	struct cidr a = *addr;

	a.prefix = p->net.prefix;
	if (addr->family != p->net.family || !cidr_contains(&p->net, &a))
		return false;
	*off = cidr_to_u128(addr) - cidr_to_u128(&p->net);
	return true;
}

/* Offsets that are never handed out: network and broadcast (IPv4), anycast (IPv6). */
static bool reserved(const struct pa_pool *p, cidr_u128 off)
{
	if (off == 0)
		return true;
	return p->net.family == AF_INET && off == p->set.size - 1;
}

static const char *reserved_name(const struct pa_pool *p, cidr_u128 off)
{
	if (off == 0)
		return p->net.family == AF_INET ? "the network address"
						: "the subnet-router anycast address";
	return "the broadcast address";
}

bool pa_addr_is_allocated(const struct pa_pool *p, cidr_u128 off)
{
	return set_test(&p->set, off);
}

/* Usable dynamic bounds [lo, hi] (offsets) of p's range. */
static void dyn_bounds(const struct pa_pool *p, cidr_u128 *lo, cidr_u128 *hi)
{
	struct cidr last = cidr_last(&p->range);
	cidr_u128 base = cidr_to_u128(&p->net);

	*lo = cidr_to_u128(&p->range) - base;
	*hi = cidr_to_u128(&last) - base;
	if (*lo < 1)
		*lo = 1;
	if (p->net.family == AF_INET && *hi > p->set.size - 2)
		*hi = p->set.size - 2;
}

static int grant(struct pa_pool *p, cidr_u128 off, struct cidr *out, char *err, size_t errlen)
{
	if (set_add(&p->set, off) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*out = cidr_from_u128(p->net.family, cidr_to_u128(&p->net) + off, p->net.prefix);
	return 0;
}

int pa_addr_request(struct pa_pool *p, const struct cidr *want, int flags, struct cidr *out,
		    bool *again, char *err, size_t errlen)
{
	char a[CIDR_STRLEN], n[CIDR_STRLEN], cnt[48];
	cidr_u128 off, lo, hi, from;
	int ret;

	*again = false;
	if (want) {
		if (!pa_pool_offset(p, want, &off)) {
			snprintf(err, errlen, "address %s is not inside pool %s",
				 cidr_format_addr(want, a, sizeof(a)),
				 cidr_format(&p->net, n, sizeof(n)));
			return -EINVAL;
		}
		if (reserved(p, off)) {
			snprintf(err, errlen, "address %s is %s of pool %s and cannot be assigned",
				 cidr_format_addr(want, a, sizeof(a)), reserved_name(p, off),
				 cidr_format(&p->net, n, sizeof(n)));
			return -EINVAL;
		}
		if (set_test(&p->set, off)) {
			if (flags & PA_ADDR_UNIQUE) {
				snprintf(err, errlen, "address %s is already in use in pool %s",
					 cidr_format_addr(want, a, sizeof(a)),
					 cidr_format(&p->net, n, sizeof(n)));
				return -EEXIST;
			}
			*again = true;
			*out = cidr_from_u128(p->net.family, cidr_to_u128(want), p->net.prefix);
			return 0;
		}
		return grant(p, off, out, err, errlen);
	}
	dyn_bounds(p, &lo, &hi);
	/* Docker's default: the gateway is the first usable address of the pool. */
	if ((flags & PA_ADDR_GATEWAY) && !set_test(&p->set, 1))
		return grant(p, 1, out, err, errlen);
	from = (flags & PA_ADDR_SERIAL) && p->cursor >= lo && p->cursor <= hi ? p->cursor : lo;
	if (!set_find(&p->set, from, hi, &off) &&
	    !(from > lo && set_find(&p->set, lo, from - 1, &off))) {
		snprintf(err, errlen,
			 "pool %s has no free address left in %s (%s allocated); release addresses "
			 "or use a bigger pool (--ipam-opt size=N or a shorter --subnet)",
			 cidr_format(&p->net, n, sizeof(n)), cidr_format(&p->range, a, sizeof(a)),
			 pa_u128_format(p->set.count, cnt, sizeof(cnt)));
		return -ENOSPC;
	}
	ret = grant(p, off, out, err, errlen);
	if (ret == 0)
		p->cursor = off + 1 > hi ? lo : off + 1;
	return ret;
}

int pa_addr_release(struct pa_pool *p, const struct cidr *addr, bool *was, char *err, size_t errlen)
{
	char a[CIDR_STRLEN], n[CIDR_STRLEN];
	cidr_u128 off;

	*was = false;
	if (!pa_pool_offset(p, addr, &off)) {
		snprintf(err, errlen, "address %s is not inside pool %s",
			 cidr_format_addr(addr, a, sizeof(a)), cidr_format(&p->net, n, sizeof(n)));
		return -EINVAL;
	}
	if (set_test(&p->set, off)) {
		set_del(&p->set, off);
		*was = true;
	}
	return 0;
}

int pa_pool_mark(struct pa_pool *p, cidr_u128 first, cidr_u128 last, char *err, size_t errlen)
{
	char n[CIDR_STRLEN];

	if (first > last || last >= p->set.size || reserved(p, first) || reserved(p, last)) {
		snprintf(err, errlen, "allocated range outside the usable addresses of pool %s",
			 cidr_format(&p->net, n, sizeof(n)));
		return -EINVAL;
	}
	if (!p->set.bits && last - first >= SPARSE_MAX - p->set.n) {
		snprintf(err, errlen, "too many addresses for pool %s",
			 cidr_format(&p->net, n, sizeof(n)));
		return -EINVAL;
	}
	for (cidr_u128 off = first;; off++) {
		if (!set_test(&p->set, off) && set_add(&p->set, off) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (off == last)
			break;
	}
	return 0;
}

int pa_pool_for_each_run(const struct pa_pool *p,
			 int (*cb)(void *arg, cidr_u128 first, cidr_u128 last), void *arg)
{
	const struct pa_addrset *s = &p->set;
	bool in = false;
	cidr_u128 start = 0;
	int ret;

	if (!s->bits) {
		for (size_t i = 0; i < s->n; i++) {
			size_t j = i;

			while (j + 1 < s->n && s->offs[j + 1] == s->offs[j] + 1)
				j++;
			ret = cb(arg, s->offs[i], s->offs[j]);
			if (ret)
				return ret;
			i = j;
		}
		return 0;
	}
	for (size_t w = 0; w < s->nwords; w++) {
		uint64_t word = s->bits[w];

		/* Whole-word shortcuts; padding bits past size are cut below. */
		if ((!in && word == 0) || (in && word == ~0ULL && (w + 1) * 64 <= s->size))
			continue;
		for (unsigned int b = 0; b < 64; b++) {
			cidr_u128 off = (cidr_u128)w * 64 + b;
			bool set = off < s->size && ((word >> b) & 1);

			if (set && !in) {
				in = true;
				start = off;
			} else if (!set && in) {
				in = false;
				ret = cb(arg, start, off - 1);
				if (ret)
					return ret;
			}
		}
	}
	if (in)
		return cb(arg, start, s->size - 1);
	return 0;
}

size_t pa_pool_memory(const struct pa_pool *p)
{
	return sizeof(*p) + p->set.nwords * sizeof(uint64_t) + p->set.nfull * sizeof(uint64_t) +
	       p->set.cap * sizeof(cidr_u128);
}
