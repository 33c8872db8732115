/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu_stream.c --- the reader core of QEMU migration streams (QEVM
 * version 3).
 *
 * The stream has no framing: every section must be understood to be
 * stepped over.  RAM is walked record by record without copying a page
 * (mapped-ram files are jumped over by their absolute offsets); `cpu`
 * sections are decoded by qemu_cpu.c; any other device is sized by the
 * trailing JSON device description when the stream has one -- which is
 * then the authority: every device section must be the one it lists
 * next.  Without one, every device section ends where the one reading
 * of the device state by its footers puts its end (qemu_chain.c), and
 * only where no reading reaches the end (RAM after a device, QEMU 8.1's
 * early devices) is the next `cpu` section found by its 17-byte header
 * and validated by its footer; either way its vCPU is marked
 * found_by_scan.  The description is known before any device is read: a
 * file's is read from its end first, and a pipe's device state is held in
 * memory up to its end.  Every section footer is checked.  What the walk meets is
 * reported to the attached hooks (qemu_stream.h).  Byte layouts:
 * reference/qemu-migration-stream.md.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "formats/qemu/qemu_cpu.h"
#include "formats/qemu/qemu_stream.h"
#include "formats/qemu/qemu_vmdesc.h"
#include "formats/qemu/qemu_wire.h"

/*
 * rc = the first failure of hook name among the attached tables, each
 * called in the order attached with its context, q and the arguments.
 */
#define NOTIFY(rc, q, name, ...)                                                        \
	for (size_t i_ = 0; (rc) == 0 && i_ < (q)->nattached; i_++)                     \
		if ((q)->attached[i_].hooks->name)                                      \
			(rc) = (q)->attached[i_].hooks->name((q)->attached[i_].ctx, (q),  \
							     __VA_ARGS__)

static void add_device(struct qemu_stream *q, const char *idstr, uint32_t instance)
{
	char item[300];
	int n = snprintf(item, sizeof(item), "%s%s/%u", q->ndevices ? ", " : "", idstr, instance);
	char *grown;

	q->ndevices++;
	if (n <= 0 || q->devices_len > (1U << 20)) {
		q->devices_cut = true;
		return; /* the list inspect shows stops at 1 MiB */
	}
	if (q->devices_len + (size_t)n + 1 > q->devices_cap) {
		/* Doubling: a stream of a million tiny sections is not quadratic. */
		size_t cap = q->devices_cap ? q->devices_cap * 2 : 4096;

		grown = realloc(q->devices, cap);
		if (!grown) {
			q->devices_cut = true;
			return;
		}
		q->devices = grown;
		q->devices_cap = cap;
	}
	memcpy(q->devices + q->devices_len, item, (size_t)n + 1);
	q->devices_len += (size_t)n;
}

/* ---- header and configuration --------------------------------------- */

static int parse_config_subsections(struct qemu_stream *q, struct fmt_error *e)
{
	const uint8_t *p;

	while (bsrc_available(&q->src, 1) && (p = bsrc_peek(&q->src, 1, "", e)) &&
	       *p == QSEC_SUBSECTION) {
		char name[256];
		uint64_t version, count, v;
		uint64_t off = bsrc_offset(&q->src);

		bsrc_take(&q->src, 1, "", e);
		if (qw_take_counted(&q->src, name, "configuration subsection name", e) ||
		    qw_take_be(&q->src, 4, &version, "configuration subsection version", e))
			return -1;
		if (strcmp(name, "configuration/target-page-bits") == 0) {
			if (qw_take_be(&q->src, 4, &v, "configuration/target-page-bits", e))
				return -1;
			if (v < 12 || v > 16)
				return fmt_malformed(e, q->src.path, off, name,
						     "target page bits %llu", (unsigned long long)v);
			q->page_size = 1U << v;
		} else if (strcmp(name, "configuration/capabilities") == 0) {
			if (qw_take_be(&q->src, 4, &count, "configuration/capabilities count", e))
				return -1;
			for (uint64_t i = 0; i < count; i++) {
				char cap[256];

				if (qw_take_counted(&q->src, cap, "configuration/capabilities name", e))
					return -1;
				if (strcmp(cap, "mapped-ram") == 0)
					q->mapped_ram = true;
				if (strcmp(cap, "x-ignore-shared") == 0)
					q->ignore_shared = true;
			}
		} else if (strcmp(name, "configuration/uuid") == 0) {
			if (bsrc_skip(&q->src, 16, "configuration/uuid", e))
				return -1;
		} else {
			return fmt_malformed(e, q->src.path, off, "configuration subsection",
					     "unknown configuration subsection '%s'", name);
		}
	}
	return 0;
}

static int parse_header(struct qemu_stream *q, struct fmt_error *e)
{
	const uint8_t *p = bsrc_take(&q->src, 8, "file header", e);
	uint64_t len;

	if (!p)
		return -1;
	if (be_get(p, 4) != QEVM_MAGIC)
		return fmt_malformed(e, q->src.path, q->stream_start, "magic",
				     "not a QEMU migration stream");
	if (be_get(p + 4, 4) != QEVM_VERSION)
		return fmt_malformed(e, q->src.path, q->stream_start + 4, "version",
				     "stream version %llu; fredck reads version 3",
				     (unsigned long long)be_get(p + 4, 4));
	p = bsrc_peek(&q->src, 1, "first section", e);
	if (!p)
		return -1;
	if (*p != QSEC_CONFIGURATION)
		return 0;
	bsrc_take(&q->src, 1, "", e);
	if (qw_take_be(&q->src, 4, &len, "configuration length", e))
		return -1;
	if (len > 255)
		return fmt_malformed(e, q->src.path, q->stream_start + 9, "configuration length",
				     "machine type name of %llu bytes", (unsigned long long)len);
	p = bsrc_take(&q->src, (size_t)len, "machine type", e);
	if (!p)
		return -1;
	memcpy(q->machine, p, (size_t)len);
	q->machine[len] = '\0';
	return parse_config_subsections(q, e);
}

