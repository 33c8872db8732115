/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode.c --- decompressors for compressed libvirt save images: gzip
 * (zlib), bzip2 (libbz2), xz (liblzma), zstd (libzstd) and lzop (its file
 * format read here, its blocks by liblzo2) as libraries; the lzop encoder
 * is still the lzop program, as libvirt itself runs it.  Concatenated
 * members, frames and files are followed, as the programs do.
 */
#include "config.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <lzo/lzo1x.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>
/* For ZSTD_d_forceIgnoreChecksum, a parameter of the stable setter since libzstd 1.4.7. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "formats/io/decode.h"
#include "formats/io/whole_file.h"

#define INPUT_CHUNK (1U << 20)

struct decoder {
	enum codec codec;
	int fd;
	uint8_t *in;
	size_t in_len, in_pos, in_cap;
	bool in_eof, done;
	char error[256];
	union {
		z_stream z;
		bz_stream bz;
		lzma_stream xz;
	} s;
	ZSTD_DStream *zstd;
	size_t zstd_left; /* ZSTD_decompressStream's last hint: 0 at a frame's end */
	struct zstd_track *zt; /* zstd: frames and blocks followed, for the cuts */
	struct bit_track *bt;  /* gzip, bzip2: blocks followed, for the cuts */
	struct lzop_dec *lz;   /* lzop */
};

const char *codec_name(enum codec c)
{
	static const char *const names[] = { "gzip", "bzip2", "xz", "lzop", "zstd" };

	return (unsigned int)c < sizeof(names) / sizeof(names[0]) ? names[c] : "?";
}

const char *codec_provider(enum codec c, char *buf, size_t len)
{
	switch (c) {
	case CODEC_GZIP:
		snprintf(buf, len, "zlib %s", zlibVersion());
		break;
	case CODEC_BZIP2:
		/* "1.0.8, 13-Jul-2019": the version is what precedes the comma. */
		snprintf(buf, len, "libbz2 %.*s", (int)strcspn(BZ2_bzlibVersion(), ","),
			 BZ2_bzlibVersion());
		break;
	case CODEC_XZ:
		snprintf(buf, len, "liblzma %s", lzma_version_string());
		break;
	case CODEC_ZSTD:
		snprintf(buf, len, "libzstd %s", ZSTD_versionString());
		break;
	default:
		snprintf(buf, len, "liblzo2 %s", lzo_version_string());
		break;
	}
	return buf;
}

/* More compressed input, when all of it was used; false at its end. */
static bool refill(struct decoder *d)
{
	ssize_t n;

	if (d->in_pos < d->in_len)
		return true;
	if (d->in_eof)
		return false;
	do
		n = read(d->fd, d->in, INPUT_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		d->in_eof = true;
		return false;
	}
	d->in_len = (size_t)n;
	d->in_pos = 0;
	return true;
}

static int fail(struct decoder *d, const char *what)
{
	snprintf(d->error, sizeof(d->error), "%s data: %s", codec_name(d->codec), what);
	return -1;
}

/* ---- gzip and bzip2: where the compressed data may be cut ------------------ */

/*
 * Memory for the cuts is bounded: 4096 of them, 56 bytes each, thinned
 * evenly, and the last 256 as they came (the edits lie near the end: a
 * cut close before them lets the tail come from the device state the
 * first pass held, qemu_write.c).
 */
#define BIT_CUTS_MAX 4096
#define BIT_RECENT 256
/* bzip2 block magics found ahead of the input libbz2 was given, not yet proven or rejected. */
#define BZ_QUEUE 64
#define BZ_BLOCK_MAGIC 0x314159265359ULL
#define BZ_EOS_MAGIC 0x177245385090ULL
#define BZ_M48 0xFFFFFFFFFFFFULL

struct bz_cand {
	uint64_t bit;  /* where the magic starts */
	uint32_t crc;  /* the 32 bits after it: the block's CRC, or the stream's combined CRC */
	bool eos;
};

struct bit_track {
	bool broken;
	uint64_t c;              /* compressed bytes the library took */
	uint64_t d;              /* decompressed bytes out */
	uint64_t member_d_start;
	uint64_t member_c_bits;
	uint32_t blocks;         /* bzip2: the stream's blocks proven so far */
	XXH64_state_t *hash;     /* of the member's (stream's) content so far */
	struct bit_cut *cuts;    /* BIT_CUTS_MAX at most, evenly thinned */
	size_t ncuts;
	uint64_t seen, stride;
	struct bit_cut recent[BIT_RECENT]; /* a ring of the last ones, nrecent in all */
	uint64_t nrecent;
	struct bit_cut *merged;  /* decoder_bit_cuts's answer, nmerged long, made at merged_at cuts */
	size_t nmerged;
	uint64_t merged_at;
	/* bzip2 */
	uint64_t scanned;        /* bytes looked at for magics */
	uint64_t win_hi, win_lo; /* the last 16 of them, the last in the low bits */
	struct bz_cand q[BZ_QUEUE];
	size_t qn;
	uint64_t first_block;    /* the bit where the stream's first magic is, or UINT64_MAX */
	uint64_t proven_bit, proven_d;
	bool in_block, after_eos;
	uint32_t block_crc, eos_crc, combined;
	/*
	 * Every proven block start, in order, streams one after another (8
	 * bytes a block of up to 900 kB: 2 MiB for 200 GiB of bzip2 -9), so
	 * that the read-back finds the cut stream's kept blocks however many
	 * there are; starts_full past BZ_STARTS_MAX (a crafted stream of tiny
	 * blocks), when the thinned cuts are all there is.
	 */
	uint64_t *starts;
	size_t nstarts, starts_cap;
	bool starts_full;
};

#define BZ_STARTS_MAX (1U << 20)

static struct bit_track *bt_new(void)
{
	struct bit_track *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->stride = 1;
	t->first_block = 32; /* "BZh" and the level, then the first block */
	if (!(t->hash = XXH64_createState()))
		t->broken = true;
	else
		XXH64_reset(t->hash, 0);
	return t;
}

static void bt_free(struct bit_track *t)
{
	if (!t)
		return;
	XXH64_freeState(t->hash);
	free(t->cuts);
	free(t->merged);
	free(t->starts);
	free(t);
}

static void bt_record(struct bit_track *t, uint64_t c_bits, uint32_t crc, bool member_end)
{
	struct bit_cut c;

	if (t->d == t->member_d_start)
		return;
	c = (struct bit_cut){ .c_bits = c_bits, .d_end = t->d, .member_d_start = t->member_d_start,
			      .member_hash = XXH64_digest(t->hash),
			      .member_c_bits = t->member_c_bits, .crc = crc,
			      .blocks = member_end ? 0 : t->blocks, .member_end = member_end };
	t->recent[t->nrecent++ % BIT_RECENT] = c;
	if (t->seen++ % t->stride)
		return;
	if (!t->cuts && !(t->cuts = malloc(BIT_CUTS_MAX * sizeof(*t->cuts)))) {
		t->broken = true;
		return;
	}
	/* Full: every other cut goes, and from now on only every stride-th is kept. */
	if (t->ncuts == BIT_CUTS_MAX) {
		for (size_t i = 0; i < BIT_CUTS_MAX / 2; i++)
			t->cuts[i] = t->cuts[2 * i + 1];
		t->ncuts = BIT_CUTS_MAX / 2;
		t->stride *= 2;
	}
	t->cuts[t->ncuts++] = c;
}

/* The output of one call: counted and hashed. */
static void bt_out(struct bit_track *t, const uint8_t *p, size_t n)
{
	if (n)
		XXH64_update(t->hash, p, n);
	t->d += n;
}

/* A new member or stream starts at the current offsets. */
static void bt_member_start(struct bit_track *t)
{
	t->member_d_start = t->d;
	t->member_c_bits = t->c * 8;
	t->blocks = 0;
	XXH64_reset(t->hash, 0);
}

/*
 * After inflate(Z_BLOCK): at a block's end (data_type 128) that is not
 * the member's last (64), once the block's output is all out (inflate
 * stops there only after writing it), the bits in the last byte taken
 * that are not the block's are data_type & 7 (zlib.h; gzjoin.c relies on
 * it too); strm.adler is the member's CRC-32 so far.
 */
static void gz_track(struct bit_track *t, const z_stream *z)
{
	int dt = z->data_type;

	if (!(dt & 128) || (dt & 64))
		return;
	if ((dt & 63) > 7) {
		t->broken = true; /* more than a byte held back: not a state this follows */
		return;
	}
	bt_record(t, t->c * 8 - (uint64_t)(dt & 7), (uint32_t)z->adler, false);
}

