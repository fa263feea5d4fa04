# SPDX-License-Identifier: GPL-2.0-or-later
"""The Linux RT guest (scripts/pipeline/build-rt-guest: Debian's PREEMPT_RT
kernel, busybox, cyclictest, rt-guest-check) under -rt with TCG.

usage: test_linux.py rt|pio-batch|pio-batch-version PLUGIN
       test_linux.py cache PLUGIN [GUEST-CHECK]

  rt        the guest boots under -rt (query-rt active, kvmclock off), its
            clocksource is the TSC and not kvm-clock, the items of
            rt-guest-check that -rt and the guest's /init are responsible
            for pass, and cyclictest runs its loops and reports; in the
            same run rt-audit reports the exit sources of the boot: port I/O
            (serial, RTC, PIT), MSRs, CPUID, HLT, MMIO of the local APIC,
            IOAPIC and HPET; no kvmclock, no pio-batch doorbell, no section
  pio-batch the pio-batch driver (tests/linux/driver) binds to QEMU0003 and
            reads the CMOS RTC in one exit instead of 22 (rt-audit counts
            each read); rtc-cmos and the driver agree, hwclock too; bad
            batches and a missing device give an error and a log line
  pio-batch-version
            a QEMU0003 whose ports answer the magic and another ABI version
            (an SSDT over QEMU's pc-testdev): the probe logs the version,
            insmod fails with ENODEV, the guest goes on
  cache     scripts/pipeline/build-rt-guest with GUEST-CHECK, in a copy of
            the cache: a cached package that does not match the index is
            downloaded again, unchanged inputs rebuild nothing, an
            unreachable registry gives status 3 and the reason

The guest comes from $QEMU_RT_LINUX_KERNEL and $QEMU_RT_LINUX_INITRD, which
scripts/test sets after building it, else from the links in the cache.
When scripts/test could not build it, $QEMU_RT_LINUX_SKIP says why and the
tests skip with that reason.  vCPU 0 runs on host CPU 1, everything else on
host CPU 0, as in tests/rt.
"""

import datetime
import errno
import hashlib
import json
import os
import re
import shutil
import struct
import sys
import tempfile

import qrt
import qemurt  # noqa: E402  (on sys.path through qrt)

VCPU_CPU = 1
EMU_CPU = 0
RT_ARGS = ['-rt', f'vcpu-cpus={VCPU_CPU},emulator-cpus={EMU_CPU}']
# The guest side of the RT recipe (docs/howto.md).
RECIPE = 'clocksource=tsc tsc=reliable'
# 3000 loops of 1 ms: a few seconds of cyclictest, one histogram bucket per
# microsecond as rt-tests prints it.
LOOPS = 3000
CYCLICTEST = f'-m -q -p 95 -i 1000 -l {LOOPS} -h 100'
# Items of rt-guest-check that -rt (clock) and the guest's /init (sysctls)
# are responsible for, with the message each gives when it passes.  The
# isolation items (isolcpus, nohz_full) are the guest's boot command line,
# and a 1-vCPU guest cannot isolate its only CPU.
RT_ITEMS = {
    'clocksource': 'clocksource is tsc',
    'kvmclock': 'kvm-clock is not available',
    'sched_rt_runtime': 'kernel.sched_rt_runtime_us = -1',
    'watchdog': 'kernel.watchdog = 0',
    'timer_migration': 'kernel.timer_migration = 0',
    'cpus': 'RT CPUs 0 are online',
}
BUILD_GUEST = os.path.join(qemurt.TOP, 'scripts', 'pipeline',
                           'build-rt-guest')
CACHE = qemurt.CACHE


def linux_guest():
    """(kernel, initramfs) of the Linux RT guest, or skip saying why not."""
    reason = os.environ.get('QEMU_RT_LINUX_SKIP')
    if reason:
        qrt.skip(reason)
    d = os.path.join(CACHE, 'rt-guest')
    kernel = os.environ.get('QEMU_RT_LINUX_KERNEL') or \
        os.path.join(d, 'vmlinuz')
    initrd = os.environ.get('QEMU_RT_LINUX_INITRD') or \
        os.path.join(d, 'initramfs.cpio.gz')
    for p in kernel, initrd:
        if not os.path.exists(p):
            qrt.skip(f'no Linux RT guest ({p} is missing); run scripts/test, '
                     'which builds it with scripts/pipeline/build-rt-guest')
    return kernel, initrd


