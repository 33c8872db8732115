/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cancel.c --- what an interrupt does.
 *
 * An operator's Ctrl-C (SIGINT), a service manager's SIGTERM or a closed
 * terminal's SIGHUP must leave no half-made output and no temporary copy,
 * and must leave every input that was not yet replaced untouched: the
 * handler removes the temporaries being written (sw_remove_pending; a
 * result being put in place holds the signal until it is complete), sends
 * the signal on to the batch workers, which do the same, says so on
 * standard error and exits with EXIT_CANCELLED (32, fsck's "cancelled by
 * user").  Only system calls run here: the handler may interrupt anything.
 */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include "cli/cancel.h"
#include "cli/cmd.h"
#include "cli/diag.h"
#include "formats/io/safe_write.h"

#define WORKERS_MAX 1024

static volatile pid_t workers[WORKERS_MAX];
/* A batch worker: its parent speaks for it. */
static volatile sig_atomic_t is_worker;

void cancel_worker_started(pid_t pid)
{
	for (int i = 0; i < WORKERS_MAX; i++)
		if (!workers[i]) {
			workers[i] = pid;
			return;
		}
}

void cancel_worker_ended(pid_t pid)
{
	for (int i = 0; i < WORKERS_MAX; i++)
		if (workers[i] == pid)
			workers[i] = 0;
}

void cancel_forget_workers(void)
{
	for (int i = 0; i < WORKERS_MAX; i++)
		workers[i] = 0;
	is_worker = 1;
}

static void say(const char *text)
{
	ssize_t n = write(STDERR_FILENO, text, strlen(text));

	(void)n; /* nothing to do about it here */
}

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
}

static void on_cancel(int sig)
{
	int removed = sw_remove_pending();
	bool parent = false;

	for (int i = 0; i < WORKERS_MAX; i++)
		if (workers[i] > 0) {
			kill(workers[i], sig);
			parent = true;
		}
	if (!is_worker) {
		diag_progress_erase_unsafe();
		say("fredck: interrupted by ");
		say(signal_name(sig));
		say(removed ? ": removed what was being written; " : ": ");
		say("inputs not yet replaced are unchanged\n");
	}
	/* The workers have had the signal: wait for them to clean up before going. */
	while (parent && waitpid(-1, NULL, 0) > 0)
		;
	_exit(EXIT_CANCELLED);
}

void cancel_install(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_cancel };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;

		/* A signal ignored by whoever started fredck (nohup) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}
