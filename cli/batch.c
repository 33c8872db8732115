/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * batch.c --- many inputs: the tree search, the worker processes, the
 * ordered output and the summary (see batch.h for why processes).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/cancel.h"
#include "cli/diag.h"
#include "cli/escape.h"
#include "cli/output.h"
#include "formats/io/progress.h"
#include "formats/io/safe_write.h"
#include "formats/format.h"

struct batch_opts batch_opts;

enum { OPT_NDJSON = 0x300 };

/* More workers than this is a typing error, not a machine. */
#define JOBS_MAX 1024

static const struct argp_option batch_options[] = {
	{ .name = "recursive", .key = 'r',
	  .doc = "Search each directory that is not a snapshot for snapshots (symbolic links "
		 "inside it are not followed)" },
	{ .name = "jobs", .key = 'P', .arg = "N",
	  .doc = "Work on N inputs at a time, each in its own process (default: the number of "
		 "CPUs); output stays in input order" },
	{ .name = "ndjson", .key = OPT_NDJSON,
	  .doc = "Print one JSON line per input, with its verdict, findings and time, instead "
		 "of one document" },
	{ 0 }
};

static error_t batch_parse(int key, char *arg, struct argp_state *state)
{
	char *end;
	long n;

	switch (key) {
	case 'r':
		batch_opts.recursive = true;
		break;
	case 'P':
		errno = 0;
		n = strtol(arg, &end, 10);
		if (errno || *end || end == arg || n < 1 || n > JOBS_MAX)
			argp_error(state, "--jobs takes a number from 1 to %d, not '%s'", JOBS_MAX,
				   esc(arg));
		batch_opts.jobs = (int)n;
		break;
	case OPT_NDJSON:
		batch_opts.ndjson = true;
		global_opts.ndjson = true;
		global_opts.json = true;
		break;
	case ARGP_KEY_END:
		/* Silently ignoring -p would leave a script author guessing. */
		if (batch_opts.ndjson && global_opts.pretty)
			argp_error(state, "--ndjson prints one line per input, which -p cannot indent; "
					  "-p alone prints one indented document");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp batch_argp = {
	.options = batch_options,
	.parser = batch_parse,
};

/* ---- the inputs ---------------------------------------------------------- */

static int list_add(struct batch_list *l, const char *path, size_t rel_offset)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct batch_input *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].path = strdup(path);
	if (!l->v[l->n].path)
		return -1;
	l->v[l->n].rel = l->v[l->n].path + rel_offset;
	l->n++;
	return 0;
}

void batch_list_free(struct batch_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * path, or the inputs it stands for (a qcow2 image: each internal
 * snapshot that holds a VM state, as IMAGE@NAME); an image whose members
 * cannot be listed is added as itself, so that opening it says why.
 */
static int add_input(struct batch_list *l, const char *path, size_t rel_offset)
{
	struct fmt_error e;
	char **members;
	size_t n;
	int rc = 0;

	if (snapshot_members(path, global_opts.format, &members, &n, &e) != 0 || n == 0)
		return list_add(l, path, rel_offset);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = list_add(l, members[i], rel_offset);
		free(members[i]);
	}
	free(members);
	return rc;
}

/* Byte order, not the locale's: the same tree gives the same order everywhere. */
static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* The suffix of fredck's backups in this run. */
static const char *backup_suffix(void)
{
	return batch_opts.backup_suffix ? batch_opts.backup_suffix : ".orig";
}

/* Where a numbered backup's ".N" starts in path (N decimal, no leading zero), or n. */
static size_t number_tail(const char *path, size_t n)
{
	size_t i = n;

	while (i > 0 && path[i - 1] >= '0' && path[i - 1] <= '9')
		i--;
	if (i == n || i < 2 || path[i - 1] != '.' || path[i] == '0' || n - i > 4)
		return n;
	return i - 1;
}

bool batch_is_backup(const char *path)
{
	const char *suffix = backup_suffix();
	size_t n = strlen(path), k = strlen(suffix);
	char original[PATH_MAX];
	struct stat st;

	/* NAME.orig, and NAME.orig.1, .2, ... when NAME.orig already held another original. */
	if (n > k && strcmp(path + n - k, suffix) != 0)
		n = number_tail(path, n);
	if (n <= k || strncmp(path + n - k, suffix, k) != 0 || path[n - k - 1] == '/' ||
	    n - k >= sizeof(original))
		return false;
	memcpy(original, path, n - k);
	original[n - k] = '\0';
	return lstat(original, &st) == 0;
}