static ssize_t read_gzip(struct decoder *d, uint8_t *out, size_t n)
{
	struct bit_track *t = d->bt && !d->bt->broken ? d->bt : NULL;

	d->s.z.next_out = out;
	d->s.z.avail_out = (uInt)n;
	while (d->s.z.avail_out == n && !d->done) {
		uint8_t *was = d->s.z.next_out;
		int rc;

		if (!refill(d))
			return fail(d, "truncated");
		d->s.z.next_in = d->in + d->in_pos;
		d->s.z.avail_in = (uInt)(d->in_len - d->in_pos);
		/* Tracked: inflate stops at every block's end, where a cut may go. */
		rc = inflate(&d->s.z, t ? Z_BLOCK : Z_NO_FLUSH);
		if (t) {
			t->c += d->in_len - d->in_pos - d->s.z.avail_in;
			bt_out(t, was, (size_t)(d->s.z.next_out - was));
		}
		d->in_pos = d->in_len - d->s.z.avail_in;
		if (rc == Z_STREAM_END) {
			if (t) {
				bt_record(t, t->c * 8, 0, true);
				bt_member_start(t);
			}
			/* Another gzip member may follow, as gzip -d reads them. */
			if (refill(d))
				inflateReset(&d->s.z);
			else
				d->done = true;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			return fail(d, d->s.z.msg ? d->s.z.msg : "corrupt");
		} else if (t) {
			gz_track(t, &d->s.z);
		}
	}
	return (ssize_t)(n - d->s.z.avail_out);
}

/*
 * bzip2 blocks are bit-aligned and a block header gives no length; only
 * decoding finds a block's end, and libbz2 does not say where it is.
 * Its 48-bit magic can also occur by chance, or by a guest's design,
 * inside compressed data, so a magic found by looking is only a
 * candidate; it is proven by libbz2 itself: given the input only up to
 * the candidate's byte, libbz2 gives out the whole block before it (and
 * checks its CRC) when the candidate is a block's start, and nothing of
 * the current block when the candidate lies inside it (a block's output
 * needs all of its symbols decoded: the BWT).  Candidates are tried in
 * order, so the first one after a proven start that has output behind it
 * is the next block's start (the magic overlaps itself or the
 * end-of-stream magic only at shifts of 45 bits or more, so a false one
 * never shares the real one's last byte).  At the stream's end, the
 * combined CRC of the proven blocks' CRCs must equal the stored one, or
 * no cut of the input is used.
 */

/* Look at bytes p[0..n) from absolute offset t->scanned on, for magics and their next 32 bits. */
static void bz_scan(struct bit_track *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && t->qn < BZ_QUEUE; i++) {
		t->win_hi = t->win_hi << 8 | t->win_lo >> 56;
		t->win_lo = t->win_lo << 8 | p[i];
		t->scanned++;
		if (t->scanned < 10)
			continue;
		for (unsigned int s = 0; s < 8 && t->qn < BZ_QUEUE && t->scanned * 8 >= s + 80; s++) {
			/* The 80 bits ending s bits before the end of this byte. */
			uint64_t low = t->win_lo >> s | (s ? t->win_hi << (64 - s) : 0);
			uint64_t magic = (low >> 32 | (t->win_hi >> s) << 32) & BZ_M48;

			if (magic != BZ_BLOCK_MAGIC && magic != BZ_EOS_MAGIC)
				continue;
			/* Found from the highest shift down would be out of order: sort in. */
			{
				struct bz_cand c = { t->scanned * 8 - s - 80, (uint32_t)low,
						     magic == BZ_EOS_MAGIC };
				size_t at = t->qn;

				while (at && t->q[at - 1].bit > c.bit) {
					t->q[at] = t->q[at - 1];
					at--;
				}
				t->q[at] = c;
				t->qn++;
			}
		}
	}
}

/* A block start proven at bit. */
static void bz_start(struct bit_track *t, uint64_t bit)
{
	if (t->starts_full)
		return;
	if (t->nstarts == t->starts_cap) {
		size_t cap = t->starts_cap ? 2 * t->starts_cap : 1024;
		uint64_t *m = cap <= BZ_STARTS_MAX ? realloc(t->starts, cap * sizeof(*m)) : NULL;

		if (!m) {
			t->starts_full = true;
			return;
		}
		t->starts = m;
		t->starts_cap = cap;
	}
	t->starts[t->nstarts++] = bit;
}

/* libbz2 took every byte up to the first candidate's and gave nothing more: judge it. */
static void bz_judge(struct bit_track *t)
{
	struct bz_cand c = t->q[0];

	memmove(t->q, t->q + 1, (--t->qn) * sizeof(t->q[0]));
	if (c.bit == t->first_block) {
		t->first_block = UINT64_MAX; /* the stream's first block, where the header says */
		t->combined = 0;
		t->blocks = c.eos ? 0 : 1;
		if (!c.eos)
			bz_start(t, c.bit);
	} else if (t->in_block && c.bit >= t->proven_bit + 80 && t->d > t->proven_d) {
		t->combined = (t->combined << 1 | t->combined >> 31) ^ t->block_crc;
		if (!c.eos) {
			bt_record(t, c.bit, t->combined, false);
			t->blocks++;
			bz_start(t, c.bit);
		}
	} else {
		return; /* inside the block: a magic by chance */
	}
	t->proven_bit = c.bit;
	t->proven_d = t->d;
	t->in_block = !c.eos;
	t->after_eos = c.eos;
	if (c.eos)
		t->eos_crc = c.crc;
	else
		t->block_crc = c.crc;
}

/* A stream ended where libbz2 says: its end must be the one proven, its CRCs those read. */
static void bz_stream_end(struct bit_track *t)
{
	if (!t->after_eos || t->eos_crc != t->combined || t->c != (t->proven_bit + 80 + 7) / 8) {
		t->broken = true;
		return;
	}
	bt_record(t, t->c * 8, 0, true);
	bt_member_start(t);
	t->first_block = t->c * 8 + 32;
	t->in_block = t->after_eos = false;
	/* Magics found in the padding or the next header are not blocks. */
	while (t->qn && t->q[0].bit < t->first_block)
		memmove(t->q, t->q + 1, (--t->qn) * sizeof(t->q[0]));
}

/*
 * Tracked: more input kept in front (so that a magic and its CRC are seen
 * before libbz2 is given the bytes before it), the new bytes scanned, and
 * how many of the bytes held may be given now.
 */
static size_t bz_feed(struct decoder *d, struct bit_track *t)
{
	size_t left = d->in_len - d->in_pos, feed;
	uint64_t at0 = t->c - d->in_pos; /* the absolute offset of d->in[0] */

	if (!d->in_eof && left < 64) {
		ssize_t got;

		memmove(d->in, d->in + d->in_pos, left);
		d->in_pos = 0;
		d->in_len = left;
		at0 = t->c;
		do
			got = read(d->fd, d->in + left, d->in_cap - left);
		while (got < 0 && errno == EINTR);
		if (got <= 0)
			d->in_eof = true;
		else
			d->in_len += (size_t)got;
		left = d->in_len;
	}
	if (t->scanned < at0 + d->in_len)
		bz_scan(t, d->in + (t->scanned - at0), (size_t)(at0 + d->in_len - t->scanned));
	feed = left;
	/* A magic not yet seen ends at least 80 bits after it starts. */
	if (!(d->in_eof && t->scanned == at0 + d->in_len)) {
		uint64_t safe = t->scanned > 10 ? t->scanned - 10 : 0;

		feed = safe > t->c ? (size_t)(safe - t->c < feed ? safe - t->c : feed) : 0;
	}
	/* One whose byte libbz2 took already cannot be judged (it cannot happen: dropped). */
	while (t->qn && (t->q[0].bit + 7) / 8 < t->c)
		memmove(t->q, t->q + 1, (--t->qn) * sizeof(t->q[0]));
	if (t->qn) {
		uint64_t upto = (t->q[0].bit + 7) / 8;

		feed = upto > t->c ? (size_t)(upto - t->c < feed ? upto - t->c : feed) : 0;
	}
	return feed;
}

static ssize_t read_bzip2(struct decoder *d, uint8_t *out, size_t n)
{
	d->s.bz.next_out = (char *)out;
	d->s.bz.avail_out = (unsigned int)n;
	while (d->s.bz.avail_out == n && !d->done) {
		struct bit_track *t = d->bt && !d->bt->broken ? d->bt : NULL;
		size_t feed;
		int rc;

		if (t)
			feed = bz_feed(d, t);
		else if (!refill(d))
			return fail(d, "truncated");
		else
			feed = d->in_len - d->in_pos;
		if (t && d->in_pos == d->in_len)
			return fail(d, "truncated");
		d->s.bz.next_in = (char *)d->in + d->in_pos;
		d->s.bz.avail_in = (unsigned int)feed;
		rc = BZ2_bzDecompress(&d->s.bz);
		if (t) {
			t->c += feed - d->s.bz.avail_in;
			bt_out(t, out, n - d->s.bz.avail_out);
		}
		d->in_pos += feed - d->s.bz.avail_in;
		if (t && rc == BZ_OK && t->qn && d->s.bz.avail_out == n &&
		    t->c == (t->q[0].bit + 7) / 8)
			bz_judge(t);
		else if (t && rc == BZ_OK && feed == 0 && d->s.bz.avail_out == n)
			t->broken = true; /* held back with nothing to judge: never, but never stuck */
		if (rc == BZ_STREAM_END) {
			if (t)
				bz_stream_end(t);
			BZ2_bzDecompressEnd(&d->s.bz);
			if (refill(d)) {
				char *next = d->s.bz.next_out;
				unsigned int room = d->s.bz.avail_out;

				memset(&d->s.bz, 0, sizeof(d->s.bz));
				if (BZ2_bzDecompressInit(&d->s.bz, 0, 0) != BZ_OK)
					return fail(d, "cannot restart");
				d->s.bz.next_out = next;
				d->s.bz.avail_out = room;
			} else {
				d->done = true;
			}
		} else if (rc != BZ_OK) {
			return fail(d, "corrupt");
		}
	}
	return (ssize_t)(n - d->s.bz.avail_out);
}

