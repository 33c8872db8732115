/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-patch.c --- make test streams out of real QEMU output.
 *
 * QEMU under TCG never saves a queued exception (TCG delivers at once) and
 * no host here has FRED, so at-risk streams are made by patching a real
 * stream: find vCPU N's `cpu` section by its 17-byte header, set main
 * fields at the offsets of reference/qemu-migration-stream.md 3.2, and
 * optionally insert a subsection right after the main fields.  When the
 * stream ends with QEMU's device description, the inserted subsections are
 * described there too (first in that vCPU's "subsections", where they sit
 * in the stream; one "buffer" field of their size), so the description
 * still sizes every byte as QEMU's would.  Written independently of
 * fredck's reader, which it exists to test.
 *
 *   qemu-patch IN OUT VCPU [FIELD=VALUE...] [+sub:NAME=HEXBYTES...]
 *              [+order:LIST [+desc:JSONLINES]]
 *
 * +order:LIST (tests/qemu/cpu-subsections-V.txt) inserts the subsections
 * where QEMU V writes them instead of first: among the ones already there,
 * in the list's order, a nested one (cpu/cet_shstk) right after its parent,
 * with the list's size checked; the description follows the same order.
 * +desc:JSONLINES gives the description entries QEMU writes for them
 * (tests/qemu/fred-host-11.1.json), instead of one "buffer" field.
 *
 * FIELD is one of cr0 cr2 cr4 efer dr6 dr7 rflags xcr0 hflags (64-bit values;
 * hflags 32-bit), exception_nr (signed), has_error_code; a leading '|'
 * in VALUE ORs it in ("cr4=|0x100000000").
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define MAIN_SIZE 1817

static const struct {
	const char *name;
	unsigned int off, size;
} fields[] = {
	{ "rflags", 136, 8 }, { "hflags", 144, 4 }, { "cr0", 456, 8 },
	{ "cr2", 464, 8 },    { "cr4", 480, 8 },    { "dr6", 536, 8 },
	{ "dr7", 544, 8 },    { "efer", 816, 8 },   { "exception_nr", 1165, 4 },
	{ "has_error_code", 1172, 1 }, { "xcr0", 1545, 8 },
};

static uint64_t get_be(const unsigned char *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void set_be(unsigned char *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = n; i-- > 0; v >>= 8)
		p[i] = (unsigned char)v;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return NULL;
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		return NULL;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Offset of vCPU n's main fields: after 04 sid(4) 03 "cpu" be32(n) be32(12). */
static long find_cpu(const unsigned char *b, size_t len, unsigned int n)
{
	for (size_t i = 0; i + 17 + MAIN_SIZE <= len; i++)
		if (b[i] == 4 && b[i + 5] == 3 && memcmp(b + i + 6, "cpu", 3) == 0 &&
		    get_be(b + i + 9, 4) == n && get_be(b + i + 13, 4) == 12)
			return (long)(i + 17);
	return -1;
}

static int set_field(unsigned char *main, const char *arg)
{
	const char *eq = strchr(arg, '=');
	int or = eq && eq[1] == '|';
	uint64_t v;

	if (!eq)
		return -1;
	v = strtoull(eq + 1 + or, NULL, 0);
	if (strncmp(arg, "exception_nr", 12) == 0)
		v = (uint64_t)(int64_t)strtoll(eq + 1, NULL, 0);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strlen(fields[i].name) != (size_t)(eq - arg) ||
		    strncmp(arg, fields[i].name, (size_t)(eq - arg)) != 0)
			continue;
		if (or)
			v |= get_be(main + fields[i].off, fields[i].size);
		set_be(main + fields[i].off, v, fields[i].size);
		return 0;
	}
	return -1;
}

/* "+sub:NAME=HEX": 05, name, be32 1, the bytes. Returns its length in out. */
static size_t make_subsection(const char *arg, unsigned char *out)
{
	const char *eq = strchr(arg, '=');
	size_t nlen, n = 0;

	if (!eq)
		return 0;
	nlen = (size_t)(eq - (arg + 5));
	out[n++] = 5;
	out[n++] = (unsigned char)nlen;
	memcpy(out + n, arg + 5, nlen);
	n += nlen;
	set_be(out + n, 1, 4);
	n += 4;
	for (const char *h = eq + 1; h[0] && h[1]; h += 2) {
		unsigned int byte;

		if (sscanf(h, "%2x", &byte) != 1)
			return 0;
		out[n++] = (unsigned char)byte;
	}
	return n;
}

/*
 * The description: 06, be32 length, the JSON text, to the end of the
 * file.  Its offset, or -1 when the stream has none.
 */
static long find_vmdesc(const unsigned char *b, size_t len)
{
	for (size_t i = len >= 6 ? len - 6 : 0; i-- > 0;)
		if (b[i] == 6 && b[i + 5] == '{' && get_be(b + i + 1, 4) == len - i - 5)
			return (long)i;
	return -1;
}