/* Step over one of fredck's own artifacts: count it, and name it with -v. */
static bool skip_artifact(struct batch_list *l, const char *path, const char *name,
			  const struct stat *st)
{
	const char *what;

	if (sw_is_temp_name(name)) {
		l->skipped_temps++;
		what = "a temporary name of fredck's";
	} else if (batch_is_backup(path)) {
		l->skipped_backups++;
		what = "a backup fredck keeps (its original is beside it)";
	} else if (batch_opts.skip_dir_set && S_ISDIR(st->st_mode) &&
		   st->st_dev == batch_opts.skip_dev && st->st_ino == batch_opts.skip_ino) {
		l->skipped_outputs++;
		what = "the output directory (-O)";
	} else {
		return false;
	}
	if (global_opts.verbose)
		diag_warn("skipped '%s': %s", path, what);
	return true;
}

/*
 * Add the snapshots below dir (searched, not itself a snapshot); rel_offset
 * is where the part below the searched argument starts in each path.
 */
static int search(struct batch_list *l, const char *dir, size_t rel_offset)
{
	struct dirent **names;
	int n = scandir(dir, &names, not_dots, name_order), status = 0;

	if (n < 0) {
		diag_error("cannot search '%s': %s", dir, strerror(errno));
		return EXIT_OPERATIONAL;
	}
	for (int i = 0; i < n; i++) {
		char *path;
		struct stat st;

		if (asprintf(&path, "%s/%s", dir, names[i]->d_name) < 0) {
			status |= EXIT_INTERNAL;
		} else if (lstat(path, &st) != 0) {
			diag_error("cannot search '%s': %s", path, strerror(errno));
			status |= EXIT_OPERATIONAL;
		} else if (skip_artifact(l, path, names[i]->d_name, &st)) {
			/* Reruns must not read, or repair, what fredck itself made. */
		} else if (format_probe(path, &st, global_opts.format)) {
			if (add_input(l, path, rel_offset) != 0)
				status |= EXIT_INTERNAL;
		} else if (S_ISDIR(st.st_mode)) {
			status |= search(l, path, rel_offset);
		}
		/* Anything else (other files, symbolic links) is not a snapshot: skipped. */
		free(path);
		free(names[i]);
	}
	free(names);
	return status;
}

/* The last component of path: where -O DIR puts a direct argument's repair. */
static size_t last_component(const char *path)
{
	size_t len = strlen(path);
	size_t i;

	while (len > 1 && path[len - 1] == '/')
		len--;
	for (i = len; i > 0 && path[i - 1] != '/'; i--)
		;
	return i;
}

int batch_expand(const struct inputs *args, struct batch_list *out)
{
	int status = 0;

	for (int i = 0; i < args->count; i++) {
		const char *a = args->paths[i];
		struct stat st;

		if (batch_opts.recursive && strcmp(a, "-") != 0 && stat(a, &st) == 0 &&
		    S_ISDIR(st.st_mode) && !format_probe(a, &st, global_opts.format)) {
			size_t before = out->n;

			status |= search(out, a, strlen(a) + (a[strlen(a) - 1] == '/' ? 0 : 1));
			/* A wrong path in a pipeline must not pass as "nothing at risk". */
			if (out->n == before) {
				diag_error("%s: no snapshot found in this directory or below it", a);
				status |= EXIT_OPERATIONAL;
			}
			continue;
		}
		if (add_input(out, a, last_component(a)) != 0)
			status |= EXIT_INTERNAL;
	}
	return status;
}

/* ---- one input ------------------------------------------------------------ */

