/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_json_scan.c --- the position-keeping JSON scanner (formats/json_scan.h)
 * that reads Cloud Hypervisor's state.json: exact u64 numbers at the
 * INT64/UINT64 edges, token spans, string decoding with its span map,
 * strict grammar, and the nesting bound.  It links json_scan.o alone
 * (through libformats.a), which shows the scanner needs nothing else.
 */
#include <stdlib.h>
#include <string.h>

#include "formats/chv/json_scan.h"
#include "tests/unit/tap.h"

static bool parses(const char *doc)
{
	struct jv_tree t;
	struct jv_error err;
	bool ok_ = jv_parse(&t, doc, strlen(doc), &err) == 0;

	if (ok_)
		jv_free(&t);
	return ok_;
}

/* The error offset of a document that must be refused, or -1 if it parses. */
static long refused_at(const char *doc, size_t len)
{
	struct jv_tree t;
	struct jv_error err;

	if (jv_parse(&t, doc, len, &err) == 0) {
		jv_free(&t);
		return -1;
	}
	return (long)err.offset;
}

static int u64_of(const char *doc, uint64_t *v)
{
	struct jv_tree t;
	struct jv_error err;
	int rc;

	if (jv_parse(&t, doc, strlen(doc), &err) != 0)
		return -9;
	rc = jv_u64(&t, 0, v);
	jv_free(&t);
	return rc;
}

static void test_numbers(void)
{
	uint64_t v = 0;

	ok(u64_of("18446744073709551615", &v) == 0 && v == UINT64_MAX, "UINT64_MAX is exact");
	ok(u64_of("9223372036854775808", &v) == 0 && v == 9223372036854775808ULL,
	   "INT64_MAX + 1 is exact (jansson refuses it)");
	ok(u64_of("18446744071589331008", &v) == 0 && v == 0xffffffff81a00040ULL,
	   "a kernel address (LSTAR) is exact");
	ok(u64_of("18446744073709551616", &v) == -2, "UINT64_MAX + 1 overflows: -2");
	ok(u64_of("-1", &v) == -1, "a negative number is not a u64: -1");
	ok(u64_of("1.0", &v) == -1 && u64_of("1e3", &v) == -1, "a fraction or exponent is not a u64");
	ok(u64_of("0", &v) == 0 && v == 0, "0");
	ok(!parses("01") && !parses("-") && !parses("1.") && !parses("1e") && !parses("+1"),
	   "leading zeros, lone sign, empty fraction or exponent, plus sign refused");
	ok(parses("-0.5e-3") && parses("[-128,127]"), "signed and real numbers scan (lapic c_char)");
}

static void test_spans_and_members(void)
{
	const char *doc = "{\"a\": [1, 22 ,333], \"bb\":{\"c\":null}, \"d\":true}";
	struct jv_tree t;
	struct jv_error err;
	int a, bb, c, el;

	ok(jv_parse(&t, doc, strlen(doc), &err) == 0, "an object with nested values parses");
	a = jv_member(&t, 0, "a");
	bb = jv_member(&t, 0, "bb");
	ok(a > 0 && t.n[a].type == JV_ARRAY && t.n[a].count == 3, "a is an array of 3");
	el = t.n[t.n[a].first].next;
	ok(el > 0 && t.n[el].end - t.n[el].start == 2 && memcmp(doc + t.n[el].start, "22", 2) == 0,
	   "the span of a[1] is exactly its digits");
	c = jv_member(&t, bb, "c");
	ok(c > 0 && t.n[c].type == JV_NULL && t.n[c].parent == bb, "bb.c is null, child of bb");
	ok(jv_member(&t, 0, "b") < 0 && jv_member(&t, a, "x") < 0,
	   "a missing key, or a key looked up in an array: -1");
	ok(t.n[0].start == 0 && t.n[0].end == strlen(doc), "the root spans the document");
	ok(jv_key_is(&t, bb, "bb") && !jv_key_is(&t, bb, "b"), "keys compare whole");
	ok(jv_member_unique(&t, 0, "bb") == bb && jv_member_unique(&t, 0, "x") == -1,
	   "jv_member_unique: a single member, a missing one");
	jv_free(&t);
	doc = "{\"a\":1,\"b\":2,\"a\":3}";
	ok(jv_parse(&t, doc, strlen(doc), &err) == 0 && jv_member_unique(&t, 0, "a") == -2 &&
	   jv_member_unique(&t, 0, "b") > 0, "jv_member_unique: a duplicate key is -2");
	jv_free(&t);
}

static void test_strings(void)
{
	const char *doc = "\"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00x\"";
	const char want[] = "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80x";
	struct jv_tree t;
	struct jv_error err;
	size_t len, *span;
	char *s;

	ok(jv_parse(&t, doc, strlen(doc), &err) == 0, "a string with every kind of escape parses");
	ok(jv_string(&t, 0, &s, &len, &span) == 0, "it decodes");
	ok(len == sizeof(want) - 1 && memcmp(s, want, len) == 0,
	   "escapes, \\u00e9 and a surrogate pair decode to UTF-8");
	ok(span[0] == 1 && span[1] == 2, "a plain byte maps to its one input byte");
	ok(span[2] == 2 && span[3] == 4, "an escaped quote maps to both bytes of \\\"");
	ok(span[2 * (len - 2)] == span[2 * (len - 5)] && span[2 * (len - 2) + 1] - span[2 * (len - 2)] == 12,
	   "the four UTF-8 bytes of a surrogate pair map to its 12 input bytes");
	free(s);
	free(span);
	jv_free(&t);
	ok(!parses("\"a\tb\"") && !parses("\"\\x\"") && !parses("\"\\u12\"") && !parses("\"abc"),
	   "a raw control character, a bad escape, a short \\u, an unterminated string refused");
}

static void test_grammar(void)
{
	ok(refused_at("[1,]", 4) == 3, "a trailing comma is refused at the bracket");
	ok(refused_at("{\"a\":1,}", 8) == 7, "a trailing comma in an object is refused at the brace");
	ok(refused_at("{\"a\" 1}", 7) == 5, "a missing colon is refused where it belongs");
	ok(refused_at("[1] x", 5) == 4, "data after the document is refused");
	ok(refused_at("", 0) == 0 && refused_at("   ", 3) == 3, "an empty document is refused");
	ok(refused_at("[1,2", 4) == 4, "a truncated array is refused at its end");
	ok(refused_at("{1:2}", 5) == 1, "a non-string key is refused");
	ok(refused_at("[tru]", 5) == 1, "a misspelt literal is refused");
	ok(refused_at("[1]\0", 4) == 3, "a NUL after the document is refused");
	ok(parses(" \t\r\n{ \"a\" : [ ] , \"b\" : { } } \n"), "whitespace anywhere between tokens");
}

static void test_depth(void)
{
	char doc[2 * JV_MAX_DEPTH + 8];
	size_t n;

	for (n = 0; n < JV_MAX_DEPTH; n++)
		doc[n] = '[';
	for (size_t i = 0; i < JV_MAX_DEPTH; i++)
		doc[n++] = ']';
	ok(refused_at(doc, n) == -1, "nesting of exactly 64 levels parses");
	memmove(doc + 1, doc, n);
	doc[0] = '[';
	doc[++n] = ']';
	n++;
	ok(refused_at(doc, n) == JV_MAX_DEPTH, "a 65th level is refused where it opens");
}

int main(void)
{
	test_numbers();
	test_spans_and_members();
	test_strings();
	test_grammar();
	test_depth();
	return done_testing();
}
