/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu.c --- reader of QEMU migration streams (QEVM version 3).
 *
 * The stream has no framing: every section must be understood to be
 * stepped over.  RAM is walked record by record without copying a page
 * (mapped-ram files are jumped over by their absolute offsets); `cpu`
 * sections are decoded at the offsets of vmstate_x86_cpu version 12; any
 * other device is sized by the trailing JSON device description when the
 * stream has one, and otherwise the next `cpu` section is found by its
 * 17-byte header and validated by its footer.  Every section footer is
 * checked.  Byte layouts: reference/qemu-migration-stream.md.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/io/bsrc.h"
#include "formats/qemu/qemu.h"
#include "formats/qemu/qemu_priv.h"

#define QEVM_MAGIC 0x5145564dU
#define QEVM_VERSION 3


/* RAM record flags (migration/ram.c). */
enum {
	RAM_ZERO = 0x002,
	RAM_MEM_SIZE = 0x004,
	RAM_PAGE = 0x008,
	RAM_EOS = 0x010,
	RAM_CONTINUE = 0x020,
	RAM_XBZRLE = 0x040,
	RAM_HOOK = 0x080,
	RAM_COMPRESS_PAGE = 0x100,
	RAM_MULTIFD_FLUSH = 0x200,
};



/* ---- small readers -------------------------------------------------- */

int take_be(struct qemu *q, int bytes, uint64_t *v, const char *field, struct fmt_error *e)
{
	const uint8_t *p = bsrc_take(&q->src, (size_t)bytes, field, e);

	if (!p)
		return -1;
	*v = be_get(p, bytes);
	return 0;
}

/* A counted string (1 length byte, no NUL) into out[256]. */
static int take_counted(struct qemu *q, char *out, const char *field, struct fmt_error *e)
{
	const uint8_t *p = bsrc_take(&q->src, 1, field, e);
	size_t n;

	if (!p)
		return -1;
	n = *p;
	p = bsrc_take(&q->src, n, field, e);
	if (!p)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	if (strlen(out) != n)
		return fmt_malformed(e, q->src.path, bsrc_offset(&q->src) - n, field,
				     "a NUL byte inside a name");
	return 0;
}

int expect_footer(struct qemu *q, uint32_t sid, const char *what, struct fmt_error *e)
{
	uint64_t off = bsrc_offset(&q->src);
	const uint8_t *p = bsrc_take(&q->src, 5, "section footer", e);

	if (!p)
		return -1;
	if (p[0] != QSEC_FOOTER || be_get(p + 1, 4) != sid)
		return fmt_malformed(e, q->src.path, off, "section footer",
				     "section %s (id %u) does not end with its footer 7e %08x "
				     "(found %02x %08llx): the section was not parsed as written",
				     what, sid, sid, p[0], (unsigned long long)be_get(p + 1, 4));
	return 0;
}

static void add_device(struct qemu *q, const char *idstr, uint32_t instance)
{
	char item[300];
	int n = snprintf(item, sizeof(item), "%s%s/%u", q->ndevices ? ", " : "", idstr, instance);
	char *grown;

	q->ndevices++;
	if (n <= 0 || q->devices_len > (1U << 20))
		return; /* the list inspect shows stops at 1 MiB */
	if (q->devices_len + (size_t)n + 1 > q->devices_cap) {
		/* Doubling: a stream of a million tiny sections is not quadratic. */
		size_t cap = q->devices_cap ? q->devices_cap * 2 : 4096;

		grown = realloc(q->devices, cap);
		if (!grown)
			return;
		q->devices = grown;
		q->devices_cap = cap;
	}
	memcpy(q->devices + q->devices_len, item, (size_t)n + 1);
	q->devices_len += (size_t)n;
}

/* ---- header and configuration --------------------------------------- */

