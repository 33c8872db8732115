/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * complete.c --- `fredck [COMMAND] --list-for-completion`: what the shell
 * completions (cli/fredck.bash-completion, cli/_fredck, cli/fredck.fish)
 * offer, printed from the argp tables the command parses with, the format
 * table and the findings table.  A new command, option, value, format or
 * finding code thus reaches bash, zsh and fish with no change to them, and
 * none of them parses --help (whose layout ARGP_HELP_FMT can change).
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "cli/complete.h"
#include "formats/format.h"
#include "reconstruct/findings.h"

/* A field: "-" when absent, control characters (none expected) as spaces. */
static void put_field(FILE *out, const char *text)
{
	if (!text || !*text) {
		fputc('-', out);
		return;
	}
	for (; *text; text++)
		fputc((unsigned char)*text < 0x20 || *text == 0x7f ? ' ' : *text, out);
}

/* A record: its fields separated by tabs. */
static void put_record(FILE *out, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc('\t', out);
		put_field(out, fields[i]);
	}
	fputc('\n', out);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* --format takes the name of a format of format_list. */
static bool takes_format(const struct argp_option *o)
{
	return o->name && strcmp(o->name, "format") == 0;
}

/*
 * What an option's argument is, from its name in the table: "a|b|c" lists
 * its values, a DIR is a directory, OUT and a FILE are files.
 */
static const char *arg_kind(const struct argp_option *o)
{
	if (!o->arg)
		return "-";
	if (strchr(o->arg, '|') || takes_format(o))
		return "values";
	if (ends_with(o->arg, "DIR"))
		return "directory";
	if (strcmp(o->arg, "OUT") == 0 || ends_with(o->arg, "FILE"))
		return "file";
	return "text";
}

static void put_value(FILE *out, const char *owner, const char *value, const char *doc)
{
	const char *f[] = { "value", owner, value, doc };

	put_record(out, f, 4);
}

/* The value records of option o (named owner): its "a|b|c", or the formats. */
static void put_option_values(FILE *out, const struct argp_option *o, const char *owner)
{
	const char *v = o->arg;

	if (takes_format(o)) {
		for (size_t i = 0; format_list[i]; i++)
			put_value(out, owner, format_list[i]->name, format_list[i]->description);
		return;
	}
	if (!v || !strchr(v, '|'))
		return;
	for (;;) {
		size_t len = strcspn(v, "|");
		char value[64];

		if (len < sizeof(value)) {
			memcpy(value, v, len);
			value[len] = '\0';
			put_value(out, owner, value, NULL);
		}
		if (!v[len])
			break;
		v += len + 1;
	}
}

/* argp's end of an option table: all fields zero. */
static bool option_end(const struct argp_option *o)
{
	return !o->name && !o->key && !o->doc && !o->group;
}

static bool short_key(int key)
{
	return key > ' ' && key < 0x7f;
}

static void put_option(FILE *out, const struct argp_option *o, const struct argp_option *real)
{
	char lng[64], shrt[3] = "-";
	const char *owner;
	const char *fields[] = { "option", NULL, NULL, real->arg, arg_kind(real), real->doc };

	if (o->name)
		snprintf(lng, sizeof(lng), "--%s", o->name);
	else
		strcpy(lng, "-");
	if (short_key(o->key))
		snprintf(shrt, sizeof(shrt), "-%c", o->key);
	owner = o->name ? lng : shrt;
	fields[1] = lng;
	fields[2] = shrt;
	put_record(out, fields, 6);
	put_option_values(out, real, owner);
}

/*
 * The options of argp and its children, depth first.  argp is the root of
 * the parse: argp_parse's wrapper, whose children are the command's argp
 * and argp's own options (--help, --usage, --version).
 */
static void put_options(FILE *out, const struct argp *argp)
{
	const struct argp_option *real = NULL;

	for (const struct argp_option *o = argp->options; o && !option_end(o); o++) {
		/* An alias takes the argument and the text of the option before it. */
		if (!(o->flags & OPTION_ALIAS))
			real = o;
		if (!real || (o->flags & (OPTION_DOC | OPTION_HIDDEN)) ||
		    (real->flags & OPTION_HIDDEN) || (!o->name && !short_key(o->key)))
			continue;
		put_option(out, o, real);
	}
	for (const struct argp_child *c = argp->children; c && c->argp; c++)
		put_options(out, c->argp);
}

/* The first args_doc of the tree: argp_parse wraps the command's argp (with
 * its own --help, --usage and --version) in one that has none. */
static const char *args_doc_of(const struct argp *argp)
{
	if (argp->args_doc)
		return argp->args_doc;
	for (const struct argp_child *c = argp->children; c && c->argp; c++) {
		const char *d = args_doc_of(c->argp);

		if (d)
			return d;
	}
	return NULL;
}

/* The operands: the commands at the top, finding codes where args_doc says CODE, else files. */
static void put_operands(FILE *out, const struct argp *argp, const struct cmd *const *commands)
{
	const char *doc = args_doc_of(argp);
	char args[128] = "-";
	bool codes = doc && strstr(doc, "CODE");
	const char *fields[] = { "operand", commands || codes ? "values" : "file", args };

	if (doc)
		snprintf(args, sizeof(args), "%.*s", (int)strcspn(doc, "\n"), doc);
	put_record(out, fields, 3);
	if (commands) {
		for (size_t i = 0; commands[i]; i++)
			put_value(out, "operand", commands[i]->name, commands[i]->summary);
	} else if (codes) {
		size_t count;
		const struct finding_desc *t = finding_table(&count);

		for (size_t i = 0; i < count; i++) {
			char code[16];

			snprintf(code, sizeof(code), "FK%03d", (int)t[i].code);
			put_value(out, "operand", code, t[i].summary);
			put_value(out, "operand", t[i].name, t[i].summary);
		}
	}
}

void complete_list(const struct argp *argp, const struct cmd *const *commands, FILE *out)
{
	put_options(out, argp);
	put_operands(out, argp, commands);
}