def need_cpus():
    allowed = os.sched_getaffinity(0)
    if not {VCPU_CPU, EMU_CPU} <= allowed:
        qrt.skip(f'host CPUs {EMU_CPU} and {VCPU_CPU} are not both '
                 f'available (allowed: {sorted(allowed)})')


def linux_args(kernel, initrd, serial):
    append = (f'console=ttyS0 quiet {RECIPE} '
              f'cyclictest_args="{CYCLICTEST}" '
              f'rt_guest_check_args="--json --cpus 0"')
    return qrt.firmware_args() + [
        '-M', 'pc', '-accel', 'tcg', '-m', '512M', '-smp', '1',
        '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
        '-serial', f'file:{serial}', '-kernel', kernel, '-initrd', initrd,
        '-append', append] + RT_ARGS


def between(out, begin, end_prefix):
    """The lines between "RT-GUEST: BEGIN" and "RT-GUEST: END...", and the
    end line."""
    m = re.search(rf'^RT-GUEST: {begin}\r?\n(.*?)^(RT-GUEST: {end_prefix}.*?)'
                  r'\r?$', out, re.S | re.M)
    qrt.check(m is not None, f'the guest printed its {begin} ... '
              f'{end_prefix} block', '--- guest output ---\n' + out)
    return m.group(1), m.group(2)


def check_guest_output(out, kernel):
    kver = os.path.basename(os.path.realpath(kernel))
    kver = kver[len('vmlinuz-'):] if kver.startswith('vmlinuz-') else kver
    m = re.search(r'^RT-GUEST: kernel (\S+) cpus (\d+) realtime (\d+)', out,
                  re.M)
    qrt.check(m is not None, 'the guest ran its /init',
              '--- guest output ---\n' + out)
    qrt.check(m.group(1) == kver, f'the guest runs kernel {kver} '
              f'(uname -r: {m.group(1)})')
    qrt.check(m.group(3) == '1', 'the kernel is PREEMPT_RT '
              f'(/sys/kernel/realtime: {m.group(3)})')
    qrt.check(m.group(2) == '1', f'the guest has 1 CPU ({m.group(2)})')
    qrt.check('RT-GUEST: sched_rt_runtime_us=-1 watchdog=0 '
              'timer_migration=0' in out, '/init set the RT sysctls')

    body, end = between(out, 'cyclictest begin', 'cyclictest end')
    qrt.check(end.strip() == 'RT-GUEST: cyclictest end status=0',
              f'cyclictest exit status 0 ({end.strip()})', body)
    stats = {}
    for key in ('Total', 'Min Latencies', 'Avg Latencies', 'Max Latencies',
                'Histogram Overflows'):
        m = re.search(rf'^# {key}:\s+(\d+)', body, re.M)
        qrt.check(m is not None, f'cyclictest reports "{key}"', body)
        stats[key] = int(m.group(1))
    buckets = [int(n) for n in
               re.findall(r'^\d{6} (\d+)\s*$', body, re.M)]
    qrt.check(len(buckets) == 100, f'the histogram has 100 buckets '
              f'({len(buckets)})', body)
    qrt.check(sum(buckets) == stats['Total'],
              f'the buckets add up to Total ({stats["Total"]})', body)
    qrt.check(stats['Total'] + stats['Histogram Overflows'] == LOOPS,
              f'Total + Histogram Overflows == {LOOPS} loops', body)
    qrt.check(stats['Min Latencies'] <= stats['Avg Latencies']
              <= stats['Max Latencies'],
              f'min {stats["Min Latencies"]} <= avg {stats["Avg Latencies"]}'
              f' <= max {stats["Max Latencies"]} us')

    body, end = between(out, 'rt-guest-check begin', 'rt-guest-check end')
    try:
        items = {i['id']: i for i in json.loads(body)}
    except ValueError as e:
        qrt.fail(f'rt-guest-check --json printed no JSON ({e})', body)
    for item, message in RT_ITEMS.items():
        got = items.get(item, {})
        qrt.check(got.get('status') == 'pass' and
                  got.get('message') == message,
                  f'rt-guest-check {item}: pass, "{message}" '
                  f'({got.get("status")}, "{got.get("message")}")')
    # The rest is the guest's boot command line, which has no isolcpus= or
    # nohz_full=: one failure, so status 2.  The NMI watchdog is off
    # without a PMU.
    rest = {i: items[i]['status'] for i in items if i not in RT_ITEMS}
    want = {'isolcpus': 'fail', 'nohz_full': 'warn', 'nmi_watchdog': 'pass'}
    qrt.check(rest == want, f'rt-guest-check, the other items: {want} '
              f'({rest})', body)
    qrt.check(end.strip() == 'RT-GUEST: rt-guest-check end status=2',
              f'rt-guest-check exit status 2 ({end.strip()})')
    qrt.check('RT-GUEST: done' in out, 'the guest powered off after its '
              'checks')


