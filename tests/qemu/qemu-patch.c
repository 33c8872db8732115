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

int main(int argc, char **argv)
{
	unsigned char *b, sub[65536], head[5] = { 6 };
	size_t len, sublen = 0;
	long main_off, vmdesc_off;
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
		if (strncmp(argv[i], "+sub:", 5) == 0) {
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
