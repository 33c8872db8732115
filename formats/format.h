/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * format.h --- the interface every format implements, and the registry.
 *
 * A reader turns the bytes of a saved state into vCPU models; a writer
 * applies repair plans as byte edits and commits the result only after
 * parsing it again (docs/design.md section 4).  Nothing here prints.
 */
#ifndef FRED_FORMAT_H
#define FRED_FORMAT_H

#include <stddef.h>
#include <sys/stat.h>

#include "formats/fmt_error.h"
#include "reconstruct/plan.h"
#include "reconstruct/vcpu.h"

struct format_ops;

/* A fact about the container that inspect shows ("machine": "pc-i440fx-7.2"). */
struct snapshot_fact {
	const char *key; /* static */
	char *value;     /* malloc'ed */
};

#define SNAPSHOT_FACTS_MAX 16

/* One opened input. */
struct snapshot {
	const struct format_ops *ops;
	char path[PATH_MAX];  /* as the user gave it */
	char real[PATH_MAX];  /* symlinks resolved: where a repair is written */
	size_t nvcpus;
	struct vcpu_state *vcpus;
	char detail[128];     /* what inspect shows about the container */
	struct snapshot_fact facts[SNAPSHOT_FACTS_MAX];
	size_t nfacts;
	/* The devices fact names only some of the saved devices (inspect says so). */
	bool devices_partial;
	void *priv;           /* the format's own state */
};

