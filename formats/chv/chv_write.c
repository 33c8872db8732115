/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chv_write.c --- repairing a Cloud Hypervisor state.json: the changed
 * kvm_vcpu_events fields become new number tokens spliced in at the exact
 * bytes of the old ones (digits in the v39+ state string, the digits' byte
 * values in the v29-v38 array), so nothing else changes, inner text or
 * outer file.  The result is read back and verified before it is renamed
 * into place (formats/safe_write.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/chv/chv_priv.h"
#include "formats/io/safe_write.h"
#include "formats/io/whole_file.h"

/* One replacement in the outer file. */
struct edit {
	size_t start, end;
	char text[72]; /* 20 digits, or their 20 byte values as "57," */
};

struct edits {
	struct edit *e;
	size_t n, cap;
};

/* Inner token tok gets the decimal value; added to ed as an outer edit. */
static int add_edit(struct edits *ed, const struct chv *c, const struct chv_vcpu *cv,
		    struct span tok, uint64_t value, struct fmt_error *e)
{
	char digits[24];
	struct edit *x;
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)value);

	if (ed->n == ed->cap) {
		size_t cap = ed->cap ? ed->cap * 2 : 16;
		struct edit *p = realloc(ed->e, cap * sizeof(*p));

		if (!p)
			return fmt_syserr(e, c->file, ENOMEM, "cannot write");
		ed->e = p;
		ed->cap = cap;
	}
	x = &ed->e[ed->n];
	x->start = cv->map[2 * tok.start];
	x->end = cv->map[2 * (tok.end - 1) + 1];
	if (c->layout == CHV_V39) {
		/* A number's digits are never escaped by serde_json: one outer byte each. */
		if (x->end - x->start != tok.end - tok.start)
			return fmt_fail(e, FMT_ERR_UNSUPPORTED, c->file,
					"%s: a number to edit is written with escapes; not repaired",
					cv->path);
		snprintf(x->text, sizeof(x->text), "%s", digits);
	} else {
		/* v29-v38: the new text as byte values, one element per character. */
		size_t used = 0;

		for (int i = 0; i < n; i++)
			used += (size_t)snprintf(x->text + used, sizeof(x->text) - used, "%s%d",
						 i ? "," : "", digits[i]);
	}
	ed->n++;
	return 0;
}

/* The edits of one vCPU: the kvm_vcpu_events bytes or members whose value changes. */
static int vcpu_edits(const struct chv *c, const struct chv_vcpu *cv,
		      const uint8_t *want, struct edits *ed, struct fmt_error *e)
{
	if (c->layout == CHV_V39) {
		for (size_t i = 0; i < KVM_EVENTS_SIZE; i++)
			if (want[i] != cv->events[i] &&
			    add_edit(ed, c, cv, cv->ev_tok[i], want[i], e) != 0)
				return -1;
		return 0;
	}
	for (size_t i = 0; i < KVM_EVENTS_NFIELDS; i++) {
		const struct kvm_events_field *f = &kvm_events_fields[i];

		if (memcmp(want + f->offset, cv->events + f->offset, f->size) != 0 &&
		    add_edit(ed, c, cv, cv->field_tok[i], le_get(want + f->offset, f->size), e) != 0)
			return -1;
	}
	return 0;
}


static int cmp_edit(const void *a, const void *b)
{
	size_t x = ((const struct edit *)a)->start, y = ((const struct edit *)b)->start;

	return (x > y) - (x < y);
}

/* The new state.json: the original with every edit spliced in. */
static int build(const struct snapshot *s, const struct vcpu_plan *plans,
		 uint8_t (*want)[KVM_EVENTS_SIZE], char **out, size_t *out_len, struct fmt_error *e)
{
	const struct chv *c = s->priv;
	struct edits ed = { 0 };
	size_t len = c->len, pos = 0, o = 0;
	char *buf;

	for (size_t i = 0; i < s->nvcpus; i++) {
		memcpy(want[i], c->v[i].events, KVM_EVENTS_SIZE);
		if (!plan_changes_state(&plans[i]))
			continue;
		kvm_events_patch(want[i], &s->vcpus[i], &plans[i]);
		if (vcpu_edits(c, &c->v[i], want[i], &ed, e) != 0) {
			free(ed.e);
			return -1;
		}
	}
	if (ed.n) /* qsort must not be given NULL, even for no elements */
		qsort(ed.e, ed.n, sizeof(*ed.e), cmp_edit);
	for (size_t i = 0; i < ed.n; i++)
		len += strlen(ed.e[i].text);
	buf = malloc(len + 1);
	if (!buf) {
		free(ed.e);
		return fmt_syserr(e, c->file, ENOMEM, "cannot write");
	}
	for (size_t i = 0; i < ed.n; i++) {
		size_t t = strlen(ed.e[i].text);

		memcpy(buf + o, c->buf + pos, ed.e[i].start - pos);
		o += ed.e[i].start - pos;
		memcpy(buf + o, ed.e[i].text, t);
		o += t;
		pos = ed.e[i].end;
	}
	memcpy(buf + o, c->buf + pos, c->len - pos);
	o += c->len - pos;
	free(ed.e);
	*out = buf;
	*out_len = o;
	return 0;
}

