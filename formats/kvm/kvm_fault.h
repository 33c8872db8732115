/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvm_fault.h --- filling a struct kvm_fault; private to formats/kvm/.
 */
#ifndef FRED_KVM_FAULT_H
#define FRED_KVM_FAULT_H

#include <stdarg.h>
#include <stdio.h>

#include "formats/kvm/kvm.h"

__attribute__((format(printf, 4, 5)))
static inline int kvm_fault(struct kvm_fault *f, size_t offset, const char *field,
			    const char *fmt, ...)
{
	va_list ap;

	f->offset = offset;
	f->field = field;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	return -1;
}

#endif
