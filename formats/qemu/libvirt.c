/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt.c --- libvirt save images (virsh save, managedsave): a 92-byte
 * header, the domain XML and a cookie, then a QEMU migration stream.
 *
 * The header, XML and cookie are never changed: a repair edits the stream
 * after them exactly as for a bare stream (qemu_write.c), and the sparse
 * kind is a mapped-ram stream whose offsets already count the header.
 * The container uses the QEMU reader through its public interface only
 * (qemu_read.h, qemu_stream.h, and the writer, filter and redaction).
 * Layout: reference/qemu-migration-stream.md section 6.
 */
#include "config.h"

#include <byteswap.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "formats/qemu/libvirt.h"
#include "formats/qemu/qemu_filter.h"
#include "formats/qemu/qemu_read.h"
#include "formats/qemu/qemu_redact.h"
#include "formats/qemu/qemu_stream.h"
#include "formats/qemu/qemu_write.h"

#define LV_HEADER 92
#define LV_MAGIC "LibvirtQemudSave"
#define LV_MAGIC_PART "LibvirtQemudPart" /* written first, replaced when the save completes */
#define LV_MAGIC_LEN 16
#define LV_VERSION 2
/* Most of the XML and cookie fredck reads for inspect. */
#define LV_XML_READ (1U << 20)

enum lv_format { LV_RAW, LV_GZIP, LV_BZIP2, LV_XZ, LV_LZOP, LV_ZSTD, LV_SPARSE, LV_FORMATS };

static const char *const lv_format_names[LV_FORMATS] = {
	"raw", "gzip", "bzip2", "xz", "lzop", "zstd", "sparse (mapped-ram)",
};

static uint32_t le32(const uint8_t *p, bool swap)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 24;

	return swap ? bswap_32(v) : v;
}

bool libvirt_magic(const uint8_t *p, size_t len)
{
	return len >= LV_MAGIC_LEN &&
	       (memcmp(p, LV_MAGIC, LV_MAGIC_LEN) == 0 || memcmp(p, LV_MAGIC_PART, LV_MAGIC_LEN) == 0);
}

/* The text between <tag> and </tag> in xml[len], into out; "" when absent. */
static void xml_element(const char *xml, size_t len, const char *tag, char *out, size_t outlen)
{
	char open[32], close[32];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	out[0] = '\0';
	a = memmem(xml, len, open, strlen(open));
	if (!a)
		return;
	a += strlen(open);
	b = memmem(a, len - (size_t)(a - xml), close, strlen(close));
	if (b && (size_t)(b - a) < outlen) {
		memcpy(out, a, (size_t)(b - a));
		out[b - a] = '\0';
	}
}

/* The XML and cookie: read what inspect shows, step over the rest. */
static int read_data(struct qemu_stream *q, struct snapshot *s, uint32_t data_len, uint32_t cookie,
		     struct fmt_error *e)
{
	size_t n = data_len < LV_XML_READ ? data_len : LV_XML_READ;
	const uint8_t *xml = bsrc_take(&q->src, n, "libvirt domain XML", e);
	char name[256], uuid[64];

	if (!xml)
		return -1;
	xml_element((const char *)xml, n, "name", name, sizeof(name));
	xml_element((const char *)xml, n, "uuid", uuid, sizeof(uuid));
	snapshot_add_fact(s, "domain", "%s%s%s%s", name[0] ? name : "(no name)",
			  uuid[0] ? " (" : "", uuid, uuid[0] ? ")" : "");
	snapshot_add_fact(s, "cookie", "%s", cookie ? "present" : "absent");
	return bsrc_skip(&q->src, data_len - n, "libvirt domain XML", e);
}

