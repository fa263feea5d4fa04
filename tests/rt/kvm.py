# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of what -rt sets in the KVM guest: kvmclock, invariant TSC, PMU,
the dedicated-vCPU hint, and the KVM module preflight warnings."""

import os
import shutil

import qrt
from rtlib import (
    EMU_CPU, RT_ARGS, VCPU_CPU, expect_refusal, need_cpus, query_rt_once,
    wait_for)


def kvmclock_vm(args):
    """(qom-get kvmclock of vCPU 0, query-rt kvmclock, info qtree, the
    bytes of a migration stream) of a paused KVM guest."""
    qemu = qrt.QemuProcess(qrt.base_args('kvm') + ['-S'] + args,
                           accel='kvm')
    stream = os.path.join(qemu.tmp.name, 'stream')
    try:
        path = qemu.qmp.cmd('query-cpus-fast')[0]['qom-path']
        prop = qemu.qmp.cmd('qom-get', path=path, property='kvmclock')
        info = qemu.qmp.cmd('query-rt')
        qtree = qemu.qmp.cmd('human-monitor-command',
                             **{'command-line': 'info qtree'})
        qemu.qmp.cmd('migrate', uri=f'exec:cat > {stream}')
        wait_for(lambda: qemu.qmp.cmd('query-migrate').get('status') in
                 ('completed', 'failed'), 'the migration to finish', qemu)
        status = qemu.qmp.cmd('query-migrate')['status']
        with open(stream, 'rb') as f:
            data = f.read()
    finally:
        qemu.quit()
    qrt.check(status == 'completed',
              f'{" ".join(args) or "no -rt"}: migration {status}',
              qemu.stderr())
    return prop, info['kvmclock'], qtree, data, qemu.stderr()


def test_kvmclock():
    """-rt defaults the CPU property kvmclock to off; -cpu ...,kvmclock=on
    wins; the kvmclock device stays and is migrated."""
    need_cpus()
    rt = ['-rt', RT_ARGS[1] + ',unstable-tsc=allow']
    # TCG has no KVM leaves: kvmclock is off with or without -rt.
    for args in (['-cpu', 'max'] + rt, ['-cpu', 'max']):
        got, info, err = cpu_props('tcg', args, ['kvmclock'])
        qrt.check(got['kvmclock'] is False and info['kvmclock'] is False,
                  f'tcg {" ".join(args)}: qom-get kvmclock '
                  f'{got["kvmclock"]}, query-rt {info["kvmclock"]}, '
                  'expected False', err)
    qrt.require_kvm()
    # invtsc=off: -rt's default invtsc would block the migration (see
    # test_invtsc); kvmclock=on needs no invariant TSC.
    off = ['-cpu', 'qemu64,invtsc=off']
    on = ['-cpu', 'qemu64,kvmclock=on,invtsc=off']
    for args, want, what in (([], 1, 'without -rt'),
                             (off + rt, 0, 'with -rt'),
                             (on + RT_ARGS, 1, 'with -rt and kvmclock=on')):
        prop, info, qtree, data, err = kvmclock_vm(args)
        qrt.check(prop == bool(want) and info == bool(want),
                  f'kvm {what}: qom-get kvmclock {prop}, query-rt '
                  f'kvmclock {info}, expected {bool(want)}', err)
        qrt.check('dev: kvmclock' in qtree, f'kvm {what}: info qtree '
                  'lists the kvmclock device', qtree)
        qrt.check(b'kvmclock' in data, f'kvm {what}: the migration stream '
                  'has the kvmclock section', err)
        # The guest's view: CPUID 0x40000001 EAX bits 0 and 3.
        r = qrt.run_guest('rt-guest', accel='kvm', extra=args,
                          append=f'mode=1 expect={want}', timeout=300)
        # Status 1 is also QEMU's error exit: the guest must have run.
        qrt.check(f'clocksource={want} clocksource2={want}' in r.out,
                  f'guest reads kvmclock bits {what}: '
                  f'{r.out.strip()!r}', r.err)
        qrt.expect_guest_pass(r, f'kvmclock bits {what}')
    # Hyper-V's reference counter and TSC page need the kvmclock device.
    hv = ['-cpu', 'qemu64,hv-relaxed,hv-time']
    r = qrt.run_guest('rt-guest', accel='kvm', extra=hv, append='mode=2',
                      timeout=300)
    if r.status != 1 or 'rt-guest: started' not in r.out:
        last = r.err.strip().splitlines()[-1:] or [f'status {r.status}']
        print('SKIP (part): hv-time does not run under this KVM even '
              f'without -rt: {last[0]}')
        return
    r = qrt.run_guest('rt-guest', accel='kvm', extra=hv + rt,
                      append='mode=2', timeout=300)
    qrt.check(r.status == 1 and 'rt-guest: started' in r.out,
              'hv-time with -rt: the guest runs', r.err)


def cpu_props(accel, args, props):
    """The CPU properties props of vCPU 0, read with qom-get."""
    qemu = qrt.QemuProcess(qrt.base_args(accel) + ['-S'] + args,
                           accel=accel)
    try:
        path = qemu.qmp.cmd('query-cpus-fast')[0]['qom-path']
        got = {p: qemu.qmp.cmd('qom-get', path=path, property=p)
               for p in props}
        info = qemu.qmp.cmd('query-rt')
    finally:
        qemu.quit()
    return got, info, qemu.stderr()


def guest_cpu_fields(args, what):
    """The CPUID fields rt-guest mode=3 prints, read under KVM."""
    r = qrt.run_guest('rt-guest', accel='kvm', extra=args, append='mode=3',
                      timeout=300)
    qrt.expect_guest_pass(r, what)
    for line in r.out.splitlines():
        if line.startswith('rt-guest: pmu-version='):
            return {k: int(v) for k, v in
                    (kv.split('=') for kv in line.split()[1:])}
    qrt.fail(f'{what}: no CPUID report from the guest', r.out)


def guest_cpu_view(args, what):
    """(pmu-version, hint-realtime) as rt-guest reads them under KVM."""
    f = guest_cpu_fields(args, what)
    return f['pmu-version'], f['hint-realtime']


INVTSC_OFF_MSG = ('qemu-system-x86_64: -rt: the guest CPU has no invariant '
                  'TSC (invtsc=off), which a guest without kvmclock needs as '
                  'its clock; remove invtsc=off, keep kvmclock with '
                  'kvmclock=on, or accept an unstable clock with -rt '
                  '...,unstable-tsc=allow')


def migrate_status(args):
    """(qom-get invtsc and tsc-frequency of vCPU 0, the result of a
    migration to a file: 'completed' or the error) of a paused guest."""
    qemu = qrt.QemuProcess(qrt.base_args('kvm') + ['-S'] + args,
                           accel='kvm')
    stream = os.path.join(qemu.tmp.name, 'stream')
    try:
        path = qemu.qmp.cmd('query-cpus-fast')[0]['qom-path']
        props = {p: qemu.qmp.cmd('qom-get', path=path, property=p)
                 for p in ('invtsc', 'tsc-frequency')}
        resp = qemu.qmp.raw('migrate', uri=f'exec:cat > {stream}')
        if 'error' in resp:
            return props, resp['error']['desc'], qemu.stderr()
        wait_for(lambda: qemu.qmp.cmd('query-migrate').get('status') in
                 ('completed', 'failed'), 'the migration to finish', qemu)
        return props, qemu.qmp.cmd('query-migrate')['status'], qemu.stderr()
    finally:
        qemu.quit()


def test_invtsc():
    """Under KVM, -rt defaults invtsc to on, so the documented -cpu host
    starts; invtsc blocks migration unless tsc-frequency= is given; a
    guest CPU without invariant TSC is refused unless kvmclock=on or
    unstable-tsc=allow."""
    need_cpus()
    got, info, err = cpu_props('tcg', ['-cpu', 'max'] + RT_ARGS, ['invtsc'])
    qrt.check(got['invtsc'] is False, 'tcg -cpu max -rt: invtsc stays '
              f'TCG\'s default (off), got {got["invtsc"]}', err)
    qrt.require_kvm()
    host = ['-cpu', 'host']
    props, status, err = migrate_status(host)
    qrt.check(props['invtsc'] is False, '-cpu host without -rt: invtsc '
              f'{props["invtsc"]}, expected False (it is not migratable)',
              err)
    props, status, err = migrate_status(host + RT_ARGS)
    qrt.check(props['invtsc'] is True, f'-cpu host -rt: invtsc '
              f'{props["invtsc"]}, expected True', err)
    blocker = 'State blocked by non-migratable CPU device (invtsc flag)'
    qrt.check(status == blocker, f'-cpu host -rt: migration refused with '
              f'"{blocker}": {status!r}', err)
    freq = props['tsc-frequency']
    qrt.check(freq > 0, f'KVM reports the TSC frequency ({freq} Hz)', err)
    props, status, err = migrate_status(
        ['-cpu', f'host,tsc-frequency={freq}'] + RT_ARGS)
    qrt.check(props['invtsc'] is True and status == 'completed',
              f'-cpu host,tsc-frequency={freq} -rt: invtsc '
              f'{props["invtsc"]}, migration {status!r} (expected '
              'completed)', err)
    # The documented example runs, and the guest sees the invariant TSC.
    f = guest_cpu_fields(host + RT_ARGS, '-cpu host -rt')
    qrt.check(f['invtsc'] == 1, f'-cpu host -rt: the guest sees invtsc '
              f'({f})')
    f = guest_cpu_fields(host, '-cpu host without -rt')
    qrt.check(f['invtsc'] == 0, f'-cpu host without -rt: the guest sees no '
              f'invtsc ({f})')
    expect_refusal(RT_ARGS + ['-cpu', 'host,invtsc=off'], INVTSC_OFF_MSG,
                   'invtsc=off', accel='kvm')
    for cpu, rt in (('host,invtsc=off,kvmclock=on', RT_ARGS),
                    ('host,invtsc=off',
                     ['-rt', RT_ARGS[1] + ',unstable-tsc=allow'])):
        f = guest_cpu_fields(['-cpu', cpu] + rt, f'-cpu {cpu} {rt[1]}')
        qrt.check(f['invtsc'] == 0, f'-cpu {cpu} -rt {rt[1]}: starts, the '
                  f'guest sees no invtsc ({f})')


def test_pmu():
    """-rt defaults the CPU property pmu to off; -cpu ...,pmu=on wins,
    and query-rt reports the value."""
    need_cpus()
    rt = ['-rt', RT_ARGS[1] + ',unstable-tsc=allow']
    for accel in ('tcg', 'kvm'):
        if accel == 'kvm' and qrt.kvm_unusable_reason():
            print('SKIP (part): KVM test skipped: ' +
                  qrt.kvm_unusable_reason())
            return
        for args, want, what in (
                (['-cpu', 'max'] + rt, False, '-cpu max -rt'),
                (['-cpu', 'max,pmu=on'] + rt, True, '-cpu max,pmu=on -rt'),
                (['-cpu', 'max'], accel == 'kvm', '-cpu max without -rt')):
            got, info, err = cpu_props(accel, args, ['pmu'])
            qrt.check(got['pmu'] == want and info.get('pmu') == want,
                      f'{accel} {what}: qom-get pmu {got["pmu"]}, query-rt '
                      f'pmu {info.get("pmu")}, expected {want}', err)

    # Under KVM, what the guest sees: CPUID leaf 0xa.
    host, _ = guest_cpu_view(['-cpu', 'host'], 'pmu without -rt')
    off, _ = guest_cpu_view(['-cpu', 'host'] + rt, 'pmu with -rt')
    qrt.check(off == 0, f'-cpu host -rt: guest sees PMU version {off}, '
              'expected 0 (no PMU)')
    if host == 0:
        print('SKIP (part): KVM exposes no PMU on this host (CPUID 0xa '
              'version 0 even without -rt), so pmu=on cannot be seen '
              'from the guest')
        return
    on, _ = guest_cpu_view(['-cpu', 'host,pmu=on'] + rt, 'pmu=on with -rt')
    qrt.check(on == host, f'-cpu host,pmu=on -rt: guest sees PMU version '
              f'{on}, as without -rt ({host})')


def test_kvm_hint():
    """Under KVM, -rt sets kvm-hint-dedicated (KVM_HINTS_REALTIME) when
    every vCPU has a host CPU of its own; -cpu ...,kvm-hint-dedicated=off
    wins.  Under TCG, which has no KVM leaves, -rt leaves it alone."""
    need_cpus()
    prop = 'kvm-hint-dedicated'
    rt = ['-rt', RT_ARGS[1] + ',unstable-tsc=allow']
    got, info, err = cpu_props('tcg', ['-cpu', 'max'] + rt, [prop])
    qrt.check(got[prop] is False and info.get(prop) is False,
              f'tcg -rt: qom-get {prop} {got[prop]}, query-rt '
              f'{info.get(prop)}, expected False', err)
    qrt.require_kvm()
    # vCPU 1 is not real-time and shares CPU 0 with the emulator threads.
    shared = ['-smp', '2', '-rt', f'vcpu-cpus={VCPU_CPU},'
              f'vcpu-cpus={EMU_CPU},emulator-cpus={EMU_CPU},rt-vcpus=0,'
              'unstable-tsc=allow']
    cases = (
        (['-cpu', 'host'] + rt, 1, '-rt, one vCPU per CPU'),
        (['-cpu', f'host,{prop}=off'] + rt, 0, f'-rt, {prop}=off'),
        (['-cpu', 'host'], 0, 'without -rt'),
        (['-cpu', 'host'] + shared, 0, '-rt, vCPU 1 on the emulator CPU'),
        (['-cpu', 'host', '-smp', '2', '-rt', 'on,rt-vcpus=1,'
          'unstable-tsc=allow'], 0, '-rt on, housekeeping vCPU 0'),
        # Slot 1 cannot be hot-plugged (real-time, no CPU): vCPU 0 counts.
        (['-cpu', 'host', '-smp', '1,maxcpus=2'] + rt, 1,
         '-rt, maxcpus=2 without a CPU for vCPU 1'),
        # Slot 1 would be hot-plugged onto the emulator CPUs.
        (['-cpu', 'host', '-smp', '1,maxcpus=2', '-rt', RT_ARGS[1] +
          ',rt-vcpus=0,unstable-tsc=allow'], 0,
         '-rt, maxcpus=2, vCPU 1 would share the emulator CPU'),
    )
    for args, want, what in cases:
        got, info, err = cpu_props('kvm', args, [prop])
        qrt.check(got[prop] == bool(want) and info.get(prop) == bool(want),
                  f'kvm {what}: qom-get {prop} {got[prop]}, query-rt '
                  f'{info.get(prop)}, expected {bool(want)}', err)
        _, hint = guest_cpu_view(args, f'{prop} {what}')
        qrt.check(hint == want, f'kvm {what}: the guest reads '
                  f'KVM_HINTS_REALTIME={hint} in CPUID 0x40000001 EDX, '
                  f'expected {want}')


KVM_PARAMS = '/sys/module/kvm/parameters'
# (parameter, bad value, warning, the fix its message must name)
KVM_PREFLIGHT = (
    ('nx_huge_pages', 'Y', 'kvm-nx-huge-pages',
     'Boot with kvm.nx_huge_pages=off if /sys/devices/system/cpu/'
     "vulnerabilities/itlb_multihit says 'Not affected' or the guest is "
     'trusted.'),
    ('halt_poll_ns', '0', 'kvm-halt-poll-off',
     'Set it with echo 200000 > /sys/module/kvm/parameters/halt_poll_ns, '
     'or let the guest idle without exits with -overcommit cpu-pm=on.'),
    ('kvmclock_periodic_sync', 'Y', 'kvmclock-periodic-sync',
     'Boot with kvm.kvmclock_periodic_sync=N.'),
)
KVM_PREFLIGHT_GOOD = {'nx_huge_pages': 'N', 'halt_poll_ns': '200000',
                      'kvmclock_periodic_sync': 'N'}


def preflight(accel, args, params=None):
    """(query-rt warnings, stderr) of QEMU started with args; with
    params, QEMU sees these values in /sys/module/kvm/parameters
    (rtlib.query_rt_once()'s host_files)."""
    files = {os.path.join(KVM_PARAMS, name): value
             for name, value in (params or {}).items()}
    info, err, status = query_rt_once(args, host_files=files, accel=accel)
    if info is None:
        qrt.fail(f'no query-rt answer (status {status})', err)
    return info['warnings'], err


def test_preflight_kvm():
    """query-rt warns about KVM module parameters that spoil latency,
    and the warning on stderr names the fix; only under KVM."""
    need_cpus()
    if os.geteuid() != 0 or not shutil.which('unshare'):
        qrt.skip('needs root and unshare to show QEMU other KVM module '
                 'parameters')
    if not os.path.isdir(KVM_PARAMS):
        qrt.skip(f'{KVM_PARAMS} does not exist: the kvm module is not '
                 'loaded')
    rt = ['-rt', RT_ARGS[1] + ',unstable-tsc=allow']
    ours = {w for _, _, w, _ in KVM_PREFLIGHT}
    bad = {p: v for p, v, _, _ in KVM_PREFLIGHT}
    warns, err = preflight('tcg', rt, bad)
    qrt.check(not ours & set(warns), f'tcg: no KVM warnings ({warns})', err)
    qrt.require_kvm()
    warns, err = preflight('kvm', rt, KVM_PREFLIGHT_GOOD)
    qrt.check(not ours & set(warns), f'kvm, tuned parameters: no KVM '
              f'warnings ({warns})', err)
    for param, value, warning, fix in KVM_PREFLIGHT:
        params = dict(KVM_PREFLIGHT_GOOD, **{param: value})
        warns, err = preflight('kvm', rt, params)
        qrt.check(ours & set(warns) == {warning}, f'kvm, {param}={value}: '
                  f'query-rt warnings {warns} include {warning} only', err)
        qrt.check(fix in err.splitlines(), f'kvm, {param}={value}: the '
                  f'warning\'s hint line is "{fix}"', err)
    warns, err = preflight('kvm', rt + ['-overcommit', 'cpu-pm=on'],
                           dict(KVM_PREFLIGHT_GOOD, halt_poll_ns='0'))
    qrt.check('kvm-halt-poll-off' not in warns, 'kvm, halt_poll_ns=0 with '
              f'-overcommit cpu-pm=on: no kvm-halt-poll-off ({warns})', err)
    # The real host, as it is.
    want = set()
    for param, value, warning, _ in KVM_PREFLIGHT:
        with open(os.path.join(KVM_PARAMS, param)) as f:
            if f.read().strip() == value:
                want.add(warning)
    warns, err = preflight('kvm', rt)
    qrt.check(ours & set(warns) == want, f'kvm, this host: KVM warnings '
              f'{sorted(ours & set(warns))} == {sorted(want)}', err)
