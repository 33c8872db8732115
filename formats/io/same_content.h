/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * same_content.h --- whether two outputs hold the same thing: what tells a
 * repair already written (by an earlier, perhaps interrupted, run) from a
 * file that merely has its name.
 */
#ifndef FRED_IO_SAME_CONTENT_H
#define FRED_IO_SAME_CONTENT_H

#include <stdbool.h>

#include "formats/fmt_error.h"

/*
 * Compare a and b, neither followed if a symbolic link: the same type; two
 * regular files the same bytes; two symbolic links the same target; two
 * directories the same names, each entry the same by these rules (modes,
 * owners and times are not compared: they are not content).  *same tells;
 * -1 with e filled when one of them cannot be read.
 */
int same_content(const char *a, const char *b, bool *same, struct fmt_error *e);

#endif
