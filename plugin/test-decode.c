/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Unit test of rt-audit's decoder (decode.c): every line of the cases file
 * (argv[1], test-decode.txt) gives an instruction's bytes and what
 * decode_insn() must make of them.  Prints TAP; run by meson test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

static const char *const marker_name[] = {
    [K_MARK_BEGIN - K_MAX] = "begin", [K_MARK_END - K_MAX] = "end",
    [K_MARK_RESET - K_MAX] = "reset", [K_NOTHING - K_MAX] = "nothing",
};

static int kind_from_name(const char *name)
{
    unsigned k;

    for (k = 0; k < K_MAX; k++) {
        if (!strcmp(name, kind_name[k])) {
            return k;
        }
    }
    for (k = 0; k < sizeof(marker_name) / sizeof(marker_name[0]); k++) {
        if (!strcmp(name, marker_name[k])) {
            return K_MAX + k;
        }
    }
    return -1;
}

static const char *name_of(unsigned kind)
{
    return kind < K_MAX ? kind_name[kind] : marker_name[kind - K_MAX];
}

/* One "BYTES | KIND WIDTH PORT_DX REP PORT | what" line; 0 if malformed. */
static int parse_case(char *line, uint8_t *bytes, size_t *len, Decoded *want,
                      char **what)
{
    char *hex = strtok(line, "|"), *expect = strtok(NULL, "|");
    char kind[32], *end;
    unsigned width, dx, rep;
    int k, port;

    *what = strtok(NULL, "\n");
    if (!hex || !expect || !*what ||
        sscanf(expect, "%31s %u %u %u %i", kind, &width, &dx, &rep,
               &port) != 5 || (k = kind_from_name(kind)) < 0) {
        return 0;
    }
    for (*len = 0; *len < 16; (*len)++) {
        unsigned long b = strtoul(hex, &end, 16);

        if (end == hex) {
            break;
        }
        bytes[*len] = b;
        hex = end;
    }
    memset(want, 0, sizeof(*want));     /* compared with memcmp() */
    want->kind = k;
    want->width = width;
    want->port_dx = dx;
    want->rep = rep;
    want->port = port;
    while (**what == ' ') {
        (*what)++;
    }
    return 1;
}

int main(int argc, char **argv)
{
    FILE *f = argc == 2 ? fopen(argv[1], "r") : NULL;
    unsigned n = 0, failed = 0;
    char line[256];

    if (!f) {
        fprintf(stderr, "usage: test-decode CASES-FILE (cannot open %s)\n",
                argc == 2 ? argv[1] : "it");
        return 2;
    }
    while (fgets(line, sizeof(line), f)) {
        uint8_t bytes[16];
        Decoded want, got;
        size_t len;
        char *what;

        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        n++;
        if (!parse_case(line, bytes, &len, &want, &what)) {
            printf("not ok %u - malformed line %s", n, line);
            failed++;
            continue;
        }
        decode_insn(bytes, len, &got);
        if (memcmp(&got, &want, sizeof(got))) {
            printf("not ok %u - %s: got %s %u %d %d 0x%x, expected %s %u %d "
                   "%d 0x%x\n", n, what, name_of(got.kind), got.width,
                   got.port_dx, got.rep, got.port, name_of(want.kind),
                   want.width, want.port_dx, want.rep, want.port);
            failed++;
        } else {
            printf("ok %u - %s\n", n, what);
        }
    }
    fclose(f);
    printf("1..%u\n", n);
    return failed != 0;
}