def case_rt(plugin):
    kernel, initrd = linux_guest()
    need_cpus()
    if not os.path.exists(plugin):
        qrt.fail(f'plugin {plugin} is missing; run scripts/test')
    with tempfile.TemporaryDirectory(prefix='linux-test-') as tmp:
        serial = os.path.join(tmp, 'serial')
        report = os.path.join(tmp, 'report.json')
        log = os.path.join(tmp, 'plugin.log')
        q = qrt.QemuProcess(linux_args(kernel, initrd, serial) +
                            ['-plugin', f'{plugin},out={report}',
                             '-d', 'plugin', '-D', log, '-S'])
        try:
            rt = q.qmp.cmd('query-rt')
            qrt.check(rt['active'] and not rt['kvmclock'],
                      f'query-rt: active {rt["active"]}, kvmclock '
                      f'{rt["kvmclock"]}', q.stderr())
            vcpus = [t for t in rt['threads'] if 'cpu-index' in t]
            qrt.check(len(vcpus) == 1 and
                      vcpus[0]['affinity'] == [VCPU_CPU] and
                      vcpus[0]['policy'] == 'fifo',
                      f'query-rt: vCPU 0 at SCHED_FIFO on host CPU {VCPU_CPU}'
                      f' ({vcpus})', q.stderr())
            others = {c for t in rt['threads'] if 'cpu-index' not in t
                      for c in t['affinity']}
            qrt.check(others == {EMU_CPU}, f'query-rt: the other threads on '
                      f'host CPU {EMU_CPU} ({sorted(others)})', q.stderr())
            q.qmp.cmd('cont')
            q.proc.wait(300)
        except qrt.TestFailure as e:
            q.kill()
            qrt.fail(str(e), q.stderr())
        except Exception:
            q.kill()
            raise
        finally:
            if q.proc.poll() is None:
                q.kill()
                qrt.fail('the Linux guest did not power off within 300 s',
                         q.stderr() + '\n--- guest output ---\n' +
                         open(serial, errors='replace').read())
        q.qmp.close()
        out = open(serial, errors='replace').read()
        qrt.check(q.proc.returncode == 0,
                  f'QEMU exit status {q.proc.returncode} == 0 (poweroff)',
                  q.stderr() + '\n--- guest output ---\n' + out)
        check_guest_output(out, kernel)
        summary = open(log, errors='replace').read()
        print(summary)
        check_audit(json.load(open(report)), summary)


