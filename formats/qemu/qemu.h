/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu.h --- QEMU migration streams (QEVM version 3): the x86 `cpu`
 * sections read into the vCPU model, everything else stepped over.
 */
#ifndef FRED_QEMU_H
#define FRED_QEMU_H

#include "formats/format.h"

extern const struct format_ops qemu_format;

/* The `cpu` section of qemu-system-x86_64, vmstate_x86_cpu version 12. */
#define QCPU_VERSION 12
#define QCPU_HEADER 17  /* 04 sid(4) 03 "cpu" instance(4) version(4) */
#define QCPU_MAIN 1817  /* the main fields, before the subsections */

/* Offsets in the main fields (reference/qemu-migration-stream.md 3.2). */
#define QCPU_EIP 128
#define QCPU_EFLAGS 136
#define QCPU_HFLAGS 144
#define QCPU_CR0 456
#define QCPU_CR2 464
#define QCPU_CR3 472
#define QCPU_CR4 480
#define QCPU_DR6 536
#define QCPU_DR7 544
#define QCPU_EFER 816
#define QCPU_HFLAGS2 876
#define QCPU_INTERRUPT_INJECTED 1149
#define QCPU_EXCEPTION_NR 1165
#define QCPU_SOFT_INTERRUPT 1169
#define QCPU_NMI_INJECTED 1170
#define QCPU_NMI_PENDING 1171
#define QCPU_HAS_ERROR_CODE 1172
#define QCPU_XCR0 1545

#define QEMU_HF_GUEST (1U << 21) /* hflags: the vCPU runs L2 */
#define QEMU_HF2_NMI (1U << 2)   /* hflags2: NMIs blocked */

/* Where one vCPU's state lies in the stream: what a writer edits. */
struct qemu_cpu_loc {
	uint64_t section;   /* offset of the 0x04 type byte */
	uint64_t main;      /* offset of the main fields */
	uint64_t subs_end;  /* offset after the last subsection (the footer) */
	uint32_t sid;
	uint32_t instance;
	uint64_t exception_info; /* offset of its 0x05 byte, 0 when absent */
	uint64_t exception_info_end;
	uint64_t error_code;     /* offset of cpu/error_code's 0x05 byte, 0 when absent */
	uint64_t error_code_end;
};

#endif
