/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rt-audit's report: the per-vCPU counters summed once into Totals, which
 * both the readable summary (QEMU's log) and the JSON report (out=, built
 * with json-glib; schema in docs/rt-audit.md) are printed from.
 */
#include <json-glib/json-glib.h>
#include <stdarg.h>

#include "rt-audit.h"

typedef struct {
    unsigned port;
    uint64_t in, out, exits;
} PortTotal;

typedef struct {
    const ReportInput *in;
    uint64_t kind[K_MAX], kind_k[K_MAX], kind_u[K_MAX];
    uint64_t kexits, uexits, interrupts, exceptions, kvmclock;
    uint64_t cpuid[CPUID_SLOTS];
    uint64_t doorbells, batch_entries, batch_accesses, batch_bad;
    uint64_t batch_hist[HIST_BUCKETS];
    uint64_t msr_overflow, mmio_overflow;
    GArray *ports;          /* PortTotal of every port used, in order */
    GHashTable *msr_h;      /* key -> MsrSlot summed over the vCPUs */
    GHashTable *mmio_h;     /* key -> MmioSlot */
    GPtrArray *msrs;        /* MsrSlot, sorted by key */
    GPtrArray *mmio;        /* MmioSlot, sorted by key */
    unsigned nfail;
} Totals;

#define SUM(t, member) qemu_plugin_u64_sum(VCPU_U64((t)->in->score, member))

static VCPUState *vcpu(const Totals *t, int v)
{
    return qemu_plugin_scoreboard_find(t->in->score, v);
}

/* The accumulator for this key (the first member of MsrSlot/MmioSlot). */
static void *slot_for(GHashTable *h, uint64_t key, size_t size)
{
    uint64_t *acc = g_hash_table_lookup(h, &key);

    if (!acc) {
        acc = g_malloc0(size);
        *acc = key;
        g_hash_table_insert(h, acc, acc);
    }
    return acc;
}

static gint cmp_key(gconstpointer a, gconstpointer b)
{
    uint64_t ka = **(const uint64_t **)a, kb = **(const uint64_t **)b;

    return ka < kb ? -1 : ka > kb;
}

static GPtrArray *sorted_values(GHashTable *h)
{
    GPtrArray *arr = g_ptr_array_new();
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, h);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        g_ptr_array_add(arr, v);
    }
    g_ptr_array_sort(arr, cmp_key);
    return arr;
}

static void sum_slots(Totals *t, const VCPUState *s)
{
    unsigned i;

    for (i = 0; i < MSR_SLOTS; i++) {
        const MsrSlot *m = &s->msr[i];
        MsrSlot *acc;

        if (m->key) {
            acc = slot_for(t->msr_h, m->key, sizeof(*acc));
            acc->rd += m->rd;
            acc->wr += m->wr;
        }
    }
    for (i = 0; i < MMIO_SLOTS; i++) {
        const MmioSlot *m = &s->mmio[i];
        MmioSlot *acc;

        if (m->key) {
            acc = slot_for(t->mmio_h, m->key, sizeof(*acc));
            if (!acc->reads && !acc->writes) {
                acc->device = m->device;    /* the first vCPU's name */
            }
            acc->reads += m->reads;
            acc->writes += m->writes;
            acc->kexits += m->kexits;
            acc->uexits += m->uexits;
        }
    }
}

static bool section_failed(const Config *c, const Section *sec)
{
    return c->have_budget && sec->kexits + sec->uexits > c->budget;
}

