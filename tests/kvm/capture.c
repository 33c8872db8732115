/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * capture.c --- KVM_GET_* of one vCPU into its kvm-dir files, and the
 * MSRs: which of them this host has, and realistic values for a few.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fredck-kvm.h"

/*
 * The MSRs fredck's model reads (XFD, XFD_ERR, the FRED MSRs), then a few
 * ordinary ones any VMM saves, so the msrs file is not made only of
 * patched entries.  Only those the host lists are captured.
 */
static const uint32_t capture_msrs[] = {
	MSR_XFD, MSR_XFD_ERR,
	0x1CC, 0x1CD, 0x1CE, 0x1CF, 0x1D0, 0x1D1, 0x1D2, 0x1D3, 0x1D4,
	0xC0000081, /* STAR */
	0xC0000082, /* LSTAR */
	0xC0000084, /* SFMASK */
	0xC0000102, /* KERNEL_GS_BASE */
	0x277,      /* PAT */
};

/* Values a Linux x86-64 guest runs with. */
static const struct kvm_msr_entry realistic_msrs[] = {
	{ .index = 0xC0000081, .data = 0x0023001000000000ULL },
	{ .index = 0xC0000082, .data = 0xFFFFFFFF81A00080ULL },
	{ .index = 0xC0000084, .data = 0x0000000000047700ULL },
	{ .index = 0xC0000102, .data = 0x00007F3A1C6F8740ULL },
	{ .index = 0x277, .data = 0x0407050600070106ULL },
};

/* Is index in the host's KVM_GET_MSR_INDEX_LIST? */
static bool host_has_msr(int kvm_fd, uint32_t index)
{
	static uint32_t *list;
	static uint32_t n;
	uint32_t i;

	if (!list) {
		struct kvm_msr_list probe = { .nmsrs = 0 };
		struct kvm_msr_list *l;

		/* E2BIG tells the size. */
		if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
			return false;
		l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
		if (!l)
			return false;
		l->nmsrs = probe.nmsrs;
		if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
			free(l);
			return false;
		}
		n = l->nmsrs;
		list = malloc((n ? n : 1) * sizeof(uint32_t));
		if (!list) {
			free(l);
			return false;
		}
		memcpy(list, l->indices, n * sizeof(uint32_t));
		free(l);
	}
	for (i = 0; i < n; i++)
		if (list[i] == index)
			return true;
	return false;
}

static struct kvm_msrs *msrs_alloc(void)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + MAX_MSRS * sizeof(m->entries[0]));

	if (!m)
		errmsg("out of memory");
	return m;
}

int vcpu_set_realistic_msrs(struct guest *g, int n)
{
	struct kvm_msrs *m = msrs_alloc();
	size_t i;
	int rc;

	if (!m)
		return -1;
	for (i = 0; i < sizeof(realistic_msrs) / sizeof(realistic_msrs[0]); i++)
		if (host_has_msr(g->kvm_fd, realistic_msrs[i].index))
			m->entries[m->nmsrs++] = realistic_msrs[i];
	rc = ioctl(g->vcpu_fd[n], KVM_SET_MSRS, m);
	if (rc < 0 || (uint32_t)rc != m->nmsrs) {
		errmsg("KVM_SET_MSRS: %d of %u set", rc, m->nmsrs);
		free(m);
		return -1;
	}
	free(m);
	return 0;
}

int vcpu_get_msrs(struct guest *g, int n, struct vcpu_files *vf)
{
	struct kvm_msrs *m = msrs_alloc();
	size_t i;
	int rc;

	if (!m)
		return -1;
	for (i = 0; i < sizeof(capture_msrs) / sizeof(capture_msrs[0]); i++)
		if (host_has_msr(g->kvm_fd, capture_msrs[i]))
			m->entries[m->nmsrs++].index = capture_msrs[i];
	rc = ioctl(g->vcpu_fd[n], KVM_GET_MSRS, m);
	if (rc < 0 || (uint32_t)rc != m->nmsrs) {
		errmsg("KVM_GET_MSRS: %d of %u read", rc, m->nmsrs);
		free(m);
		return -1;
	}
	memcpy(vf->msrs, m->entries, m->nmsrs * sizeof(m->entries[0]));
	vf->nmsrs = m->nmsrs;
	vf->has_msrs = true;
	free(m);
	return 0;
}

/* Every KVM_GET_* a kvm-dir holds, events first as a VMM's save does. */
int vcpu_capture(struct guest *g, int n, bool legacy_sregs, struct vcpu_files *vf)
{
	int fd = g->vcpu_fd[n];

	memset(vf, 0, sizeof(*vf));
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &vf->events) < 0) {
		errsys("KVM_GET_VCPU_EVENTS");
		return -1;
	}
	vf->has_events = true;
	if (legacy_sregs) {
		if (ioctl(fd, KVM_GET_SREGS, &vf->sregs) < 0) {
			errsys("KVM_GET_SREGS");
			return -1;
		}
		vf->has_sregs = true;
	} else {
		if (ioctl(fd, KVM_GET_SREGS2, &vf->sregs2) < 0) {
			errsys("KVM_GET_SREGS2");
			return -1;
		}
		vf->has_sregs2 = true;
	}
	if (ioctl(fd, KVM_GET_DEBUGREGS, &vf->debugregs) < 0) {
		errsys("KVM_GET_DEBUGREGS");
		return -1;
	}
	vf->has_debugregs = true;
	if (ioctl(fd, KVM_GET_REGS, &vf->regs) < 0) {
		errsys("KVM_GET_REGS");
		return -1;
	}
	vf->has_regs = true;
	if (vcpu_get_msrs(g, n, vf) < 0)
		return -1;
	if (ioctl(fd, KVM_GET_XCRS, &vf->xcrs) < 0) {
		errsys("KVM_GET_XCRS");
		return -1;
	}
	vf->has_xcrs = true;
	return 0;
}