static int parse_config_subsections(struct qemu *q, struct fmt_error *e)
{
	const uint8_t *p;

	while (bsrc_available(&q->src, 1) && (p = bsrc_peek(&q->src, 1, "", e)) &&
	       *p == QSEC_SUBSECTION) {
		char name[256];
		uint64_t version, count, v;
		uint64_t off = bsrc_offset(&q->src);

		bsrc_take(&q->src, 1, "", e);
		if (take_counted(q, name, "configuration subsection name", e) ||
		    take_be(q, 4, &version, "configuration subsection version", e))
			return -1;
		if (strcmp(name, "configuration/target-page-bits") == 0) {
			if (take_be(q, 4, &v, "configuration/target-page-bits", e))
				return -1;
			if (v < 12 || v > 16)
				return fmt_malformed(e, q->src.path, off, name,
						     "target page bits %llu", (unsigned long long)v);
			q->page_size = 1U << v;
		} else if (strcmp(name, "configuration/capabilities") == 0) {
			if (take_be(q, 4, &count, "configuration/capabilities count", e))
				return -1;
			for (uint64_t i = 0; i < count; i++) {
				char cap[256];

				if (take_counted(q, cap, "configuration/capabilities name", e))
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

static int parse_header(struct qemu *q, struct fmt_error *e)
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
	if (take_be(q, 4, &len, "configuration length", e))
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

static int add_extent(struct qemu *q, uint64_t off, uint64_t len, struct fmt_error *e)
{
	if (q->nextents == q->cap_extents) {
		size_t cap = q->cap_extents ? q->cap_extents * 2 : 16;
		struct ram_extent *x = realloc(q->extents, cap * sizeof(*x));

		if (!x)
			return fmt_syserr(e, q->src.path, ENOMEM, "cannot read");
		q->extents = x;
		q->cap_extents = cap;
	}
	q->extents[q->nextents++] = (struct ram_extent){ off, len };
	return 0;
}

/*
 * What redaction keeps: the legacy ROM area, 0xC0000-0xFFFFF, of the block
 * at guest-physical 0.  It holds firmware images (the VGA BIOS, option
 * ROMs, the BIOS shadow), not guest data, and QEMU's kvm-tpr-opt device
 * reads its option ROM there when it loads: without it the load fails.
 */
#define KEEP_FROM 0xC0000ULL
#define KEEP_TO 0x100000ULL

static bool kept_page(const struct qemu *q, bool first_block, uint64_t addr)
{
	return first_block && addr >= KEEP_FROM && addr < KEEP_TO;
}

/* Set bits of the bitmap at off (len bytes): pages present, those kept apart. */
static int count_present(struct qemu *q, bool first, uint64_t page, uint64_t off, uint64_t len,
			 uint64_t *present, struct fmt_error *e)
{
	uint8_t buf[65536];

	*present = 0;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);

		if (pread(q->src.fd, buf, n, (off_t)(off + done)) != (ssize_t)n)
			return fmt_syserr(e, q->src.path, errno ? errno : EIO, "cannot read");
		for (size_t i = 0; i < n; i++)
			for (int bit = 0; bit < 8; bit++) {
				uint64_t addr = ((done + i) * 8 + (uint64_t)bit) * page;

				if (!(buf[i] >> bit & 1))
					continue;
				if (kept_page(q, first, addr))
					q->kept_records++;
				else
					(*present)++;
			}
		done += n;
	}
	return 0;
}

/*
 * Redaction of a mapped-ram block: its bitmap (a bit per page, in longs,
 * as QEMU sizes it; little-endian longs, so bit n of the bitmap is bit
 * n % 8 of byte n / 8) and its pages are what the redacted copy leaves as
 * holes: every page then reads as absent, and RAM as zero.  The kept
 * pages' bits and bytes are the extents' gaps, copied as they are.
 */
static int record_mapped_block(struct qemu *q, bool first, uint64_t bitmap_offset,
			       uint64_t page, uint64_t pages_offset, uint64_t used,
			       struct fmt_error *e)
{
	uint64_t bitmap_len, present;

	if (page == 0 || page > (1U << 30) || used % page)
		return fmt_malformed(e, q->src.path, bsrc_offset(&q->src) - 24,
				     "mapped-ram page size",
				     "page size %llu does not divide the block's %llu bytes",
				     (unsigned long long)page, (unsigned long long)used);
	bitmap_len = (used / page + 63) / 64 * 8;
	if (bitmap_offset > q->src.size || bitmap_len > q->src.size - bitmap_offset)
		return fmt_malformed(e, q->src.path, bsrc_offset(&q->src) - 16,
				     "mapped-ram bitmap offset",
				     "a bitmap of %llu bytes at %llu lies beyond the end of the file",
				     (unsigned long long)bitmap_len,
				     (unsigned long long)bitmap_offset);
	if (count_present(q, first, page, bitmap_offset, bitmap_len, &present, e))
		return -1;
	q->redacted_records += present;
	q->redacted_bytes += present * page;
	if (first && page == 4096 && used >= KEEP_TO) {
		/* Around the kept area: its 8 bitmap bytes and 256 KiB of pages. */
		uint64_t b_from = KEEP_FROM / page / 8, b_to = KEEP_TO / page / 8;

		return add_extent(q, bitmap_offset, b_from, e) ||
		       add_extent(q, bitmap_offset + b_to, bitmap_len - b_to, e) ||
		       add_extent(q, pages_offset, KEEP_FROM, e) ||
		       add_extent(q, pages_offset + KEEP_TO, used - KEEP_TO, e);
	}
	return add_extent(q, bitmap_offset, bitmap_len, e) ||
	       add_extent(q, pages_offset, used, e);
}

/* One block of the MEM_SIZE list; mapped-ram jumps over the block's pages. */
static int parse_ram_block(struct qemu *q, uint64_t *sum, uint64_t total, struct fmt_error *e)
{
	char name[256];
	uint64_t used, v, page, bitmap_offset, pages_offset;
	uint64_t off = bsrc_offset(&q->src);

	if (take_counted(q, name, "RAM block name", e) ||
	    take_be(q, 8, &used, "RAM block used_length", e))
		return -1;
	if (used > total - *sum)
		return fmt_malformed(e, q->src.path, off, "RAM block used_length",
				     "block '%s' of %llu bytes exceeds the announced RAM total", name,
				     (unsigned long long)used);
	if (*sum == 0)
		snprintf(q->first_block, sizeof(q->first_block), "%s", name);
	*sum += used;
	q->ram_blocks++;
	if (q->ignore_shared && take_be(q, 8, &v, "RAM block address", e))
		return -1;
	if (!q->mapped_ram)
		return 0;
	/* MappedRamHeader: version, page size, bitmap offset, pages offset. */
	if (take_be(q, 4, &v, "mapped-ram header version", e) ||
	    take_be(q, 8, &page, "mapped-ram page size", e) ||
	    take_be(q, 8, &bitmap_offset, "mapped-ram bitmap offset", e) ||
	    take_be(q, 8, &pages_offset, "mapped-ram pages offset", e))
		return -1;
	if (!q->src.seekable)
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, q->src.path,
				"a mapped-ram stream must be read from a file, not a pipe");
	if (pages_offset > q->src.size || used > q->src.size - pages_offset)
		return fmt_malformed(e, q->src.path, bsrc_offset(&q->src) - 8,
				     "mapped-ram pages offset",
				     "block '%s' pages at %llu + %llu lie beyond the end of the file",
				     name, (unsigned long long)pages_offset,
				     (unsigned long long)used);
	if (q->redact && record_mapped_block(q, strcmp(name, q->first_block) == 0, bitmap_offset,
					     page, pages_offset, used, e))
		return -1;
	return bsrc_seek(&q->src, pages_offset + used, e);
}

static int parse_mem_size(struct qemu *q, uint64_t total, struct fmt_error *e)
{
	uint64_t sum = 0;

	q->ram_bytes = total;
	while (sum < total)
		if (parse_ram_block(q, &sum, total, e))
			return -1;
	return 0;
}


/*
 * Redaction: the record whose header (a, at off) was just read leaves as a
 * zero-page record for the same address: QEMU loads it, and it carries no
 * guest data.  The block name that may follow passes through as it is.
 */
static int redact_header(struct qemu *q, uint64_t off, uint64_t a, struct fmt_error *e)
{
	uint8_t header[8];

	be_put(header, (a & ~(uint64_t)(q->page_size - 1)) | (a & RAM_CONTINUE) | RAM_ZERO, 8);
	if (bsrc_emit_to(&q->src, off, e) || bsrc_inject(&q->src, header, 8, e))
		return -1;
	bsrc_mark_emitted(&q->src, off + 8);
	return 0;
}

/*
 * Redaction: the body (len bytes from here) leaves as a zero page's fill
 * byte; counted when it carried a page's content.
 */
static int redact_body(struct qemu *q, uint64_t len, bool content, const char *field,
		       struct fmt_error *e)
{
	static const uint8_t zero;
	uint64_t at = bsrc_offset(&q->src);

	if (bsrc_emit_to(&q->src, at, e) || bsrc_inject(&q->src, &zero, 1, e))
		return -1;
	bsrc_mark_emitted(&q->src, at + len);
	q->redacted_records += content;
	q->redacted_bytes += content ? len : 0;
	return bsrc_skip(&q->src, len, field, e);
}

/* Bytes of the body of an XBZRLE or compressed-page record, from its own header. */
static int carried_length(struct qemu *q, uint64_t flags, uint64_t *len, struct fmt_error *e)
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

/*
 * Redaction: which block the record at hand belongs to.  A record names
 * its block unless it continues the previous one; the name is looked at
 * here, before the header is rewritten, and consumed later as usual.
 */
static int note_block(struct qemu *q, uint64_t flags, struct fmt_error *e)
{
	const uint8_t *p;

	if (flags & RAM_CONTINUE)
		return 0;
	p = bsrc_peek(&q->src, 1, "RAM block name", e);
	if (!p)
		return -1;
	p = bsrc_peek(&q->src, 1 + (size_t)p[0], "RAM block name", e);
	if (!p)
		return -1;
	q->in_first_block = p[0] == strlen(q->first_block) &&
			    memcmp(p + 1, q->first_block, p[0]) == 0;
	return 0;
}

/* Step over one page-carrying record's body. */
static int skip_ram_body(struct qemu *q, uint64_t flags, bool redact, struct fmt_error *e)
{
	char block[256];
	uint64_t len;

	if (!(flags & RAM_CONTINUE) && take_counted(q, block, "RAM block name", e))
		return -1;
	if (flags & RAM_ZERO) {
		q->zero_pages++;
		/* The fill byte: QEMU writes 0, but it is the page's content. */
		if (redact)
			return redact_body(q, 1, false, "RAM zero-page fill byte", e);
		return bsrc_skip(&q->src, 1, "RAM zero-page fill byte", e);
	}
	q->ram_pages++;
	q->kept_records += q->redact && !redact;
	if (flags & RAM_PAGE) {
		if (redact)
			return redact_body(q, q->page_size, true, "RAM page", e);
		/* The header of the record some pages on, if they are pages too. */
		bsrc_prefetch(&q->src, RAM_PREFETCH_PAGES * ((size_t)q->page_size + 8));
		return bsrc_skip(&q->src, q->page_size, "RAM page", e);
	}
	if (carried_length(q, flags, &len, e))
		return -1;
	if (redact)
		return redact_body(q, len, true, "RAM page data", e);
	return bsrc_skip(&q->src, len, "RAM page data", e);
}

static int parse_ram(struct qemu *q, bool start, struct fmt_error *e)
{
	const uint64_t known = RAM_ZERO | RAM_MEM_SIZE | RAM_PAGE | RAM_EOS | RAM_CONTINUE |
			       RAM_XBZRLE | RAM_COMPRESS_PAGE | RAM_MULTIFD_FLUSH;

	for (;;) {
		uint64_t off = bsrc_offset(&q->src), a, flags;
		bool redact;

		if (take_be(q, 8, &a, "RAM record header", e))
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
		if (q->redact && note_block(q, flags, e))
			return -1;
		redact = q->redact &&
			 !kept_page(q, q->in_first_block, a & ~(uint64_t)(q->page_size - 1));
		if (redact && !(flags & RAM_ZERO) && redact_header(q, off, a, e))
			return -1;
		if (skip_ram_body(q, flags, redact, e))
			return -1;
	}
}

/* ---- the device description (vmdesc) ----------------------------------- */

static int64_t json_int(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/*
 * Bytes a described device (or subsection, or struct) occupies:
 * sum(field size x array_len) plus each subsection's header and body.
 * -1 when the description is not well formed.
 */
int64_t vmdesc_size(json_t *dev, int depth)
{
	json_t *fields = json_object_get(dev, "fields");
	json_t *subs = json_object_get(dev, "subsections");
	int64_t total = 0;
	size_t i;
	json_t *f;

	if (depth > 32 || (fields && !json_is_array(fields)) || (subs && !json_is_array(subs)))
		return -1;
	json_array_foreach(fields, i, f) {
		int64_t size = json_int(f, "size");
		int64_t n = json_object_get(f, "array_len") ? json_int(f, "array_len") : 1;

		if (size < 0 || n < 0 || (n && size > (INT64_MAX / 4) / n))
			return -1;
		total += size * n;
		if (total > INT64_MAX / 4)
			return -1;
	}
	json_array_foreach(subs, i, f) {
		json_t *name = json_object_get(f, "vmsd_name");
		int64_t body = vmdesc_size(f, depth + 1);

		if (!json_is_string(name) || body < 0)
			return -1;
		total += 2 + (int64_t)strlen(json_string_value(name)) + 4 + body;
		if (total > INT64_MAX / 4)
			return -1;
	}
	return total;
}

/*
 * Find the description in the last window bytes of a file: 06, be32 L,
 * then L bytes of JSON starting with '{' that end exactly at the end of the
 * file.  Returns the parsed JSON (q->vmdesc_offset set), or NULL.
 */
static json_t *find_vmdesc(struct qemu *q, uint64_t window)
{
	uint64_t size = q->src.size;
	uint8_t *tail = malloc(window);
	json_t *doc = NULL;

	if (!tail)
		return NULL;
	if (pread(q->src.fd, tail, window, (off_t)(size - window)) != (ssize_t)window) {
		free(tail);
		return NULL;
	}
	for (uint64_t k = window - 6;; k--) {
		if (tail[k] == QSEC_VMDESC && tail[k + 5] == '{' &&
		    be_get(tail + k + 1, 4) == window - k - 5) {
			doc = json_loadb((const char *)tail + k + 5, window - k - 5, 0, NULL);
			if (doc) {
				q->vmdesc_offset = size - window + k;
				break;
			}
		}
		if (k == 0)
			break;
	}
	free(tail);
	return doc;
}

/*
 * The description sizes the devices fredck does not decode, so it is read
 * first, from the end of the file.  The window grows from 1 MiB (a typical
 * description is 100 KiB) to 64 MiB, so memory stays small.
 */
static void load_vmdesc(struct qemu *q)
{
	json_t *doc = NULL;

	if (!q->src.seekable || q->src.size < 6)
		return;
	for (uint64_t window = 1U << 20;; window *= 8) {
		uint64_t w = window < q->src.size ? window : q->src.size;

		doc = find_vmdesc(q, w);
		if (doc || w == q->src.size || window >= (64U << 20))
			break;
	}
	if (doc && json_is_array(json_object_get(doc, "devices"))) {
		q->vmdesc = doc;
		q->vmdesc_trusted = true;
		if (json_int(doc, "page_size") > 0)
			q->page_size = (uint32_t)json_int(doc, "page_size");
	} else {
		json_decref(doc);
	}
}

/* The description of the FULL section (idstr, instance) now being read. */
static json_t *vmdesc_device(struct qemu *q, const char *idstr, uint32_t instance)
{
	json_t *devs, *d;

	if (!q->vmdesc || !q->vmdesc_trusted)
		return NULL;
	devs = json_object_get(q->vmdesc, "devices");
	d = json_array_get(devs, q->vmdesc_next);
	if (!d || !json_is_string(json_object_get(d, "name")) ||
	    strcmp(json_string_value(json_object_get(d, "name")), idstr) != 0 ||
	    json_int(d, "instance_id") != instance) {
		q->vmdesc_trusted = false; /* out of step with the stream: stop using it */
		return NULL;
	}
	q->vmdesc_next++;
	return d;
}

/* The description of subsection name among desc's subsections, or NULL. */
json_t *vmdesc_subsection(json_t *desc, const char *name)
{
	json_t *subs = json_object_get(desc, "subsections"), *s;
	size_t i;

	json_array_foreach(subs, i, s) {
		json_t *n = json_object_get(s, "vmsd_name");

		if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
			return s;
	}
	return NULL;
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
static int take_full_header(struct qemu *q, uint32_t *sid, char *idstr, uint32_t *instance,
			    uint32_t *version, struct fmt_error *e)
{
	uint64_t v;

	if (take_be(q, 4, &v, "section id", e))
		return -1;
	*sid = (uint32_t)v;
	if (take_counted(q, idstr, "section name", e))
		return -1;
	if (!plausible_idstr(idstr))
		return fmt_malformed(e, q->src.path, bsrc_offset(&q->src) - strlen(idstr) - 1,
				     "section name",
				     "section name of %zu bytes is not a device name: the header is "
				     "damaged",
				     strlen(idstr));
	if (take_be(q, 4, &v, "instance id", e))
		return -1;
	*instance = (uint32_t)v;
	if (take_be(q, 4, &v, "version id", e))
		return -1;
	*version = (uint32_t)v;
	return 0;
}

static struct iter_section *find_iter(struct qemu *q, uint32_t sid)
{
	for (size_t i = 0; i < q->niter; i++)
		if (q->iter[i].sid == sid)
			return &q->iter[i];
	return NULL;
}

static int parse_iterative(struct qemu *q, uint8_t type, uint64_t off, struct fmt_error *e)
{
	struct iter_section *it;
	uint32_t sid, instance, version;
	char idstr[256];
	uint64_t v;

	if (type == QSEC_START) {
		if (take_full_header(q, &sid, idstr, &instance, &version, e))
			return -1;
		if (strcmp(idstr, "ram") != 0)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, q->src.path,
					"byte %llu: iterative section '%s' (dirty bitmaps, block "
					"migration, VFIO) cannot be stepped over",
					(unsigned long long)off, idstr);
		if (q->niter == sizeof(q->iter) / sizeof(q->iter[0]))
			return fmt_malformed(e, q->src.path, off, "section id",
					     "too many iterative sections");
		it = &q->iter[q->niter++];
		it->sid = sid;
		snprintf(it->idstr, sizeof(it->idstr), "%s", idstr);
		add_device(q, idstr, instance);
	} else {
		if (take_be(q, 4, &v, "section id", e))
			return -1;
		sid = (uint32_t)v;
		it = find_iter(q, sid);
		if (!it)
			return fmt_malformed(e, q->src.path, off + 1, "section id",
					     "section id %u continues no section that was started",
					     sid);
	}
	if (parse_ram(q, type == QSEC_START, e))
		return -1;
	return expect_footer(q, sid, it->idstr, e);
}

/* A FULL section: a `cpu`, or a device sized by the description or found past. */
static int parse_full(struct qemu *q, uint64_t off, struct fmt_error *e)
{
	uint32_t sid, instance, version;
	char idstr[256];
	json_t *desc;
	int64_t size;

	if (take_full_header(q, &sid, idstr, &instance, &version, e))
		return -1;
	if (strcmp(idstr, "cpu") != 0)
		bsrc_release(&q->src);
	add_device(q, idstr, instance);
	desc = vmdesc_device(q, idstr, instance);
	if (strcmp(idstr, "cpu") == 0) {
		if (parse_cpu(q, off, sid, instance, version, desc, e))
			return -1;
		return q->filter ? qemu_filter_cpu(q, e) : 0;
	}
	size = desc ? vmdesc_size(desc, 0) : -1;
	if (size < 0)
		return -2; /* the caller scans for the next cpu section */
	if (bsrc_skip(&q->src, (uint64_t)size, idstr, e))
		return -1;
	return expect_footer(q, sid, idstr, e);
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
static bool end_marker_here(struct qemu *q, const uint8_t prev[5])
{
	struct fmt_error ignored;
	size_t n = bsrc_available(&q->src, 7);
	const uint8_t *p = bsrc_peek(&q->src, n, "", &ignored);
	uint64_t here = bsrc_offset(&q->src);

	if (prev[0] != QSEC_FOOTER)
		return false;
	if (n == 1)
		return true;
	if (n < 7 || p[1] != QSEC_VMDESC || p[6] != '{')
		return false;
	return !q->src.seekable || here + 6 + be_get(p + 2, 4) == q->src.size;
}

/*
 * Without a description, step to the next `cpu` section by its header, or
 * to the end of the device sections (a footer, 00, then 06 or the end of
 * the input).  Returns 1 at a cpu header, 0 at the end marker, -1 on error.
 */
static int scan_to_cpu(struct qemu *q, struct fmt_error *e)
{
	uint8_t prev[5] = { 0 }; /* the last 5 bytes stepped over */

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
		if (p[0] == QSEC_EOF && end_marker_here(q, prev))
			return 0;
		memmove(prev, prev + 1, 4);
		prev[4] = p[0];
		bsrc_skip(&q->src, 1, "", e);
	}
}

static int parse_command(struct qemu *q, struct fmt_error *e)
{
	uint64_t cmd, len;

	if (take_be(q, 2, &cmd, "command", e) || take_be(q, 2, &len, "command length", e))
		return -1;
	if (cmd == 11)
		q->switchover_command = true;
	return bsrc_skip(&q->src, len, "command data", e);
}

/* After EOF: nothing, or the description that ends the file. */
static int parse_trailer(struct qemu *q, struct fmt_error *e)
{
	uint64_t off = bsrc_offset(&q->src), len;
	const uint8_t *p;

	if (bsrc_at_end(&q->src)) {
		bsrc_release(&q->src);
		return 0;
	}
	p = bsrc_take(&q->src, 1, "vmdesc marker", e);
	if (!p)
		return -1;
	if (*p != QSEC_VMDESC)
		return fmt_malformed(e, q->src.path, off, "vmdesc marker",
				     "byte 0x%02x after the end-of-file marker", *p);
	if (take_be(q, 4, &len, "vmdesc length", e))
		return -1;
	if (q->filter ? qemu_filter_vmdesc(q, len, e) : bsrc_skip(&q->src, len, "vmdesc JSON", e))
		return -1;
	if (!bsrc_at_end(&q->src))
		return fmt_malformed(e, q->src.path, bsrc_offset(&q->src), "(end)",
				     "bytes after the device description");
	return 0;
}

static int parse_sections(struct qemu *q, struct fmt_error *e)
{
	for (;;) {
		uint64_t off = bsrc_offset(&q->src);
		const uint8_t *p;
		int rc;

		/* Filter mode: a FULL section may be a cpu to rewrite; keep its header. */
		if (q->filter)
			bsrc_hold(&q->src, off);
		p = bsrc_take(&q->src, 1, "section type", e);
		if (!p)
			return -1;
		if (*p != QSEC_FULL && *p != QSEC_EOF)
			bsrc_release(&q->src);
		switch (*p) {
		case QSEC_EOF:
			return parse_trailer(q, e);
		case QSEC_START:
		case QSEC_PART:
		case QSEC_END:
			rc = parse_iterative(q, *p, off, e);
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
					     "unknown section type 0x%02x", *p);
		}
		if (rc)
			return -1;
	}
}

/* ---- format operations ------------------------------------------------- */

void qemu_free(struct qemu *q)
{
	bsrc_close(&q->src);
	json_decref(q->vmdesc);
	free(q->devices);
	free(q->extents);
	free(q->cpus);
	free(q->vcpus);
	free(q);
}

void qemu_close(struct snapshot *s)
{
	if (s->priv)
		qemu_free(s->priv);
	s->priv = NULL;
}

void qemu_describe(struct snapshot *s, struct qemu *q)
{
	snprintf(s->detail, sizeof(s->detail), "%zu vCPU%s, machine %.64s%s", q->ncpus,
		 q->ncpus == 1 ? "" : "s", q->machine[0] ? q->machine : "(not named)",
		 q->mapped_ram ? ", mapped-ram" : "");
	snapshot_add_fact(s, "machine", "%s", q->machine[0] ? q->machine : "(not named)");
	snapshot_add_fact(s, "ram", "%llu MiB in %u blocks; %llu pages, %llu zero pages",
			  (unsigned long long)(q->ram_bytes >> 20), q->ram_blocks,
			  (unsigned long long)q->ram_pages, (unsigned long long)q->zero_pages);
	snapshot_add_fact(s, "layout", "%s%s", q->mapped_ram ? "mapped-ram" : "sequential",
			  q->ignore_shared ? ", x-ignore-shared" : "");
	snapshot_add_fact(s, "device_description",
			  !q->vmdesc ? "absent (suppress-vmdesc, or not read from a pipe)" :
			  q->vmdesc_trusted ? "present, matches the stream" :
					      "present, out of step with the stream: not used");
	snapshot_add_fact(s, "qemu_version_hints", "%s%s%s",
			  q->switchover_command ? "switchover-start command (QEMU 10.0 or later)" :
						  "no switchover-start command",
			  q->vmdesc && json_object_get(q->vmdesc, "configuration") ?
				  "; configuration described (QEMU 8 or later)" : "",
			  q->cpu_has_error_code_sub ? "; cpu/error_code (QEMU 10.2 or later)" : "");
	snapshot_add_fact(s, "devices", "%zu: %s", q->ndevices, q->devices ? q->devices : "");
}

int qemu_parse(struct qemu *q, struct fmt_error *e)
{
	if (parse_header(q, e) || parse_sections(q, e))
		return -1;
	if (q->ncpus == 0)
		return fmt_fail(e, FMT_ERR_MALFORMED, q->src.path, "no cpu section in the stream");
	for (size_t i = 0; i < q->ncpus; i++)
		if (q->cpus[i].error_code)
			q->cpu_has_error_code_sub = true;
	return 0;
}

int qemu_take_vcpus(struct snapshot *s, struct qemu *q, struct vcpu_plan *plans,
		    struct fmt_error *e)
{
	size_t *order = malloc(q->ncpus * sizeof(*order));
	struct vcpu_plan *sorted = plans ? malloc(q->ncpus * sizeof(*sorted)) : NULL;

	s->vcpus = malloc(q->ncpus * sizeof(*s->vcpus));
	if (!order || !s->vcpus || (plans && !sorted)) {
		free(order);
		free(sorted);
		return fmt_syserr(e, q->src.path, ENOMEM, "cannot read");
	}
	/* Insertion sort by vCPU index: stream order is nearly sorted already. */
	for (size_t i = 0; i < q->ncpus; i++) {
		size_t j = i;

		while (j > 0 && q->vcpus[order[j - 1]].index > q->vcpus[i].index) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t i = 0; i < q->ncpus; i++) {
		s->vcpus[i] = q->vcpus[order[i]];
		if (plans)
			sorted[i] = plans[order[i]];
	}
	if (plans)
		memcpy(plans, sorted, q->ncpus * sizeof(*plans));
	free(sorted);
	free(order);
	s->nvcpus = q->ncpus;
	return 0;
}

int qemu_open_in(struct snapshot *s, const char *path, qemu_container_fn container,
		 struct fmt_error *e)
{
	struct qemu *q = calloc(1, sizeof(*q));

	if (!q)
		return fmt_syserr(e, path, ENOMEM, "cannot read");
	s->priv = q;
	q->page_size = 4096;
	if (bsrc_open(&q->src, path, e))
		return -1;
	if (container && container(q, s, e))
		return -1;
	load_vmdesc(q);
	if (qemu_parse(q, e) || qemu_take_vcpus(s, q, NULL, e))
		return -1;
	qemu_describe(s, q);
	return 0;
}

int qemu_open(struct snapshot *s, const char *path, struct fmt_error *e)
{
	/* A file is detected by its magic; standard input may be either kind. */
	return qemu_open_in(s, path, strcmp(path, "-") == 0 ? qemu_auto_container : NULL, e);
}

static bool qemu_probe(const char *path, const struct stat *st)
{
	uint8_t magic[4];

	/* The magic alone: a stream cut short after it is a truncated QEMU stream. */
	return format_read_magic(path, st, magic, sizeof(magic)) && be_get(magic, 4) == QEVM_MAGIC;
}

/* QEMU enables KVM_CAP_EXCEPTION_PAYLOAD wherever the kernel offers it. */
bool qemu_dest_cap(const struct snapshot *s, const struct vcpu_state *v)
{
	return true;
}

const struct format_ops qemu_format = {
	.name = "qemu",
	.description = "QEMU migration stream (QEVM version 3)",
	.probe = qemu_probe,
	.open = qemu_open,
	.dest_payload_cap = qemu_dest_cap,
	.write = qemu_write,
	.filter = qemu_filter,
	.redact = qemu_redact,
	.close = qemu_close,
};