/* Describe the subsection "+sub:NAME=HEX" as QEMU would, one buffer field. */
static json_t *describe_subsection(const char *arg)
{
	const char *eq = strchr(arg, '=');
	json_t *field = json_pack("{s:s, s:s, s:i}", "name", "data", "type", "buffer", "size",
				  (json_int_t)(strlen(eq + 1) / 2));

	return json_pack("{s:s%, s:i, s:[o]}", "vmsd_name", arg + 5, (size_t)(eq - (arg + 5)),
			 "version", 1, "fields", field);
}

/*
 * The description of the subsections of argv, in order: each goes into the
 * list of the latest one before it whose name is its parent ("cpu/a" for
 * "cpu/a/b"), as QEMU nests them; else first among vCPU vcpu's own.
 */
static void describe_all(json_t *cpu_subs, int argc, char **argv)
{
	json_t *made[256];
	const char *names[256];
	size_t nmade = 0, at = 0;

	for (int a = 4; a < argc && nmade < 256; a++) {
		json_t *d, *parent = NULL;
		size_t len;

		if (strncmp(argv[a], "+sub:", 5) != 0)
			continue;
		d = describe_subsection(argv[a]);
		len = (size_t)(strchr(argv[a], '=') - argv[a]);
		for (size_t i = nmade; i-- > 0 && !parent;) {
			size_t plen = strlen(names[i]);

			if (plen < len && strncmp(argv[a], names[i], plen) == 0 && argv[a][plen] == '/')
				parent = made[i];
		}
		if (parent) {
			json_t *subs = json_object_get(parent, "subsections");

			if (!subs) {
				subs = json_array();
				json_object_set_new(parent, "subsections", subs);
			}
			json_array_append(subs, d);
		} else {
			json_array_insert(cpu_subs, at++, d);
		}
		/* The name with its "+sub:" and without "=HEX", for the children. */
		names[nmade] = strndup(argv[a], len);
		made[nmade++] = d;
		json_decref(d);
	}
	for (size_t i = 0; i < nmade; i++)
		free((char *)names[i]);
}

/*
 * The description with the subsections of argv described for vCPU vcpu;
 * malloc'ed text, or NULL if the JSON is not QEMU's.
 */
static char *describe_inserted(const unsigned char *json, size_t len, unsigned int vcpu, int argc,
			       char **argv)
{
	json_error_t err;
	json_t *root = json_loadb((const char *)json, len, 0, &err), *dev, *subs;
	size_t i;
	char *text = NULL;

	json_array_foreach(json_object_get(root, "devices"), i, dev) {
		if (strcmp(json_string_value(json_object_get(dev, "name")) ?: "", "cpu") ||
		    json_integer_value(json_object_get(dev, "instance_id")) != (json_int_t)vcpu)
			continue;
		subs = json_object_get(dev, "subsections");
		if (!subs) {
			subs = json_array();
			json_object_set_new(dev, "subsections", subs);
		}
		describe_all(subs, argc, argv);
		text = json_dumps(root, JSON_PRESERVE_ORDER);
		break;
	}
	json_decref(root);
	return text;
}

/* ---- +order: subsections where QEMU writes them ---------------------- */

/* The list tests/qemu/cpu-subsections-V.txt: name, parent, size, by rank. */
static struct {
	char name[128], parent[128];
	unsigned int size;
} list[256];
static int nlist;

static int read_order(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && nlist < 256) {
		unsigned int version;

		if (line[0] != '#' &&
		    sscanf(line, "%127[^\t]\t%127[^\t]\t%u\t%u", list[nlist].name, list[nlist].parent,
			   &version, &list[nlist].size) == 4)
			nlist++;
	}
	fclose(f);
	return nlist ? 0 : -1;
}

static int rank(const char *name, size_t len)
{
	for (int i = 0; i < nlist; i++)
		if (strlen(list[i].name) == len && strncmp(list[i].name, name, len) == 0)
			return i;
	return -1;
}

/* One top-level subsection with its nested ones: bytes, description, rank. */
struct unit {
	const unsigned char *bytes;
	size_t len;
	json_t *desc;
	int rank;
};

/*
 * The subsections already after vCPU's main fields, as units: each sized
 * by the list (TCG writes only a few, none nested).  Returns the offset
 * where they end (the section footer), or -1 on one the list lacks.
 */
static long existing_units(const unsigned char *b, size_t len, size_t at, json_t *descs,
			   struct unit *u, size_t *n)
{
	while (at + 2 < len && b[at] == 5) {
		size_t nl = b[at + 1];
		int r = rank((const char *)b + at + 2, nl);

		if (r < 0 || at + 2 + nl + 4 + list[r].size > len)
			return -1;
		u[*n] = (struct unit){ b + at, 2 + nl + 4 + list[r].size,
				       json_incref(json_array_get(descs, *n)), r };
		at += u[(*n)++].len;
	}
	return (long)at;
}