const uint64_t *decoder_bzip2_starts(const struct decoder *d, size_t *n)
{
	const struct bit_track *t = d->bt;

	*n = 0;
	if (d->codec != CODEC_BZIP2 || !t || t->broken || t->starts_full)
		return NULL;
	*n = t->nstarts;
	return t->starts;
}

const struct bit_cut *decoder_bit_cuts(const struct decoder *d, size_t *n)
{
	struct bit_track *t = d->bt;
	size_t nr, k = 0;
	const struct bit_cut *oldest;

	*n = 0;
	if (!t || t->broken || !t->nrecent)
		return NULL;
	/* The thinned ones before the ring's oldest, then the ring's, in order. */
	if (t->merged && t->merged_at == t->nrecent) {
		*n = t->nmerged; /* no cut since: the same answer, still valid */
		return t->merged;
	}
	nr = t->nrecent < BIT_RECENT ? (size_t)t->nrecent : BIT_RECENT;
	oldest = &t->recent[(t->nrecent - nr) % BIT_RECENT];
	free(t->merged);
	if (!(t->merged = malloc((t->ncuts + nr) * sizeof(*t->merged)))) {
		*n = t->ncuts;
		return t->cuts;
	}
	for (size_t i = 0; i < t->ncuts && t->cuts[i].c_bits < oldest->c_bits; i++)
		t->merged[k++] = t->cuts[i];
	for (size_t j = 0; j < nr; j++)
		t->merged[k++] = t->recent[(t->nrecent - nr + j) % BIT_RECENT];
	t->nmerged = *n = k;
	t->merged_at = t->nrecent;
	return t->merged;
}

static ssize_t read_xz(struct decoder *d, uint8_t *out, size_t n)
{
	d->s.xz.next_out = out;
	d->s.xz.avail_out = n;
	while (d->s.xz.avail_out == n && !d->done) {
		lzma_ret rc;
		bool more = refill(d);

		d->s.xz.next_in = d->in + d->in_pos;
		d->s.xz.avail_in = more ? d->in_len - d->in_pos : 0;
		rc = lzma_code(&d->s.xz, more ? LZMA_RUN : LZMA_FINISH);
		d->in_pos = more ? d->in_len - d->s.xz.avail_in : d->in_pos;
		if (rc == LZMA_STREAM_END)
			d->done = true;
		else if (rc == LZMA_MEMLIMIT_ERROR)
			return fail(d, "the xz data asks for more than 256 MiB to decompress");
		else if (rc != LZMA_OK)
			return fail(d, rc == LZMA_BUF_ERROR ? "truncated" : "corrupt");
	}
	return (ssize_t)(n - d->s.xz.avail_out);
}

/*
 * zstd's frames and blocks, followed as the compressed bytes are fed one
 * unit at a time (a frame header, a block header, a block's body, a
 * checksum, a skippable frame), so that the decompressed offset at each
 * block's end is known: where a repair may keep the compressed bytes
 * before (formats/io/splice.c).  RFC 8878.  A structure it cannot follow
 * stops the following (broken), never the decompression, which libzstd
 * checks.
 */
#define ZSTD_RECENT 64

enum zstd_unit { ZU_MAGIC, ZU_FRAME_HEADER, ZU_BLOCK_HEADER, ZU_BLOCK_BODY, ZU_CHECKSUM,
		 ZU_SKIP_SIZE, ZU_SKIP_BODY };

struct zstd_track {
	enum zstd_unit unit;
	uint64_t need;     /* bytes of the unit still to feed */
	uint8_t hdr[18];   /* the unit's bytes, for the headers */
	size_t hdr_len;
	uint64_t c, d;     /* compressed bytes fed, decompressed bytes out */
	bool broken, cut_pending, block_last;
	/*
	 * The tracker's hash of each frame is XXH64 of its content, which is
	 * what libzstd would compute again to check the frame's checksum: it
	 * checks it instead (libzstd is told to skip it), so that the content
	 * is hashed once, not twice.  check_pending: a frame's stored checksum
	 * read (check_want), to compare once all its content is out.
	 */
	bool own_checksum, check_pending, check_bad, oom;
	uint32_t check_want;
	struct zstd_cut frame; /* the frame's facts, as a cut after its blocks would be */
	XXH64_state_t *hash;
	struct zstd_cut *cuts; /* ZSTD_CUTS_MAX at most, evenly thinned */
	size_t ncuts;
	uint64_t seen, stride; /* cuts seen; one in stride kept */
	/*
	 * The last ZSTD_RECENT cuts, none thinned out (a ring from recent_at):
	 * the edits lie near the end, and a cut just before them lets the
	 * repair take the rest from the bytes it still holds (qemu_write.c).
	 */
	struct zstd_cut recent[ZSTD_RECENT];
	XXH64_state_t *recent_state[ZSTD_RECENT]; /* the hash's state at each (or NULL) */
	size_t nrecent, recent_at;
	struct zstd_cut *merged; /* decoder_zstd_cuts's answer */
};

/* Memory for the cuts is bounded: 4096 of them, 80 bytes each. */
#define ZSTD_CUTS_MAX 4096

static void zt_record(struct zstd_track *t, bool frame_end)
{
	struct zstd_cut c = t->frame;

	if (!frame_end && c.fcs_size == 2 && t->d - c.frame_d_start < 256)
		return; /* that size field cannot say less than 256 */
	if (t->d == 0)
		return;
	c.c_end = t->c;
	c.d_end = t->d;
	c.frame_hash = XXH64_digest(t->hash);
	c.frame_end = frame_end;
	t->recent[t->recent_at] = c;
	if (!t->recent_state[t->recent_at])
		t->recent_state[t->recent_at] = XXH64_createState();
	if (t->recent_state[t->recent_at])
		XXH64_copyState(t->recent_state[t->recent_at], t->hash);
	t->recent_at = (t->recent_at + 1) % ZSTD_RECENT;
	if (t->nrecent < ZSTD_RECENT)
		t->nrecent++;
	if (t->seen++ % t->stride)
		return;
	if (!t->cuts && !(t->cuts = malloc(ZSTD_CUTS_MAX * sizeof(*t->cuts)))) {
		t->broken = t->oom = true;
		return;
	}
	/* Full: every other cut goes, and from now on only every stride-th is kept. */
	if (t->ncuts == ZSTD_CUTS_MAX) {
		for (size_t i = 0; i < ZSTD_CUTS_MAX / 2; i++)
			t->cuts[i] = t->cuts[2 * i + 1];
		t->ncuts = ZSTD_CUTS_MAX / 2;
		t->stride *= 2;
	}
	t->cuts[t->ncuts++] = c;
}

/* The unit whose bytes are all in: what follows it. */
static void zt_next_unit(struct zstd_track *t)
{
	static const uint8_t did[4] = { 0, 1, 2, 4 }, fcs[4] = { 0, 2, 4, 8 };
	const uint8_t *h = t->hdr;
	uint32_t v;

	switch (t->unit) {
	case ZU_MAGIC:
		v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
		if ((v & 0xFFFFFFF0U) == 0x184D2A50U) {
			t->unit = ZU_SKIP_SIZE;
			t->need = 4;
		} else if (v == 0xFD2FB528U) {
			t->unit = ZU_FRAME_HEADER;
			t->need = 1; /* the descriptor, then the rest */
		} else {
			t->broken = true;
		}
		return;
	case ZU_FRAME_HEADER:
		if (t->hdr_len == 5) {
			uint8_t fhd = h[4];
			bool single = fhd >> 5 & 1;
			size_t fsize = (fhd >> 6) == 0 && single ? 1 : fcs[fhd >> 6];

			t->frame = (struct zstd_cut){ .frame_d_start = t->d, .fcs_size = (uint8_t)fsize,
						      .checksum = fhd >> 2 & 1 };
			t->need = (single ? 0 : 1) + did[fhd & 3] + fsize;
			t->frame.fcs_off = t->c - 5 + 5 + t->need - fsize;
			XXH64_reset(t->hash, 0);
			if (fhd & 3)
				t->broken = true; /* a dictionary: not followed */
			if (t->need)
				return;
		}
		t->unit = ZU_BLOCK_HEADER;
		t->need = 3;
		return;
	case ZU_BLOCK_HEADER:
		v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16;
		t->frame.block_hdr_off = t->c - 3;
		t->frame.block_hdr0 = h[0];
		t->block_last = v & 1;
		if ((v >> 1 & 3) == 3 || (v >> 3) > (128U << 10)) {
			t->broken = true;
			return;
		}
		t->unit = ZU_BLOCK_BODY;
		t->need = (v >> 1 & 3) == 1 ? 1 : v >> 3;
		if (t->need)
			return;
		/* An empty block's body is in already. */
		__attribute__((fallthrough));
	case ZU_BLOCK_BODY:
		/* A cut here, recorded once the block's output is all out; the last
		   block's is the frame's end, after its checksum when it has one. */
		t->cut_pending = !(t->block_last && t->frame.checksum);
		if (t->block_last) {
			t->unit = t->frame.checksum ? ZU_CHECKSUM : ZU_MAGIC;
			t->need = 4;
		} else {
			t->unit = ZU_BLOCK_HEADER;
			t->need = 3;
		}
		return;
	case ZU_CHECKSUM:
		t->check_want = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
				(uint32_t)h[3] << 24;
		t->check_pending = true;
		t->cut_pending = true;
		t->unit = ZU_MAGIC;
		t->need = 4;
		return;
	case ZU_SKIP_SIZE:
		t->unit = ZU_SKIP_BODY;
		t->need = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
			  (uint32_t)h[3] << 24;
		if (t->need)
			return;
		__attribute__((fallthrough));
	case ZU_SKIP_BODY:
		t->unit = ZU_MAGIC;
		t->need = 4;
		return;
	}
}

