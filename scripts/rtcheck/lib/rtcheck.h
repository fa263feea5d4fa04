/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * librtcheck, the library rt-host-check and rt-guest-check link: file
 * access under an optional fake root (files.c), CPU lists and masks
 * (cpus.c), the kernel command line (cmdline.c), the list of results
 * printed as text or JSON (report.c), the items both tools check
 * (checks.c), and memory, strings, numbers and usage errors (util.c).
 */
#ifndef RTCHECK_H
#define RTCHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <dirent.h>

#define RC_MAX_CPUS 8192
#define RC_EX_USAGE 64          /* sysexits.h EX_USAGE */
#define RC_EX_CANTCREAT 73      /* sysexits.h EX_CANTCREAT */

/* Sizes of bounded reads: one sysfs value, a whole list-like file. */
#define RC_VAL_MAX 4096
#define RC_BIG_MAX 65536

typedef struct RcCpuSet {
    uint64_t bits[RC_MAX_CPUS / 64];
} RcCpuSet;

typedef enum RcStatus {
    RC_PASS = 0,
    RC_WARN = 1,
    RC_FAIL = 2,
} RcStatus;

extern const char *rc_prog;

/* Memory and strings; these abort on out-of-memory. */
void *rc_xmalloc(size_t size);
char *rc_strdup(const char *s);
char *rc_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *rc_vstrf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
/* Printable, shortened copy of a value read from a file, for messages. */
char *rc_clean(const char *s);
void rc_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/*
 * The options both tools take: --cpus LIST, --json, --root DIR, --help.
 * A tool's own options are in @more (ending with a zero entry, values
 * from RC_OPT_TOOL up) and go to @tool(opt, optarg, @opaque).  --help
 * calls @usage and exits 0; a missing value, an unknown option and an
 * operand are usage errors.  --root is only stored: rc_usage_set_root()
 * applies it.
 */
typedef struct RcOptions {
    const char *cpus;
    const char *root;
    bool json;
} RcOptions;

enum { RC_OPT_TOOL = 512 };

struct option;
void rc_parse_options(int argc, char **argv, RcOptions *o,
                      const struct option *more,
                      void (*tool)(int opt, const char *arg, void *opaque),
                      void *opaque, void (*usage)(void));
/* rc_set_root(), or a usage error. */
void rc_usage_set_root(const char *root);

/*
 * The root: every path below is absolute as on a live system and is
 * prefixed with the root given to rc_set_root() (--root).
 */
bool rc_set_root(const char *root);
bool rc_have_root(void);
char *rc_path(const char *path);
/*
 * Read at most @size - 1 bytes of @path into @buf, NUL-terminate it, turn
 * embedded NULs into spaces and trim trailing whitespace.  Returns the
 * length, or -1 with errno set.
 */
ssize_t rc_read(const char *path, char *buf, size_t size);
ssize_t rc_readf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* rc_read into a fresh RC_BIG_MAX buffer; NULL with errno on failure. */
char *rc_read_big(const char *path);
DIR *rc_opendir(const char *path);
/* Write @value plus a newline to an existing file.  0 or -errno. */
int rc_write(const char *path, const char *value);
bool rc_exists(const char *path);

/* Strict numbers: the whole (trimmed) string must be the number. */
bool rc_is_number(const char *s);           /* digits only, as a PID */
bool rc_parse_long(const char *s, long long *out);
bool rc_parse_ulong(const char *s, unsigned long long *out);
/* "1G", "512M", "4096k", "1073741824": bytes, > 0. */
bool rc_parse_size(const char *s, uint64_t *out);
char *rc_format_size(uint64_t bytes);

