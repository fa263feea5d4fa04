# SPDX-License-Identifier: GPL-2.0-or-later
"""The rt-audit plugin counts exactly what the rt-audit test guests do, on
the accelerator named by argv[1] (tcg: the native TCG build, tci: the TCI
build, which proves that plugins run under TCI); argv[2] is the plugin.

  mix       ports, CPUID leaves, MSRs, REP string I/O, MMIO, the pio-batch
            doorbell and a critical section, against exact numbers; the
            same run under model=all,kernel-irqchip=off moves the exits;
            with one instruction per block it counts the same
  kvmclock  the kvmclock MSR is flagged, the exception counted
  budget    a section over budget fails (FAIL line, exit status 2), one
            within budget does not
  args      bad plugin arguments: a clear message and a non-zero status
"""

import json
import os
import subprocess
import sys
import tempfile

import qrt

BUDGET_FAIL_STATUS = 2
MSR_TSC_AUX = 0xc0000103
MSR_KVM_SYSTEM_TIME_NEW = 0x4b564d01


# The mix guest rings the pio-batch doorbell and checks the batch ran.
PIO_BATCH = ['-device', 'pio-batch']
PIO_BATCH_APPEND = 'pio-batch=1'


def require_pio_batch(accel):
    p = subprocess.run([qrt.qemu_binary(accel), '-device', 'help'],
                       capture_output=True, text=True, timeout=60)
    qrt.check('"pio-batch"' in p.stdout + p.stderr,
              f'the {accel} binary has -device pio-batch (patches/pio-batch)',
              p.stderr)


class Audit:
    def __init__(self, accel, plugin, tmp):
        self.accel, self.plugin, self.tmp = accel, plugin, tmp
        self.runs = 0

    def run(self, guest, args='', extra=(), append=None, one_insn=False):
        """Run guest with the plugin; return (Result, report or None).
        one_insn: translate one instruction per block."""
        self.runs += 1
        out = os.path.join(self.tmp, f'report{self.runs}.json')
        spec = f'{self.plugin},out={out}' + (',' + args if args else '')
        qemu_args = qrt.base_args(self.accel)
        if one_insn:
            qemu_args[qemu_args.index('tcg')] = 'tcg,one-insn-per-tb=on'
        r = qrt.run_qemu(qemu_args + qrt.guest_args(guest, append) +
                         ['-plugin', spec, '-d', 'plugin'] + list(extra),
                         accel=self.accel, timeout=240)
        report = None
        if os.path.exists(out):
            with open(out) as f:
                report = json.load(f)
        return r, report


def eq(got, want, what, r):
    qrt.check(got == want, f'{what}: expected {want!r}, got {got!r}',
              r.err + '\n--- guest output ---\n' + r.out)


def port(report, p):
    for e in report['ports']:
        if e['port'] == p:
            return e
    return {'port': p, 'in': 0, 'out': 0, 'exits': 0, 'handled': None}


def msr(report, index):
    for e in report['msrs']:
        if e['msr'] == index:
            return e
    return {'msr': index, 'rdmsr': 0, 'wrmsr': 0, 'kvmclock': False}


def cpuid(report, leaf):
    return sum(e['count'] for e in report['cpuid'] if e['leaf'] == leaf)


def mmio(report, page):
    for e in report['mmio']:
        if e['page'] == page:
            return e
    return None