/* n bytes of the current unit were fed. */
static void zt_fed(struct zstd_track *t, const uint8_t *p, size_t n)
{
	while (n && !t->broken) {
		size_t m = t->need < n ? (size_t)t->need : n;

		if (t->unit != ZU_BLOCK_BODY && t->unit != ZU_SKIP_BODY) {
			if (t->hdr_len + m > sizeof(t->hdr)) {
				t->broken = true;
				return;
			}
			memcpy(t->hdr + t->hdr_len, p, m);
			t->hdr_len += m;
		}
		t->c += m;
		t->need -= m;
		p += m;
		n -= m;
		if (t->need == 0) {
			enum zstd_unit was = t->unit;

			zt_next_unit(t);
			/* The frame header is read in two steps after the magic number. */
			if (t->unit != ZU_FRAME_HEADER || (was != ZU_MAGIC && was != ZU_FRAME_HEADER))
				t->hdr_len = 0;
		}
	}
}

/* A block's output is all out: a cut there, and at a frame's end its checksum compared. */
static void zt_block_out(struct zstd_track *t)
{
	t->cut_pending = false;
	if (t->check_pending && (XXH64_digest(t->hash) & 0xFFFFFFFFU) != t->check_want)
		t->check_bad = true;
	t->check_pending = false;
	zt_record(t, t->unit == ZU_MAGIC);
}

/*
 * With libzstd's own check off, a frame the tracker could not follow
 * would go unchecked: an error, though libzstd itself refuses all the
 * frames the tracker cannot follow that it knows (a dictionary it was not
 * given, a reserved block type, a block over 128 KiB), with its message.
 */
static int zt_failed(struct decoder *d)
{
	const struct zstd_track *t = d->zt;

	if (t && t->check_bad)
		return fail(d, ZSTD_getErrorString(ZSTD_error_checksum_wrong));
	if (t && t->own_checksum && t->oom)
		return fail(d, "out of memory");
	if (t && t->own_checksum && t->broken)
		return fail(d, "a frame whose structure fredck cannot follow (its checksum would "
			       "go unchecked)");
	return 0;
}

static ssize_t read_zstd(struct decoder *d, uint8_t *out, size_t n)
{
	ZSTD_outBuffer ob = { out, n, 0 };
	struct zstd_track *t = d->zt;

	while (ob.pos == 0 && !d->done) {
		ZSTD_inBuffer ib;
		size_t rc, was = ob.pos, feed;

		if (!refill(d) && !(t && !t->broken && t->cut_pending)) {
			if (d->zstd_left)
				return fail(d, "truncated");
			if (zt_failed(d) != 0)
				return -1;
			d->done = true;
			break;
		}
		feed = d->in_len - d->in_pos;
		/* Not past the unit's end (nothing while a block's output is still to come). */
		if (t && !t->broken)
			feed = t->cut_pending ? 0 : (t->need < feed ? (size_t)t->need : feed);
		ib = (ZSTD_inBuffer){ d->in + d->in_pos, feed, 0 };
		rc = ZSTD_decompressStream(d->zstd, &ob, &ib);
		if (ZSTD_isError(rc))
			return fail(d, ZSTD_getErrorName(rc));
		d->in_pos += ib.pos;
		d->zstd_left = rc;
		if (!t || t->broken)
			continue;
		if (ob.pos > was)
			XXH64_update(t->hash, out + was, ob.pos - was);
		t->d += ob.pos - was;
		/* A block's end: once the output was not cut short by the room, all of it is out. */
		if (t->cut_pending && ob.pos < ob.size)
			zt_block_out(t);
		zt_fed(t, (const uint8_t *)ib.src, ib.pos);
		/* The unit ended in this call and the output had room: all out. */
		if (t->cut_pending && ob.pos < ob.size && ib.pos == feed)
			zt_block_out(t);
		if (zt_failed(d) != 0)
			return -1;
	}
	return (ssize_t)ob.pos;
}

const struct zstd_cut *decoder_zstd_cuts(const struct decoder *d, size_t *n)
{
	struct zstd_track *t = d->zt;
	size_t first = 0, m = 0;

	*n = 0;
	if (!t || !t->ncuts)
		return NULL;
	/* The thinned cuts before the recent ones, then those: in order. */
	free(t->merged);
	t->merged = malloc((t->ncuts + t->nrecent) * sizeof(*t->merged));
	if (!t->merged) {
		*n = t->ncuts;
		return t->cuts;
	}
	if (t->nrecent == ZSTD_RECENT)
		first = t->recent_at;
	for (size_t i = 0; i < t->ncuts && (!t->nrecent || t->cuts[i].d_end < t->recent[first].d_end);
	     i++)
		t->merged[m++] = t->cuts[i];
	for (size_t i = 0; i < t->nrecent; i++)
		t->merged[m++] = t->recent[(first + i) % ZSTD_RECENT];
	*n = m;
	return t->merged;
}

bool decoder_zstd_cut_state(const struct decoder *d, uint64_t c_end, struct XXH64_state_s *out)
{
	const struct zstd_track *t = d->zt;

	for (size_t i = 0; t && i < t->nrecent; i++)
		if (t->recent[i].c_end == c_end && t->recent_state[i]) {
			XXH64_copyState(out, t->recent_state[i]);
			return true;
		}
	return false;
}

/* ---- the lzop program ---------------------------------------------------- */

/*
 * Start argv (lzop) with in as its standard input, out as its standard
 * output and the write end of a new pipe as its standard error (*err_fd:
 * the read end, non-blocking), whatever fredck's own descriptors 0-2 are:
 * when fredck runs with standard input closed, the input it opened may
 * itself be descriptor 0, close-on-exec, which a plain dup2(fd, 0) would
 * leave to be closed by exec.  A program that cannot be run is said so
 * in why (not installed is an operational error, not bad data).
 */
static pid_t spawn_filter(char *const argv[], int in, int out, int *err_fd, char *why,
			  size_t why_len)
{
	int status[2], err[2], exec_errno = 0;
	pid_t child;
	ssize_t n;

	if (pipe2(status, O_CLOEXEC) != 0)
		return snprintf(why, why_len, "%s", strerror(errno)), -1;
	if (pipe2(err, O_CLOEXEC) != 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		close(status[0]);
		close(status[1]);
		return -1;
	}
	child = fork();
	if (child == 0) {
		/* Above 2 first, so that no dup2 below overwrites another. */
		int in2 = fcntl(in, F_DUPFD, 3), out2 = fcntl(out, F_DUPFD, 3);
		int err2 = fcntl(err[1], F_DUPFD, 3);

		if (in2 < 0 || out2 < 0 || err2 < 0 || dup2(in2, STDIN_FILENO) < 0 ||
		    dup2(out2, STDOUT_FILENO) < 0 || dup2(err2, STDERR_FILENO) < 0)
			exec_errno = errno;
		else {
			execvp(argv[0], argv);
			exec_errno = errno;
		}
		n = write(status[1], &exec_errno, sizeof(exec_errno));
		_exit(n < 0 ? 126 : 127);
	}
	close(status[1]);
	close(err[1]);
	if (child < 0) {
		snprintf(why, why_len, "%s", strerror(errno));
		close(status[0]);
		close(err[0]);
		return -1;
	}
	do
		n = read(status[0], &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	close(status[0]);
	if (n == (ssize_t)sizeof(exec_errno)) {
		snprintf(why, why_len, "cannot run %s: %s%s", argv[0], strerror(exec_errno),
			 exec_errno == ENOENT ? " (install the lzop package)" : "");
		waitpid(child, NULL, 0);
		close(err[0]);
		return -1;
	}
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*err_fd = err[0];
	return child;
}

/*
 * Keep the first printable words of what the child wrote on its standard
 * error (for the error message: never passed raw to fredck's own stderr,
 * where it would name no input), and drain the rest.
 */
static void drain_child_err(int fd, char *keep, size_t keep_len)
{
	char buf[512];
	ssize_t n;

	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		size_t used = strlen(keep);

		for (ssize_t i = 0; i < n && used + 1 < keep_len; i++) {
			char c = buf[i] == '\n' || buf[i] == '\t' ? ' ' : buf[i];

			if (c >= 0x20 && c < 0x7f)
				keep[used++] = c;
		}
		keep[used] = '\0';
	}
}

/* ---- the lzop file format (formats/io/splice.c continues lzop files) ----- */

#define LZOP_BLOCK_FLAGS 0x303U  /* Adler-32 and CRC-32 of the data and of the compressed data */
#define LZOP_H_EXTRA_FIELD 0x40U
#define LZOP_MULTIPART 0x400U
#define LZOP_H_FILTER 0x800U

