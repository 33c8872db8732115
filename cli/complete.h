/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * complete.h --- the listing the shell completions read (bash, zsh, fish):
 * `fredck [COMMAND] --list-for-completion`, printed from the argp tables.
 */
#ifndef FRED_COMPLETE_H
#define FRED_COMPLETE_H

#include <argp.h>
#include <stdio.h>

#include "cli/cmd.h"

/*
 * Print to out, one record a line, fields separated by one tab, no field
 * empty ("-" for none):
 *   option  LONG SHORT ARG KIND DOC   every option of argp and its children
 *                                     (not the hidden ones) and argp's own
 *   value   OWNER VALUE DOC           a value of option OWNER ("--color"),
 *                                     or of the operand (OWNER "operand")
 *   operand KIND ARGS                 what the operands are
 * KIND of an option's argument: "-" (takes none), "values" (the value
 * records list them), "file", "directory" or "text" (anything).  KIND of
 * the operands: "values" or "file".  commands: the command table when argp
 * is the top level (the operand is then the command), else NULL.
 */
void complete_list(const struct argp *argp, const struct cmd *const *commands, FILE *out);

#endif