/* ---- RAM -------------------------------------------------------------- */

/* Tell the hooks of block b; a mapped-ram block's header is at header. */
static int notify_block(struct qemu_stream *q, struct qemu_ram_block *b, struct fmt_error *e)
{
	int rc = 0;

	NOTIFY(rc, q, ram_block, b, e);
	return rc;
}

/* One block of the MEM_SIZE list; mapped-ram jumps over the block's pages. */
static int parse_ram_block(struct qemu_stream *q, uint64_t *sum, uint64_t total,
			   struct fmt_error *e)
{
	char name[256];
	struct qemu_ram_block b = { .name = name };
	uint64_t v, off = bsrc_offset(&q->src);

	if (qw_take_counted(&q->src, name, "RAM block name", e) ||
	    qw_take_be(&q->src, 8, &b.used, "RAM block used_length", e))
		return -1;
	if (b.used > total - *sum)
		return fmt_malformed(e, q->src.path, off, "RAM block used_length",
				     "block '%s' of %llu bytes exceeds the announced RAM total", name,
				     (unsigned long long)b.used);
	b.first = *sum == 0;
	*sum += b.used;
	q->ram_blocks++;
	if (q->ignore_shared && qw_take_be(&q->src, 8, &v, "RAM block address", e))
		return -1;
	if (!q->mapped_ram)
		return notify_block(q, &b, e);
	/* MappedRamHeader: version, page size, bitmap offset, pages offset. */
	b.header = bsrc_offset(&q->src);
	if (qw_take_be(&q->src, 4, &v, "mapped-ram header version", e) ||
	    qw_take_be(&q->src, 8, &b.page_size, "mapped-ram page size", e) ||
	    qw_take_be(&q->src, 8, &b.bitmap_offset, "mapped-ram bitmap offset", e) ||
	    qw_take_be(&q->src, 8, &b.pages_offset, "mapped-ram pages offset", e))
		return -1;
	if (!q->src.seekable)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, q->src.path,
				"a mapped-ram stream must be read from a file, not a pipe");
	if (b.pages_offset > q->src.size || b.used > q->src.size - b.pages_offset)
		return fmt_malformed(e, q->src.path, bsrc_offset(&q->src) - 8,
				     "mapped-ram pages offset",
				     "block '%s' pages at %llu + %llu lie beyond the end of the file",
				     name, (unsigned long long)b.pages_offset,
				     (unsigned long long)b.used);
	if (notify_block(q, &b, e))
		return -1;
	return bsrc_seek(&q->src, b.pages_offset + b.used, e);
}

static int parse_mem_size(struct qemu_stream *q, uint64_t total, struct fmt_error *e)
{
	uint64_t sum = 0;

	q->ram_bytes = total;
	while (sum < total)
		if (parse_ram_block(q, &sum, total, e))
			return -1;
	return 0;
}

/* Bytes of the body of an XBZRLE or compressed-page record, from its own header. */
static int carried_length(struct qemu_stream *q, uint64_t flags, uint64_t *len, struct fmt_error *e)
{
	const uint8_t *p;

	if (flags & RAM_XBZRLE) {
		p = bsrc_peek(&q->src, 3, "XBZRLE header", e);
		if (!p)
			return -1;
		*len = 3 + be_get(p + 1, 2);
		return 0;
	}
	p = bsrc_peek(&q->src, 4, "compressed page length", e);
	if (!p)
		return -1;
	*len = 4 + be_get(p, 4);
	return 0;
}

#define RAM_PREFETCH_PAGES 16

/* Tell the hooks of the record (header a at off) whose body of len bytes is next. */
static int notify_record(struct qemu_stream *q, uint64_t off, uint64_t a, uint64_t flags,
			 uint64_t len, struct fmt_error *e)
{
	struct qemu_ram_record r = {
		.offset = off, .header = a, .flags = flags, .block = q->ram_block,
		.named = !(flags & RAM_CONTINUE), .addr = a & ~(uint64_t)(q->page_size - 1),
		.zero = flags & RAM_ZERO, .body = bsrc_offset(&q->src), .body_len = len,
	};
	int rc = 0;

	NOTIFY(rc, q, ram_record, &r, e);
	return rc;
}

/*
 * A page-carrying record whose header (a, at off) was just read: its
 * block name, the hooks, then its body stepped over.  Once per page of
 * guest memory: the record is built only for a ram_record hook.
 */
static int parse_ram_record(struct qemu_stream *q, uint64_t off, uint64_t a, uint64_t flags,
			    struct fmt_error *e)
{
	const char *field;
	uint64_t len;

	if (!(flags & RAM_CONTINUE) &&
	    qw_take_counted(&q->src, q->ram_block, "RAM block name", e))
		return -1;
	if (flags & RAM_ZERO) {
		q->zero_pages++;
		/* The fill byte: QEMU writes 0, but it is the page's content. */
		len = 1;
		field = "RAM zero-page fill byte";
	} else if (flags & RAM_PAGE) {
		q->ram_pages++;
		len = q->page_size;
		field = "RAM page";
		/* The header of the record some pages on, if they are pages too. */
		bsrc_prefetch(&q->src, RAM_PREFETCH_PAGES * ((size_t)q->page_size + 8));
	} else {
		q->ram_pages++;
		if (carried_length(q, flags, &len, e))
			return -1;
		field = "RAM page data";
	}
	if (q->record_hooks && notify_record(q, off, a, flags, len, e))
		return -1;
	return bsrc_skip(&q->src, len, field, e);
}

