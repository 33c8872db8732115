/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cancel.h --- SIGINT, SIGTERM and SIGHUP: remove what fredck was writing,
 * stop the batch workers, say so, and exit with EXIT_CANCELLED.
 */
#ifndef FRED_CANCEL_H
#define FRED_CANCEL_H

#include <sys/types.h>

/* Install the handlers (once, at start). */
void cancel_install(void);

/* A batch worker was started or has ended: the handler passes the signal on to the live ones. */
void cancel_worker_started(pid_t pid);
void cancel_worker_ended(pid_t pid);

/* In a newly forked worker: its parent's workers are not its own. */
void cancel_forget_workers(void);

#endif
