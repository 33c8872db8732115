/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rebuild.h --- FRED event data rebuilt from the saved CR2, DR6, XFD_ERR.
 *
 * The exact rules of docs/design.md section 3.  Pure functions of the model.
 */
#ifndef FRED_REBUILD_H
#define FRED_REBUILD_H

#include "vcpu.h"

/* DR6 constants (kernel names). */
#define DR6_ACTIVE_LOW 0xFFFF0FF0ULL /* fixed-1 and active-low bits; the reset value */
#define DR6_FIXED_1 0xFFFE07F0ULL    /* bits that read 1 in any real DR6 */
#define DR6_EVENT_DATA_MASK 0x0001680FULL /* B0-B3, BLD, BD, BS, RTM (BT excluded) */
#define DR6_BLD (1ULL << 11)
#define DR6_BD (1ULL << 13)
#define DR6_BS (1ULL << 14)
#define DR6_BT (1ULL << 15)
#define DR6_RTM (1ULL << 16)

enum confidence {
	CONF_EXACT,
	CONF_AMBIGUOUS,     /* some bits may be stale: see doubtful */
	CONF_UNRECOVERABLE, /* an input is not saved: see missing */
};

/* Where the value came from. */
enum provenance {
	PROV_NONE,          /* not an event-data vector */
	PROV_CR2,           /* #PF: CR2 */
	PROV_DR6,           /* #DB: DR6 in DR6 polarity */
	PROV_DR6_RAW,       /* #DB: DR6 holds a raw payload (QEMU pre-save) */
	PROV_XFD_ERR,       /* #NM: IA32_XFD_ERR */
	PROV_CR0_TS,        /* #NM: 0 because CR0.TS is set */
	PROV_XCR0,          /* #NM: 0 because XCR0 enables no XFD component */
	PROV_XFD_ZERO,      /* #NM: 0 because IA32_XFD is 0 */
};

struct event_data {
	uint8_t vector;
	uint64_t value;         /* the rebuilt event data (all bits, doubtful ones too) */
	uint64_t best_estimate; /* value with the doubtful bits cleared */
	uint64_t doubtful;      /* #DB bits that may be stale (DR6_BS, DR6_BD) */
	enum confidence confidence;
	enum provenance provenance;
	enum vcpu_reg missing;  /* when unrecoverable: the register not saved */
};

/* Rebuild the event data of exception vector nr from the model. */
struct event_data rebuild_event_data(const struct vcpu_state *v, uint8_t nr);

/* The three rules, exposed for tests. */
struct event_data rebuild_pf(const struct vcpu_state *v);
struct event_data rebuild_db(const struct vcpu_state *v);
struct event_data rebuild_nm(const struct vcpu_state *v);

/*
 * KVM's kvm_deliver_exception_payload() for #DB: the DR6 a pending #DB
 * with this payload leaves behind.  Used by the round-trip tests and to
 * predict what the destination will see.
 */
uint64_t kvm_deliver_db_payload(uint64_t dr6, uint64_t payload);

/* True when DR6 lacks its fixed-1 bits: QEMU wrote a raw payload into it. */
bool dr6_is_raw_payload(uint64_t dr6);

const char *confidence_name(enum confidence c);
/* Short key ("cr2", "dr6", "dr6-raw-payload", ...) for text and JSON. */
const char *provenance_name(enum provenance p);
/* One sentence: where the value came from and why it is what it is. */
const char *provenance_description(enum provenance p);

#endif