/* One input's outcome, whole. */
struct result {
	bool done;
	int status;
	double elapsed_ms;
	char *out; /* what it printed on standard output (text mode) */
	size_t out_len;
	char *err; /* what it printed on standard error */
	size_t err_len;
	json_t *record; /* its JSON object (JSON and NDJSON modes) */
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/*
 * Run work on one input.  In a worker (capture), its report and its
 * messages go to memory streams, passed down to every printer (never by
 * assigning stdout and stderr), to be written whole in input order.
 */
static void do_one(const struct batch_input *in, batch_work work, void *ctx, bool capture,
		   const char *command, struct result *res)
{
	struct out_streams io = { stdout, stderr };
	double t0 = now_ms();

	memset(res, 0, sizeof(*res));
	if (capture) {
		io.out = open_memstream(&res->out, &res->out_len);
		io.err = open_memstream(&res->err, &res->err_len);
		if (!io.out || !io.err) {
			if (io.out)
				fclose(io.out);
			if (io.err)
				fclose(io.err);
			res->status = EXIT_INTERNAL;
			return;
		}
	}
	out_capture(true);
	res->status = work(in, ctx, &io);
	out_capture(false);
	res->record = out_take_captured();
	res->elapsed_ms = now_ms() - t0;
	/* --ndjson: the line is made here, in the worker, once. */
	if (res->record && global_opts.ndjson) {
		res->status |= out_ndjson(io.out, res->record, command, res->elapsed_ms);
		json_decref(res->record);
		res->record = NULL;
	}
	if (capture) {
		fclose(io.out);
		fclose(io.err);
	}
	res->done = true;
}

/* ---- counting and printing ------------------------------------------------ */

struct tally {
	size_t ok, at_risk, repaired, errors;
	size_t not_copied, up_to_date; /* of the ok ones (repair -O) */
	int status;
};

static void tally_add(struct tally *t, int status)
{
	int notes = status & BATCH_NOTES;

	status &= ~BATCH_NOTES;
	t->status |= status;
	if (status & (EXIT_OPERATIONAL | EXIT_INTERNAL)) {
		t->errors++;
	} else if (status & EXIT_AT_RISK) {
		t->at_risk++;
	} else if (status & EXIT_REPAIRED) {
		t->repaired++;
	} else {
		t->ok++;
		t->not_copied += (notes & BATCH_NOT_COPIED) != 0;
		t->up_to_date += (notes & BATCH_UP_TO_DATE) != 0;
	}
}

/* Print one result in one piece: its messages, then its record. */
static void deliver(struct result *res, struct tally *t)
{
	if (res->err_len) {
		fflush(stdout);
		fwrite(res->err, 1, res->err_len, stderr);
	}
	if (res->out_len)
		fwrite(res->out, 1, res->out_len, stdout);
	if (res->record)
		out_add_input(json_incref(res->record));
	tally_add(t, res->status);
	/* A pipeline reading NDJSON sees each record as soon as it is in order. */
	if (global_opts.ndjson)
		fflush(stdout);
	free(res->out);
	free(res->err);
	json_decref(res->record);
	/* Still done: a worker that ends after its last input has lost nothing. */
	*res = (struct result){ .done = true };
}

/*
 * ", 2 clean (not copied), 3 backups skipped" and the like: what -O did
 * not write, and what a search stepped over.
 */
static void notes_text(const struct tally *t, const struct batch_list *l, char *buf, size_t len)
{
	const struct {
		size_t n;
		const char *one, *many;
	} kinds[] = {
		{ t->not_copied, "clean (not copied)", "clean (not copied)" },
		{ t->up_to_date, "already repaired (up to date)", "already repaired (up to date)" },
		{ l->skipped_backups, "backup skipped", "backups skipped" },
		{ l->skipped_temps, "temporary skipped", "temporaries skipped" },
		{ l->skipped_outputs, "output directory skipped", "output directories skipped" },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].n && used < len)
			used += (size_t)snprintf(buf + used, len - used, ", %zu %s", kinds[i].n,
						 kinds[i].n == 1 ? kinds[i].one : kinds[i].many);
}

/* The same counts in the JSON document (not with --ndjson: each line says its own). */
static void summary_json(const struct tally *t, const struct batch_list *l)
{
	json_t *o = json_object();

	jset(o, "inputs", json_integer((json_int_t)l->n));
	jset(o, "ok", json_integer((json_int_t)t->ok));
	jset(o, "at_risk", json_integer((json_int_t)t->at_risk));
	jset(o, "repaired", json_integer((json_int_t)t->repaired));
	jset(o, "errors", json_integer((json_int_t)t->errors));
	jset(o, "not_copied", json_integer((json_int_t)t->not_copied));
	jset(o, "up_to_date", json_integer((json_int_t)t->up_to_date));
	jset(o, "backups_skipped", json_integer((json_int_t)l->skipped_backups));
	jset(o, "temporaries_skipped", json_integer((json_int_t)l->skipped_temps));
	jset(o, "output_dirs_skipped", json_integer((json_int_t)l->skipped_outputs));
	out_set("summary", o);
}

