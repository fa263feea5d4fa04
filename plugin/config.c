/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit's arguments (key=value, docs/rt-audit.md) into its Config.  A
 * bad one prints one line naming it, and QEMU refuses the plugin.
 */
#include "pio-batch.h"
#include "rt-audit.h"

static bool parse_u64(const char *key, const char *val, uint64_t max,
                      uint64_t *ret)
{
    char *end;
    uint64_t v;

    if (!*val || *val == '-') {
        goto bad;
    }
    v = g_ascii_strtoull(val, &end, 0);
    if (*end || v > max) {
        goto bad;
    }
    *ret = v;
    return true;
bad:
    fprintf(stderr, "rt-audit: %s=%s is not a number from 0 to %" PRIu64
            "\n", key, val, max);
    return false;
}

static bool parse_bool(const char *key, const char *val, bool *ret)
{
    if (!qemu_plugin_bool_parse(key, val, ret)) {
        fprintf(stderr, "rt-audit: %s=%s: expected on or off\n", key, val);
        return false;
    }
    return true;
}

/* VAL is one of NAMES; *RET becomes its index, the enum's value. */
static bool parse_choice(const char *key, const char *val,
                         const char *const *names, size_t n, uint64_t *ret)
{
    g_autoptr(GString) expected = g_string_new(names[0]);
    size_t i;

    for (i = 0; i < n; i++) {
        if (!strcmp(val, names[i])) {
            *ret = i;
            return true;
        }
    }
    for (i = 1; i < n; i++) {
        g_string_append_printf(expected, "%s%s", i == n - 1 ? " or " : ", ",
                               names[i]);
    }
    fprintf(stderr, "rt-audit: %s=%s: expected %s\n", key, val,
            expected->str);
    return false;
}

bool config_parse_arg(Config *c, const char *opt)
{
    g_auto(GStrv) tok = g_strsplit(opt, "=", 2);
    const char *key = tok[0], *val = tok[1];
    uint64_t n;
    bool b;

    if (!val) {
        fprintf(stderr, "rt-audit: argument '%s' is not key=value\n", opt);
        return false;
    }
    if (!strcmp(key, "out")) {
        if (!*val) {
            fprintf(stderr, "rt-audit: out= needs a file name\n");
            return false;
        }
        g_free(c->out_path);
        c->out_path = g_strdup(val);
    } else if (!strcmp(key, "budget")) {
        if (!parse_u64(key, val, UINT64_MAX - 1, &c->budget)) {
            return false;
        }
        c->have_budget = true;
    } else if (!strcmp(key, "fail-status")) {
        if (!parse_u64(key, val, 255, &n)) {
            return false;
        }
        c->fail_status = n;
    } else if (!strcmp(key, "model")) {
        if (!parse_choice(key, val, model_name, M_COUNT, &n)) {
            return false;
        }
        c->model = n;
    } else if (!strcmp(key, "kernel-irqchip")) {
        if (!parse_choice(key, val, irqchip_name, IRQCHIP_COUNT, &n)) {
            return false;
        }
        c->irqchip = n;
    } else if (!strcmp(key, "apicv")) {
        if (!parse_bool(key, val, &b)) {
            return false;
        }
        c->apicv = b;
    } else if (!strcmp(key, "cpu-pm")) {
        return parse_bool(key, val, &c->cpu_pm);
    } else if (!strcmp(key, "pause-exits")) {
        return parse_bool(key, val, &c->pause_exits);
    } else if (!strcmp(key, "mmio")) {
        return parse_bool(key, val, &c->audit_mmio);
    } else if (!strcmp(key, "batch")) {
        return parse_bool(key, val, &c->batch_enabled);
    } else if (!strcmp(key, "batch-port")) {
        if (!parse_u64(key, val, 0xffff, &c->batch_port)) {
            return false;
        }
    } else {
        fprintf(stderr, "rt-audit: unknown argument '%s' (known: out, "
                "budget, fail-status, model, kernel-irqchip, apicv, cpu-pm, "
                "pause-exits, mmio, batch, batch-port)\n", key);
        return false;
    }
    return true;
}

/* The defaults that depend on other arguments, and the port table. */
void config_finish(Config *c)
{
    if (c->apicv < 0) {
        c->apicv = c->model == M_KVM_INTEL;   /* KVM's defaults: AVIC off */
    }
    init_port_model(c);
}

void config_init(Config *c)
{
    memset(c, 0, sizeof(*c));
    c->model = M_KVM_INTEL;
    c->irqchip = IRQCHIP_ON;
    c->apicv = -1;
    c->audit_mmio = true;
    c->batch_enabled = true;
    c->batch_port = PIO_BATCH_DEFAULT_IOBASE + PIO_BATCH_REG_SUBMIT;
    c->fail_status = 2;
}