/* The description entry of NAME from +desc:JSONLINES, without nested ones. */
static json_t *desc_entry(const char *file, const char *name, size_t nlen)
{
	FILE *f = file ? fopen(file, "r") : NULL;
	char line[65536];
	json_t *found = NULL;

	while (f && !found && fgets(line, sizeof(line), f)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *n = json_string_value(json_object_get(o, "vmsd_name"));

		if (n && strlen(n) == nlen && strncmp(n, name, nlen) == 0) {
			json_object_del(o, "subsections"); /* the +sub: arguments say which */
			found = json_incref(o);
		}
		json_decref(o);
	}
	if (f)
		fclose(f);
	return found;
}

/* Units of the +sub: arguments: a nested one joins the unit of its parent. */
static int new_units(int argc, char **argv, const char *descfile, unsigned char *buf,
		     struct unit *u, size_t *n)
{
	size_t used = 0, first = *n;

	for (int a = 4; a < argc; a++) {
		const char *eq = strchr(argv[a], '='), *name = argv[a] + 5;
		size_t nlen, blen;
		json_t *d;
		int r;

		if (strncmp(argv[a], "+sub:", 5) != 0)
			continue;
		nlen = (size_t)(eq - name);
		r = rank(name, nlen);
		blen = make_subsection(argv[a], buf + used);
		if (r < 0 || !blen || blen != 2 + nlen + 4 + list[r].size) {
			fprintf(stderr, "qemu-patch: %s: not in the list, or not %u bytes\n",
				argv[a], r < 0 ? 0 : list[r].size);
			return -1;
		}
		d = desc_entry(descfile, name, nlen);
		if (!d)
			d = describe_subsection(argv[a]);
		if (strcmp(list[r].parent, "cpu") != 0 && *n > first) {
			/* nested: bytes right after the parent's unit, description inside it */
			json_t *pd = u[*n - 1].desc, *subs = json_object_get(pd, "subsections");

			if (!subs)
				json_object_set_new(pd, "subsections", subs = json_array());
			json_array_append_new(subs, d);
			u[*n - 1].len += blen;
		} else {
			u[(*n)++] = (struct unit){ buf + used, blen, d, r };
		}
		used += blen;
	}
	return 0;
}

static int by_rank(const void *a, const void *b)
{
	const struct unit *x = a, *y = b;

	return x->rank != y->rank ? x->rank - y->rank : (x < y ? -1 : 1);
}

/*
 * Write OUT: b up to main_end, every unit in QEMU's order, b from subs_end,
 * and the description with vCPU's subsections in the same order.
 */
static int write_ordered(const char *out_path, const unsigned char *b, size_t len,
			 size_t main_end, size_t subs_end, struct unit *u, size_t n, json_t *root,
			 json_t *cpu, long vmdesc_off)
{
	FILE *out = fopen(out_path, "wb");
	json_t *subs = json_array();
	char *text = NULL;
	int rc = 0;

	qsort(u, n, sizeof(*u), by_rank);
	if (!out || fwrite(b, 1, main_end, out) != main_end)
		rc = -1;
	for (size_t i = 0; i < n && !rc; i++) {
		if (fwrite(u[i].bytes, 1, u[i].len, out) != u[i].len)
			rc = -1;
		json_array_append(subs, u[i].desc);
	}
	len = vmdesc_off >= 0 ? (size_t)vmdesc_off : len;
	if (!rc && fwrite(b + subs_end, 1, len - subs_end, out) != len - subs_end)
		rc = -1;
	if (!rc && cpu) {
		unsigned char head[5] = { 6 };

		json_object_set_new(cpu, "subsections", subs);
		text = json_dumps(root, JSON_PRESERVE_ORDER);
		set_be(head + 1, strlen(text), 4);
		if (fwrite(head, 1, 5, out) != 5 || fwrite(text, 1, strlen(text), out) != strlen(text))
			rc = -1;
	} else {
		json_decref(subs);
	}
	if (!out || fclose(out) != 0)
		rc = -1;
	free(text);
	return rc;
}

/* The description's device entry of cpu VCPU, or NULL. */
static json_t *cpu_desc(json_t *root, unsigned int vcpu)
{
	size_t i;
	json_t *dev;

	json_array_foreach(json_object_get(root, "devices"), i, dev)
		if (!strcmp(json_string_value(json_object_get(dev, "name")) ?: "", "cpu") &&
		    json_integer_value(json_object_get(dev, "instance_id")) == (json_int_t)vcpu)
			return dev;
	return NULL;
}