static void summary(const struct tally *t, const struct batch_list *l, const char *command,
		    int workers, double ms)
{
	char notes[256];

	summary_json(t, l);
	if (global_opts.quiet)
		return;
	diag_progress_clear();
	fflush(stdout);
	notes_text(t, l, notes, sizeof(notes));
	fprintf(stderr,
		"fredck %s: %zu input%s: %zu ok, %zu at risk, %zu repaired, %zu error%s%s "
		"(%.2f s, %d worker%s)\n",
		command, l->n, l->n == 1 ? "" : "s", t->ok, t->at_risk, t->repaired, t->errors,
		t->errors == 1 ? "" : "s", notes, ms / 1e3, workers, workers == 1 ? "" : "s");
}

/* ---- worker processes ------------------------------------------------------ */

/*
 * Shared by the parent and its workers (an anonymous shared mapping): the
 * next input to take, and the input each worker is on, so that the parent
 * knows which input a worker that dies took with it.
 */
struct shared {
	atomic_size_t next;
	atomic_long busy[]; /* per worker: the input it is on, -1 before the first */
};

/* What a worker sends for each input, followed by the three payloads. */
struct frame {
	uint32_t index;
	int32_t status;
	uint32_t out_len, err_len, json_len;
	double elapsed_ms;
};

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One write per input: the frame and its payloads in one buffer. */
static int send_result(int fd, uint32_t index, const struct result *res)
{
	char *json = res->record ? json_dumps(res->record, JSON_COMPACT) : NULL;
	struct frame f = {
		.index = index,
		.status = res->status,
		.out_len = (uint32_t)res->out_len,
		.err_len = (uint32_t)res->err_len,
		.json_len = json ? (uint32_t)strlen(json) : 0,
		.elapsed_ms = res->elapsed_ms,
	};
	size_t n = sizeof(f) + f.out_len + f.err_len + f.json_len;
	char *buf = malloc(n);
	int rc = -1;

	if (buf) {
		memcpy(buf, &f, sizeof(f));
		/* Each part may be absent (NULL): memcpy must not see it even with 0. */
		if (f.out_len)
			memcpy(buf + sizeof(f), res->out, f.out_len);
		if (f.err_len)
			memcpy(buf + sizeof(f) + f.out_len, res->err, f.err_len);
		if (f.json_len)
			memcpy(buf + sizeof(f) + f.out_len + f.err_len, json, f.json_len);
		rc = write_all(fd, buf, n);
	}
	free(buf);
	free(json);
	return rc;
}

/* A worker: take the next input until none is left; never returns. */
static void worker(int k, int fd, const struct batch_list *l, struct shared *sh,
		   batch_work work, void *ctx, const char *command)
{
	size_t i;

	io_progress = NULL; /* many workers, one terminal: no progress line */
	while ((i = atomic_fetch_add(&sh->next, 1)) < l->n) {
		struct result res;

		atomic_store(&sh->busy[k], (long)i);
		do_one(&l->v[i], work, ctx, true, command, &res);
		if (send_result(fd, (uint32_t)i, &res) != 0)
			_exit(EXIT_OPERATIONAL);
		free(res.out);
		free(res.err);
		json_decref(res.record);
	}
	_exit(0);
}

/* Bytes read from one worker, not yet made into results. */
struct inbox {
	char *data;
	size_t len, cap;
};

