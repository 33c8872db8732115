/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kvmdir.h --- the kvm-dir format: a directory per vCPU (vcpu0/, ...) of
 * raw KVM ioctl structures as KVM_GET_* returns them.
 */
#ifndef FRED_KVMDIR_H
#define FRED_KVMDIR_H

#include "formats/format.h"

extern const struct format_ops kvmdir_format;

/* Most vCPUs a kvm-dir may hold (KVM_MAX_VCPUS on x86 is 4096). */
#define KVMDIR_MAX_VCPUS 4096

#endif