def test_mix(a):
    require_pio_batch(a.accel)
    r, j = a.run('rt-audit-mix', extra=PIO_BATCH, append=PIO_BATCH_APPEND)
    qrt.expect_guest_pass(r, 'rt-audit-mix')
    qrt.check(j is not None, 'mix: JSON report written', r.err)
    eq((j['schema'], j['version']), ('qemu-rt/rt-audit', 1), 'schema', r)
    eq(j['model']['name'], 'kvm-intel', 'default exit model', r)
    qrt.check('rt-audit: exit model kvm-intel' in r.err,
              'readable summary names the exit model', r.err)
    eq(port(j, 0x80), {'port': 0x80, 'in': 0, 'out': 100, 'exits': 100,
                       'handled': 'userspace'}, 'outb to port 0x80', r)
    eq(cpuid(j, 0), 3, 'CPUID leaf 0', r)
    eq(cpuid(j, 1), 1, 'CPUID leaf 1 (in the section)', r)
    m = msr(j, MSR_TSC_AUX)
    eq((m['wrmsr'], m['rdmsr'], m.get('name')), (2, 1, 'IA32_TSC_AUX'),
       'WRMSR/RDMSR IA32_TSC_AUX', r)
    eq(port(j, 0x700)['out'], 37, 'rep outsb iterations to 0x700', r)
    eq(port(j, 0x700)['exits'], 37, 'rep outsb exits (one per byte)', r)
    eq(port(j, 0x703)['out'], 70000,
       'rep outsb of 70000 bytes (several TCG passes)', r)
    eq(port(j, 0x702)['in'], 16, 'rep insb iterations from 0x702', r)
    eq(port(j, 0x702)['exits'], 1, 'rep insb exits (1 KiB read-ahead)', r)
    eq((port(j, 0x701)['in'], port(j, 0x701)['out']), (1, 2),
       'DX-form in/out (with 0x66 prefix) to 0x701', r)
    eq(port(j, 0x5c0)['out'], 1, 'one doorbell OUT', r)
    b = j['pio_batch']
    eq((b['doorbells'], b['entries'], b['accesses'], b['unreadable']),
       (1, 64, 64, 0), 'pio-batch: doorbells, entries, accesses, bad', r)
    eq([(e['valid'], e['entries'], e['accesses']) for e in b['exits']],
       [(True, 64, 64)], 'pio-batch: one exit serving 64 accesses', r)
    eq(b['histogram'], [{'min': 64, 'max': 127, 'count': 1}],
       'pio-batch histogram', r)
    secs = j['sections']['list']
    eq([(s['exits'], s['kernel_exits'], s['userspace_exits'], s['closed'])
        for s in secs], [(5, 2, 3, True)], 'one section with 5 exits', r)
    eq((j['sections']['budget'], j['sections']['failed']), (None, 0),
       'no budget, no failure', r)
    p = j['instructions']['pause']
    eq((p['count'], p['kernel_exits'], p['userspace_exits']), (2, 0, 0),
       'PAUSE counted, not an exit', r)
    apic, hpet = mmio(j, 0xfee00000), mmio(j, 0xfed00000)
    qrt.check(apic is not None and hpet is not None,
              'xAPIC and HPET pages seen as MMIO', r.err)
    eq((apic['device'], apic['reads'], apic['writes'], apic['kernel_exits'],
        apic['userspace_exits']), ('xAPIC', 1, 1, 0, 0),
       'xAPIC read and TPR write (virtualized by APICv)', r)
    eq((hpet['reads'], hpet['userspace_exits']), (1, 1),
       'HPET read exits to userspace', r)
    eq((j['totals']['exceptions'], j['totals']['interrupts']), (0, 0),
       'no exceptions, no interrupts', r)
    eq(j['kvmclock']['used'], False, 'kvmclock not used', r)
    t = j['totals']
    eq(t['exits'], t['kernel_exits'] + t['userspace_exits'],
       'exits = kernel + userspace', r)

    r2, j2 = a.run('rt-audit-mix', 'model=all,kernel-irqchip=off',
                   extra=PIO_BATCH, append=PIO_BATCH_APPEND)
    qrt.expect_guest_pass(r2, 'rt-audit-mix, model=all')
    eq((j2['model']['name'], j2['model']['kernel_irqchip']), ('all', 'off'),
       'model=all,kernel-irqchip=off in the report', r2)
    p = j2['instructions']['pause']
    eq((p['count'], p['kernel_exits']), (2, 2), 'model=all: PAUSE exits',
       r2)
    apic = mmio(j2, 0xfee00000)
    eq((apic['kernel_exits'], apic['userspace_exits']), (0, 2),
       'model=all, no in-kernel LAPIC: xAPIC accesses reach userspace', r2)
    eq(port(j2, 0x80)['out'], 100, 'model=all: same 100 outb', r2)
    return j


def test_one_insn_per_tb(a, j):
    """The plugin checks for MMIO on the last instruction of each block
    only, where QEMU makes every MMIO access: with one instruction per
    block, every instruction is the last, and the counts must not move."""
    r, j1 = a.run('rt-audit-mix', extra=PIO_BATCH, append=PIO_BATCH_APPEND,
                  one_insn=True)
    qrt.expect_guest_pass(r, 'rt-audit-mix, one-insn-per-tb=on')
    for key in ('mmio', 'ports', 'msrs', 'cpuid', 'pio_batch'):
        eq(j1[key], j[key], f'one-insn-per-tb=on: same "{key}"', r)
    eq(without_hlt(j1), without_hlt(j),
       'one-insn-per-tb=on: same instruction counts (HLT aside)', r)


def test_kvmclock(a):
    r, j = a.run('rt-audit-kvmclock')
    qrt.expect_guest_pass(r, 'rt-audit-kvmclock')
    vector = 13 if 'vector 13' in r.out else 0
    print(f'the WRMSR took vector {vector} (TCG ignores unknown MSRs)')
    eq(j['kvmclock'], {'used': True, 'accesses': 1}, 'kvmclock flagged', r)
    m = msr(j, MSR_KVM_SYSTEM_TIME_NEW)
    eq((m['wrmsr'], m['kvmclock']), (1, True),
       'WRMSR 0x4b564d01 counted and flagged', r)
    eq(j['totals']['exceptions'], 1 if vector == 13 else 0,
       'exceptions counted', r)
    qrt.check('WARNING kvmclock' in r.err, 'summary warns about kvmclock',
              r.err)


