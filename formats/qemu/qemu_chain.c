/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_chain.c --- counting the readings of a stream's device state
 * (qemu_chain.h), in one pass from the end of the input to the first
 * device section.
 *
 * ways(x), the number of readings from a section that begins at x to the
 * end, counted 0, 1, many:
 *   - 00, the end-of-file marker, last in the input or followed by a
 *     description (06, length) that ends exactly where the input does: 1;
 *   - 08, a command (id, length, data): ways(after its data);
 *   - a FULL header (04, id, name, instance, version) named `cpu`: read
 *     through by qemu_cpu.c, which also checks its footer: ways(after it);
 *   - a FULL header of any other device with id S: the sum of
 *     ways(f + 5) over every footer f = 7e S after the header.
 * Going down from the end, the sum for S is kept as the footers of S are
 * passed, so each offset costs O(1) (a hash lookup), but a cpu header,
 * which costs a parse: their number is bounded by the input's size, and an
 * input made of nothing but candidate cpu headers is refused.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/qemu/qemu_chain.h"
#include "formats/qemu/qemu_cpu.h"
#include "formats/qemu/qemu_stream.h"
#include "formats/qemu/qemu_wire.h"

/* Distinct section ids among the candidate headers: beyond, the input is refused. */
#define CHAIN_SIDS_MAX (1U << 22)

/* ---- two bits per offset ------------------------------------------------ */

static unsigned ways_at(const struct qemu_chain *c, uint64_t off)
{
	uint64_t i;

	if (off < c->start || off >= c->end)
		return 0;
	i = off - c->start;
	return (c->ways[i >> 2] >> ((i & 3) * 2)) & 3;
}

static void set_ways(struct qemu_chain *c, uint64_t off, uint64_t n)
{
	uint64_t i = off - c->start;

	c->ways[i >> 2] |= (uint8_t)((n > 2 ? 2 : n) << ((i & 3) * 2));
}

/* ---- the footers' sums by section id ----------------------------------- */

/*
 * Open addressing keyed by a seeded multiply-shift hash: the section ids
 * are the input's, and no input may choose ids that all collide.
 */
struct sid_sums {
	uint32_t *sid;
	uint64_t *sum; /* readings after the footers of sid passed so far; UINT64_MAX: free */
	size_t nslots, count;
	uint64_t a, b;
};

static void seed(struct sid_sums *t)
{
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (uint64_t)(uintptr_t)t ^ ((uint64_t)ts.tv_nsec << 17) ^ (uint64_t)ts.tv_sec;
	for (int i = 0; i < 2; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		*(i ? &t->b : &t->a) = z ^ (z >> 31);
	}
	t->a |= 1;
}

static size_t slot_of(const struct sid_sums *t, uint32_t sid)
{
	size_t i = (size_t)((t->a * sid + t->b) >> 32) & (t->nslots - 1);

	while (t->sum[i] != UINT64_MAX && t->sid[i] != sid)
		i = (i + 1) & (t->nslots - 1);
	return i;
}

/* The running sum of sid, or NULL when no candidate header has that id. */
static uint64_t *sum_of(const struct sid_sums *t, uint32_t sid)
{
	size_t i;

	if (!t->nslots)
		return NULL;
	i = slot_of(t, sid);
	return t->sum[i] == UINT64_MAX ? NULL : &t->sum[i];
}

static int sums_grow(struct sid_sums *t)
{
	struct sid_sums old = *t;

	t->nslots = old.nslots ? old.nslots * 2 : 1024;
	t->sid = malloc(t->nslots * sizeof(*t->sid));
	t->sum = malloc(t->nslots * sizeof(*t->sum));
	if (!t->sid || !t->sum) {
		free(t->sid);
		free(t->sum);
		*t = old;
		return -1;
	}
	memset(t->sum, 0xff, t->nslots * sizeof(*t->sum));
	for (size_t i = 0; i < old.nslots; i++)
		if (old.sum[i] != UINT64_MAX) {
			size_t j = slot_of(t, old.sid[i]);

			t->sid[j] = old.sid[i];
			t->sum[j] = 0;
		}
	free(old.sid);
	free(old.sum);
	return 0;
}

/* Add sid (sum 0); -1 when out of memory. */
static int sums_add(struct sid_sums *t, uint32_t sid)
{
	size_t i;

	if (sum_of(t, sid))
		return 0;
	if (2 * (t->count + 1) > t->nslots && sums_grow(t))
		return -1;
	i = slot_of(t, sid);
	t->sid[i] = sid;
	t->sum[i] = 0;
	t->count++;
	return 0;
}

static void sums_free(struct sid_sums *t)
{
	free(t->sid);
	free(t->sum);
}

/* ---- candidates ---------------------------------------------------------- */

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The length of a plausible FULL header at x (04, id, a printable name of
 * 1-255 bytes, instance, version), or 0.  QEMU's section names are
 * printable ASCII; qemu_stream.c refuses any other.
 */
