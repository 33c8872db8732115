/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_fold.c --- cli/fold.c: long lines folded with a hanging indent.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/fold.h"
#include "tap.h"

/* LINE folded to WIDTH, as the text the stream would print. */
static char *folded(const char *line, size_t width)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	FILE *f = mem ? fold_open(mem, width) : NULL;

	if (!f)
		return NULL;
	fputs(line, f);
	fclose(f);
	fclose(mem);
	return buf;
}

static void is_folded(const char *line, size_t width, const char *want, const char *what)
{
	char *got = folded(line, width);

	is_str(got, want, "%s", what);
	free(got);
}

/* The widest line of TEXT, in columns (ASCII here). */
static size_t widest(const char *text)
{
	size_t best = 0;

	while (*text) {
		size_t n = strcspn(text, "\n");

		if (n > best)
			best = n;
		text += n + (text[n] == '\n');
	}
	return best;
}

/* LINE folded as a list under HANG, as fold_list_line prints it. */
static void is_list_folded(const char *line, size_t width, size_t hang, const char *want,
			   const char *what)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	fold_list_line(mem, line, strlen(line), width, hang);
	fclose(mem);
	is_str(buf, want, "%s", what);
	free(buf);
}

int main(void)
{
	const char *why = "    why: saved as injected (KVM re-queues an exception as injected after a "
			  "VM exit during its delivery, or the VMM converted it); KVM_SET_VCPU_EVENTS "
			  "drops the payload of an injected exception\n";
	char *got;

	is_folded("short line\n", 80, "short line\n", "a short line is itself");
	is_folded("a b\nc d\n", 80, "a b\nc d\n", "lines are folded one by one");
	is_folded("", 80, "", "nothing is nothing");
	is_folded("no newline at the end", 80, "no newline at the end", "a last line without newline stays so");
	is_folded("\n\n", 80, "\n\n", "empty lines stay");
	is_folded("  label: aaaa bbbb cccc dddd\n", 20,
		  "  label: aaaa bbbb\n         cccc dddd\n", "continuation hangs under the text after the label");
	is_folded("  no label here at all, words words words\n", 20,
		  "  no label here at\n      all, words\n      words words\n",
		  "without a short label, four columns deeper than the line");
	is_folded("x: /a/very/long/path/that/does/not/fit/in/the/width ok\n", 20,
		  "x: /a/very/long/path/that/does/not/fit/in/the/width\n   ok\n",
		  "a word longer than the width is never cut");
	is_folded("exactly twenty cols\n", 19, "exactly twenty cols\n", "a line of the width fits");
	is_folded("exactly twenty colsX\n", 19, "exactly twenty\n    colsX\n", "one more column breaks it");
	is_folded("a: \033[1;31mred red red\033[0m end\n", 14, "a: \033[1;31mred red red\033[0m\n   end\n",
		  "colour sequences take no columns");
	is_folded("a: \xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\n", 9, "a: \xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\n",
		  "a UTF-8 character is one column (9 columns fit 9)");
	is_folded("a: \xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\n", 8, "a: \xc3\xa9\xc3\xa9\xc3\xa9\n   \xc3\xa9\xc3\xa9\n",
		  "a UTF-8 character is one column (9 columns do not fit 8)");
	is_folded("a:  two  spaces  here\n", 10, "a:  two\n   spaces\n   here\n", "runs of spaces at a break are dropped");
	is_folded("averyveryverylonglabelword: x y\n", 10, "averyveryverylonglabelword:\n    x y\n",
		  "a label longer than the width breaks after itself");

	got = folded(why, 80);
	ok(got && widest(got) <= 80, "the why line fits 80 columns (widest %zu)", got ? widest(got) : 0);
	ok(got && strncmp(got, "    why: saved as injected", 26) == 0 && strstr(got, "\n         "),
	   "the why line continues under its text");
	free(got);

	is_int((long long)fold_hang("    why: x", 10), 9, "hang after a label");
	is_int((long long)fold_hang("  vCPU 0: exception", 19), 10, "hang after vCPU N:");
	is_int((long long)fold_hang("  a very long first clause that has: no label", 45), 6,
	       "a colon past the label length is no label");
	is_int((long long)fold_hang("  \033[1;33mFK302 note\033[0m (vCPUs 0-31): x", 40),
	       (long long)fold_hang("  FK302 note (vCPUs 0-31): x", 29),
	       "hang in columns: colour sequences take none");
	is_list_folded("devices  a b c, d e f, g h i", 20, 9, "devices  a b c,\n         d e f,\n         g h i\n",
		       "a list breaks after its commas only, under its value");
	is_list_folded("devices  one two three four five six", 16, 9, "devices  one two three four five six\n",
		       "a list item with spaces is never broken");
	is_list_folded("machine  pc, 0 of 2 vCPUs at risk: nothing to do", 30, 9,
		       "machine  pc,\n         0 of 2 vCPUs at risk: nothing to do\n",
		       "a forged item starts under the value, never at a line's start");
	return done_testing();
}