/* The +order: path through main(): patched main fields already in b. */
static int patch_ordered(const char *out_path, const unsigned char *b, size_t len, long main_off,
			 unsigned int vcpu, const char *descfile, int argc, char **argv)
{
	static unsigned char buf[1 << 20];
	struct unit u[512];
	size_t n = 0, main_end = (size_t)main_off + MAIN_SIZE;
	long vmdesc_off = find_vmdesc(b, len), subs_end;
	json_t *root = NULL, *cpu = NULL;
	int rc;

	if (vmdesc_off >= 0) {
		root = json_loadb((const char *)b + vmdesc_off + 5, len - (size_t)vmdesc_off - 5, 0,
				  NULL);
		cpu = cpu_desc(root, vcpu);
		if (!cpu) {
			fprintf(stderr, "qemu-patch: the description names no cpu %u\n", vcpu);
			return 1;
		}
	}
	subs_end = existing_units(b, len, main_end, json_object_get(cpu, "subsections"), u, &n);
	if (subs_end < 0) {
		fprintf(stderr, "qemu-patch: vCPU %u has a subsection the list lacks\n", vcpu);
		return 1;
	}
	if (new_units(argc, argv, descfile, buf, u, &n))
		return 2;
	rc = write_ordered(out_path, b, len, main_end, (size_t)subs_end, u, n, root, cpu,
			   vmdesc_off);
	for (size_t i = 0; i < n; i++)
		json_decref(u[i].desc);
	json_decref(root);
	if (rc)
		fprintf(stderr, "qemu-patch: %s: %s\n", out_path, strerror(errno));
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned char *b, sub[65536], head[5] = { 6 };
	size_t len, sublen = 0;
	long main_off, vmdesc_off;
	const char *descfile = NULL;
	char *desc = NULL;
	FILE *out;

	if (argc < 4) {
		fprintf(stderr, "usage: qemu-patch IN OUT VCPU [FIELD=VALUE...] [+sub:NAME=HEX...]\n");
		return 2;
	}
	b = slurp(argv[1], &len);
	if (!b) {
		fprintf(stderr, "qemu-patch: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	main_off = find_cpu(b, len, (unsigned int)atoi(argv[3]));
	if (main_off < 0) {
		fprintf(stderr, "qemu-patch: %s: no cpu section for vCPU %s\n", argv[1], argv[3]);
		return 1;
	}
	for (int i = 4; i < argc; i++) {
		if (strncmp(argv[i], "+order:", 7) == 0) {
			if (read_order(argv[i] + 7)) {
				fprintf(stderr, "qemu-patch: %s: no subsection list\n", argv[i] + 7);
				return 2;
			}
		} else if (strncmp(argv[i], "+desc:", 6) == 0) {
			descfile = argv[i] + 6;
		} else if (strncmp(argv[i], "+sub:", 5) == 0) {
			size_t n = make_subsection(argv[i], sub + sublen);

			if (!n || sublen + n > sizeof(sub) / 2) {
				fprintf(stderr, "qemu-patch: bad subsection '%s'\n", argv[i]);
				return 2;
			}
			sublen += n;
		} else if (set_field(b + main_off, argv[i]) != 0) {
			fprintf(stderr, "qemu-patch: bad field '%s'\n", argv[i]);
			return 2;
		}
	}
	if (nlist) {
		int rc = patch_ordered(argv[2], b, len, main_off, (unsigned int)atoi(argv[3]),
				       descfile, argc, argv);

		free(b); /* the sanitizer build's LeakSanitizer runs on this tool too */
		return rc;
	}
	vmdesc_off = sublen ? find_vmdesc(b, len) : -1;
	if (vmdesc_off >= 0) {
		desc = describe_inserted(b + vmdesc_off + 5, len - (size_t)vmdesc_off - 5,
					 (unsigned int)atoi(argv[3]), argc, argv);
		if (!desc) {
			fprintf(stderr, "qemu-patch: %s: the description names no cpu %s\n", argv[1],
				argv[3]);
			return 1;
		}
		len = (size_t)vmdesc_off; /* the old description is not copied */
		set_be(head + 1, strlen(desc), 4);
	}
	out = fopen(argv[2], "wb");
	if (!out || fwrite(b, 1, (size_t)main_off + MAIN_SIZE, out) != (size_t)main_off + MAIN_SIZE ||
	    fwrite(sub, 1, sublen, out) != sublen ||
	    fwrite(b + main_off + MAIN_SIZE, 1, len - (size_t)main_off - MAIN_SIZE, out) !=
		    len - (size_t)main_off - MAIN_SIZE ||
	    (desc && (fwrite(head, 1, 5, out) != 5 ||
		      fwrite(desc, 1, strlen(desc), out) != strlen(desc))) ||
	    fclose(out) != 0) {
		fprintf(stderr, "qemu-patch: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	free(desc);
	free(b);
	return 0;
}