static size_t full_header_at(const struct qemu_chain *c, uint64_t x)
{
	const uint8_t *p = c->m + (x - c->start);
	uint64_t left = c->end - x;
	size_t n;

	if (left < 6 + 1 + 8 || p[0] != QSEC_FULL)
		return 0;
	n = p[5];
	if (n == 0 || left < 6 + n + 8)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[6 + i] < 0x20 || p[6 + i] > 0x7e)
			return 0;
	return 6 + n + 8;
}

static bool names_cpu(const struct qemu_chain *c, uint64_t x)
{
	const uint8_t *p = c->m + (x - c->start);

	return p[5] == 3 && memcmp(p + 6, "cpu", 3) == 0;
}

/* A footer of some section at x: its id in *sid. */
static bool footer_at(const struct qemu_chain *c, uint64_t x, uint32_t *sid)
{
	const uint8_t *p = c->m + (x - c->start);

	if (c->end - x < 5 || p[0] != QSEC_FOOTER)
		return false;
	*sid = be32_at(p + 1);
	return true;
}

/* The end-of-file marker at x: last, or followed by a description to the very end. */
static bool eof_marker_at(const struct qemu_chain *c, uint64_t x)
{
	const uint8_t *p = c->m + (x - c->start);
	uint64_t left = c->end - x;

	if (p[0] != QSEC_EOF)
		return false;
	if (left == 1)
		return true;
	return left >= 6 && p[1] == QSEC_VMDESC && be32_at(p + 2) == left - 6;
}

/* ---- the count ------------------------------------------------------------ */

struct counting {
	struct qemu_stream *q;
	struct qemu_chain *c;
	struct sid_sums sums;
	struct qemu_cpu_loc loc; /* a parse's results, thrown away */
	struct vcpu_state v;
	uint64_t parses, parses_max;
};

/* Where a cpu section at x ends (after its footer), or 0 when it does not read. */
static uint64_t cpu_section_end(struct counting *k, uint64_t x)
{
	const uint8_t *p = k->c->m + (x - k->c->start);
	struct bsrc *src = &k->q->src;
	struct fmt_error ignored;

	if (k->c->end - x < QCPU_HEADER || be32_at(p + 13) != QCPU_VERSION)
		return 0;
	if (bsrc_seek(src, x + QCPU_HEADER, &ignored) ||
	    qemu_cpu_parse(src, x, be32_at(p + 1), be32_at(p + 9), NULL, &k->loc, &k->v,
			   &ignored))
		return 0;
	return bsrc_offset(src);
}

/* The readings after the footers of sid inside the header [x, x + hlen): not the section's. */
static uint64_t footers_inside(const struct qemu_chain *c, uint64_t x, size_t hlen, uint32_t sid)
{
	uint64_t n = 0;
	uint32_t f;

	for (uint64_t y = x + 1; y < x + hlen; y++)
		if (footer_at(c, y, &f) && f == sid)
			n += ways_at(c, y + 5);
	return n;
}

static int too_many_parses(const struct counting *k, struct fmt_error *e)
{
	return fmt_fail(e, FMT_ERR_UNSUPPORTED, k->q->src.path,
			"byte %llu: without a device description, more than %llu candidate cpu "
			"sections to try: fredck does not locate sections in an input built "
			"this way",
			(unsigned long long)k->c->start, (unsigned long long)k->parses_max);
}

/* ways(x) for a section or marker beginning at x. */
static int count_at(struct counting *k, uint64_t x, struct fmt_error *e)
{
	struct qemu_chain *c = k->c;
	const uint8_t *p = c->m + (x - c->start);
	size_t hlen;
	uint64_t end, n;

	switch (p[0]) {
	case QSEC_EOF:
		if (eof_marker_at(c, x))
			set_ways(c, x, 1);
		return 0;
	case QSEC_COMMAND:
		if (c->end - x >= 5) {
			end = x + 5 + ((uint64_t)p[3] << 8 | p[4]);
			set_ways(c, x, ways_at(c, end));
		}
		return 0;
	case QSEC_FULL:
		break;
	default:
		return 0;
	}
	hlen = full_header_at(c, x);
	if (!hlen)
		return 0;
	if (names_cpu(c, x)) {
		if (++k->parses > k->parses_max)
			return too_many_parses(k, e);
		end = cpu_section_end(k, x);
		if (end)
			set_ways(c, x, ways_at(c, end));
		return 0;
	}
	n = *sum_of(&k->sums, be32_at(p + 1));
	set_ways(c, x, n - footers_inside(c, x, hlen, be32_at(p + 1)));
	return 0;
}