static int parse_ram(struct qemu_stream *q, bool start, struct fmt_error *e)
{
	const uint64_t known = RAM_ZERO | RAM_MEM_SIZE | RAM_PAGE | RAM_EOS | RAM_CONTINUE |
			       RAM_XBZRLE | RAM_COMPRESS_PAGE | RAM_MULTIFD_FLUSH;

	for (;;) {
		uint64_t off = bsrc_offset(&q->src), a, flags;

		if (qw_take_be(&q->src, 8, &a, "RAM record header", e))
			return -1;
		flags = a & (q->page_size - 1);
		if (flags & ~known)
			return fmt_malformed(e, q->src.path, off, "RAM record flags",
					     "unknown RAM record flags 0x%llx%s",
					     (unsigned long long)flags,
					     flags & RAM_HOOK ? " (RDMA hook: never in a file)" : "");
		if (flags & RAM_EOS)
			return 0;
		if (flags & RAM_MEM_SIZE) {
			if (!start)
				return fmt_malformed(e, q->src.path, off, "RAM record flags",
						     "RAM size list outside the first RAM section");
			if (parse_mem_size(q, a & ~(uint64_t)(q->page_size - 1), e))
				return -1;
			continue;
		}
		if (flags & RAM_MULTIFD_FLUSH)
			continue;
		if (!(flags & (RAM_ZERO | RAM_PAGE | RAM_XBZRLE | RAM_COMPRESS_PAGE)))
			return fmt_malformed(e, q->src.path, off, "RAM record flags",
					     "RAM record 0x%llx carries nothing",
					     (unsigned long long)flags);
		if (parse_ram_record(q, off, a, flags, e))
			return -1;
	}
}

/* ---- the device description (vmdesc) ----------------------------------- */

/*
 * The description of the FULL section s (read up to its header): the
 * next device the description lists, which must be s.  With a
 * description, nothing else locates a section: a mismatch is damage.
 */
static int vmdesc_device(struct qemu_stream *q, const struct qemu_section *s, json_t **desc,
			 struct fmt_error *e)
{
	json_t *devs = json_object_get(q->vmdesc, "devices");
	json_t *d = json_array_get(devs, q->vmdesc_next);
	json_t *name = json_object_get(d, "name");

	if (!d)
		return fmt_malformed(e, q->src.path, s->offset, "section name",
				     "section '%s' instance %u is not in the device description "
				     "(it lists %zu devices)",
				     s->idstr, s->instance, json_array_size(devs));
	if (!json_is_string(name) || strcmp(json_string_value(name), s->idstr) != 0 ||
	    vmdesc_int(d, "instance_id") != s->instance) {
		q->vmdesc_trusted = false;
		return fmt_malformed(e, q->src.path, s->offset, "section name",
				     "section '%s' instance %u where the device description lists "
				     "'%s' instance %lld (device %zu)",
				     s->idstr, s->instance,
				     json_is_string(name) ? json_string_value(name) : "?",
				     (long long)vmdesc_int(d, "instance_id"), q->vmdesc_next);
	}
	q->vmdesc_next++;
	*desc = d;
	return 0;
}

/* The description's page size, when it gives one, is the stream's. */
static int check_vmdesc_page_size(struct qemu_stream *q, struct fmt_error *e)
{
	int64_t ps = vmdesc_int(q->vmdesc, "page_size");

	if (!json_object_get(q->vmdesc, "page_size") || ps == (int64_t)q->page_size)
		return 0;
	return fmt_malformed(e, q->src.path, q->vmdesc_offset, "vmdesc page_size",
			     "the device description gives page size %lld, the stream %u",
			     (long long)ps, q->page_size);
}

/*
 * The devices stepped over before the description was known are the
 * first it lists, in order, each as long as the description sizes it.
 */
static int check_early_sections(struct qemu_stream *q, struct fmt_error *e)
{
	for (size_t i = 0; i < q->nearly; i++) {
		const struct qemu_early_section *r = &q->early[i];
		struct qemu_section s = { .type = QSEC_FULL, .offset = r->offset,
					  .instance = r->instance, .idstr = r->idstr };
		json_t *desc;
		int64_t size;

		if (vmdesc_device(q, &s, &desc, e))
			return -1;
		size = vmdesc_size(desc, 0);
		if (size != (int64_t)r->len)
			return fmt_malformed(e, q->src.path, r->offset, "section footer",
					     "section '%s' instance %u, saved before the RAM, has %llu "
					     "bytes of data; the device description gives it %lld",
					     r->idstr, r->instance, (unsigned long long)r->len,
					     (long long)size);
	}
	return 0;
}

/*
 * A pipe or a decompressor: the rest of the input -- the device state,
 * the end-of-file marker and the description -- read into memory at the
 * first FULL section (off), and the description looked for at its end
 * exactly as in a file (vmdesc_find_tail), before any device is read.
 */
/*
 * The reader's state at the first FULL section, kept for
 * qemu_stream_parse_held: what it owns left out (the source, the
 * description, the chain, the names, the hooks).  Not kept when a vCPU was
 * read already (it never is: cpu sections are not saved before the RAM).
 */
static void keep_hold_state(struct qemu_stream *q)
{
	struct qemu_stream *c;

	if (q->at_hold || q->ncpus || q->nattached || !(c = malloc(sizeof(*c))))
		return;
	memcpy(c, q, sizeof(*c));
	memset(&c->src, 0, sizeof(c->src));
	c->src.fd = -1;
	c->vmdesc = NULL;
	memset(&c->chain, 0, sizeof(c->chain));
	c->chain_tried = c->chained = false;
	c->devices = NULL;
	c->devices_len = c->devices_cap = 0;
	c->cpus = NULL;
	c->vcpus = NULL;
	c->slot = NULL;
	c->ncpus = c->cap_cpus = c->nslots = 0;
	c->record_hooks = false;
	q->at_hold = c;
}