def check_audit(rep, summary):
    """rt-audit's report of the whole boot, firmware included."""
    t = rep['totals']
    qrt.check(rep['vcpus'] == 1, f'one vCPU ({rep["vcpus"]})')
    qrt.check(t['exits'] == t['kernel_exits'] + t['userspace_exits'] and
              t['exits'] > 0,
              f'exits {t["exits"]} = {t["kernel_exits"]} in the kernel + '
              f'{t["userspace_exits"]} to userspace')
    pv = rep['per_vcpu'][0]
    qrt.check((pv['kernel_exits'], pv['userspace_exits']) ==
              (t['kernel_exits'], t['userspace_exits']),
              'vCPU 0 has all the exits')
    ins = rep['instructions']
    for kind in ('in', 'out', 'cpuid', 'rdmsr', 'wrmsr', 'hlt',
                 'mmio_read', 'mmio_write'):
        qrt.check(ins[kind]['count'] > 0,
                  f'the boot executes {kind} ({ins[kind]["count"]})')
    qrt.check(ins['cpuid']['kernel_exits'] == ins['cpuid']['count'] and
              ins['cpuid']['userspace_exits'] == 0,
              'every CPUID exits to the kernel')
    qrt.check(sum(c['count'] for c in rep['cpuid']) == ins['cpuid']['count'],
              'the CPUID leaves add up to the CPUID count')
    ports = {p['port']: p for p in rep['ports']}
    for port, name, handled in ((0x3f8, 'serial (ttyS0)', 'userspace'),
                                (0x70, 'RTC index', 'userspace'),
                                (0x71, 'RTC data', 'userspace'),
                                (0x43, 'PIT command', 'kernel'),
                                (0x20, 'PIC', 'kernel')):
        p = ports.get(port)
        qrt.check(p is not None and p['exits'] > 0 and
                  p['handled'] == handled,
                  f'port {port:#x} ({name}) exits to the {handled}'
                  + (f' ({p["exits"]})' if p else ''))
    qrt.check(sum(p['in'] + p['out'] for p in rep['ports']) ==
              sum(ins[k]['count'] for k in ('in', 'out', 'ins', 'outs')),
              'the ports add up to the IN, OUT, INS and OUTS counts')
    msrs = {m['msr']: m for m in rep['msrs']}
    for msr, name in ((0x1b, 'IA32_APIC_BASE'), (0xc0000080, 'IA32_EFER'),
                      (0x277, 'IA32_PAT')):
        m = msrs.get(msr)
        qrt.check(m is not None and m['name'] == name and m['rdmsr'] > 0,
                  f'the kernel reads MSR {msr:#x} ({name})')
    devices = {m['device'] for m in rep['mmio']}
    qrt.check({'xAPIC', 'IOAPIC', 'HPET'} <= devices,
              f'MMIO to the xAPIC, IOAPIC and HPET ({sorted(devices)})')
    # Exact values: -rt hides kvmclock, there is no pio-batch device and
    # Linux marks no rt-audit section.
    qrt.check(rep['kvmclock'] == {'used': False, 'accesses': 0},
              f'no kvmclock MSR access ({rep["kvmclock"]})')
    qrt.check(rep['pio_batch']['doorbells'] == 0,
              'no pio-batch doorbell')
    qrt.check(rep['sections']['list'] == [] and
              rep['sections']['failed'] == 0, 'no section')
    for line in (f'rt-audit: 1 vCPU(s); estimated exits {t["exits"]}: '
                 f'{t["kernel_exits"]} handled in the kernel, '
                 f'{t["userspace_exits"]} to userspace QEMU',):
        qrt.check(line in summary, f'the summary says "{line}"')


# Exits of one RTC_RD_TIME to userspace QEMU, as rt-audit counts them in
# the section around it (tests/linux/rtc-read.c): through rtc-cmos
# (mc146818_get_time() with its update-in-progress checks) 11 register
# reads, each an index write to 0x70 and a data read from 0x71; through the
# pio-batch driver one doorbell for a table of 16 entries.
RTC_PLAIN_EXITS = 22
RTC_BATCH_EXITS = 1
RTC_BATCH_ENTRIES = 16
DRIVER_BANNER = ('pio-batch QEMU0003:00: pio-batch ABI 1 at ports '
                 '0x5c0-0x5c7: 256 entries, poll limit 64, CMOS RTC through '
                 'it')


def pio_batch_boot(kernel, initrd, tmp, plugin, device, extra=(), hmp=()):
    """Boot the guest with pio_batch_test; with @hmp, run these monitor
    commands before the guest starts."""
    serial = os.path.join(tmp, 'serial')
    report = os.path.join(tmp, 'report.json')
    args = linux_args(kernel, initrd, serial)
    i = args.index('-append') + 1
    args[i] = (f'console=ttyS0 quiet {RECIPE} cyclictest_args=skip '
               'pio_batch_test pio_batch_args=selftest=1 '
               'rt_guest_check_args="--json --cpus 0"')
    if device:
        args += ['-device', 'pio-batch']
    args += list(extra) + ['-plugin', f'{plugin},out={report}']
    if hmp:
        q = qrt.QemuProcess(args + ['-S'])
        try:
            for c in hmp:
                got = q.qmp.cmd('human-monitor-command', **{'command-line': c})
                qrt.check(got == '', f'monitor: {c}', got + q.stderr())
            q.qmp.cmd('cont')
            q.proc.wait(400)
            q.qmp.close()
            r = qrt.Result(q.cmd, q.proc.returncode, q.stdout(), q.stderr())
        except Exception:
            q.kill()
            raise
    else:
        r = qrt.run_qemu(args, timeout=400)
    out = open(serial, errors='replace').read()
    qrt.check(r.status == 0 and 'RT-GUEST: done' in out,
              f'QEMU exit status {r.status} == 0, the guest powered off',
              r.err + '\n--- guest output ---\n' + out)
    body, end = between(out, 'pio-batch begin', 'pio-batch end')
    print(body)
    return body, json.load(open(report))