/* Parse the written result again: models as planned, events bytes exactly as built. */
static int verify(const struct snapshot *s, const struct vcpu_plan *plans, const char *path,
		  uint8_t (*want)[KVM_EVENTS_SIZE], struct fmt_error *e)
{
	struct snapshot re;
	struct chv *rc_;
	int rc;

	if (snapshot_open(&re, path, s->ops->name, e) != 0)
		return -1;
	rc = snapshot_verify(s, plans, &re, e);
	rc_ = re.priv;
	for (size_t i = 0; rc == 0 && i < s->nvcpus; i++)
		if (memcmp(rc_->v[i].events, want[i], KVM_EVENTS_SIZE) != 0)
			rc = fmt_fail(e, FMT_ERR_SYSTEM, path,
				      "verification failed: vCPU %u's vcpu_events differ from the plan",
				      rc_->v[i].id);
	snapshot_close(&re);
	return rc;
}

/* Commit tmp as w says, provided state.json (at state) is still as read. */
static int commit_state(const struct snapshot *s, const char *tmp, const char *target,
			const char *state, struct write_request *w, struct fmt_error *e)
{
	const struct chv *c = s->priv;
	struct sw_sources src = { 0 };
	int rc = sw_add_source(&src, state, -1, &c->st, e);

	if (rc == 0)
		rc = sw_commit_file(tmp, target, w, &src, e);
	sw_sources_free(&src);
	return rc;
}

/* One new file beside target (state.json, or a state.json input's -o): temp, verify, commit. */
static int write_file(struct snapshot *s, const struct vcpu_plan *plans, const char *target,
		      const char *like, const char *buf, size_t len, uint8_t (*want)[KVM_EVENTS_SIZE],
		      struct write_request *w, struct fmt_error *e)
{
	char tmp[PATH_MAX];
	int fd;

	if (sw_temp_file(target, like, tmp, sizeof(tmp), &fd, e) != 0)
		return -1;
	if (write_all(fd, buf, len, tmp, e) != 0)
		goto fail;
	if (fsync(fd) != 0) {
		fmt_syserr(e, tmp, errno, "cannot write");
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		fmt_syserr(e, tmp, errno, "cannot write");
		goto fail;
	}
	fd = -1;
	if (verify(s, plans, tmp, want, e) != 0 || commit_state(s, tmp, target, like, w, e) != 0)
		goto fail;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (strcmp(w->written, target) != 0)
		unlink(tmp);
	return -1;
}

/* -o OUT for a snapshot directory: a new directory, state.json new, the rest hard-linked. */
static int write_dir(struct snapshot *s, const struct vcpu_plan *plans, const char *buf,
		     size_t len, uint8_t (*want)[KVM_EVENTS_SIZE], struct write_request *w,
		     struct fmt_error *e)
{
	const struct chv *c = s->priv;
	char target[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX], state[PATH_MAX];
	struct sw_sources src = { 0 };
	int rc = -1;

	if (sw_prepare(s->real, w, target, sizeof(target), e) != 0 ||
	    sw_temp_dir(target, s->real, tmp, sizeof(tmp), e) != 0)
		return -1;
	/* The copy holds the directory as read: it and its state.json are compared at the commit. */
	if (sw_clone_tree(s->real, tmp, e) != 0 ||
	    fmt_join(path, sizeof(path), tmp, "state.json", e) != 0 ||
	    sw_replace_file(path, buf, len, c->st.st_mode, e) != 0 ||
	    verify(s, plans, tmp, want, e) != 0 || sw_fsync_tree(tmp, e) != 0 ||
	    fmt_join(state, sizeof(state), s->real, "state.json", e) != 0 ||
	    sw_add_source(&src, s->real, -1, &c->dir_st, e) != 0 ||
	    sw_add_source(&src, state, -1, &c->st, e) != 0 || sw_commit_dir(tmp, target, w, &src, e) != 0) {
		if (strcmp(w->written, target) != 0)
			sw_remove_tree(tmp);
		goto out;
	}
	rc = 0;
out:
	sw_sources_free(&src);
	return rc;
}

int chv_write(struct snapshot *s, const struct vcpu_plan *plans, struct write_request *w,
		     struct fmt_error *e)
{
	const struct chv *c = s->priv;
	char target[PATH_MAX], state[PATH_MAX];
	uint8_t (*want)[KVM_EVENTS_SIZE] = calloc(s->nvcpus ? s->nvcpus : 1, KVM_EVENTS_SIZE);
	char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	/* The repair is verified against the input, and committed only if that is unchanged. */
	if (strcmp(s->real, "-") == 0) {
		free(want);
		return fmt_fail(e, FMT_ERR_UNSUPPORTED, s->path,
				"a cloud-hypervisor state.json read from standard input is checked, "
				"not repaired: give its path");
	}
	if (!want)
		return fmt_syserr(e, s->path, ENOMEM, "cannot write");
	if (build(s, plans, want, &buf, &len, e) != 0)
		goto out;
	if (c->is_dir && !w->in_place) {
		rc = write_dir(s, plans, buf, len, want, w, e);
		goto out;
	}
	/* In place, the one changed file is renamed over the original (docs/design.md section 4). */
	if (c->is_dir) {
		if (fmt_join(target, sizeof(target), s->real, "state.json", e) != 0)
			goto out;
		if (!realpath(target, state)) {
			rc = fmt_syserr(e, target, errno, "cannot resolve the path");
			goto out;
		}
	} else {
		snprintf(state, sizeof(state), "%s", s->real);
	}
	if (sw_prepare(state, w, target, sizeof(target), e) == 0)
		rc = write_file(s, plans, target, state, buf, len, want, w, e);
out:
	free(buf);
	free(want);
	return rc;
}