static void totals_init(Totals *t, const ReportInput *in)
{
    unsigned i, p;
    int v;

    memset(t, 0, sizeof(*t));
    t->in = in;
    for (i = 0; i < K_MAX; i++) {
        t->kind[i] = SUM(t, kind[i]);
        t->kind_k[i] = SUM(t, kind_k[i]);
        t->kind_u[i] = SUM(t, kind_u[i]);
    }
    for (i = 0; i < CPUID_SLOTS; i++) {
        t->cpuid[i] = SUM(t, cpuid[i]);
    }
    for (i = 0; i < HIST_BUCKETS; i++) {
        t->batch_hist[i] = SUM(t, batch_hist[i]);
    }
    t->kexits = SUM(t, kexits);
    t->uexits = SUM(t, uexits);
    t->interrupts = SUM(t, interrupts);
    t->exceptions = SUM(t, exceptions);
    t->kvmclock = SUM(t, kvmclock);
    t->doorbells = SUM(t, doorbells);
    t->batch_entries = SUM(t, batch_entries);
    t->batch_accesses = SUM(t, batch_accesses);
    t->batch_bad = SUM(t, batch_bad);
    t->msr_overflow = SUM(t, msr_overflow);
    t->mmio_overflow = SUM(t, mmio_overflow);

    t->ports = g_array_new(false, false, sizeof(PortTotal));
    for (p = 0; p < 65536; p++) {
        PortTotal pt = {
            .port = p, .in = SUM(t, port_in[p]), .out = SUM(t, port_out[p]),
            .exits = SUM(t, port_exits[p]),
        };

        if (pt.in || pt.out) {
            g_array_append_val(t->ports, pt);
        }
    }
    t->msr_h = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                     g_free);
    t->mmio_h = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                      g_free);
    for (v = 0; v < in->nvcpus; v++) {
        sum_slots(t, vcpu(t, v));
    }
    t->msrs = sorted_values(t->msr_h);
    t->mmio = sorted_values(t->mmio_h);
    for (i = 0; i < in->sections->len; i++) {
        t->nfail += section_failed(in->cfg, &g_array_index(in->sections,
                                                           Section, i));
    }
}

static void totals_free(Totals *t)
{
    g_array_free(t->ports, true);
    g_ptr_array_free(t->msrs, true);
    g_ptr_array_free(t->mmio, true);
    g_hash_table_destroy(t->msr_h);
    g_hash_table_destroy(t->mmio_h);
}

/* The region's name: QEMU's memory region, else the well-known ones. */
static const char *mmio_name(const MmioSlot *m)
{
    switch (m->key - 1) {
    case 0xfee00:
        return "xAPIC";
    case 0xfec00:
        return "IOAPIC";
    case 0xfed00:
        return "HPET";
    }
    return m->device ? m->device : "mmio";
}

static uint32_t cpuid_leaf(unsigned slot)
{
    if (slot < 64) {
        return slot;
    }
    return slot < 128 ? 0x40000000u + slot - 64 : 0x80000000u + slot - 128;
}

static bool pause_exits(const Config *c)
{
    return c->pause_exits || c->model == M_ALL;
}

/* ---- the readable summary ------------------------------------------ */

static void text_head(GString *r, const Totals *t)
{
    const Config *c = t->in->cfg;
    unsigned i;

    g_string_append_printf(r, "rt-audit: exit model %s: %s, APICv %s, "
                           "kernel-irqchip=%s, PAUSE %s, cpu-pm=%s\n",
                           model_name[c->model],
                           c->model == M_ALL ? "no EPT/NPT, every audited "
                           "event exits" : c->model == M_KVM_AMD ? "NPT" :
                           "EPT", c->apicv ? "on" : "off",
                           irqchip_name[c->irqchip],
                           pause_exits(c) ? "exits" : "not an exit (PLE)",
                           c->cpu_pm ? "on" : "off");
    g_string_append_printf(r, "rt-audit: %d vCPU(s); estimated exits %"
                           PRIu64 ": %" PRIu64 " handled in the kernel, %"
                           PRIu64 " to userspace QEMU; interrupts %" PRIu64
                           ", exceptions %" PRIu64 "\n", t->in->nvcpus,
                           t->kexits + t->uexits, t->kexits, t->uexits,
                           t->interrupts, t->exceptions);
    g_string_append(r, "  instruction        count     kernel  userspace\n");
    for (i = 0; i < K_MAX; i++) {
        if (t->kind[i]) {
            g_string_append_printf(r, "  %-15s %9" PRIu64 " %10" PRIu64
                                   " %10" PRIu64 "\n", kind_name[i],
                                   t->kind[i], t->kind_k[i], t->kind_u[i]);
        }
    }
}

