/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chv.h --- Cloud Hypervisor snapshots: the snapshot directory (config.json,
 * state.json, memory-ranges) or its state.json alone.  The vCPU state is
 * JSON text nested inside state.json, as a string (v39 and later) or as an
 * array of byte values (v29 to v38).
 */
#ifndef FRED_CHV_H
#define FRED_CHV_H

#include "formats/format.h"

extern const struct format_ops chv_format;

/* Most vCPUs read from one snapshot (KVM_MAX_VCPUS on x86 is 4096). */
#define CHV_MAX_VCPUS 4096

/* Largest state.json read: far above a real one (no guest RAM in it). */
#define CHV_MAX_STATE (256U << 20)

#endif