def rtc_times(body):
    """{device: [datetime, ...]} from rtc-read, and the hwclock lines."""
    times = {}
    for dev, t in re.findall(r'^(/dev/rtc\d) (\d{4}-\d\d-\d\d '
                             r'\d\d:\d\d:\d\d)\r?$', body, re.M):
        times.setdefault(dev, []).append(
            datetime.datetime.strptime(t, '%Y-%m-%d %H:%M:%S'))
    hw = dict(re.findall(r'^RT-GUEST: hwclock (/dev/rtc\d) (.*?)\s*$', body,
                         re.M))
    return times, hw


def case_pio_batch(plugin):
    """The pio-batch Linux driver (tests/linux/driver) reads the CMOS RTC in
    one exit; both RTCs agree; without the device insmod fails cleanly."""
    kernel, initrd = linux_guest()
    need_cpus()
    with tempfile.TemporaryDirectory(prefix='linux-pio-batch-') as tmp:
        body, rep = pio_batch_boot(kernel, initrd, tmp, plugin, True)
    qrt.check('RT-GUEST: insmod status=0' in body, 'insmod pio-batch.ko')
    for line in ('pio-batch QEMU0003:00: batch of 0 entries refused: the '
                 'device takes 1 to 170',
                 'pio-batch QEMU0003:00: batch of 1 entries refused: error 8 '
                 '(entry targets pio-batch) at entry 0, 0 completed',
                 'pio-batch QEMU0003:00: selftest: empty batch -22, batch to '
                 'pio-batch itself -5',
                 'pio-batch QEMU0003:00: registered as rtc1',
                 DRIVER_BANNER):
        qrt.check(line in body, f'kernel log: "{line}"')
    times, hw = rtc_times(body)
    qrt.check(len(times.get('/dev/rtc0', [])) == 3 and
              len(times.get('/dev/rtc1', [])) == 3,
              'rtc-read read rtc0 (rtc-cmos) and rtc1 (pio-batch) 3 times')
    spread = max(times['/dev/rtc0'] + times['/dev/rtc1']) - \
        min(times['/dev/rtc0'] + times['/dev/rtc1'])
    qrt.check(spread.total_seconds() <= 1, 'rtc0 and rtc1 give the same '
              f'time, to the second they were read in ({spread})')
    qrt.check(set(hw) == {'/dev/rtc0', '/dev/rtc1'} and
              all('seconds' in v for v in hw.values()),
              f'hwclock reads both ({hw})')
    h = {}
    for d, v in hw.items():
        m = re.match(r'(\w+ \w+ +\d+ [\d:]+ \d{4}) ', v)
        h[d] = m and datetime.datetime.strptime(' '.join(m.group(1).split()),
                                                '%a %b %d %H:%M:%S %Y')
    qrt.check(None not in h.values() and
              abs((h['/dev/rtc0'] - h['/dev/rtc1']).total_seconds()) <= 1,
              'hwclock through rtc-cmos and through pio-batch agrees')

    sections = rep['sections']['list']
    got = [s['userspace_exits'] for s in sections]
    want = [RTC_PLAIN_EXITS] * 3 + [RTC_BATCH_EXITS] * 3
    qrt.check(got == want and all(s['closed'] for s in sections),
              f'rt-audit: exits to QEMU of each RTC read, rtc-cmos then '
              f'pio-batch: {want} ({got})')
    rtc_doorbells = [e for e in rep['pio_batch']['exits']
                     if e['entries'] == RTC_BATCH_ENTRIES]
    qrt.check(all(e['valid'] and e['version'] == 1 for e in rtc_doorbells)
              and len(rtc_doorbells) >= 4,
              f'rt-audit: every RTC read is one valid table of '
              f'{RTC_BATCH_ENTRIES} entries ({len(rtc_doorbells)} reads)')

    with tempfile.TemporaryDirectory(prefix='linux-pio-batch-') as tmp:
        body, rep = pio_batch_boot(kernel, initrd, tmp, plugin, False)
    for line in ('pio_batch: no pio-batch device: none in ACPI (QEMU0003), '
                 'none answering at port 0x5c0',
                 "insmod: can't insert '/lib/modules/pio-batch.ko': No such "
                 'device'):
        qrt.check(line in body, f'without the device: "{line}"')
    times, hw = rtc_times(body)
    qrt.check(len(times.get('/dev/rtc0', [])) == 3 and
              '/dev/rtc1' not in times, 'without the device: rtc0 only')
    qrt.check(rep['pio_batch']['doorbells'] == 0,
              'without the device: no doorbell')