static void text_tables(GString *r, const Totals *t)
{
    const Config *c = t->in->cfg;
    unsigned i;

    g_string_append(r, "  port          in        out      exits  handled\n");
    for (i = 0; i < t->ports->len; i++) {
        PortTotal *p = &g_array_index(t->ports, PortTotal, i);

        g_string_append_printf(r, "  0x%04x %9" PRIu64 " %10" PRIu64
                               " %10" PRIu64 "  %s\n", p->port, p->in,
                               p->out, p->exits,
                               handler_name(c->port_handler[p->port]));
    }
    for (i = 0; i < t->msrs->len; i++) {
        MsrSlot *m = g_ptr_array_index(t->msrs, i);
        uint32_t msr = m->key - 1;
        const char *name = msr_name(msr);

        g_string_append_printf(r, "  msr 0x%08x%s%s: rdmsr %" PRIu64
                               " (%s), wrmsr %" PRIu64 " (%s)\n", msr,
                               name ? " " : "", name ? name : "", m->rd,
                               handler_name(msr_handler(c, msr, false)),
                               m->wr,
                               handler_name(msr_handler(c, msr, true)));
    }
    for (i = 0; i < CPUID_SLOTS; i++) {
        if (t->cpuid[i] && i == CPUID_SLOTS - 1) {
            g_string_append_printf(r, "  cpuid other leaves: %" PRIu64 "\n",
                                   t->cpuid[i]);
        } else if (t->cpuid[i]) {
            g_string_append_printf(r, "  cpuid leaf 0x%x: %" PRIu64 "\n",
                                   cpuid_leaf(i), t->cpuid[i]);
        }
    }
    for (i = 0; i < t->mmio->len; i++) {
        MmioSlot *m = g_ptr_array_index(t->mmio, i);

        g_string_append_printf(r, "  mmio page 0x%" PRIx64 " %s: reads %"
                               PRIu64 ", writes %" PRIu64 ", kernel exits %"
                               PRIu64 ", userspace exits %" PRIu64 "\n",
                               (m->key - 1) << 12, mmio_name(m),
                               m->reads, m->writes, m->kexits, m->uexits);
    }
}

static void report_text(const Totals *t)
{
    g_autoptr(GString) r = g_string_new(NULL);
    GArray *secs = t->in->sections;
    unsigned i;

    text_head(r, t);
    text_tables(r, t);
    if (t->doorbells) {
        g_string_append_printf(r, "  pio-batch doorbell 0x%" PRIx64
                               ": %" PRIu64 " exits served %" PRIu64
                               " accesses (%" PRIu64 " entries, %" PRIu64
                               " unreadable tables)\n",
                               t->in->cfg->batch_port, t->doorbells,
                               t->batch_accesses, t->batch_entries,
                               t->batch_bad);
    }
    if (t->kvmclock) {
        g_string_append_printf(r, "rt-audit: WARNING kvmclock MSRs used %"
                               PRIu64 " times\n", t->kvmclock);
    }
    for (i = 0; i < secs->len; i++) {
        Section *sec = &g_array_index(secs, Section, i);

        g_string_append_printf(r, "  section %u (vCPU %u, 0x%" PRIx64
                               "%s): %" PRIu64 " exits (%" PRIu64
                               " kernel, %" PRIu64 " userspace)\n", sec->id,
                               sec->vcpu, sec->begin_pc,
                               sec->closed ? "" : ", not closed",
                               sec->kexits + sec->uexits, sec->kexits,
                               sec->uexits);
    }
    qemu_plugin_outs(r->str);
}

/* ---- the JSON report ----------------------------------------------- */

/*
 * Add a value given in GVariant text format with positional arguments
 * (g_variant_new_parsed()); a dictionary becomes a JSON object with its
 * keys in order, a Nothing becomes null.  A NULL @key adds to an array.
 */
static void j_add(JsonBuilder *b, const char *key, const char *fmt, ...)
{
    g_autoptr(GVariant) v = NULL;
    va_list ap;

    va_start(ap, fmt);
    v = g_variant_ref_sink(g_variant_new_parsed_va(fmt, &ap));
    va_end(ap);
    if (key) {
        json_builder_set_member_name(b, key);
    }
    json_builder_add_value(b, json_gvariant_serialize(v));
}

static void j_array(JsonBuilder *b, const char *key)
{
    json_builder_set_member_name(b, key);
    json_builder_begin_array(b);
}

/* A number, or null when @present is false. */
static GVariant *maybe_u64(bool present, uint64_t v)
{
    return g_variant_new_maybe(G_VARIANT_TYPE_UINT64,
                               present ? g_variant_new_uint64(v) : NULL);
}