/* The device state from off is in memory: the description at its end, looked for. */
static int found_held(struct qemu_stream *q, uint64_t off, struct fmt_error *e)
{
	uint64_t end = 0;
	size_t len, tail, at;

	q->held = true;
	q->held_from = off;
	bsrc_known_end(&q->src, &end);
	len = (size_t)(end - off);
	tail = len < VMDESC_TAIL_MAX ? len : VMDESC_TAIL_MAX;
	q->vmdesc = vmdesc_find_tail(bsrc_at(&q->src, end - tail, tail), tail, &at);
	if (!q->vmdesc)
		return 0;
	q->vmdesc_offset = end - tail + at;
	q->vmdesc_trusted = true;
	return check_vmdesc_page_size(q, e) || check_early_sections(q, e) ? -1 : 0;
}

static int hold_device_state(struct qemu_stream *q, uint64_t off, struct fmt_error *e)
{
	keep_hold_state(q);
	if (bsrc_hold_rest(&q->src, "device state", e))
		return -1;
	return found_held(q, off, e);
}

/* ---- top level ----------------------------------------------------------- */

/*
 * QEMU's section names ("cpu", "0000:00:01.1/ide", "kvm-tpr-opt") are
 * non-empty printable ASCII; anything else is a damaged header, which
 * would otherwise send the reader scanning past it.
 */
static bool plausible_idstr(const char *idstr)
{
	if (!*idstr)
		return false;
	for (; *idstr; idstr++)
		if (*idstr < 0x20 || *idstr > 0x7e)
			return false;
	return true;
}

/* A START or FULL header after its type byte: sid, idstr, instance, version. */
static int take_full_header(struct qemu_stream *q, uint32_t *sid, char *idstr, uint32_t *instance,
			    uint32_t *version, struct fmt_error *e)
{
	uint64_t v;

	if (qw_take_be(&q->src, 4, &v, "section id", e))
		return -1;
	*sid = (uint32_t)v;
	if (qw_take_counted(&q->src, idstr, "section name", e))
		return -1;
	if (!plausible_idstr(idstr))
		return fmt_malformed(e, q->src.path, bsrc_offset(&q->src) - strlen(idstr) - 1,
				     "section name",
				     "section name of %zu bytes is not a device name: the header is "
				     "damaged",
				     strlen(idstr));
	if (qw_take_be(&q->src, 4, &v, "instance id", e))
		return -1;
	*instance = (uint32_t)v;
	if (qw_take_be(&q->src, 4, &v, "version id", e))
		return -1;
	*version = (uint32_t)v;
	return 0;
}

static struct qemu_iter_section *find_iter(struct qemu_stream *q, uint32_t sid)
{
	for (size_t i = 0; i < q->niter; i++)
		if (q->iter[i].sid == sid)
			return &q->iter[i];
	return NULL;
}

/* A START header: the iterative section it announces (RAM only), remembered by its id. */
static struct qemu_iter_section *start_iterative(struct qemu_stream *q, struct qemu_section *s,
						 struct fmt_error *e)
{
	struct qemu_iter_section *it;
	char idstr[256];

	if (take_full_header(q, &s->sid, idstr, &s->instance, &s->version, e))
		return NULL;
	if (strcmp(idstr, "ram") != 0) {
		fmt_fail(e, FMT_ERR_UNSUPPORTED, q->src.path,
			 "byte %llu: iterative section '%s' (dirty bitmaps, block migration, "
			 "VFIO) cannot be stepped over",
			 (unsigned long long)s->offset, idstr);
		return NULL;
	}
	if (q->niter == sizeof(q->iter) / sizeof(q->iter[0])) {
		fmt_malformed(e, q->src.path, s->offset, "section id", "too many iterative sections");
		return NULL;
	}
	it = &q->iter[q->niter++];
	it->sid = s->sid;
	snprintf(it->idstr, sizeof(it->idstr), "%s", idstr);
	add_device(q, idstr, s->instance);
	return it;
}

/* A PART or END header: the section it continues. */
static struct qemu_iter_section *continue_iterative(struct qemu_stream *q,
						    struct qemu_section *s, struct fmt_error *e)
{
	struct qemu_iter_section *it;
	uint64_t v;

	if (qw_take_be(&q->src, 4, &v, "section id", e))
		return NULL;
	s->sid = (uint32_t)v;
	it = find_iter(q, s->sid);
	if (!it)
		fmt_malformed(e, q->src.path, s->offset + 1, "section id",
			      "section id %u continues no section that was started", s->sid);
	return it;
}

static int parse_iterative(struct qemu_stream *q, uint8_t type, uint64_t off, struct fmt_error *e)
{
	struct qemu_section s = { .type = type, .offset = off };
	struct qemu_iter_section *it = type == QSEC_START ? start_iterative(q, &s, e) :
							    continue_iterative(q, &s, e);
	int rc = 0;

	if (!it)
		return -1;
	s.idstr = it->idstr;
	NOTIFY(rc, q, section_header, &s, e);
	if (rc || parse_ram(q, type == QSEC_START, e))
		return -1;
	if (type == QSEC_START)
		q->iter_open++;
	else if (type == QSEC_END && q->iter_open)
		q->iter_open--;
	return qw_expect_footer(&q->src, s.sid, it->idstr, e);
}

/*
 * Is a FULL section met now one QEMU saves before the RAM (early_setup,
 * QEMU 8.1+: virtio-mem), not part of the device state that follows it?
 * Before any iterative section, or while one is still open.
 */
static bool early_now(const struct qemu_stream *q)
{
	return q->niter == 0 || q->iter_open > 0;
}

/*
 * Is the FULL section whose type byte is next an early one?  A `cpu`
 * section never is: a stream without RAM (no iterative section at all)
 * has its device state begin there.
 */
static bool early_section_next(struct qemu_stream *q)
{
	struct fmt_error ignored;
	const uint8_t *p;

	if (!early_now(q) || bsrc_available(&q->src, 9) < 9)
		return early_now(q);
	p = bsrc_peek(&q->src, 9, "", &ignored);
	return !(p[5] == 3 && memcmp(p + 6, "cpu", 3) == 0);
}