/* CPU sets. */
void rc_cpus_clear(RcCpuSet *set);
void rc_cpus_set(RcCpuSet *set, unsigned cpu);
bool rc_cpus_test(const RcCpuSet *set, unsigned cpu);
bool rc_cpus_empty(const RcCpuSet *set);
unsigned rc_cpus_count(const RcCpuSet *set);
bool rc_cpus_subset(const RcCpuSet *sub, const RcCpuSet *set);
bool rc_cpus_intersects(const RcCpuSet *a, const RcCpuSet *b);
void rc_cpus_and(RcCpuSet *dst, const RcCpuSet *a, const RcCpuSet *b);
void rc_cpus_andnot(RcCpuSet *dst, const RcCpuSet *a, const RcCpuSet *b);
void rc_cpus_or(RcCpuSet *dst, const RcCpuSet *a, const RcCpuSet *b);
/*
 * "1,3-5" and the kernel's "0-7:2/4".  An empty string is an empty set
 * only if @allow_empty.  On failure @err (size >= 128) says why.
 */
bool rc_cpulist_parse(const char *s, RcCpuSet *set, bool allow_empty,
                      char *err, size_t errsize);
/* The kernel's hex mask, "f" or "00000000,0000000f". */
bool rc_cpumask_parse(const char *s, RcCpuSet *set);
char *rc_cpulist_format(const RcCpuSet *set);
char *rc_cpumask_format(const RcCpuSet *set);

/* The kernel command line. */
typedef struct RcCmdline {
    char *text;                 /* NULL if unreadable */
    int err;                    /* errno of the read */
} RcCmdline;

void rc_cmdline_load(RcCmdline *cl, const char *path);
void rc_cmdline_free(RcCmdline *cl);
/* Value of the last "key=value" (or "" for a bare "key"); NULL if absent. */
char *rc_cmdline_get(const RcCmdline *cl, const char *key);
/* Whether any "key=value" has exactly this value. */
bool rc_cmdline_has(const RcCmdline *cl, const char *key, const char *value);
/* The CPU list of isolcpus=, after its flags ("managed_irq,domain,"). */
const char *rc_isolcpus_list(const char *value);

/* Results. */
void rc_report(RcStatus status, const char *id, const char *fix,
               const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void rc_results_reset(void);
/* Print all results; returns the exit status (0, 1 or 2). */
int rc_results_print(bool json, const char *title);
/* Print a JSON string, escaped, quotes included. */
void rc_json_string(const char *s);

/* Common checks of host and guest. */
typedef struct RcCtx {
    RcCmdline cmdline;
    bool have_cpus;
    RcCpuSet cpus;              /* --cpus */
    bool have_online;
    RcCpuSet online;
    char *cpus_text;            /* --cpus, formatted */
} RcCtx;

void rc_ctx_init(RcCtx *ctx, const char *cpus_arg);
void rc_ctx_free(RcCtx *ctx);
/* Read a sysfs/procfs CPU list such as /sys/devices/system/cpu/isolated. */
bool rc_read_cpulist(const char *path, RcCpuSet *set, char **why);

/* Whether --cpus was given; if not, item @id is reported not checked. */
bool rc_have_cpus(const RcCtx *ctx, const char *id);

void rc_check_isolation(RcCtx *ctx, const char *id, const char *param,
                        const char *sysfs, RcStatus missing);

/* A one-number sysctl that should be @want. */
typedef struct RcSysctl {
    const char *id;
    const char *path;
    const char *sysctl;
    const char *want;
    RcStatus bad;               /* the status of another value */
    const char *why;
    bool onto_cpus;             /* @why goes on "onto the ... CPUs too" */
    const char *boot;           /* a boot parameter to the same effect */
} RcSysctl;

/* sched_rt_runtime, watchdog, nmi_watchdog, timer_migration. */
extern const RcSysctl rc_sysctls[];
extern const size_t rc_nsysctls;

/*
 * Check @s; @cpus names the checked CPUs in @why ("vCPU", "RT").  Returns
 * the current value (to be freed) when it is a valid number other than
 * @want, else NULL.
 */
char *rc_check_sysctl(const RcSysctl *s, const char *cpus);

#endif
