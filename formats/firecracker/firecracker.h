/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * firecracker.h --- Firecracker snapshot state files (the "vmstate" of
 * PUT /snapshot/create): versionize (v0.23-v1.6) and bincode (v1.7-v1.14)
 * read and repaired; bitcode (v1.15 and later) recognised and refused.
 */
#ifndef FRED_FIRECRACKER_H
#define FRED_FIRECRACKER_H

#include "formats/format.h"

extern const struct format_ops firecracker_format;

/* Largest state file read: Firecracker itself refuses more than 10 MiB of state. */
#define FC_MAX_FILE (64U << 20)

#endif