static void json_head(JsonBuilder *b, const Totals *t)
{
    const Config *c = t->in->cfg;
    int v;

    j_add(b, "schema", "%s", "qemu-rt/rt-audit");
    j_add(b, "version", "%i", REPORT_VERSION);
    j_add(b, "model", "{'name': <%s>, 'kernel_irqchip': <%s>, "
          "'apicv': <%b>, 'pause_exits': <%b>, 'cpu_pm': <%b>}",
          model_name[c->model], irqchip_name[c->irqchip], c->apicv != 0,
          pause_exits(c), c->cpu_pm);
    j_add(b, "vcpus", "%i", t->in->nvcpus);
    j_add(b, "totals", "{'exits': <%t>, 'kernel_exits': <%t>, "
          "'userspace_exits': <%t>, 'interrupts': <%t>, 'exceptions': <%t>}",
          t->kexits + t->uexits, t->kexits, t->uexits, t->interrupts,
          t->exceptions);
    j_array(b, "per_vcpu");
    for (v = 0; v < t->in->nvcpus; v++) {
        VCPUState *s = vcpu(t, v);

        j_add(b, NULL, "{'vcpu': <%i>, 'kernel_exits': <%t>, "
              "'userspace_exits': <%t>, 'interrupts': <%t>, "
              "'exceptions': <%t>}", v, s->kexits, s->uexits, s->interrupts,
              s->exceptions);
    }
    json_builder_end_array(b);
}

static void json_counts(JsonBuilder *b, const Totals *t)
{
    const Config *c = t->in->cfg;
    unsigned i;

    json_builder_set_member_name(b, "instructions");
    json_builder_begin_object(b);
    for (i = 0; i < K_MAX; i++) {
        j_add(b, kind_name[i], "{'count': <%t>, 'kernel_exits': <%t>, "
              "'userspace_exits': <%t>}", t->kind[i], t->kind_k[i],
              t->kind_u[i]);
    }
    json_builder_end_object(b);
    j_array(b, "ports");
    for (i = 0; i < t->ports->len; i++) {
        PortTotal *p = &g_array_index(t->ports, PortTotal, i);

        j_add(b, NULL, "{'port': <%u>, 'in': <%t>, 'out': <%t>, "
              "'exits': <%t>, 'handled': <%s>}", p->port, p->in, p->out,
              p->exits, handler_name(c->port_handler[p->port]));
    }
    json_builder_end_array(b);
    j_array(b, "msrs");
    for (i = 0; i < t->msrs->len; i++) {
        MsrSlot *m = g_ptr_array_index(t->msrs, i);
        uint32_t msr = m->key - 1;

        j_add(b, NULL, "{'msr': <%u>, 'name': <%ms>, 'rdmsr': <%t>, "
              "'wrmsr': <%t>, 'rdmsr_handled': <%s>, 'wrmsr_handled': <%s>, "
              "'kvmclock': <%b>}", msr, msr_name(msr), m->rd, m->wr,
              handler_name(msr_handler(c, msr, false)),
              handler_name(msr_handler(c, msr, true)),
              msr_is_kvmclock(msr));
    }
    json_builder_end_array(b);
    j_add(b, "msrs_untracked", "%t", t->msr_overflow);
    j_array(b, "cpuid");
    for (i = 0; i < CPUID_SLOTS; i++) {
        if (t->cpuid[i]) {
            j_add(b, NULL, "{'leaf': %v, 'count': <%t>}",
                  maybe_u64(i != CPUID_SLOTS - 1, cpuid_leaf(i)),
                  t->cpuid[i]);
        }
    }
    json_builder_end_array(b);
}

static void json_mmio(JsonBuilder *b, const Totals *t)
{
    unsigned i;

    j_array(b, "mmio");
    for (i = 0; i < t->mmio->len; i++) {
        MmioSlot *m = g_ptr_array_index(t->mmio, i);

        j_add(b, NULL, "{'page': <%t>, 'device': <%s>, 'reads': <%t>, "
              "'writes': <%t>, 'kernel_exits': <%t>, "
              "'userspace_exits': <%t>}", (m->key - 1) << 12, mmio_name(m),
              m->reads, m->writes, m->kexits, m->uexits);
    }
    json_builder_end_array(b);
    j_add(b, "mmio_pages_untracked", "%t", t->mmio_overflow);
    j_add(b, "kvmclock", "{'used': <%b>, 'accesses': <%t>}",
          t->kvmclock != 0, t->kvmclock);
}