static uint32_t lzop_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const uint8_t lzop_magic[9] = { 0x89, 'L', 'Z', 'O', 0, '\r', '\n', 0x1a, '\n' };

int lzop_header(const uint8_t *p, size_t len, size_t *hlen, uint8_t *method, uint8_t *level,
		uint32_t *block_flags)
{
	size_t at = 9;
	uint16_t version;
	uint32_t flags;

	if (len < at + 4 || memcmp(p, lzop_magic, 9) != 0)
		return -1;
	version = (uint16_t)(p[at] << 8 | p[at + 1]);
	at += 4; /* version, library version */
	if (version >= 0x0940)
		at += 2; /* version needed to extract */
	if (len < at + 6)
		return -1;
	*method = p[at++];
	*level = version >= 0x0940 ? p[at++] : 0;
	flags = lzop_be32(p + at);
	at += 4;
	if (flags & (LZOP_H_FILTER | LZOP_MULTIPART | LZOP_H_EXTRA_FIELD))
		return -1; /* filtered data, several parts, extra fields: not continued */
	at += 8 + (version >= 0x0940 ? 4 : 0); /* mode, mtime low (and high) */
	if (len < at + 1)
		return -1;
	at += 1 + p[at] + 4; /* name length, name, header checksum */
	if (len < at)
		return -1;
	*hlen = at;
	*block_flags = flags & LZOP_BLOCK_FLAGS;
	return 0;
}

/* ---- lzop, decoded in process with liblzo2 --------------------------------- */

/*
 * lzop's file format has no library; its blocks are liblzo2's.  The rules
 * are those lzop -d applies (lzop 1.04: src/lzop.c read_header and
 * p_magic, src/p_lzo.c lzo_decompress): a header, its checksum; blocks of
 * a u32 uncompressed length (0 ends the file), a u32 compressed length
 * (1 to the uncompressed one: equal means stored as is), the checksums the
 * header's flags ask for, the data (lzop --filter's delta summed back
 * before the data's checksums); every checksum verified.  Files may
 * follow one another (lzop -d decompresses them all); bytes after a file
 * that do not start another are ignored, as lzop -d does (with a warning,
 * which libvirt's lzop -dc --ignore-warn hushes), but a damaged magic is
 * an error.  Errors name the byte, counted as bsrc_decode sets the origin
 * (the image's offset), and the field.
 */
#define LZOP_ADLER32_D 0x1U
#define LZOP_ADLER32_C 0x2U
#define LZOP_CRC32_D 0x100U
#define LZOP_CRC32_C 0x200U
#define LZOP_H_CRC32 0x1000U
/* Bits no lzop defines: lzop -d refuses a header with any (without -ff). */
#define LZOP_F_RESERVED 0x000FC000U
#define LZOP_BLOCK_MAX (64U << 20)     /* lzop's MAX_BLOCK_SIZE */
#define LZOP_NEWEST_KNOWN 0x1040U      /* "version needed to extract" lzop 1.04 accepts */

struct lzop_dec {
	uint64_t origin;  /* the offset of the first compressed byte, for errors */
	uint64_t in_at;   /* the offset of d->in[0] from the first compressed byte */
	uint32_t flags;   /* the current file's header's */
	uint32_t filter;  /* its filter (lzop --filter): 0 none, 1 to 16 a delta */
	uint64_t filter_off;
	bool in_file;     /* between a header and its end marker */
	unsigned int files;
	uint8_t *block;   /* a decompressed block the caller has not taken all of */
	size_t block_cap, block_len, block_pos;
};

static uint16_t lzop_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The offset, counted from the origin, of the input byte k after the current one. */
static uint64_t lz_off(const struct decoder *d, size_t k)
{
	return d->lz->origin + d->lz->in_at + d->in_pos + k;
}

static int lz_bad(struct decoder *d, uint64_t off, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int lz_bad(struct decoder *d, uint64_t off, const char *field, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(d->error, sizeof(d->error), "lzop data: byte %llu (%s): %s",
		 (unsigned long long)off, field, what);
	return -1;
}

/* n bytes were needed from the current one on (field at byte at of them); the input ended. */
static int lz_short(struct decoder *d, size_t at, const char *field)
{
	if (d->error[0])
		return -1; /* a read error, already said */
	snprintf(d->error, sizeof(d->error),
		 "lzop data: truncated at byte %llu (%s): the input ends at byte %llu",
		 (unsigned long long)lz_off(d, at), field,
		 (unsigned long long)lz_off(d, d->in_len - d->in_pos));
	return -1;
}

/*
 * n contiguous input bytes at d->in + d->in_pos, read as needed; false
 * when the input ends first (or cannot be read: d->error).  The buffer
 * grows only when it is full of bytes read, to twice that at most, so
 * that a length field cannot make it bigger than the input.
 */
static bool lz_need(struct decoder *d, size_t n)
{
	while (d->in_len - d->in_pos < n) {
		ssize_t got;

		if (d->in_pos > 0) {
			memmove(d->in, d->in + d->in_pos, d->in_len - d->in_pos);
			d->lz->in_at += d->in_pos;
			d->in_len -= d->in_pos;
			d->in_pos = 0;
		}
		if (d->in_eof)
			return false;
		if (d->in_len == d->in_cap) {
			size_t cap = d->in_cap * 2 < n ? d->in_cap * 2 : n;
			uint8_t *m = realloc(d->in, cap);

			if (!m) {
				fail(d, "out of memory");
				return false;
			}
			d->in = m;
			d->in_cap = cap;
		}
		do
			got = read(d->fd, d->in + d->in_len, d->in_cap - d->in_len);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			snprintf(d->error, sizeof(d->error), "cannot read: %s", strerror(errno));
			return false;
		}
		if (got == 0)
			d->in_eof = true;
		d->in_len += (size_t)got;
	}
	return true;
}

/* The header checksum's kind: CRC-32 when the flags say so, else Adler-32. */
static uint32_t lz_header_sum(uint32_t flags, const uint8_t *p, size_t n)
{
	return flags & LZOP_H_CRC32 ? lzo_crc32(0, p, (lzo_uint)n) : lzo_adler32(1, p, (lzo_uint)n);
}

/* The extra field (lzop writes none, but reads past one): its length and checksum. */
static int lz_extra_field(struct decoder *d, uint32_t flags)
{
	uint64_t start = lz_off(d, 0);
	uint32_t len, sum, want;

	if (!lz_need(d, 4))
		return lz_short(d, 0, "the extra field's length");
	len = lzop_be32(d->in + d->in_pos);
	sum = flags & LZOP_H_CRC32 ? lzo_crc32(0, d->in + d->in_pos, 4) :
				     lzo_adler32(1, d->in + d->in_pos, 4);
	d->in_pos += 4;
	/* Step through it as it comes: its length is not trusted for memory. */
	while (len > 0) {
		size_t take;

		if (!lz_need(d, 1))
			return lz_short(d, 0, "the extra field");
		take = d->in_len - d->in_pos < len ? d->in_len - d->in_pos : len;
		sum = flags & LZOP_H_CRC32 ? lzo_crc32(sum, d->in + d->in_pos, (lzo_uint)take) :
					     lzo_adler32(sum, d->in + d->in_pos, (lzo_uint)take);
		d->in_pos += take;
		len -= (uint32_t)take;
	}
	if (!lz_need(d, 4))
		return lz_short(d, 0, "the extra field's checksum");
	want = lzop_be32(d->in + d->in_pos);
	if (want != sum)
		return lz_bad(d, lz_off(d, 0), "the extra field's checksum",
			      "0x%08x, the extra field from byte %llu gives 0x%08x", want,
			      (unsigned long long)start, sum);
	d->in_pos += 4;
	return 0;
}