def test_budget(a):
    r, j = a.run('rt-audit-budget', 'budget=12')
    qrt.expect_guest_pass(r, 'budget=12 (within budget)')
    eq([s['exits'] for s in j['sections']['list']], [3, 12],
       'section exits', r)
    eq(j['sections']['failed'], 0, 'budget=12: no section failed', r)
    qrt.check('FAIL' not in r.err, 'budget=12: no FAIL line', r.err)

    r, j = a.run('rt-audit-budget', 'budget=11')
    second = j['sections']['list'][1]['id']
    eq(r.status, BUDGET_FAIL_STATUS, 'budget=11: QEMU exit status', r)
    eq([s['over_budget'] for s in j['sections']['list']], [False, True],
       'budget=11: the second section is over budget', r)
    eq(j['sections']['failed'], 1, 'budget=11: one failure in JSON', r)
    line = f'rt-audit: FAIL section {second}: 12 exits > budget 11'
    qrt.check(line in r.err.splitlines(), f'FAIL line "{line}"', r.err)

    r, j = a.run('rt-audit-budget', 'budget=11,fail-status=0')
    qrt.expect_guest_pass(r, 'budget=11,fail-status=0 keeps the status')
    qrt.check(line in r.err.splitlines(), 'fail-status=0: FAIL line still '
              'printed', r.err)


def test_bad_args(a):
    cases = [
        ('bogus=1', "rt-audit: unknown argument 'bogus'"),
        ('budget', 'rt-audit: budget=on is not a number'),
        ('budget=abc', 'rt-audit: budget=abc is not a number'),
        ('budget=-1', 'rt-audit: budget=-1 is not a number'),
        ('batch-port=0x10000', 'rt-audit: batch-port=0x10000 is not a '
         'number from 0 to 65535'),
        ('fail-status=256', 'rt-audit: fail-status=256 is not a number'),
        ('model=kvm-arm', 'rt-audit: model=kvm-arm: expected kvm-intel, '
         'kvm-amd or all'),
        ('kernel-irqchip=maybe', 'rt-audit: kernel-irqchip=maybe: expected '
         'on, split or off'),
        ('mmio=perhaps', 'rt-audit: mmio=perhaps: expected on or off'),
        ('out=', 'rt-audit: out= needs a file name'),
    ]
    for arg, msg in cases:
        args = qrt.base_args(a.accel) + qrt.guest_args('hello') + \
            ['-plugin', f'{a.plugin},{arg}']
        r = qrt.run_qemu(args, accel=a.accel, timeout=60)
        # QEMU's own error status is 1, like a passing guest's: the guest
        # must not have run, and QEMU must say why it stopped
        qrt.check(r.status != 0 and 'Could not load plugin' in r.err,
                  f'{arg}: QEMU refuses the plugin, status {r.status}', r.err)
        qrt.check('hello guest' not in r.out, f'{arg}: the guest never ran',
                  r.err)
        qrt.check(msg in r.err, f'{arg}: message "{msg}"', r.err)

    r, _ = a.run('hello', 'out=/nonexistent-dir/report.json')
    eq(r.status, BUDGET_FAIL_STATUS, 'unwritable out=: QEMU exit status', r)
    qrt.check('rt-audit: cannot write /nonexistent-dir/report.json' in r.err,
              'unwritable out=: message', r.err)


def compare_with_tcg(a, tci_report):
    """TCI must count exactly what native TCG counts."""
    tcg = Audit('tcg', a.plugin, a.tmp)
    tcg.runs = 1000
    r, j = tcg.run('rt-audit-mix', extra=PIO_BATCH, append=PIO_BATCH_APPEND)
    qrt.expect_guest_pass(r, 'rt-audit-mix under native TCG')
    for key in ('ports', 'msrs', 'cpuid', 'mmio', 'pio_batch', 'kvmclock'):
        eq(tci_report[key], j[key], f'TCI and TCG agree on "{key}"', r)
    eq([(s['exits'], s['kernel_exits']) for s in tci_report['sections']
         ['list']], [(s['exits'], s['kernel_exits'])
                     for s in j['sections']['list']],
       'TCI and TCG agree on the sections', r)
    # isa-debug-exit only requests the shutdown: whether the vCPU reaches
    # the HLT after it first is a race, so HLT is left out
    eq(without_hlt(tci_report), without_hlt(j),
       'TCI and TCG agree on every instruction count (HLT aside)', r)


def without_hlt(report):
    insns = dict(report['instructions'])
    hlt = insns.pop('hlt')
    return insns, report['totals']['exits'] - hlt['kernel_exits'] - \
        hlt['userspace_exits']


def main():
    accel, plugin = sys.argv[1], sys.argv[2]
    if not os.path.exists(plugin):
        qrt.fail(f'plugin {plugin} is missing; run scripts/test')
    qrt.check_patched(accel)
    with tempfile.TemporaryDirectory(prefix='rt-audit-') as tmp:
        a = Audit(accel, plugin, tmp)
        report = test_mix(a)
        test_one_insn_per_tb(a, report)
        test_kvmclock(a)
        test_budget(a)
        test_bad_args(a)
        if accel == 'tci':
            compare_with_tcg(a, report)


if __name__ == '__main__':
    main()