# A device of another ABI version, met for real: an SSDT (-acpitable)
# describes a QEMU0003 at ports 0xe0-0xe7, which QEMU's pc-testdev
# serves: 0xe0 is its 32-bit data register, where the monitor writes the
# pio-batch magic before the guest starts, and 0xe4 its flush-page port,
# which reads 0.  The driver reads the magic, then version 0.
PIO_BATCH_HID = 'QEMU0003'
OTHER_BASE = 0xe0
OTHER_VERSION = 0
PIO_BATCH_MAGIC = 0x424f4950


def aml_pkg(body):
    """AML PkgLength (1 or 2 bytes, counting itself) and @body."""
    n = len(body) + 1
    if n < 0x40:
        return bytes([n]) + body
    n += 1
    assert n < 0x1000
    return bytes([0x40 | (n & 0xf), n >> 4]) + body


def ssdt_pio_batch(base):
    """The AML of
        DefinitionBlock ("", "SSDT", 1, "QEMURT", "PIOBTEST", 1) {
            Scope (\_SB) {
                Device (PIOB) {
                    Name (_HID, "QEMU0003")
                    Name (_CRS, ResourceTemplate () {
                        IO (Decode16, base, base, 1, 8)
                    })
                }
            }
        }"""
    io = bytes([0x47, 0x01, base & 0xff, base >> 8, base & 0xff, base >> 8,
                0x01, 0x08])
    crs = io + bytes([0x79, 0x00])                       # EndTag
    device = (b'PIOB' +
              b'\x08_HID\x0d' + PIO_BATCH_HID.encode() + b'\x00' +
              b'\x08_CRS\x11' + aml_pkg(bytes([0x0a, len(crs)]) + crs))
    body = b'\x10' + aml_pkg(b'\\_SB_' + b'\x5b\x82' + aml_pkg(device))
    header = struct.pack('<4sIBB6s8sI4sI', b'SSDT', 36 + len(body), 1, 0,
                         b'QEMURT', b'PIOBTEST', 1, b'QRT ', 1)
    table = bytearray(header + body)
    table[9] = -sum(table) & 0xff
    return bytes(table)


def case_pio_batch_version(plugin):
    """A QEMU0003 whose ports answer the magic and ABI version 0: the probe
    logs the version, insmod fails with ENODEV, the guest goes on."""
    kernel, initrd = linux_guest()
    need_cpus()
    with tempfile.TemporaryDirectory(prefix='linux-pio-batch-') as tmp:
        ssdt = os.path.join(tmp, 'ssdt.aml')
        with open(ssdt, 'wb') as f:
            f.write(ssdt_pio_batch(OTHER_BASE))
        body, rep = pio_batch_boot(
            kernel, initrd, tmp, plugin, False,
            ['-acpitable', f'file={ssdt}', '-device', 'pc-testdev'],
            [f'o /w {OTHER_BASE:#x} {PIO_BATCH_MAGIC:#x}'])
    # busybox's insmod loads the module twice: with finit_module(), then,
    # when that fails, with init_module().  Each load probes once.
    loads = 2
    version = (f'pio-batch {PIO_BATCH_HID}:00: pio-batch at port '
               f'{OTHER_BASE:#x} has ABI version {OTHER_VERSION}; this '
               'driver knows version 1')
    qrt.check(body.count(version) == loads,
              f'kernel log, once per load: "{version}" '
              f'({body.count(version)})')
    for line in (f'pio_batch: no pio-batch device: the ACPI {PIO_BATCH_HID} '
                 'device did not bind',
                 "insmod: can't insert '/lib/modules/pio-batch.ko': No such "
                 'device',
                 f'RT-GUEST: insmod status={errno.ENODEV}'):
        qrt.check(line in body, f'another ABI version: "{line}"')
    qrt.check('probing port' not in body, 'the device that ACPI describes '
              'is not looked for at the default iobase')
    times, hw = rtc_times(body)
    qrt.check(len(times.get('/dev/rtc0', [])) == 3 and
              '/dev/rtc1' not in times, 'the guest goes on: rtc-read reads '
              'rtc0 3 times, there is no rtc1')
    # Each load read the magic and the version, and wrote nothing.
    ports = {p['port']: (p['in'], p['out']) for p in rep['ports']}
    got = {f'{port:#x}': ports[port]
           for port in range(OTHER_BASE, OTHER_BASE + 8) if port in ports}
    want = {f'{OTHER_BASE:#x}': (loads, 0),
            f'{OTHER_BASE + 4:#x}': (loads, 0)}
    qrt.check(got == want, f'rt-audit: (IN, OUT) on ports {OTHER_BASE:#x}-'
              f'{OTHER_BASE + 7:#x}: {want} ({got})')
    qrt.check(rep['pio_batch']['doorbells'] == 0, 'no doorbell')


