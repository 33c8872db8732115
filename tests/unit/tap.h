/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tap.h --- a tiny Test Anything Protocol emitter for the C unit tests.
 *
 * Header-only: each test program is one translation unit.  Either call
 * plan(n) first or done_testing() last; main() returns done_testing(),
 * which is non-zero when a test failed or the plan was not met, so the
 * program also fails outside automake's tap-driver.
 */
#ifndef FRED_TAP_H
#define FRED_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))

static unsigned int tap_run, tap_failed, tap_planned;

static inline void plan(unsigned int n)
{
	tap_planned = n;
	printf("1..%u\n", n);
}

/* A "# ..." line: TAP consumers show it, never parse it as a result. */
static inline TAP_PRINTF(1, 2) void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline TAP_PRINTF(2, 0) bool tap_vok(bool cond, const char *fmt, va_list ap)
{
	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %u - ", cond ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	putchar('\n');
	return cond;
}

static inline TAP_PRINTF(2, 3) bool ok(bool cond, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vok(cond, fmt, ap);
	va_end(ap);
	return r;
}

/* Registers are 64-bit hex values: show both in hex when they differ. */
static inline TAP_PRINTF(3, 4) bool is_u64(uint64_t got, uint64_t want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vok(got == want, fmt, ap);
	va_end(ap);
	if (!r)
		diag("  got: 0x%016" PRIx64 "  expected: 0x%016" PRIx64, got, want);
	return r;
}

static inline TAP_PRINTF(3, 4) bool is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vok(got == want, fmt, ap);
	va_end(ap);
	if (!r)
		diag("  got: %lld  expected: %lld", got, want);
	return r;
}

static inline TAP_PRINTF(3, 4) bool is_str(const char *got, const char *want, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = tap_vok(got && want && strcmp(got, want) == 0, fmt, ap);
	va_end(ap);
	if (!r)
		diag("  got: \"%s\"  expected: \"%s\"", got ? got : "(null)",
		     want ? want : "(null)");
	return r;
}

/* Print the plan if none was given; the exit status of the program. */
static inline int done_testing(void)
{
	if (!tap_planned)
		printf("1..%u\n", tap_run);
	else if (tap_run != tap_planned)
		diag("planned %u tests but ran %u", tap_planned, tap_run);
	if (tap_failed)
		diag("failed %u of %u tests", tap_failed, tap_run);
	return (tap_failed || (tap_planned && tap_run != tap_planned)) ? 1 : 0;
}

#endif
