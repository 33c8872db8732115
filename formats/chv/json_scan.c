/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json_scan.c --- the position-keeping JSON scanner (json_scan.h).
 *
 * RFC 8259 grammar, strict: no trailing commas, no comments, no leading
 * zeros, control characters in strings refused, invalid escapes refused.
 * serde_json accepts no more than that, so neither does a repair.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/chv/json_scan.h"

struct scanner {
	struct jv_tree *t;
	size_t pos;
	struct jv_error *err;
};

static int fail(struct scanner *s, size_t at, const char *msg)
{
	s->err->offset = at;
	snprintf(s->err->msg, sizeof(s->err->msg), "%s", msg);
	return -1;
}

static void skip_ws(struct scanner *s)
{
	const char *b = s->t->buf;

	while (s->pos < s->t->len &&
	       (b[s->pos] == ' ' || b[s->pos] == '\t' || b[s->pos] == '\n' || b[s->pos] == '\r'))
		s->pos++;
}

/* A new node, linked as the last child of parent. */
static int new_node(struct scanner *s, enum jv_type type, int parent)
{
	struct jv_tree *t = s->t;
	struct jv_node *n;

	if (t->count == t->cap) {
		/* Every node takes at least one input byte: the table stays below len + 1. */
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct jv_node *p;

		if (cap > t->len + 1)
			cap = t->len + 1;
		if (cap <= t->count || (p = realloc(t->n, cap * sizeof(*p))) == NULL)
			return fail(s, s->pos, "out of memory");
		t->n = p;
		t->cap = cap;
	}
	n = &t->n[t->count];
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->start = (uint32_t)s->pos;
	n->parent = parent;
	n->first = n->next = n->last = -1;
	if (parent >= 0) {
		struct jv_node *p = &t->n[parent];

		if (p->last >= 0)
			t->n[p->last].next = (int)t->count;
		else
			p->first = (int)t->count;
		p->last = (int)t->count;
		p->count++;
	}
	return (int)t->count++;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string literal at pos; s->pos moves past its closing quote. */
static int scan_string(struct scanner *s)
{
	const char *b = s->t->buf;
	size_t start = s->pos++;

	while (s->pos < s->t->len) {
		unsigned char c = (unsigned char)b[s->pos];

		if (c == '"') {
			s->pos++;
			return 0;
		}
		if (c < 0x20)
			return fail(s, s->pos, "control character inside a string");
		if (c != '\\') {
			s->pos++;
			continue;
		}
		if (s->pos + 1 >= s->t->len)
			break;
		c = (unsigned char)b[s->pos + 1];
		if (c == 'u') {
			if (s->pos + 6 > s->t->len || !is_hex(b[s->pos + 2]) || !is_hex(b[s->pos + 3]) ||
			    !is_hex(b[s->pos + 4]) || !is_hex(b[s->pos + 5]))
				return fail(s, s->pos, "invalid \\u escape");
			s->pos += 6;
		} else if (c && strchr("\"\\/bfnrt", c)) {
			s->pos += 2;
		} else {
			return fail(s, s->pos, "invalid escape");
		}
	}
	return fail(s, start, "unterminated string");
}

static size_t digits(const char *b, size_t pos, size_t len)
{
	size_t n = 0;

	while (pos + n < len && b[pos + n] >= '0' && b[pos + n] <= '9')
		n++;
	return n;
}

static int scan_number(struct scanner *s)
{
	const char *b = s->t->buf;
	size_t start = s->pos, n;

	if (b[s->pos] == '-')
		s->pos++;
	n = digits(b, s->pos, s->t->len);
	if (n == 0)
		return fail(s, start, "invalid number");
	if (b[s->pos] == '0' && n > 1)
		return fail(s, start, "number with a leading zero");
	s->pos += n;
	if (s->pos < s->t->len && b[s->pos] == '.') {
		n = digits(b, ++s->pos, s->t->len);
		if (n == 0)
			return fail(s, start, "invalid number");
		s->pos += n;
	}
	if (s->pos < s->t->len && (b[s->pos] == 'e' || b[s->pos] == 'E')) {
		s->pos++;
		if (s->pos < s->t->len && (b[s->pos] == '+' || b[s->pos] == '-'))
			s->pos++;
		n = digits(b, s->pos, s->t->len);
		if (n == 0)
			return fail(s, start, "invalid number");
		s->pos += n;
	}
	return 0;
}

static int scan_literal(struct scanner *s, const char *word)
{
	size_t n = strlen(word);

	if (s->t->len - s->pos < n || memcmp(s->t->buf + s->pos, word, n) != 0)
		return fail(s, s->pos, "unexpected character: not a JSON value");
	s->pos += n;
	return 0;
}

/*
 * Start a value at pos under parent.  A scalar is scanned whole; a
 * container is only opened (its node returned in *opened).
 */
static int scan_value(struct scanner *s, int parent, int *node, bool *opened)
{
	static const struct {
		char c;
		enum jv_type type;
		const char *word;
	} lead[] = {
		{ '{', JV_OBJECT, NULL }, { '[', JV_ARRAY, NULL }, { '"', JV_STRING, NULL },
		{ 'n', JV_NULL, "null" }, { 't', JV_TRUE, "true" }, { 'f', JV_FALSE, "false" },
	};
	const char *b = s->t->buf;
	enum jv_type type = JV_NUMBER;
	const char *word = NULL;
	int id, rc;

	*opened = false;
	if (s->pos >= s->t->len)
		return fail(s, s->pos, "truncated: a value was expected");
	for (size_t i = 0; i < sizeof(lead) / sizeof(lead[0]); i++)
		if (b[s->pos] == lead[i].c) {
			type = lead[i].type;
			word = lead[i].word;
		}
	if (type == JV_NUMBER && b[s->pos] != '-' && (b[s->pos] < '0' || b[s->pos] > '9'))
		return fail(s, s->pos, "unexpected character: not a JSON value");
	id = new_node(s, type, parent);
	if (id < 0)
		return -1;
	*node = id;
	if (type == JV_OBJECT || type == JV_ARRAY) {
		s->pos++;
		*opened = true;
		return 0;
	}
	rc = type == JV_STRING ? scan_string(s) : type == JV_NUMBER ? scan_number(s) :
							    scan_literal(s, word);
	s->t->n[id].end = (uint32_t)s->pos;
	return rc;
}

/* In an object, before a member: the key and its colon. */
static int scan_key(struct scanner *s, size_t *ks, size_t *ke)
{
	skip_ws(s);
	if (s->pos >= s->t->len)
		return fail(s, s->pos, "truncated: an object key was expected");
	if (s->t->buf[s->pos] != '"')
		return fail(s, s->pos, "an object key (a string) was expected");
	*ks = s->pos;
	if (scan_string(s) != 0)
		return -1;
	*ke = s->pos;
	skip_ws(s);
	if (s->pos >= s->t->len || s->t->buf[s->pos] != ':')
		return fail(s, s->pos, s->pos >= s->t->len ? "truncated: ':' was expected" :
							     "':' was expected after an object key");
	s->pos++;
	return 0;
}

/* The next value inside container cur (a member of an object needs its key first). */
static int next_in(struct scanner *s, int cur, int *depth)
{
	size_t ks = 0, ke = 0;
	bool opened;
	int id;

	if (s->t->n[cur].type == JV_OBJECT && scan_key(s, &ks, &ke) != 0)
		return -1;
	skip_ws(s);
	if (scan_value(s, cur, &id, &opened) != 0)
		return -1;
	s->t->n[id].key_start = (uint32_t)ks;
	s->t->n[id].key_end = (uint32_t)ke;
	if (!opened)
		return cur;
	if (++*depth > JV_MAX_DEPTH)
		return fail(s, s->t->n[id].start, "nested deeper than 64 levels");
	return id;
}

int jv_parse(struct jv_tree *t, const char *buf, size_t len, struct jv_error *err)
{
	struct scanner s = { .t = t, .pos = 0, .err = err };
	int cur, depth = 0, root;
	bool opened;

	memset(t, 0, sizeof(*t));
	t->buf = buf;
	t->len = len;
	if (len > JV_MAX_LEN)
		return fail(&s, 0, "document too large to scan");
	skip_ws(&s);
	if (scan_value(&s, -1, &root, &opened) != 0)
		goto bad;
	cur = opened ? root : -1;
	depth = opened;
	/* After an opening bracket: an immediate close, or the first value. */
	while (cur >= 0) {
		struct jv_node *c = &t->n[cur];
		char close = c->type == JV_OBJECT ? '}' : ']';

		skip_ws(&s);
		if (s.pos >= len) {
			fail(&s, s.pos, "truncated: the document ends inside an array or object");
			goto bad;
		}
		if (buf[s.pos] == close) {
			c->end = (uint32_t)++s.pos;
			cur = c->parent;
			depth--;
			continue;
		}
		if (c->count > 0) {
			if (buf[s.pos] != ',') {
				fail(&s, s.pos, c->type == JV_OBJECT ? "',' or '}' was expected" :
								       "',' or ']' was expected");
				goto bad;
			}
			s.pos++;
		}
		cur = next_in(&s, cur, &depth);
		if (cur < 0)
			goto bad;
	}
	skip_ws(&s);
	if (s.pos != len) {
		fail(&s, s.pos, "data after the end of the JSON document");
		goto bad;
	}
	return 0;
bad:
	jv_free(t);
	return -1;
}

void jv_free(struct jv_tree *t)
{
	free(t->n);
	t->n = NULL;
	t->count = t->cap = 0;
}

bool jv_key_is(const struct jv_tree *t, int m, const char *key)
{
	const struct jv_node *n = &t->n[m];
	size_t klen = strlen(key);

	return n->key_end - n->key_start == klen + 2 &&
	       memcmp(t->buf + n->key_start + 1, key, klen) == 0;
}

int jv_member(const struct jv_tree *t, int obj, const char *key)
{
	if (obj < 0 || t->n[obj].type != JV_OBJECT)
		return -1;
	for (int m = t->n[obj].first; m >= 0; m = t->n[m].next)
		if (jv_key_is(t, m, key))
			return m;
	return -1;
}

int jv_member_unique(const struct jv_tree *t, int obj, const char *key)
{
	int m = jv_member(t, obj, key);

	if (m < 0)
		return -1;
	for (int d = t->n[m].next; d >= 0; d = t->n[d].next)
		if (jv_key_is(t, d, key))
			return -2;
	return m;
}

int jv_u64(const struct jv_tree *t, int node, uint64_t *out)
{
	const struct jv_node *n = &t->n[node];
	uint64_t v = 0;

	if (n->type != JV_NUMBER)
		return -1;
	for (size_t i = n->start; i < n->end; i++) {
		unsigned d = (unsigned char)t->buf[i] - '0';

		if (d > 9)
			return -1; /* a sign, a fraction or an exponent */
		if (v > (UINT64_MAX - d) / 10)
			return -2;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static unsigned hex4(const char *p)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* A \u escape at p (already validated) and its low surrogate: the code point, *used bytes. */
static unsigned long code_point(const char *p, const char *end, size_t *used)
{
	unsigned long cp = hex4(p + 2);

	*used = 6;
	if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 12 && p[6] == '\\' && p[7] == 'u') {
		unsigned long lo = hex4(p + 8);

		if (lo >= 0xDC00 && lo < 0xE000) {
			*used = 12;
			return 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		}
	}
	return cp;
}

static size_t put_utf8(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char)(0xF0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static char unescape(char c)
{
	switch (c) {
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	default: return c; /* " \ / */
	}
}

int jv_string(const struct jv_tree *t, int node, char **out, size_t *outlen, size_t **span)
{
	const struct jv_node *n = &t->n[node];
	const char *p = t->buf + n->start + 1, *end = t->buf + n->end - 1;
	size_t cap = (size_t)(end - p), len = 0;
	/* Decoding never lengthens: \uXXXX (6 bytes) gives at most 3, a pair (12) 4. */
	char *o = malloc(cap + 1);
	size_t *sp = span ? malloc((cap + 1) * 2 * sizeof(*sp)) : NULL;

	if (!o || (span && !sp)) {
		free(o);
		free(sp);
		return -1;
	}
	while (p < end) {
		size_t from = (size_t)(p - t->buf), used = 1, k;
		char buf[4];

		if (*p != '\\') {
			buf[0] = *p;
			k = 1;
		} else if (p[1] == 'u') {
			k = put_utf8(buf, code_point(p, end, &used));
		} else {
			buf[0] = unescape(p[1]);
			k = 1;
			used = 2;
		}
		for (size_t i = 0; i < k; i++, len++) {
			o[len] = buf[i];
			if (sp) {
				sp[2 * len] = from;
				sp[2 * len + 1] = from + used;
			}
		}
		p += used;
	}
	o[len] = '\0';
	*out = o;
	*outlen = len;
	if (span)
		*span = sp;
	return 0;
}

const char *jv_type_name(enum jv_type type)
{
	static const char *const names[] = { "null", "false", "true", "a number",
					     "a string", "an array", "an object" };

	return names[type];
}
