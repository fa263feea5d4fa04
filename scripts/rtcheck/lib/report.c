/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * librtcheck: the list of results, printed as text or JSON.
 */
#define _GNU_SOURCE
#include "rtcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct RcResult {
    RcStatus status;
    char *id;
    char *message;
    char *fix;
} RcResult;

static RcResult *rc_results;
static size_t rc_nresults, rc_results_size;

void rc_report(RcStatus status, const char *id, const char *fix,
               const char *fmt, ...)
{
    va_list ap;
    RcResult *r;

    if (rc_nresults == rc_results_size) {
        RcResult *bigger;
        rc_results_size = rc_results_size ? rc_results_size * 2 : 32;
        bigger = rc_xmalloc(rc_results_size * sizeof(*bigger));
        if (rc_nresults) {
            memcpy(bigger, rc_results, rc_nresults * sizeof(*bigger));
        }
        free(rc_results);
        rc_results = bigger;
    }
    r = &rc_results[rc_nresults++];
    r->status = status;
    r->id = rc_strdup(id);
    va_start(ap, fmt);
    r->message = rc_vstrf(fmt, ap);
    va_end(ap);
    r->fix = rc_strdup(status == RC_PASS || !fix ? "" : fix);
}

void rc_results_reset(void)
{
    size_t i;

    for (i = 0; i < rc_nresults; i++) {
        free(rc_results[i].id);
        free(rc_results[i].message);
        free(rc_results[i].fix);
    }
    rc_nresults = 0;
}

void rc_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c < 0x20 || c >= 0x7f) {
            /* Messages are ASCII; anything else came from a bad file. */
            printf("\\u%04x", c < 0x20 ? c : '?');
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

int rc_results_print(bool json, const char *title)
{
    static const char *const names[] = { "pass", "warn", "fail" };
    unsigned count[3] = { 0, 0, 0 };
    RcStatus worst = RC_PASS;
    size_t i;

    for (i = 0; i < rc_nresults; i++) {
        count[rc_results[i].status]++;
        if (rc_results[i].status > worst) {
            worst = rc_results[i].status;
        }
    }
    if (json) {
        putchar('[');
        for (i = 0; i < rc_nresults; i++) {
            RcResult *r = &rc_results[i];
            printf("%s\n  {\"id\": ", i ? "," : "");
            rc_json_string(r->id);
            printf(", \"status\": \"%s\", \"message\": ", names[r->status]);
            rc_json_string(r->message);
            fputs(", \"fix\": ", stdout);
            rc_json_string(r->fix);
            putchar('}');
        }
        fputs("\n]\n", stdout);
    } else {
        printf("%s\n", title);
        for (i = 0; i < rc_nresults; i++) {
            RcResult *r = &rc_results[i];
            printf("%s %-22s %s\n",
                   r->status == RC_PASS ? "PASS" :
                   r->status == RC_WARN ? "WARN" : "FAIL",
                   r->id, r->message);
            if (r->fix[0]) {
                printf("%-27s fix: %s\n", "", r->fix);
            }
        }
        printf("%u pass, %u warn, %u fail\n", count[RC_PASS],
               count[RC_WARN], count[RC_FAIL]);
    }
    fflush(stdout);
    return (int)worst;
}
