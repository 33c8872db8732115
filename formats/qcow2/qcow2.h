/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2.h --- the `qcow2` format: the VM states QEMU keeps inside a qcow2
 * disk image (savevm, virsh snapshot-create-as on a running domain), each
 * an ordinary QEMU migration stream read by formats/qemu/.
 */
#ifndef FRED_QCOW2_H
#define FRED_QCOW2_H

#include "formats/format.h"

extern const struct format_ops qcow2_format;

#endif