static void json_batch(JsonBuilder *b, const Totals *t)
{
    const Config *c = t->in->cfg;
    GArray *dbs = t->in->doorbells;
    unsigned i;

    json_builder_set_member_name(b, "pio_batch");
    json_builder_begin_object(b);
    j_add(b, "port", "%t", c->batch_port);
    j_add(b, "enabled", "%b", c->batch_enabled);
    j_add(b, "doorbells", "%t", t->doorbells);
    j_add(b, "entries", "%t", t->batch_entries);
    j_add(b, "accesses", "%t", t->batch_accesses);
    j_add(b, "unreadable", "%t", t->batch_bad);
    j_array(b, "histogram");
    for (i = 0; i < HIST_BUCKETS; i++) {
        if (t->batch_hist[i]) {
            j_add(b, NULL, "{'min': <%t>, 'max': %v, 'count': <%t>}",
                  i ? (uint64_t)1 << (i - 1) : 0,
                  maybe_u64(i != HIST_BUCKETS - 1,
                            i ? ((uint64_t)1 << i) - 1 : 0),
                  t->batch_hist[i]);
        }
    }
    json_builder_end_array(b);
    j_array(b, "exits");
    for (i = 0; i < dbs->len; i++) {
        Doorbell *d = &g_array_index(dbs, Doorbell, i);

        j_add(b, NULL, "{'vcpu': <%u>, 'table': <%t>, 'valid': <%b>, "
              "'version': <%q>, 'entries': <%t>, 'accesses': <%t>}",
              d->vcpu, d->table, d->valid, d->version, d->entries,
              d->accesses);
    }
    json_builder_end_array(b);
    j_add(b, "exits_dropped", "%t", t->in->doorbells_dropped);
    json_builder_end_object(b);
}

/* "sections": {"budget", "failed", "list": [...]} */
static void json_sections(JsonBuilder *b, const Totals *t,
                          const Config *c)
{
    unsigned i;

    json_builder_set_member_name(b, "sections");
    json_builder_begin_object(b);
    j_add(b, "budget", "%v", maybe_u64(c->have_budget, c->budget));
    j_add(b, "failed", "%u", t->nfail);
    j_array(b, "list");
    for (i = 0; i < t->in->sections->len; i++) {
        Section *sec = &g_array_index(t->in->sections, Section, i);

        j_add(b, NULL, "{'id': <%u>, 'vcpu': <%u>, 'begin_pc': <%t>, "
              "'end_pc': <%t>, 'closed': <%b>, 'exits': <%t>, "
              "'kernel_exits': <%t>, 'userspace_exits': <%t>, "
              "'over_budget': <%b>}", sec->id, sec->vcpu, sec->begin_pc,
              sec->end_pc, sec->closed, sec->kexits + sec->uexits,
              sec->kexits, sec->uexits, section_failed(c, sec));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

static bool report_json(const Totals *t)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(GError) err = NULL;
    const char *path = t->in->cfg->out_path;

    json_builder_begin_object(b);
    json_head(b, t);
    json_counts(b, t);
    json_mmio(b, t);
    json_batch(b, t);
    json_sections(b, t, t->in->cfg);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, true);
    if (!json_generator_to_file(gen, path, &err)) {
        g_autofree char *msg = g_strdup_printf("rt-audit: cannot write %s: "
                                               "%s\n", path, err->message);
        qemu_plugin_outs(msg);
        return false;
    }
    return true;
}

bool report(const ReportInput *in, unsigned *nfail)
{
    GArray *secs = in->sections;
    Totals t;
    bool ok = true;
    unsigned i;

    totals_init(&t, in);
    report_text(&t);
    /* on stderr, not the plugin log, so that CI sees it without -d plugin */
    for (i = 0; i < secs->len; i++) {
        Section *sec = &g_array_index(secs, Section, i);

        if (section_failed(in->cfg, sec)) {
            fprintf(stderr, "rt-audit: FAIL section %u: %" PRIu64
                    " exits > budget %" PRIu64 "\n", sec->id,
                    sec->kexits + sec->uexits, in->cfg->budget);
        }
    }
    if (in->cfg->out_path) {
        ok = report_json(&t);
    }
    *nfail = t.nfail;
    totals_free(&t);
    return ok;
}