/* Add a fact (printf-style value); silently dropped when the table is full. */
void snapshot_add_fact(struct snapshot *s, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Where and how a repair is written. */
struct write_request {
	const char *out_path; /* -o OUT; NULL with in_place */
	bool in_place;
	const char *backup_suffix; /* default ".orig" */
	bool no_backup;
	/* Filled by the writer. */
	bool backup_linked;     /* the backup already holds the input, by hard links */
	char written[PATH_MAX]; /* the path that now holds the repair */
	char backup[PATH_MAX];  /* the backup, "" when none */
	char how[512];          /* how a compressed image was written, for -v; "" else */
};

/* What a redaction removed, and the firmware pages it kept (fredck redact). */
struct redaction {
	uint64_t pages, bytes; /* pages that had content, and their bytes */
	uint64_t kept_pages;   /* the legacy ROM area's, kept for the load */
};

struct format_ops {
	const char *name;        /* the --format value: "kvm-dir" */
	const char *description; /* one line for help and inspect */
	/* Does path (already stat'ed) look like this format?  Reads content only. */
	bool (*probe)(const char *path, const struct stat *st);
	/* Read path into s (vcpus, detail, priv); -1 with e filled on error. */
	int (*open)(struct snapshot *s, const char *path, struct fmt_error *e);
	/* The destination's payload capability when --dest-payload-cap=auto. */
	bool (*dest_payload_cap)(const struct snapshot *s, const struct vcpu_state *v);
	/*
	 * Write s with plans[nvcpus] applied, as w says; verify by reading the
	 * result again; never touch the input unless w->in_place.
	 */
	int (*write)(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
		     struct fmt_error *e);
	/*
	 * Stream filter, for formats that can (NULL otherwise): read in_path
	 * ("-": standard input) and write the repaired stream to out_fd in one
	 * pass, planning each vCPU as it is read.  s is filled as open fills
	 * it; *plans (malloc'ed) parallels s->vcpus.  On error the output is
	 * truncated where the input went wrong.
	 */
	int (*filter)(struct snapshot *s, const char *in_path, int out_fd,
		      struct vcpu_plan (*plan)(const struct vcpu_state *v, void *ctx), void *ctx,
		      struct vcpu_plan **plans, struct fmt_error *e);
	/*
	 * Write a copy of s without the guest's memory (fredck redact) where w
	 * says (-o only), verified by reading it again; *r says what was
	 * removed and kept.  NULL for formats that hold no guest memory.
	 */
	int (*redact)(struct snapshot *s, struct write_request *w, struct redaction *r,
		      struct fmt_error *e);
	void (*close)(struct snapshot *s);
	/*
	 * An input that holds several saved states (a qcow2 image's internal
	 * snapshots): the inputs it stands for, "PATH@NAME" (malloc'ed, n of
	 * them; none when it stands for itself).  NULL for formats whose
	 * every input is one state.  -1 with e filled.
	 */
	int (*members)(const char *path, char ***members, size_t *n, struct fmt_error *e);
	/*
	 * A repair in place with plan p of v would change the length of the
	 * state, which this format then refuses (a qcow2 snapshot's state:
	 * pending needs a subsection the stream lacks).  NULL: never.
	 */
	bool (*in_place_grows)(const struct snapshot *s, const struct vcpu_state *v,
			       const struct vcpu_plan *p);
	/*
	 * A format that does not stream but is one small file: read whole
	 * from standard input ("-", named by --format: its content cannot be
	 * probed before it is read), at most this many bytes.  0: never.
	 */
	size_t stdin_whole_max;
};

/*
 * fredck undo: put back what an in-place repair of a qcow2 snapshot
 * changed, from its undo file, into the image it names (or image when not
 * NULL; its path into out[len]); *restored counts the clusters written.
 */
int format_undo(const char *undo_path, const char *image, char *out, size_t len,
		size_t *restored, struct fmt_error *e);

/*
 * A member input "IMAGE@SELECTOR" of a format with members: where the
 * '@' is (the first one whose left part is a regular file that such a
 * format recognises), or 0 when path is not one.  A path that exists is
 * always itself, never a member.
 */
size_t format_member_split(const char *path, const char *format_name);

/*
 * The member inputs path stands for (format_ops.members), or none (*n 0)
 * for every other input.  -1 with e filled when path's members cannot be
 * listed (its format read it and found it malformed).
 */
int snapshot_members(const char *path, const char *format_name, char ***members, size_t *n,
		     struct fmt_error *e);

/* For probes: the first n bytes of the regular file path, into buf; false if fewer. */
bool format_read_magic(const char *path, const struct stat *st, uint8_t *buf, size_t n);

/* The registered formats, NULL-terminated. */
extern const struct format_ops *const format_list[];

const struct format_ops *format_by_name(const char *name);

/*
 * The format whose probe recognises path (already stat'ed), among all of
 * them or only format_name; NULL when none does.  For searching a tree
 * (-r): a directory or file is a snapshot when its content says so.
 */
const struct format_ops *format_probe(const char *path, const struct stat *st,
				      const char *format_name);

/*
 * Open path as format_name (NULL: detect from the content).  On error s is
 * left closed (s->ops still names the format, when one was chosen) and e
 * says why.
 */
int snapshot_open(struct snapshot *s, const char *path, const char *format_name,
		  struct fmt_error *e);
void snapshot_close(struct snapshot *s);

/*
 * Run the stream filter of path's format (standard input: "-", which only
 * a streaming format can be) into out_fd; see format_ops.filter.
 */
int snapshot_filter(struct snapshot *s, const char *path, const char *format_name, int out_fd,
		    struct vcpu_plan (*plan)(const struct vcpu_state *v, void *ctx), void *ctx,
		    struct vcpu_plan **plans, struct fmt_error *e);

/*
 * Write s with plans applied (format_ops.write), or a redacted copy
 * (format_ops.redact, which must exist): through these, so that a file
 * found shorter while it was read fails the run whatever the format
 * concluded.
 */
int snapshot_write(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
		   struct fmt_error *e);
int snapshot_redact(struct snapshot *s, struct write_request *w, struct redaction *r,
		    struct fmt_error *e);

/*
 * After a writer re-read its output: every vCPU must equal the original
 * with its plan applied.  -1 with e filled (naming the vCPU) otherwise.
 */
int snapshot_verify(const struct snapshot *orig, const struct vcpu_plan *plans,
		    const struct snapshot *reread, struct fmt_error *e);

/* Any plan changes the saved state. */
bool plans_change_state(const struct vcpu_plan *plans, size_t n);

#endif