static int libvirt_header(struct qemu_stream *q, struct snapshot *s, struct fmt_error *e)
{
	const uint8_t *h = bsrc_take(&q->src, LV_HEADER, "libvirt header", e);
	uint32_t version, data_len, running, format, cookie;
	bool swap = false;

	if (!h)
		return -1;
	if (memcmp(h, LV_MAGIC_PART, LV_MAGIC_LEN) == 0)
		return fmt_malformed(e, q->src.path, 0, "magic",
				     "an unfinished libvirt save image (LibvirtQemudPart): the save "
				     "did not complete");
	if (memcmp(h, LV_MAGIC, LV_MAGIC_LEN) != 0)
		return fmt_malformed(e, q->src.path, 0, "magic", "not a libvirt save image");
	version = le32(h + 16, false);
	if (version > LV_VERSION) { /* written on a host of the other byte order */
		swap = true;
		version = bswap_32(version);
	}
	if (version == 0 || version > LV_VERSION)
		return fmt_malformed(e, q->src.path, 16, "version",
				     "libvirt save image version %u; fredck reads 1 and 2", version);
	data_len = le32(h + 20, swap);
	running = le32(h + 24, swap);
	format = version == 1 ? LV_RAW : le32(h + 28, swap);
	cookie = le32(h + 32, swap);
	if (format >= LV_FORMATS)
		return fmt_malformed(e, q->src.path, 28, "format", "unknown image format %u", format);
	if (q->src.seekable && LV_HEADER + (uint64_t)data_len > q->src.size)
		return fmt_malformed(e, q->src.path, 20, "data_len",
				     "data_len %u runs past the end of the file", data_len);
	if (cookie && cookie >= data_len)
		return fmt_malformed(e, q->src.path, 32, "cookieOffset",
				     "cookie offset %u is outside the %u bytes of XML data", cookie,
				     data_len);
	if (format != LV_RAW && format != LV_SPARSE && qemu_stream_passes(q))
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, q->src.path,
				"a %s-compressed libvirt save image cannot be filtered yet",
				lv_format_names[format]);
	s->ops = &libvirt_format; /* also when it arrived on standard input */
	snapshot_add_fact(s, "libvirt_image", "version %u, %s, %s after restore", version,
			  lv_format_names[format], running ? "running" : "paused");
	q->stream_start = LV_HEADER + (uint64_t)data_len;
	if (read_data(q, s, data_len, cookie, e))
		return -1;
	if (format == LV_RAW || format == LV_SPARSE)
		return 0;
	/* libvirt's formats 1-5 are enum codec's, in order. */
	q->compressed = true;
	q->codec = (enum codec)(format - LV_GZIP);
	q->container_len = LV_HEADER + (uint64_t)data_len;
	q->stream_start = 0;
	return bsrc_decode(&q->src, q->codec, e);
}

int libvirt_or_bare(struct qemu_stream *q, struct snapshot *s, struct fmt_error *e)
{
	size_t n = bsrc_available(&q->src, LV_MAGIC_LEN);
	const uint8_t *p = bsrc_peek(&q->src, n, "", e);

	if (p && libvirt_magic(p, n))
		return libvirt_header(q, s, e);
	return 0;
}

static int libvirt_open(struct snapshot *s, const char *path, struct fmt_error *e)
{
	return qemu_open_in(s, path, libvirt_header, e);
}

static int libvirt_filter(struct snapshot *s, const char *in_path, int out_fd, qemu_plan_fn plan,
			  void *ctx, struct vcpu_plan **plans, struct fmt_error *e)
{
	return qemu_filter_in(s, in_path, out_fd, plan, ctx, plans, libvirt_header, e);
}

static bool libvirt_probe(const char *path, const struct stat *st)
{
	uint8_t magic[LV_MAGIC_LEN];

	return format_read_magic(path, st, magic, sizeof(magic)) &&
	       libvirt_magic(magic, sizeof(magic));
}

const struct format_ops libvirt_format = {
	.name = "libvirt",
	.description = "libvirt save image (virsh save, managedsave): header, XML, QEMU stream",
	.probe = libvirt_probe,
	.open = libvirt_open,
	.dest_payload_cap = qemu_dest_cap, /* libvirt runs QEMU */
	.write = qemu_write,
	.filter = libvirt_filter,
	.redact = qemu_redact,
	.close = qemu_close,
};
