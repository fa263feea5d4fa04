/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * librtcheck: the kernel command line, walked as the kernel does.
 */
#define _GNU_SOURCE
#include "rtcheck.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rc_cmdline_load(RcCmdline *cl, const char *path)
{
    cl->text = rc_read_big(path);
    cl->err = cl->text ? 0 : errno;
}

void rc_cmdline_free(RcCmdline *cl)
{
    free(cl->text);
    cl->text = NULL;
}

/*
 * Walk the parameters as the kernel does (whitespace separated, double
 * quotes group).  Calls @fn with the key and value (NULL for a bare
 * key); stops when @fn returns true.
 */
static void rc_cmdline_walk(const RcCmdline *cl,
                            bool (*fn)(const char *key, const char *value,
                                       void *opaque),
                            void *opaque)
{
    const char *p = cl->text;

    if (!p) {
        return;
    }
    while (*p) {
        const char *start;
        char *param, *eq, *out;
        bool quoted = false;

        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (!*p) {
            break;
        }
        if (p[0] == '-' && p[1] == '-' &&
            (p[2] == '\0' || isspace((unsigned char)p[2]))) {
            break;          /* the rest belongs to init */
        }
        start = p;
        while (*p && (quoted || !isspace((unsigned char)*p))) {
            if (*p == '"') {
                quoted = !quoted;
            }
            p++;
        }
        param = rc_xmalloc((size_t)(p - start) + 1);
        out = param;
        for (const char *q = start; q < p; q++) {
            if (*q != '"') {
                *out++ = *q;
            }
        }
        *out = '\0';
        eq = strchr(param, '=');
        if (eq) {
            *eq = '\0';
        }
        if (fn(param, eq ? eq + 1 : NULL, opaque)) {
            free(param);
            return;
        }
        free(param);
    }
}

typedef struct RcCmdlineQuery {
    const char *key;
    const char *value;
    char *found;
    bool match;
} RcCmdlineQuery;

static bool rc_cmdline_get_fn(const char *key, const char *value,
                              void *opaque)
{
    RcCmdlineQuery *q = opaque;

    if (strcmp(key, q->key) == 0) {
        free(q->found);
        q->found = rc_strdup(value ? value : "");
    }
    return false;
}

char *rc_cmdline_get(const RcCmdline *cl, const char *key)
{
    RcCmdlineQuery q = { .key = key };

    rc_cmdline_walk(cl, rc_cmdline_get_fn, &q);
    return q.found;
}

static bool rc_cmdline_has_fn(const char *key, const char *value,
                              void *opaque)
{
    RcCmdlineQuery *q = opaque;

    if (strcmp(key, q->key) == 0 && value && strcmp(value, q->value) == 0) {
        q->match = true;
        return true;
    }
    return false;
}

bool rc_cmdline_has(const RcCmdline *cl, const char *key, const char *value)
{
    RcCmdlineQuery q = { .key = key, .value = value };

    rc_cmdline_walk(cl, rc_cmdline_has_fn, &q);
    return q.match;
}

const char *rc_isolcpus_list(const char *value)
{
    while (isalpha((unsigned char)*value)) {
        const char *comma = strchr(value, ',');
        if (!comma) {
            return value;       /* not a list: the parser says so */
        }
        value = comma + 1;
    }
    return value;
}