def build_guest(cache, guest_check=None, env=None):
    args = ['--with-guest-check', guest_check] if guest_check else \
        ['--without-guest-check']
    e = dict(os.environ, QEMU_RT_CACHE=cache, **(env or {}))
    r = qrt.run([BUILD_GUEST] + args, timeout=500, env=e)
    print(f'$ QEMU_RT_CACHE={cache} {BUILD_GUEST} {" ".join(args)}\n'
          f'{r.out}{r.err}')
    return r


def case_cache(plugin, guest_check):
    """A cached package whose SHA256 differs from the signed index is
    downloaded again, and the image of unchanged inputs is reused; with
    the registry unreachable and nothing cached, build-rt-guest says so
    with its own status, 3."""
    linux_guest()
    src = os.path.join(CACHE, 'rt-guest')
    with tempfile.TemporaryDirectory(prefix='linux-cache-') as tmp:
        r = build_guest(tmp, env={'QEMU_RT_DEBIAN_MIRROR':
                                  'http://127.0.0.1:9'})
        qrt.check(r.status == 3 and "Debian's package registry is "
                  'unreachable: apt-get update from http://127.0.0.1:9 '
                  'failed' in r.err,
                  f'unreachable registry, empty cache: status {r.status} '
                  '== 3 and the reason', r.err)

        # A copy of the cache that scripts/test filled, hard-linked: it
        # costs nothing and the files of the real cache are never written.
        tmp = os.path.join(tmp, 'copy')
        d = os.path.join(tmp, 'rt-guest')
        os.makedirs(d)
        shutil.copytree(os.path.join(src, 'apt'), os.path.join(d, 'apt'),
                        ignore=shutil.ignore_patterns('*.bin', 'partial'))
        for sub in 'debs', 'kernels', 'images':
            shutil.copytree(os.path.join(src, sub), os.path.join(d, sub),
                            copy_function=os.link,
                            ignore=shutil.ignore_patterns('*.tmp', 'dl.*'))
        debs = os.path.join(d, 'debs')
        small = [n for n in os.listdir(debs) if n.startswith('libnuma1_')]
        qrt.check(len(small) == 1, f'the cache holds libnuma1 ({small})')
        bad = os.path.join(debs, small[0])
        good = sha256(bad)
        os.unlink(bad)                  # the hard link, not the cache's file
        with open(bad, 'wb') as f:
            f.write(b'!<arch>\nnot the package\n')
        r = build_guest(tmp, guest_check)
        qrt.check(r.status == 0, f'build-rt-guest status {r.status} == 0',
                  r.err)
        qrt.check('downloading libnuma1 ' in r.err and
                  r.err.count('downloading ') == 1,
                  'the corrupted libnuma1 is downloaded again, and nothing '
                  'else', r.err)
        qrt.check(sha256(bad) == good, 'it has the SHA256 of the index')
        qrt.check('building' not in r.err and
                  os.path.realpath(r.out.split()[1]).startswith(
                      os.path.realpath(d)),
                  'the same inputs: the image scripts/test built is reused',
                  r.err)


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


CASES = {'rt': case_rt, 'cache': case_cache,
         'pio-batch': case_pio_batch,
         'pio-batch-version': case_pio_batch_version}

if __name__ == '__main__':
    if len(sys.argv) < 3 or sys.argv[1] not in CASES:
        qrt.fail(f'usage: {sys.argv[0]} {"|".join(CASES)} PLUGIN '
                 '[GUEST-CHECK]')
    CASES[sys.argv[1]](*sys.argv[2:])