/* A file's header, from its magic on: 0, or -1 with d->error. */
static int lz_header(struct decoder *d)
{
	const uint8_t *p;
	uint16_t version, needed = 0x0900;
	uint32_t flags, sum, want;
	uint8_t method, level = 0;
	size_t at = 0, filter_at;

#define LZ_NEED(n, field)                               \
	do {                                            \
		if (!lz_need(d, (n)))                   \
			return lz_short(d, at, (field)); \
		p = d->in + d->in_pos;                  \
	} while (0)

	LZ_NEED(9, "the lzop magic");
	if (memcmp(p, lzop_magic, 9) != 0)
		return lz_bad(d, lz_off(d, 0), "the lzop magic", "not an lzop file");
	at = 9;
	LZ_NEED(13, "the header's version");
	version = lzop_be16(p + 9);
	if (version < 0x0900)
		return lz_bad(d, lz_off(d, 9), "the header's version",
			      "0x%04x, older than any lzop (0x0900)", version);
	at = 13;
	if (version >= 0x0940) {
		LZ_NEED(15, "the version needed to extract");
		needed = lzop_be16(p + 13);
		if (needed > LZOP_NEWEST_KNOWN || needed < 0x0900)
			return lz_bad(d, lz_off(d, 13), "the version needed to extract",
				      "0x%04x, not a version lzop 1.04 extracts", needed);
		at = 15;
	}
	LZ_NEED(at + (version >= 0x0940 ? 2 : 1) + 4, "the header's method and flags");
	method = p[at++];
	if (version >= 0x0940)
		level = p[at++];
	flags = lzop_be32(p + at);
	at += 4;
	filter_at = at;
	if (flags & LZOP_H_FILTER)
		at += 4;
	at += 8 + (version >= 0x0940 ? 4 : 0); /* mode, mtime (low, high) */
	LZ_NEED(at + 1, "the header's name length");
	at += 1 + p[at];
	LZ_NEED(at + 4, "the header's name and checksum");
	want = lzop_be32(p + at);
	sum = lz_header_sum(flags, p + 9, at - 9);
	if (want != sum)
		return lz_bad(d, lz_off(d, at), "the header checksum",
			      "0x%08x, the header's bytes give 0x%08x", want, sum);
#undef LZ_NEED
	/* In lzop -d's order, once the header is known whole. */
	if (method < 1 || method > 3)
		return lz_bad(d, lz_off(d, version >= 0x0940 ? 15 : 13), "the header's method",
			      "%u, not one of lzop's LZO1X methods (1, 2, 3)", method);
	if (level > 9)
		return lz_bad(d, lz_off(d, 16), "the header's level", "%u, not 1 to 9", level);
	if (flags & LZOP_F_RESERVED)
		return lz_bad(d, lz_off(d, version >= 0x0940 ? 17 : 14), "the header's flags",
			      "0x%08x sets bits lzop does not define", flags);
	d->lz->filter = flags & LZOP_H_FILTER ? lzop_be32(p + filter_at) : 0;
	d->lz->filter_off = lz_off(d, filter_at);
	d->in_pos += at + 4;
	if ((flags & LZOP_H_EXTRA_FIELD) && lz_extra_field(d, flags) != 0)
		return -1;
	d->lz->flags = flags;
	d->lz->in_file = true;
	d->lz->files++;
	return 0;
}

/*
 * After a file's end marker: 1 when another file follows (its header
 * read), 0 at the end (nothing, or bytes lzop -d ignores), -1 on error.
 */
static int lz_next_file(struct decoder *d)
{
	const uint8_t *p;

	if (!lz_need(d, 9))
		return d->error[0] ? -1 : 0; /* the end, or a few trailing bytes */
	p = d->in + d->in_pos;
	if (memcmp(p, lzop_magic, 9) != 0) {
		/* lzop -d: "LZO" then a 0 is a magic damaged (by a text-mode copy). */
		if (memcmp(p + 1, "LZO", 3) == 0 && p[4] == 0)
			return lz_bad(d, lz_off(d, 0), "the lzop magic",
				      "a damaged magic of a file after the first");
		return 0;
	}
	return lz_header(d) == 0 ? 1 : -1;
}

/*
 * lzop --filter=N: each block's bytes were replaced by their differences
 * from the byte N before (the first N kept), before compressing; undone
 * here by adding them back, as lzop -d does before it checks the data.
 */
static void lz_undo_delta(uint8_t *p, size_t len, uint32_t stride)
{
	for (size_t k = stride; k < len; k++)
		p[k] = (uint8_t)(p[k] + p[k - stride]);
}

/* A block's checksum that does not match. */
static int lz_sum_bad(struct decoder *d, uint64_t data_off, uint64_t sum_off, const char *field,
		      const char *kind, uint32_t want, uint32_t got)
{
	return lz_bad(d, data_off, field, "its %s is 0x%08x, the block's checksum at byte %llu says 0x%08x",
		      kind, got, (unsigned long long)sum_off, want);
}

/* Check the checksums of flags adler and crc over p[n], stored at sums (each 0 when not stored). */
static int lz_check(struct decoder *d, const uint8_t *p, size_t n, uint64_t data_off,
		    const char *field, bool adler, uint32_t want_adler, uint64_t adler_off, bool crc,
		    uint32_t want_crc, uint64_t crc_off)
{
	uint32_t got;

	if (adler && (got = lzo_adler32(1, p, (lzo_uint)n)) != want_adler)
		return lz_sum_bad(d, data_off, adler_off, field, "Adler-32", want_adler, got);
	if (crc && (got = lzo_crc32(0, p, (lzo_uint)n)) != want_crc)
		return lz_sum_bad(d, data_off, crc_off, field, "CRC-32", want_crc, got);
	return 0;
}

/*
 * One block: decompressed into out when it holds all of it (its length
 * returned), else into d->lz->block (0 returned, as after an end marker).
 */
static ssize_t lz_block(struct decoder *d, uint8_t *out, size_t n)
{
	struct lzop_dec *z = d->lz;
	uint32_t f = z->flags, dst, src, s[4] = { 1, 0, 1, 0 }; /* Adler-32 and CRC-32 of d, c */
	uint64_t so[4] = { 0, 0, 0, 0 }, c_off;
	const uint8_t *p, *c;
	size_t at = 8;
	uint8_t *to;

	if (!lz_need(d, 4))
		return lz_short(d, 0, "a block's uncompressed length");
	dst = lzop_be32(d->in + d->in_pos);
	if (dst == 0) {
		d->in_pos += 4;
		z->in_file = false;
		return 0;
	}
	if (dst == 0xFFFFFFFFU)
		return lz_bad(d, lz_off(d, 0), "a block's uncompressed length",
			      "0xffffffff: a split lzop file, which lzop -d does not read either");
	if (dst > LZOP_BLOCK_MAX)
		return lz_bad(d, lz_off(d, 0), "a block's uncompressed length",
			      "%u bytes, more than lzop's limit of 64 MiB", dst);
	if (!lz_need(d, 8))
		return lz_short(d, 4, "a block's compressed length");
	src = lzop_be32(d->in + d->in_pos + 4);
	if (src == 0 || src > dst)
		return lz_bad(d, lz_off(d, 4), "a block's compressed length",
			      "%u bytes for %u uncompressed (1 to that many)", src, dst);
	/* The checksums in lzop's order; those of the compressed data only when it is compressed. */
	for (int i = 0; i < 4; i++) {
		static const uint32_t flag[4] = { LZOP_ADLER32_D, LZOP_CRC32_D, LZOP_ADLER32_C,
						  LZOP_CRC32_C };

		if (!(f & flag[i]))
			continue;
		if (i >= 2 && src == dst) {
			s[i] = s[i - 2]; /* lzop -d: the data's own, as stored data is compressed data */
			so[i] = so[i - 2];
			continue;
		}
		if (!lz_need(d, at + 4))
			return lz_short(d, at, "a block's checksum");
		s[i] = lzop_be32(d->in + d->in_pos + at);
		so[i] = lz_off(d, at);
		at += 4;
	}
	if (!lz_need(d, at + src))
		return lz_short(d, at, "a block's compressed data");
	p = d->in + d->in_pos;
	c = p + at;
	c_off = lz_off(d, at);
	if (lz_check(d, c, src, c_off, "a block's compressed data", f & LZOP_ADLER32_C, s[2], so[2],
		     f & LZOP_CRC32_C, s[3], so[3]) != 0)
		return -1;
	to = out;
	if (n < dst) {
		if (z->block_cap < dst) {
			uint8_t *m = realloc(z->block, dst);

			if (!m)
				return fail(d, "out of memory");
			z->block = m;
			z->block_cap = dst;
		}
		to = z->block;
	}
	if (src < dst) {
		lzo_uint got = dst;
		int rc = lzo1x_decompress_safe(c, src, to, &got, NULL);

		if (rc != LZO_E_OK)
			return lz_bad(d, c_off, "a block's compressed data",
				      "LZO1X data that does not decompress (liblzo2 error %d)", rc);
		if (got != dst)
			return lz_bad(d, c_off, "a block's compressed data",
				      "LZO1X data that decompresses to %lu bytes, not %u",
				      (unsigned long)got, dst);
	} else {
		memcpy(to, c, dst);
	}
	/* lzop -d: a filter past 16 is refused at the first block, not in the header. */
	if (z->filter > 16)
		return lz_bad(d, z->filter_off, "the header's filter", "%u, not 1 to 16", z->filter);
	if (z->filter)
		lz_undo_delta(to, dst, z->filter);
	if (lz_check(d, to, dst, c_off, "a block's data", f & LZOP_ADLER32_D, s[0], so[0],
		     f & LZOP_CRC32_D, s[1], so[1]) != 0)
		return -1;
	d->in_pos += at + src;
	if (to == out)
		return (ssize_t)dst;
	z->block_len = dst;
	z->block_pos = 0;
	return 0;
}

static ssize_t read_lzop(struct decoder *d, uint8_t *out, size_t n)
{
	struct lzop_dec *z = d->lz;

	while (n > 0) {
		if (z->block_pos < z->block_len) {
			size_t k = z->block_len - z->block_pos < n ? z->block_len - z->block_pos : n;

			memcpy(out, z->block + z->block_pos, k);
			z->block_pos += k;
			return (ssize_t)k;
		}
		if (d->done)
			return 0;
		if (!z->in_file) {
			int r = z->files == 0 ? lz_header(d) : lz_next_file(d);

			if (r < 0)
				return -1;
			if (!z->in_file)
				d->done = true; /* no file after the last */
			continue;
		}
		{
			ssize_t got = lz_block(d, out, n);

			if (got != 0)
				return got;
		}
	}
	return 0;
}