static char *dup_part(const char *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		if (n)
			memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

/* Every whole frame in the inbox into res[]; -1 on a frame that makes no sense. */
static int unpack(struct inbox *b, size_t n, struct result *res)
{
	size_t used = 0;

	while (b->len - used >= sizeof(struct frame)) {
		struct frame f;
		const char *p = b->data + used + sizeof(f);
		struct result *r;
		char *json;

		memcpy(&f, b->data + used, sizeof(f));
		if (f.index >= n || res[f.index].done)
			return -1;
		if (b->len - used - sizeof(f) < (size_t)f.out_len + f.err_len + f.json_len)
			break; /* the rest is still on its way */
		r = &res[f.index];
		r->status = f.status;
		r->elapsed_ms = f.elapsed_ms;
		r->out_len = f.out_len;
		r->err_len = f.err_len;
		r->out = dup_part(p, f.out_len);
		r->err = dup_part(p + f.out_len, f.err_len);
		json = f.json_len ? dup_part(p + f.out_len + f.err_len, f.json_len) : NULL;
		r->record = json ? json_loads(json, 0, NULL) : NULL;
		free(json);
		r->done = true;
		used += sizeof(f) + f.out_len + f.err_len + f.json_len;
	}
	memmove(b->data, b->data + used, b->len - used);
	b->len -= used;
	return 0;
}

/* Read what worker fd has sent; false at its end (or on nonsense). */
static bool receive(int fd, struct inbox *b, size_t n, struct result *res)
{
	ssize_t r;

	if (b->cap - b->len < 65536) {
		char *d = realloc(b->data, b->cap + 65536);

		if (!d)
			return false;
		b->data = d;
		b->cap += 65536;
	}
	do
		r = read(fd, b->data + b->len, b->cap - b->len);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return false;
	b->len += (size_t)r;
	return unpack(b, n, res) == 0;
}

/* An input whose worker died under it: an error record of its own. */
static void lost_input(const struct batch_input *in, const char *how, const char *command,
		       struct result *res)
{
	char msg[PATH_MAX + 128];
	json_t *o, *e;
	FILE *m;

	memset(res, 0, sizeof(*res));
	res->status = EXIT_OPERATIONAL | EXIT_INTERNAL;
	res->done = true;
	snprintf(msg, sizeof(msg), "%s: internal error: the worker reading it %s", in->path, how);
	if (asprintf(&res->err, "fredck: %s\n", esc(msg)) > 0)
		res->err_len = strlen(res->err);
	if (!global_opts.json)
		return;
	o = json_object();
	e = json_object();
	jset(o, "path", json_input(in->path));
	jset(o, "status", json_string("error"));
	jset(o, "exit_status", json_integer(res->status));
	jset(e, "message", json_input(msg));
	jset(e, "kind", json_string("internal"));
	jset(e, "path", json_input(in->path));
	jset(e, "offset", json_null());
	jset(e, "field", json_null());
	jset(e, "reason", json_input(how));
	jset(e, "errno", json_null());
	jset(e, "hint", json_null());
	jset(o, "format", json_null());
	jset(o, "error", e);
	if (!global_opts.ndjson) {
		res->record = o;
		return;
	}
	/* The same header as every other line, into the bytes to print. */
	m = open_memstream(&res->out, &res->out_len);
	if (m) {
		out_ndjson(m, o, command, 0);
		fclose(m);
	}
	json_decref(o);
}

struct pool {
	int n;
	pid_t *pid;
	int *fd;
	struct inbox *in;
	struct shared *sh;
	size_t sh_size;
};

static int pool_start(struct pool *p, int n, const struct batch_list *l, batch_work work,
		      void *ctx, const char *command)
{
	sigset_t cancel, unblocked;

	p->sh_size = sizeof(struct shared) + (size_t)n * sizeof(atomic_long);
	p->sh = mmap(NULL, p->sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p->pid = calloc((size_t)n, sizeof(*p->pid));
	p->fd = calloc((size_t)n, sizeof(*p->fd));
	p->in = calloc((size_t)n, sizeof(*p->in));
	if (p->sh == MAP_FAILED || !p->pid || !p->fd || !p->in) {
		if (p->sh == MAP_FAILED)
			p->sh = NULL;
		return -1;
	}
	atomic_init(&p->sh->next, 0);
	for (int k = 0; k < n; k++)
		atomic_init(&p->sh->busy[k], -1);
	fflush(NULL); /* nothing buffered may be written twice */
	sigemptyset(&cancel);
	sigaddset(&cancel, SIGINT);
	sigaddset(&cancel, SIGTERM);
	sigaddset(&cancel, SIGHUP);
	for (p->n = 0; p->n < n; p->n++) {
		int pfd[2];

		if (pipe(pfd) != 0)
			break;
		/* Held until the worker is known, so that an interrupt reaches it too. */
		sigprocmask(SIG_BLOCK, &cancel, &unblocked);
		p->pid[p->n] = fork();
		if (p->pid[p->n] < 0) {
			sigprocmask(SIG_SETMASK, &unblocked, NULL);
			close(pfd[0]);
			close(pfd[1]);
			break;
		}
		if (p->pid[p->n] == 0) {
			cancel_forget_workers();
			sigprocmask(SIG_SETMASK, &unblocked, NULL);
			for (int k = 0; k < p->n; k++)
				close(p->fd[k]);
			close(pfd[0]);
			worker(p->n, pfd[1], l, p->sh, work, ctx, command);
		}
		close(pfd[1]);
		p->fd[p->n] = pfd[0];
		cancel_worker_started(p->pid[p->n]);
		sigprocmask(SIG_SETMASK, &unblocked, NULL);
	}
	return p->n > 0 ? 0 : -1;
}

/*
 * Wait for the worker pid and describe how it ended into buf: "died of
 * signal 11 (Segmentation fault)", "exited with status 8".
 */
static void reap_worker(int pid, char *buf, size_t len)
{
	int st = 0;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			snprintf(buf, len, "could not be waited for: %s", strerror(errno));
			return;
		}
	if (WIFSIGNALED(st))
		snprintf(buf, len, "died of signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
}

/* Worker k has gone: reap it; the input it was on, if unfinished, is lost. */
static void pool_gone(struct pool *p, int k, const struct batch_list *l, struct result *res,
		      const char *command)
{
	long busy = atomic_load(&p->sh->busy[k]);
	char how[128];

	close(p->fd[k]);
	p->fd[k] = -1;
	reap_worker(p->pid[k], how, sizeof(how));
	cancel_worker_ended(p->pid[k]);
	if (busy >= 0 && (size_t)busy < l->n && !res[busy].done)
		lost_input(&l->v[busy], how, command, &res[busy]);
}

static void pool_free(struct pool *p)
{
	for (int k = 0; p->in && k < p->n; k++)
		free(p->in[k].data);
	if (p->sh)
		munmap(p->sh, p->sh_size);
	free(p->pid);
	free(p->fd);
	free(p->in);
}

/* Collect every result, delivering each as soon as all before it are in. */
static void run_pool(struct pool *p, const struct batch_list *l, struct result *res,
		     const char *command, struct tally *t)
{
	struct pollfd *pfd = calloc((size_t)p->n, sizeof(*pfd));
	size_t shown = 0;
	int alive = p->n;

	while (pfd && alive > 0) {
		for (int k = 0; k < p->n; k++) {
			pfd[k].fd = p->fd[k];
			pfd[k].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)p->n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < p->n; k++)
			if (pfd[k].fd >= 0 && (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    !receive(p->fd[k], &p->in[k], l->n, res)) {
				pool_gone(p, k, l, res, command);
				alive--;
			}
		while (shown < l->n && res[shown].done)
			deliver(&res[shown++], t);
	}
	free(pfd);
	/* Workers all gone with inputs left (they died): each is an error. */
	for (; shown < l->n; shown++) {
		if (!res[shown].done)
			lost_input(&l->v[shown], "never took it (all workers died)", command,
				   &res[shown]);
		deliver(&res[shown], t);
	}
}

static int workers_for(size_t n, bool in_process)
{
	long cpus = batch_opts.jobs ? batch_opts.jobs : sysconf(_SC_NPROCESSORS_ONLN);

	if (in_process || n < 2 || cpus < 2)
		return 1;
	return (size_t)cpus < n ? (int)cpus : (int)n;
}

int batch_run(const struct batch_list *l, const char *command, batch_work work, void *ctx,
	      bool in_process)
{
	int workers = workers_for(l->n, in_process);
	double t0 = now_ms();
	struct tally t = { 0 };
	struct pool p = { 0 };
	struct result *res = calloc(l->n ? l->n : 1, sizeof(*res));

	if (!res)
		return EXIT_INTERNAL;
	if (workers > 1 && pool_start(&p, workers, l, work, ctx, command) == 0) {
		workers = p.n;
		run_pool(&p, l, res, command, &t);
	} else {
		/* One process (or workers could not be started): one input after the other. */
		workers = 1;
		for (size_t i = 0; i < l->n; i++) {
			do_one(&l->v[i], work, ctx, false, command, &res[i]);
			deliver(&res[i], &t);
		}
	}
	pool_free(&p);
	free(res);
	/* Asked for a batch (-r, -P, --ndjson): say how it went, once. */
	if (batch_opts.recursive || batch_opts.jobs || batch_opts.ndjson || batch_opts.summary)
		summary(&t, l, command, workers, now_ms() - t0);
	return t.status;
}