/* Pass 1: the section id of every candidate header from `from` on that is not a cpu's. */
static int collect_ids(struct counting *k, uint64_t from, struct fmt_error *e)
{
	struct qemu_chain *c = k->c;

	for (uint64_t x = from; x < c->end; x++) {
		const uint8_t *at = memchr(c->m + (x - c->start), QSEC_FULL, c->end - x);

		if (!at)
			break;
		x = c->start + (uint64_t)(at - c->m);
		if (!full_header_at(c, x) || names_cpu(c, x))
			continue;
		if (sums_add(&k->sums, be32_at(c->m + (x - c->start) + 1)))
			return fmt_syserr(e, k->q->src.path, ENOMEM, "cannot read");
		if (k->sums.count > CHAIN_SIDS_MAX)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, k->q->src.path,
					"byte %llu: without a device description, more than %u "
					"distinct section ids to try: fredck does not locate "
					"sections in an input built this way",
					(unsigned long long)c->start, CHAIN_SIDS_MAX);
	}
	return 0;
}

/* The bytes a section, a marker or a footer can begin with. */
static bool can_begin(uint8_t b)
{
	return b == QSEC_EOF || b == QSEC_FULL || b == QSEC_COMMAND || b == QSEC_FOOTER;
}

/* Pass 2: ways(x) for every x from `from` on, from the end down. */
static int count_down(struct counting *k, uint64_t from, struct fmt_error *e)
{
	struct qemu_chain *c = k->c;
	uint32_t sid;
	uint64_t *sum;

	for (uint64_t x = c->end; x-- > from;) {
		if (!can_begin(c->m[x - c->start]))
			continue;
		if (footer_at(c, x, &sid)) {
			sum = sum_of(&k->sums, sid);
			if (sum)
				*sum += ways_at(c, x + 5);
			continue;
		}
		if (count_at(k, x, e))
			return -1;
	}
	return 0;
}

/*
 * From x, the sections whose end is no guess -- cpu sections, read
 * through, and commands -- followed to the first that is another device's
 * (or where nothing reads): only from there on are readings counted.  A
 * stream of nothing but cpu sections costs one parse of each.
 */
static int certain_prefix(struct counting *k, uint64_t x, uint64_t *to, struct fmt_error *e)
{
	struct qemu_chain *c = k->c;

	while (x < c->end && c->end - x >= 5) {
		const uint8_t *p = c->m + (x - c->start);
		uint64_t next;

		if (p[0] == QSEC_COMMAND) {
			next = x + 5 + ((uint64_t)p[3] << 8 | p[4]);
			if (next > c->end)
				break; /* its data runs past the input: counted as nothing below */
			x = next;
			continue;
		}
		if (p[0] != QSEC_FULL || !full_header_at(c, x) || !names_cpu(c, x))
			break;
		if (++k->parses > k->parses_max)
			return too_many_parses(k, e);
		next = cpu_section_end(k, x);
		if (!next)
			break;
		x = next;
	}
	*to = x < c->end ? x : c->end;
	return 0;
}

int qemu_chain_build(struct qemu_stream *q, uint64_t start, struct qemu_chain *c,
		     struct fmt_error *e)
{
	struct counting *k;
	uint64_t back = bsrc_offset(&q->src), from = start;
	int rc;

	memset(c, 0, sizeof(*c));
	if (!bsrc_known_end(&q->src, &c->end) || !q->src.memory || start >= c->end)
		return CHAIN_NONE;
	c->start = start;
	c->m = bsrc_at(&q->src, start, (size_t)(c->end - start));
	c->ways = calloc((size_t)((c->end - start) / 4 + 1), 1);
	k = calloc(1, sizeof(*k));
	if (!c->m || !c->ways || !k) {
		free(k);
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot read");
	}
	k->q = q;
	k->c = c;
	seed(&k->sums);
	/* A real cpu section is over 1.5 KiB: every such place is many times over. */
	k->parses_max = (c->end - start) / 256 + 65536;
	rc = certain_prefix(k, start, &from, e) || collect_ids(k, from, e) ||
			     count_down(k, from, e) ?
		     -1 :
		     0;
	sums_free(&k->sums);
	free(k);
	/* The parses moved the reader; the walk goes on from where it was. */
	if (rc == 0 && bsrc_seek(&q->src, back, e))
		rc = -1;
	if (rc)
		return -1;
	switch (ways_at(c, from)) {
	case 0:
		return CHAIN_NONE;
	case 1:
		return CHAIN_UNIQUE;
	default:
		return CHAIN_AMBIGUOUS;
	}
}

uint64_t qemu_chain_footer(const struct qemu_chain *c, uint64_t data, uint32_t sid)
{
	uint32_t f;

	for (uint64_t x = data; x < c->end; x++)
		if (footer_at(c, x, &f) && f == sid && ways_at(c, x + 5))
			return x;
	return UINT64_MAX;
}

void qemu_chain_free(struct qemu_chain *c)
{
	free(c->ways);
	c->ways = NULL;
}
