/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-host-check --apply: the runtime changes the checks collected, the
 * boot parameters to print, and the undo script written before any change.
 */
#define _GNU_SOURCE
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void host_action(Host *h, const char *path, const char *value,
                 const char *old, const char *text)
{
    Action *bigger = rc_xmalloc((h->nactions + 1) * sizeof(*bigger));

    if (h->nactions) {
        memcpy(bigger, h->actions, h->nactions * sizeof(*bigger));
    }
    free(h->actions);
    h->actions = bigger;
    h->actions[h->nactions].path = rc_strdup(path);
    h->actions[h->nactions].value = rc_strdup(value);
    h->actions[h->nactions].old = rc_strdup(old);
    h->actions[h->nactions].text = text && strcmp(text, old) ?
                                   rc_strdup(text) : NULL;
    h->nactions++;
}

void host_boot(Host *h, const char *param)
{
    char **bigger;
    size_t i;

    for (i = 0; i < h->nboot; i++) {
        if (strcmp(h->boot[i], param) == 0) {
            return;
        }
    }
    bigger = rc_xmalloc((h->nboot + 1) * sizeof(*bigger));
    if (h->nboot) {
        memcpy(bigger, h->boot, h->nboot * sizeof(*bigger));
    }
    free(h->boot);
    h->boot = bigger;
    h->boot[h->nboot++] = rc_strdup(param);
}

static void shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') {
            fputs("'\\''", f);
        } else {
            fputc(*s, f);
        }
    }
    fputc('\'', f);
}

static void write_undo(Host *h, const char *undo_file)
{
    int fd = open(undo_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
    FILE *f;
    size_t i;
    time_t now = time(NULL);
    char when[64] = "";

    if (fd < 0 && errno == EEXIST) {
        rc_usage_error("%s exists; run it or remove it first, or pass "
                       "--undo-file PATH", undo_file);
    }
    f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot create %s: %s; pass --undo-file with a "
                "writable path\n", rc_prog, undo_file, strerror(errno));
        exit(RC_EX_CANTCREAT);
    }
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
    fprintf(f, "#!/bin/sh\n"
            "# Written by rt-host-check --apply --yes on %s.\n"
            "# Restores the runtime settings it changed; run it as root.\n"
            "set -u\n"
            "status=0\n"
            "# sysfs takes the value back; a plain file (a --root tree)\n"
            "# gets back the text it held.\n"
            "restore() {\n"
            "    text=$2\n"
            "    if [ $# -gt 2 ] &&\n"
            "       [ \"$(stat -f -c %%T \"$1\" 2>/dev/null)\" != sysfs ]\n"
            "    then\n"
            "        text=$3\n"
            "    fi\n"
            "    if ! (printf '%%s\\n' \"$text\" >\"$1\") 2>/dev/null; then\n"
            "        echo \"rt-host-check-undo: cannot write $1; "
            "write '$2' to it by hand\" >&2\n"
            "        status=1\n"
            "    fi\n"
            "}\n", when);
    for (i = h->nactions; i-- > 0;) {
        char *full = rc_path(h->actions[i].path);
        fputs("restore ", f);
        shell_quote(f, full);
        fputc(' ', f);
        shell_quote(f, h->actions[i].old);
        if (h->actions[i].text) {
            fputc(' ', f);
            shell_quote(f, h->actions[i].text);
        }
        fputc('\n', f);
        free(full);
    }
    fputs("exit $status\n", f);
    if (fflush(f) != 0 || ferror(f) || fclose(f) != 0) {
        fprintf(stderr, "%s: cannot write %s: %s; pass --undo-file with a "
                "writable path\n", rc_prog, undo_file, strerror(errno));
        exit(RC_EX_CANTCREAT);
    }
}

/* Returns the number of writes that failed. */
unsigned apply(Host *h, bool yes, const char *undo_file, FILE *out)
{
    unsigned failed = 0;
    size_t i;

    if (!h->nactions) {
        fprintf(out, "apply: nothing to change at runtime\n");
    } else if (yes) {
        write_undo(h, undo_file);
        for (i = 0; i < h->nactions; i++) {
            Action *a = &h->actions[i];
            int ret = rc_write(a->path, a->value);
            char *clean = rc_clean(a->old);

            if (ret < 0) {
                failed++;
                fprintf(out, "apply: cannot write '%s' to %s: %s; left at "
                        "'%s'\n", a->value, a->path, strerror(-ret), clean);
            } else {
                fprintf(out, "apply: wrote '%s' to %s (was '%s')\n",
                        a->value, a->path, clean);
            }
            free(clean);
        }
        fprintf(out, "apply: undo with: sh %s\n", undo_file);
    } else {
        for (i = 0; i < h->nactions; i++) {
            char *clean = rc_clean(h->actions[i].old);
            fprintf(out, "apply: would write '%s' to %s (now '%s')\n",
                    h->actions[i].value, h->actions[i].path, clean);
            free(clean);
        }
        fprintf(out, "apply: nothing changed; add --yes to make these "
                "changes\n");
    }
    if (h->nboot) {
        fprintf(out, "apply: the kernel command line is not changed; add "
                "these boot parameters yourself (GRUB_CMDLINE_LINUX in "
                "/etc/default/grub, then update-grub):\n      ");
        for (i = 0; i < h->nboot; i++) {
            fprintf(out, "%s%s", i ? " " : "", h->boot[i]);
        }
        fputc('\n', out);
    }
    fflush(out);
    return failed;
}