/* Could a section begin at p (n bytes available): a START, a PART or END of an open section, a FULL, a command? */
static bool section_follows(struct qemu_stream *q, const uint8_t *p, size_t n)
{
	switch (p[0]) {
	case QSEC_START:
	case QSEC_FULL:
		return n >= 6 && p[5] != 0;
	case QSEC_PART:
	case QSEC_END:
		return n >= 5 && find_iter(q, (uint32_t)be_get(p + 1, 4)) != NULL;
	case QSEC_COMMAND:
		return true;
	default:
		return false;
	}
}

/*
 * An early device met before its description is known (a pipe, a
 * decompressed image, or no description at all): its data ends at the
 * first footer of its own id that a section follows.  It is never
 * edited and passes through; once the description is read its length is
 * checked (check_early_sections), so a wrong guess fails loudly.
 */
static int step_over_early(struct qemu_stream *q, const struct qemu_section *s,
			   struct fmt_error *e)
{
	uint64_t data = bsrc_offset(&q->src);
	struct qemu_early_section *r;

	if (q->nearly == QEMU_EARLY_MAX)
		return fmt_malformed(e, q->src.path, s->offset, "section name",
				     "more than %u devices saved before the RAM", QEMU_EARLY_MAX);
	for (;;) {
		size_t n = bsrc_available(&q->src, 11);
		const uint8_t *p = bsrc_peek(&q->src, n, "", e);

		if (n < 6)
			return fmt_malformed(e, q->src.path, bsrc_offset(&q->src), "section footer",
					     "section '%s' (id %u) saved before the RAM has no "
					     "footer: the stream ends first",
					     s->idstr, s->sid);
		if (p[0] == QSEC_FOOTER && be_get(p + 1, 4) == s->sid &&
		    section_follows(q, p + 5, n - 5))
			break;
		if (bsrc_offset(&q->src) - data >= QEMU_EARLY_BYTES_MAX)
			return fmt_malformed(e, q->src.path, s->offset, "section footer",
					     "section '%s' (id %u) saved before the RAM has no "
					     "footer in its first %u KiB",
					     s->idstr, s->sid, QEMU_EARLY_BYTES_MAX >> 10);
		bsrc_skip(&q->src, 1, "", e);
	}
	r = &q->early[q->nearly++];
	r->offset = s->offset;
	r->len = bsrc_offset(&q->src) - data;
	r->instance = s->instance;
	snprintf(r->idstr, sizeof(r->idstr), "%s", s->idstr);
	return qw_expect_footer(&q->src, s->sid, s->idstr, e);
}

/* The vCPU arrays grown for one more. */
static int grow_cpus(struct qemu_stream *q, struct fmt_error *e)
{
	size_t cap = q->cap_cpus ? q->cap_cpus * 2 : 8;
	struct qemu_cpu_loc *l;
	struct vcpu_state *v;

	if (q->ncpus < q->cap_cpus)
		return 0;
	l = realloc(q->cpus, cap * sizeof(*l));
	if (l)
		q->cpus = l;
	v = realloc(q->vcpus, cap * sizeof(*v));
	if (v)
		q->vcpus = v;
	if (!l || !v)
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot read");
	q->cap_cpus = cap;
	return 0;
}

/* ---- the vCPUs by instance id ------------------------------------------- */

/* Multiply-add-shift (a 2-universal family): the top bits of a * id + b. */
static size_t id_slot(const struct qemu_stream *q, uint32_t instance)
{
	return (size_t)((q->hash_a * instance + q->hash_b) >> 32) & (q->nslots - 1);
}

/*
 * The slot that holds instance, or the free one where it would go.  The
 * table is never more than half full, so a free slot is always found.
 */
static size_t probe(const struct qemu_stream *q, uint32_t instance)
{
	size_t i = id_slot(q, instance);

	while (q->slot[i] && q->cpus[q->slot[i] - 1].instance != instance)
		i = (i + 1) & (q->nslots - 1);
	return i;
}

size_t qemu_stream_find_cpu(const struct qemu_stream *q, uint32_t instance)
{
	size_t i;

	if (!q->nslots)
		return SIZE_MAX;
	i = probe(q, instance);
	return q->slot[i] ? q->slot[i] - 1 : SIZE_MAX;
}

/* A seed no input can know in advance: where the stream's reader lives, and the clock. */
static void seed_hash(struct qemu_stream *q)
{
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (uint64_t)(uintptr_t)q ^ ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec;
	/* splitmix64 steps spread the seed's bits over both words. */
	for (int i = 0; i < 2; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		*(i ? &q->hash_b : &q->hash_a) = z ^ (z >> 31);
	}
	q->hash_a |= 1;
}

/* Room for one more id: the table doubled (and refilled) when it would be half full. */
static int grow_slots(struct qemu_stream *q)
{
	size_t n = q->nslots ? q->nslots * 2 : 64;
	uint32_t *old = q->slot;
	size_t old_n = q->nslots;

	if (2 * (q->ncpus + 1) <= q->nslots)
		return 0;
	if (!old)
		seed_hash(q);
	q->slot = calloc(n, sizeof(*q->slot));
	if (!q->slot) {
		q->slot = old;
		return -1;
	}
	q->nslots = n;
	for (size_t i = 0; i < old_n; i++)
		if (old[i])
			q->slot[probe(q, q->cpus[old[i] - 1].instance)] = old[i];
	free(old);
	return 0;
}

/* A `cpu` section after its header (s): decoded by qemu_cpu.c, then told to the hooks. */
static int parse_cpu_section(struct qemu_stream *q, const struct qemu_section *s, json_t *desc,
			     struct fmt_error *e)
{
	int rc = 0;