void decoder_set_origin(struct decoder *d, uint64_t off)
{
	if (d->lz)
		d->lz->origin = off;
}
/*
 * What an xz stream may make the decoder allocate: its header names the
 * dictionary size, up to 1.5 GiB, and a crafted image must not get that.
 * xz -9 needs 65 MiB; libvirt's xz runs with the defaults (9 MiB).
 */
#define XZ_MEMLIMIT (256ULL << 20)

struct decoder *decoder_new(enum codec c, int fd, const uint8_t *pending, size_t have,
			    char *error, size_t error_len)
{
	struct decoder *d = calloc(1, sizeof(*d));

	if (!d || !(d->in = malloc(INPUT_CHUNK > have ? INPUT_CHUNK : have))) {
		snprintf(error, error_len, "out of memory");
		free(d);
		return NULL;
	}
	d->codec = c;
	d->fd = fd;
	if (have)
		memcpy(d->in, pending, have); /* pending may be NULL when there is none */
	d->in_len = have;
	d->in_cap = INPUT_CHUNK > have ? INPUT_CHUNK : have;
	switch (c) {
	case CODEC_GZIP:
		if (inflateInit2(&d->s.z, 16 + MAX_WBITS) != Z_OK || !(d->bt = bt_new()))
			fail(d, "cannot start");
		break;
	case CODEC_BZIP2:
		if (BZ2_bzDecompressInit(&d->s.bz, 0, 0) != BZ_OK || !(d->bt = bt_new()))
			fail(d, "cannot start");
		break;
	case CODEC_XZ:
		if (lzma_stream_decoder(&d->s.xz, XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK)
			fail(d, "cannot start");
		break;
	case CODEC_ZSTD:
		d->zstd = ZSTD_createDStream();
		d->zt = calloc(1, sizeof(*d->zt));
		if (d->zt && !(d->zt->hash = XXH64_createState()))
			d->zt->broken = true;
		if (d->zt) {
			d->zt->need = 4; /* a magic number first */
			d->zt->stride = 1;
			if (d->zt->hash)
				XXH64_reset(d->zt->hash, 0);
		}
		if (!d->zstd || !d->zt)
			fail(d, "cannot start");
		else if (!d->zt->broken &&
			 !ZSTD_isError(ZSTD_DCtx_setParameter(d->zstd, ZSTD_d_forceIgnoreChecksum,
							      ZSTD_d_ignoreChecksum)))
			d->zt->own_checksum = true;
		break;
	case CODEC_LZOP:
		if (lzo_init() != LZO_E_OK || !(d->lz = calloc(1, sizeof(*d->lz))))
			fail(d, "cannot start");
		break;
	}
	if (d->error[0]) {
		snprintf(error, error_len, "%s", d->error);
		decoder_free(d);
		return NULL;
	}
	return d;
}

ssize_t decoder_read(struct decoder *d, uint8_t *out, size_t n)
{
	if (d->error[0])
		return -1;
	switch (d->codec) {
	case CODEC_GZIP:
		return read_gzip(d, out, n);
	case CODEC_BZIP2:
		return read_bzip2(d, out, n);
	case CODEC_XZ:
		return read_xz(d, out, n);
	case CODEC_ZSTD:
		return read_zstd(d, out, n);
	case CODEC_LZOP:
		return read_lzop(d, out, n);
	}
	return -1;
}

const char *decoder_error(const struct decoder *d)
{
	return d->error;
}

void decoder_free(struct decoder *d)
{
	if (!d)
		return;
	switch (d->codec) {
	case CODEC_GZIP:
		inflateEnd(&d->s.z);
		break;
	case CODEC_BZIP2:
		BZ2_bzDecompressEnd(&d->s.bz);
		break;
	case CODEC_XZ:
		lzma_end(&d->s.xz);
		break;
	case CODEC_ZSTD:
		ZSTD_freeDStream(d->zstd);
		if (d->zt) {
			XXH64_freeState(d->zt->hash);
			free(d->zt->cuts);
			free(d->zt->merged);
			for (size_t i = 0; i < ZSTD_RECENT; i++)
				XXH64_freeState(d->zt->recent_state[i]);
			free(d->zt);
		}
		break;
	case CODEC_LZOP:
		if (d->lz)
			free(d->lz->block);
		free(d->lz);
		break;
	}
	bt_free(d->bt);
	free(d->in);
	free(d);
}

/* ---- encoders ------------------------------------------------------------ */

/* All of buf[len] at off, or -1 with errno. */
static int write_full_at(int fd, const uint8_t *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? (errno = EIO, -1) : -1;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

#define OUTPUT_CHUNK (1U << 20)

struct encoder {
	enum codec codec;
	int fd;
	uint8_t *out;
	char error[256];
	union {
		z_stream z;
		bz_stream bz;
		lzma_stream xz;
	} s;
	ZSTD_CStream *zstd;
	pid_t child; /* lzop: its stdin is pipe_fd, its stdout fd */
	int pipe_fd;
	int err_fd;          /* lzop's standard error */
	char child_err[120];
	/* encoder_new_tail: what is still to be skipped, and what it hashes to. */
	struct encoder_tail tail;
	XXH64_state_t *skipped;
	uint64_t skipped_n;
	uint32_t close_crc32;
	uint64_t close_crc64;
	bool tail_mismatch;
	off_t lzop_start; /* where lzop -c's output starts in fd */
};

static int efail(struct encoder *x, const char *what)
{
	snprintf(x->error, sizeof(x->error), "%s compression: %s", codec_name(x->codec), what);
	return -1;
}

static int start_lzop_encoder(struct encoder *x)
{
	static char *const argv[] = { "lzop", "-c", NULL };
	char why[160];
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		return efail(x, strerror(errno));
	x->child = spawn_filter(argv, p[0], x->fd, &x->err_fd, why, sizeof(why));
	close(p[0]);
	if (x->child < 0) {
		x->child = 0;
		close(p[1]);
		snprintf(x->error, sizeof(x->error), "%s", why);
		return -1;
	}
	x->pipe_fd = p[1];
	return 0;
}

/* level: gzip's or bzip2's 1 to 9; 0 the default (gzip 6, bzip2 9, as the programs'). */
static struct encoder *encoder_start(enum codec c, int fd, int level, char *error,
				     size_t error_len)
{
	struct encoder *x = calloc(1, sizeof(*x));

	if (!x || !(x->out = malloc(OUTPUT_CHUNK))) {
		snprintf(error, error_len, "out of memory");
		free(x);
		return NULL;
	}
	x->codec = c;
	x->fd = fd;
	x->pipe_fd = -1;
	x->err_fd = -1;
	switch (c) {
	case CODEC_GZIP:
		if (deflateInit2(&x->s.z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED,
				 16 + MAX_WBITS, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			efail(x, "cannot start");
		break;
	case CODEC_BZIP2:
		if (BZ2_bzCompressInit(&x->s.bz, level ? level : 9, 0, 0) != BZ_OK)
			efail(x, "cannot start");
		break;
	case CODEC_XZ:
		if (lzma_easy_encoder(&x->s.xz, 3, LZMA_CHECK_CRC64) != LZMA_OK)
			efail(x, "cannot start");
		break;
	case CODEC_ZSTD:
		x->zstd = ZSTD_createCStream();
		/* As the zstd program writes by default: with the content checksum. */
		if (!x->zstd || ZSTD_isError(ZSTD_initCStream(x->zstd, 3)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(x->zstd, ZSTD_c_checksumFlag, 1)))
			efail(x, "cannot start");
		break;
	case CODEC_LZOP:
		start_lzop_encoder(x);
		break;
	}
	if (x->error[0]) {
		snprintf(error, error_len, "%s", x->error);
		encoder_finish(x, NULL, 0);
		return NULL;
	}
	return x;
}

/* Run the codec over data (finish: flush the end) and write what comes out. */
static int encode(struct encoder *x, const uint8_t *data, size_t n, bool finish)
{
	static const uint8_t nothing[1];

	if (!data)
		data = nothing; /* finishing passes NULL: never step a null pointer */
	for (;;) {
		size_t produced = 0;
		bool done = false;

		switch (x->codec) {
		case CODEC_GZIP: {
			int rc;

			x->s.z.next_in = (Bytef *)data;
			x->s.z.avail_in = (uInt)n;
			x->s.z.next_out = x->out;
			x->s.z.avail_out = OUTPUT_CHUNK;
			rc = deflate(&x->s.z, finish ? Z_FINISH : Z_NO_FLUSH);
			if (rc == Z_STREAM_ERROR)
				return efail(x, "deflate failed");
			produced = OUTPUT_CHUNK - x->s.z.avail_out;
			done = finish ? rc == Z_STREAM_END : x->s.z.avail_in == 0;
			data += n - x->s.z.avail_in;
			n = x->s.z.avail_in;
			break;
		}
		case CODEC_BZIP2: {
			int rc;

			x->s.bz.next_in = (char *)data;
			x->s.bz.avail_in = (unsigned int)n;
			x->s.bz.next_out = (char *)x->out;
			x->s.bz.avail_out = OUTPUT_CHUNK;
			rc = BZ2_bzCompress(&x->s.bz, finish ? BZ_FINISH : BZ_RUN);
			if (rc < 0)
				return efail(x, "bzCompress failed");
			produced = OUTPUT_CHUNK - x->s.bz.avail_out;
			done = finish ? rc == BZ_STREAM_END : x->s.bz.avail_in == 0;
			data += n - x->s.bz.avail_in;
			n = x->s.bz.avail_in;
			break;
		}
		case CODEC_XZ: {
			lzma_ret rc;

			x->s.xz.next_in = data;
			x->s.xz.avail_in = n;
			x->s.xz.next_out = x->out;
			x->s.xz.avail_out = OUTPUT_CHUNK;
			rc = lzma_code(&x->s.xz, finish ? LZMA_FINISH : LZMA_RUN);
			if (rc != LZMA_OK && rc != LZMA_STREAM_END)
				return efail(x, "lzma_code failed");
			produced = OUTPUT_CHUNK - x->s.xz.avail_out;
			done = finish ? rc == LZMA_STREAM_END : x->s.xz.avail_in == 0;
			data += n - x->s.xz.avail_in;
			n = x->s.xz.avail_in;
			break;
		}
		case CODEC_ZSTD: {
			ZSTD_inBuffer ib = { data, n, 0 };
			ZSTD_outBuffer ob = { x->out, OUTPUT_CHUNK, 0 };
			size_t rc = finish ? ZSTD_endStream(x->zstd, &ob) :
					     ZSTD_compressStream(x->zstd, &ob, &ib);

			if (ZSTD_isError(rc))
				return efail(x, ZSTD_getErrorName(rc));
			produced = ob.pos;
			done = finish ? rc == 0 : ib.pos == ib.size;
			data += ib.pos;
			n -= ib.pos;
			break;
		}
		case CODEC_LZOP:
			if (!finish && write_full(x->pipe_fd, data, n) != 0)
				return efail(x, strerror(errno));
			return 0;
		}
		if (produced && write_full(x->fd, x->out, produced) != 0)
			return efail(x, strerror(errno));
		if (done)
			return 0;
	}
}

/* What closes the kept prefix (xz: the cut block's end and check, index, footer). */
static int write_close(struct encoder *x)
{
	uint8_t check[8];
	size_t check_len = 0;

	if (x->tail.close_check == 1) {
		for (size_t i = 0; i < 4; i++)
			check[i] = (uint8_t)(x->close_crc32 >> (8 * i));
		check_len = 4;
	} else if (x->tail.close_check == 4) {
		for (size_t i = 0; i < 8; i++)
			check[i] = (uint8_t)(x->close_crc64 >> (8 * i));
		check_len = 8;
	}
	if ((x->tail.close_pre_len && write_full(x->fd, x->tail.close_pre, x->tail.close_pre_len)) ||
	    (check_len && write_full(x->fd, check, check_len)) ||
	    (x->tail.close_post_len &&
	     write_full(x->fd, x->tail.close_post, x->tail.close_post_len)))
		return efail(x, strerror(errno));
	return 0;
}

/* The check of the skipped bytes at or after close_check_from. */
static void close_check_update(struct encoder *x, const uint8_t *data, size_t m)
{
	uint64_t from = x->tail.close_check_from;

	if (x->tail.close_check <= 0 || x->skipped_n + m <= from)
		return;
	if (x->skipped_n < from) {
		data += from - x->skipped_n;
		m -= (size_t)(from - x->skipped_n);
	}
	if (x->tail.close_check == 1)
		x->close_crc32 = lzma_crc32(data, m, x->close_crc32);
	else
		x->close_crc64 = lzma_crc64(data, m, x->close_crc64);
}

struct encoder *encoder_new(enum codec c, int fd, char *error, size_t error_len)
{
	return encoder_start(c, fd, 0, error, error_len);
}

struct encoder *encoder_new_tail(enum codec c, int fd, const struct encoder_tail *t, char *error,
				 size_t error_len)
{
	off_t at = lseek(fd, 0, SEEK_CUR);
	struct encoder *x;

	if (at < 0) {
		snprintf(error, error_len, "%s", strerror(errno));
		return NULL;
	}
	x = encoder_start(c, fd, t->level >= 1 && t->level <= 9 ? t->level : 0, error, error_len);
	if (!x)
		return NULL;
	x->tail = *t;
	x->close_crc32 = (uint32_t)t->close_check_seed;
	x->close_crc64 = t->close_check_seed;
	x->lzop_start = at;
	x->skipped = XXH64_createState();
	if (!x->skipped) {
		snprintf(error, error_len, "out of memory");
		encoder_finish(x, NULL, 0);
		return NULL;
	}
	XXH64_reset(x->skipped, 0);
	/* Nothing to skip: what closes the kept prefix comes first. */
	if (x->tail.skip == 0 && write_close(x) != 0) {
		snprintf(error, error_len, "%s", x->error);
		encoder_finish(x, NULL, 0);
		return NULL;
	}
	return x;
}

/* Bytes whose compressed form was kept: hashed, checked once all are in. */
static size_t skip_kept(struct encoder *x, const uint8_t *data, size_t n)
{
	size_t m = x->tail.skip < n ? (size_t)x->tail.skip : n;

	if (x->skipped_n + m > x->tail.hash_from) {
		uint64_t before = x->skipped_n < x->tail.hash_from ?
					  x->tail.hash_from - x->skipped_n : 0;

		XXH64_update(x->skipped, data + before, m - (size_t)before);
	}
	close_check_update(x, data, m);
	x->skipped_n += m;
	x->tail.skip -= m;
	if (x->tail.skip == 0 && write_close(x) != 0)
		return m;
	if (x->tail.skip == 0 && x->tail.hash_set && XXH64_digest(x->skipped) != x->tail.hash) {
		x->tail_mismatch = true;
		efail(x, "the repaired stream's first bytes differ from the kept compressed "
			 "prefix's");
	}
	return m;
}

int encoder_write(struct encoder *x, const uint8_t *data, size_t n)
{
	if (x->skipped && x->tail.skip && !x->error[0]) {
		size_t m = skip_kept(x, data, n);

		data += m;
		n -= m;
	}
	if (x->error[0])
		return -1;
	return n ? encode(x, data, n, false) : 0;
}

/*
 * lzop -c wrote a whole file from x->lzop_start: take its header away, so
 * its blocks follow the kept ones in one file (lzop -d warns, exit 2, at a
 * second header), after checking they are written as the kept ones are.
 */
static int drop_lzop_header(struct encoder *x)
{
	uint8_t head[512], method, level, buf[1 << 16];
	uint32_t flags;
	size_t hlen;
	off_t end = lseek(x->fd, 0, SEEK_CUR), from, to;
	ssize_t n = end < 0 ? -1 : pread(x->fd, head, sizeof(head), x->lzop_start);

	if (n < 0)
		return efail(x, strerror(errno));
	if (lzop_header(head, (size_t)n, &hlen, &method, &level, &flags) != 0 ||
	    method != x->tail.lzop_method || level != x->tail.lzop_level ||
	    flags != x->tail.lzop_block_flags) {
		x->tail_mismatch = true;
		return efail(x, "lzop -c writes blocks unlike the image's (another method, level "
				"or checksums)");
	}
	for (from = x->lzop_start + (off_t)hlen, to = x->lzop_start; from < end;) {
		n = pread(x->fd, buf, sizeof(buf), from);
		if (n <= 0 || write_full_at(x->fd, buf, (size_t)n, to) != 0)
			return efail(x, n == 0 ? "lzop's output got shorter" : strerror(errno));
		from += n;
		to += n;
	}
	if (ftruncate(x->fd, to) != 0 || lseek(x->fd, to, SEEK_SET) < 0)
		return efail(x, strerror(errno));
	return 0;
}

const char *encoder_error(const struct encoder *x)
{
	return x->error;
}

int encoder_finish(struct encoder *x, char *error, size_t error_len)
{
	int rc = x->error[0] ? -1 : encode(x, NULL, 0, true);
	int status;

	if (rc == 0 && x->skipped && x->tail.skip)
		rc = efail(x, "the repaired stream is shorter than the kept compressed prefix");

	switch (x->codec) {
	case CODEC_GZIP:
		deflateEnd(&x->s.z);
		break;
	case CODEC_BZIP2:
		BZ2_bzCompressEnd(&x->s.bz);
		break;
	case CODEC_XZ:
		lzma_end(&x->s.xz);
		break;
	case CODEC_ZSTD:
		ZSTD_freeCStream(x->zstd);
		break;
	case CODEC_LZOP:
		if (x->pipe_fd >= 0)
			close(x->pipe_fd);
		if (x->child > 0 && (waitpid(x->child, &status, 0) != x->child ||
				     !WIFEXITED(status) || WEXITSTATUS(status) != 0) && rc == 0) {
			char why[sizeof(x->child_err) + 32];

			drain_child_err(x->err_fd, x->child_err, sizeof(x->child_err));
			snprintf(why, sizeof(why), "lzop -c failed%s%s", x->child_err[0] ? ": " : "",
				 x->child_err);
			rc = efail(x, why);
		}
		if (x->err_fd >= 0)
			close(x->err_fd);
		if (rc == 0 && x->skipped)
			rc = drop_lzop_header(x);
		break;
	}
	if (x->tail_mismatch)
		rc = ENCODER_TAIL_MISMATCH;
	XXH64_freeState(x->skipped);
	if (rc && error)
		snprintf(error, error_len, "%s", x->error);
	free(x->out);
	free(x);
	return rc;
}