	if (qemu_cpu_version(&q->src, s->offset, s->version, e))
		return -1;
	if (qemu_stream_find_cpu(q, s->instance) != SIZE_MAX)
		return fmt_malformed(e, q->src.path, s->offset, "cpu instance",
				     "a second cpu section for vCPU %u", s->instance);
	if (q->ncpus == QEMU_CPUS_MAX)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, q->src.path,
				"byte %llu: the stream has more than %u vCPUs (cpu section %zu, "
				"vCPU %u): fredck reads at most %u per stream",
				(unsigned long long)s->offset, QEMU_CPUS_MAX, q->ncpus + 1,
				s->instance, QEMU_CPUS_MAX);
	if (grow_slots(q))
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot read");
	if (grow_cpus(q, e) ||
	    qemu_cpu_parse(&q->src, s->offset, s->sid, s->instance, desc, &q->cpus[q->ncpus],
			   &q->vcpus[q->ncpus], e))
		return -1;
	q->vcpus[q->ncpus].found_by_scan = !q->vmdesc;
	q->slot[probe(q, s->instance)] = (uint32_t)q->ncpus + 1;
	q->ncpus++;
	NOTIFY(rc, q, cpu, q->ncpus - 1, e);
	return rc;
}

/* No description: a device's data, stepped over to the footer the one reading gives it. */
static int skip_by_chain(struct qemu_stream *q, const struct qemu_section *s, struct fmt_error *e)
{
	uint64_t data = bsrc_offset(&q->src);
	uint64_t footer = qemu_chain_footer(&q->chain, data, s->sid);

	if (footer == UINT64_MAX)
		return fmt_malformed(e, q->src.path, s->offset, "section footer",
				     "internal error: section '%s' off the stream's one reading",
				     s->idstr);
	if (bsrc_skip(&q->src, footer - data, s->idstr, e))
		return -1;
	return qw_expect_footer(&q->src, s->sid, s->idstr, e);
}

/* A FULL section: a `cpu`, or a device sized by the description or found past. */
static int parse_full(struct qemu_stream *q, uint64_t off, struct fmt_error *e)
{
	char idstr[256];
	struct qemu_section s = { .type = QSEC_FULL, .offset = off, .idstr = idstr };
	json_t *desc = NULL;
	int64_t size;
	int rc = 0;

	if (take_full_header(q, &s.sid, idstr, &s.instance, &s.version, e))
		return -1;
	NOTIFY(rc, q, section_header, &s, e);
	if (rc)
		return -1;
	add_device(q, idstr, s.instance);
	if (q->vmdesc && vmdesc_device(q, &s, &desc, e))
		return -1;
	if (strcmp(idstr, "cpu") == 0)
		return parse_cpu_section(q, &s, desc, e);
	if (!desc && q->early_next)
		return step_over_early(q, &s, e);
	if (!desc && q->chained)
		return skip_by_chain(q, &s, e);
	if (!desc)
		return -2; /* no description: the caller scans for the next cpu section */
	size = vmdesc_size(desc, 0);
	if (size < 0)
		return fmt_malformed(e, q->src.path, off, "section name",
				     "the device description of '%s' instance %u gives it no size",
				     idstr, s.instance);
	if (bsrc_skip(&q->src, (uint64_t)size, idstr, e))
		return -1;
	return qw_expect_footer(&q->src, s.sid, idstr, e);
}

/* Is this a plausible cpu section header: 04 sid 03 "cpu" instance 0000000c? */
static bool cpu_header_at(const uint8_t *p)
{
	return p[0] == QSEC_FULL && p[5] == 3 && memcmp(p + 6, "cpu", 3) == 0 &&
	       be_get(p + 13, 4) == QCPU_VERSION;
}

/*
 * Is the 00 here the end-of-file marker?  It follows a section footer
 * (prev holds the 5 bytes before it: 7e and a section id), and it is the
 * last byte of the input or is followed by 06, a be32 length and '{'
 * (ending, in a file, exactly at its end).  A 00 inside some device's data
 * -- or where a stream was cut short -- passes neither test.
 */
static bool end_marker_here(struct qemu_stream *q, const uint8_t prev[5])
{
	struct fmt_error ignored;
	size_t n = bsrc_available(&q->src, 7);
	const uint8_t *p = bsrc_peek(&q->src, n, "", &ignored);
	uint64_t here = bsrc_offset(&q->src), end;

	if (prev[0] != QSEC_FOOTER)
		return false;
	if (n == 1)
		return true;
	if (n < 7 || p[1] != QSEC_VMDESC || p[6] != '{')
		return false;
	return !bsrc_known_end(&q->src, &end) || here + 6 + be_get(p + 2, 4) == end;
}

/*
 * Without a description, step to the next `cpu` section by its header, or
 * to the end of the device sections (a footer, 00, then 06 or the end of
 * the input).  Returns 1 at a cpu header, 0 at the end marker, -1 on error.
 */
static int scan_to_cpu(struct qemu_stream *q, struct fmt_error *e)
{
	uint8_t prev[5] = { 0 }; /* the last 5 bytes stepped over */
	uint8_t byte;

	q->scanned = true;
	for (;;) {
		size_t n = bsrc_available(&q->src, QCPU_HEADER);
		const uint8_t *p;

		if (n == 0)
			return fmt_malformed(e, q->src.path, bsrc_offset(&q->src), "EOF marker",
					     "the stream ends without its end-of-file marker");
		p = bsrc_peek(&q->src, n, "", e);
		if (n == QCPU_HEADER && cpu_header_at(p))
			return 1;
		/* Kept: end_marker_here reads on, which may slide the window away from p. */
		byte = p[0];
		if (byte == QSEC_EOF && end_marker_here(q, prev))
			return 0;
		memmove(prev, prev + 1, 4);
		prev[4] = byte;
		bsrc_skip(&q->src, 1, "", e);
	}
}

static int parse_command(struct qemu_stream *q, struct fmt_error *e)
{
	uint64_t cmd, len;

	if (qw_take_be(&q->src, 2, &cmd, "command", e) ||
	    qw_take_be(&q->src, 2, &len, "command length", e))
		return -1;
	if (cmd == 11)
		q->switchover_command = true;
	return bsrc_skip(&q->src, len, "command data", e);
}

/*
 * A description that was not found before the walk (len bytes of JSON
 * from here), read whole and parsed, so that a damaged one is damage in
 * every mode: NULL with e filled when it is not valid JSON with a
 * "devices" array.
 */
static json_t *read_description(struct qemu_stream *q, uint64_t marker, uint64_t len,
				struct fmt_error *e)
{
	uint64_t json_at = bsrc_offset(&q->src);
	char *text;
	json_t *doc;

	if (len > QEMU_VMDESC_MAX) {
		fmt_malformed(e, q->src.path, marker + 1, "vmdesc length",
			      "a device description of %llu bytes (fredck holds at most %u)",
			      (unsigned long long)len, QEMU_VMDESC_MAX);
		return NULL;
	}
	text = malloc(len ? len : 1);
	if (!text) {
		fmt_syserr(e, q->src.path, ENOMEM, "cannot read the device description");
		return NULL;
	}
	for (uint64_t done = 0; done < len;) {
		size_t chunk = len - done < BSRC_BUFFER / 2 ? (size_t)(len - done) : BSRC_BUFFER / 2;
		const uint8_t *p = bsrc_take(&q->src, chunk, "vmdesc JSON", e);

		if (!p) {
			free(text);
			return NULL;
		}
		memcpy(text + done, p, chunk);
		done += chunk;
	}
	doc = json_loadb(text, len, 0, NULL);
	free(text);
	if (!doc || !json_is_array(json_object_get(doc, "devices"))) {
		fmt_malformed(e, q->src.path, json_at, "vmdesc JSON",
			      doc ? "the device description has no list of devices" :
				    "the device description is not valid JSON");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/*
 * The description already read before the walk is the one that follows
 * the end-of-file marker (at off), and the walk met every device it lists.
 */
static int description_in_step(struct qemu_stream *q, uint64_t off, struct fmt_error *e)
{
	size_t listed = json_array_size(json_object_get(q->vmdesc, "devices"));

	if (off != q->vmdesc_offset)
		return fmt_malformed(e, q->src.path, off - 1, "EOF marker",
				     "the device sections end at byte %llu, the device description "
				     "begins at byte %llu",
				     (unsigned long long)off, (unsigned long long)q->vmdesc_offset);
	if (q->vmdesc_next != listed)
		return fmt_malformed(e, q->src.path, off - 1, "EOF marker",
				     "the device description lists %zu devices, the stream has %zu",
				     listed, q->vmdesc_next);
	return 0;
}

/* After EOF: nothing, or the description that ends the stream, for the hooks. */
static int parse_trailer(struct qemu_stream *q, struct fmt_error *e)
{
	uint64_t off = bsrc_offset(&q->src), len;
	const uint8_t *p;
	json_t *doc;
	int rc = 0;

	if (q->vmdesc && description_in_step(q, off, e))
		return -1;
	if (bsrc_at_end(&q->src))
		return 0;
	p = bsrc_take(&q->src, 1, "vmdesc marker", e);
	if (!p)
		return -1;
	if (*p != QSEC_VMDESC)
		return fmt_malformed(e, q->src.path, off, "vmdesc marker",
				     "byte 0x%02x after the end-of-file marker", *p);
	if (qw_take_be(&q->src, 4, &len, "vmdesc length", e))
		return -1;
	if (q->vmdesc) {
		if (bsrc_skip(&q->src, len, "vmdesc JSON", e))
			return -1;
		doc = json_incref(q->vmdesc);
	} else {
		doc = read_description(q, off, len, e);
		if (!doc)
			return -1;
	}
	if (!bsrc_at_end(&q->src))
		rc = fmt_malformed(e, q->src.path, bsrc_offset(&q->src), "(end)",
				   "bytes after the device description");
	if (rc == 0)
		NOTIFY(rc, q, description, doc, off, e);
	json_decref(doc);
	return rc;
}

/*
 * Is the device state to be held in memory before the section at hand
 * (a FULL section, or the end-of-file marker when there is none)?  When
 * the description is not known yet and cannot be read from the end.
 */
static bool must_hold(const struct qemu_stream *q, uint8_t type)
{
	return ((type == QSEC_FULL && !q->early_next) || type == QSEC_EOF) && !q->vmdesc &&
	       !q->held && !q->src.seekable;
}

/*
 * No description at the first FULL section (off): the device state held
 * in memory, a file's too (when it is no more than a pipe's may be), and
 * its readings counted.  One: the walk follows it.  More: refused -- a
 * guest has planted a section.  None: the walk scans, as it can.
 */
static int locate_by_chain(struct qemu_stream *q, uint64_t off, struct fmt_error *e)
{
	uint64_t end;
	int verdict;

	q->chain_tried = true;
	if (!q->src.memory) {
		if (!bsrc_known_end(&q->src, &end) || end - off > bsrc_hold_max)
			return 0;
		if (hold_device_state(q, off, e))
			return -1;
		if (q->vmdesc)
			return 0;
	}
	verdict = qemu_chain_build(q, off, &q->chain, e);
	if (verdict < 0)
		return -1;
	if (verdict == CHAIN_AMBIGUOUS)
		return fmt_malformed(e, q->src.path, off, "section footer",
				     "without a device description, the device sections from here "
				     "can be read in more than one way: one device's data holds "
				     "what reads as the end of that device and more sections (a "
				     "guest can plant them), so no cpu section can be trusted");
	q->chained = verdict == CHAIN_UNIQUE;
	return 0;
}

static int parse_sections(struct qemu_stream *q, struct fmt_error *e)
{
	for (;;) {
		uint64_t off = bsrc_offset(&q->src);
		const uint8_t *p = bsrc_peek(&q->src, 1, "section type", e);
		uint8_t type;
		int rc = 0;

		if (!p)
			return -1;
		type = *p;
		q->early_next = type == QSEC_FULL && early_section_next(q);
		if (must_hold(q, type) && hold_device_state(q, off, e))
			return -1;
		if (type == QSEC_FULL && !q->vmdesc && !q->chain_tried && !q->early_next &&
		    locate_by_chain(q, off, e))
			return -1;
		NOTIFY(rc, q, section_begin, type, off, e);
		if (rc)
			return -1;
		bsrc_take(&q->src, 1, "section type", e);
		switch (type) {
		case QSEC_EOF:
			return parse_trailer(q, e);
		case QSEC_START:
		case QSEC_PART:
		case QSEC_END:
			rc = parse_iterative(q, type, off, e);
			break;
		case QSEC_FULL:
			rc = parse_full(q, off, e);
			if (rc == -2) {
				rc = scan_to_cpu(q, e);
				rc = rc < 0 ? -1 : 0;
			}
			break;
		case QSEC_COMMAND:
			rc = parse_command(q, e);
			break;
		default:
			return fmt_malformed(e, q->src.path, off, "section type",
					     "unknown section type 0x%02x", type);
		}
		if (rc)
			return -1;
	}
}

/* ---- the reader -------------------------------------------------------- */

struct qemu_stream *qemu_stream_open(const char *path, struct fmt_error *e)
{
	struct qemu_stream *q = calloc(1, sizeof(*q));

	if (!q) {
		fmt_syserr(e, path, ENOMEM, "cannot read");
		return NULL;
	}
	q->page_size = 4096;
	if (bsrc_open(&q->src, path, e)) {
		qemu_stream_free(q);
		return NULL;
	}
	return q;
}

struct qemu_stream *qemu_stream_open_extents(const char *path, const char *label,
					     const struct bsrc_extent *x, size_t n,
					     struct fmt_error *e)
{
	struct qemu_stream *q = calloc(1, sizeof(*q));

	if (!q) {
		fmt_syserr(e, path, ENOMEM, "cannot read");
		return NULL;
	}
	q->page_size = 4096;
	if (bsrc_open_extents(&q->src, path, label, x, n, e)) {
		qemu_stream_free(q);
		return NULL;
	}
	return q;
}

struct qemu_stream *qemu_stream_reopen(const struct qemu_stream *q, const char *path,
				       struct fmt_error *e)
{
	struct qemu_stream *r = calloc(1, sizeof(*r));

	if (!r) {
		fmt_syserr(e, path, ENOMEM, "cannot read");
		return NULL;
	}
	r->page_size = 4096;
	if (bsrc_reopen_fd(&r->src, q->src.fd, path, e)) {
		qemu_stream_free(r);
		return NULL;
	}
	return r;
}

void qemu_stream_free(struct qemu_stream *q)
{
	if (!q)
		return;
	free(q->at_hold); /* it owns nothing */
	bsrc_close(&q->src);
	json_decref(q->vmdesc);
	qemu_chain_free(&q->chain);
	free(q->devices);
	free(q->cpus);
	free(q->vcpus);
	free(q->slot);
	free(q);
}

int qemu_stream_attach(struct qemu_stream *q, const struct qemu_hooks *hooks, void *ctx)
{
	if (q->nattached == QEMU_HOOKS_MAX || (hooks->pass && qemu_stream_passes(q)))
		return -1;
	q->attached[q->nattached].hooks = hooks;
	q->attached[q->nattached].ctx = ctx;
	q->nattached++;
	q->record_hooks |= hooks->ram_record != NULL;
	if (hooks->pass)
		bsrc_set_sink(&q->src, hooks->pass, ctx);
	return 0;
}

void qemu_stream_load_vmdesc(struct qemu_stream *q)
{
	q->vmdesc = vmdesc_load(&q->src, &q->vmdesc_offset);
	if (!q->vmdesc)
		return;
	/* Its page size is checked against the stream's once the header is read. */
	q->vmdesc_trusted = true;
}

static int parse_done(struct qemu_stream *q, struct fmt_error *e)
{
	if (q->ncpus == 0)
		return fmt_fail(e, FMT_ERR_MALFORMED, q->src.path, "no cpu section in the stream");
	for (size_t i = 0; i < q->ncpus; i++)
		if (q->cpus[i].error_code)
			q->cpu_has_error_code_sub = true;
	return 0;
}

struct qemu_stream *qemu_stream_parse_held(const struct qemu_stream *q, uint8_t *bytes,
					   size_t len, uint64_t base, const char *path,
					   struct fmt_error *e)
{
	struct qemu_stream *r;

	if (!q->at_hold || base > q->held_from || q->held_from - base > len ||
	    !(r = malloc(sizeof(*r)))) {
		free(bytes);
		fmt_fail(e, FMT_ERR_SYSTEM, path, "internal error: no reader state to parse the "
			 "device state again from");
		return NULL;
	}
	memcpy(r, q->at_hold, sizeof(*r));
	bsrc_open_memory(&r->src, bytes, len, base, q->held_from, path);
	if (found_held(r, q->held_from, e) || parse_sections(r, e) || parse_done(r, e)) {
		qemu_stream_free(r);
		return NULL;
	}
	return r;
}

int qemu_stream_parse(struct qemu_stream *q, struct fmt_error *e)
{
	if (parse_header(q, e) || (q->vmdesc && check_vmdesc_page_size(q, e)) ||
	    parse_sections(q, e))
		return -1;
	if (q->ncpus == 0)
		return fmt_fail(e, FMT_ERR_MALFORMED, q->src.path, "no cpu section in the stream");
	for (size_t i = 0; i < q->ncpus; i++)
		if (q->cpus[i].error_code)
			q->cpu_has_error_code_sub = true;
	return 0;
}
