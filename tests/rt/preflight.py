# SPDX-License-Identifier: GPL-2.0-or-later
"""-rt's warnings about host settings that spoil latency: each is one
line saying what is wrong, then a hint line saying how to mend it, and
query-rt reports it.  QEMU is shown each bad setting on its own, among
good ones, through files mounted over the host's in a private mount
namespace; the KVM module parameters are in kvm.py."""

import os
import shutil

import qrt
from rtlib import RT_ARGS, VCPU_CPU, need_cpus, query_rt_once, warned

RUNTIME = '/proc/sys/kernel/sched_rt_runtime_us'
THP = '/sys/kernel/mm/transparent_hugepage/enabled'
SWAPS = '/proc/swaps'
SWAPS_HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority'
GOOD_FILES = {RUNTIME: '-1', THP: 'always madvise [never]',
              SWAPS: SWAPS_HEADER}
GOOD_CPUS = {'isolated': str(VCPU_CPU), 'nohz_full': str(VCPU_CPU)}
# (what, host_files, cpu_files, warning, message, hint)
BAD = (
    ('isolcpus= without the vCPU CPU', {}, {'isolated': '0'},
     'cpu-not-isolated',
     f'real-time vCPU host CPUs {VCPU_CPU} are not all isolated',
     "Add them to isolcpus= on the host kernel's command line, or to an "
     'isolated cpuset partition.'),
    ('no nohz_full=', {}, {'nohz_full': ''}, 'cpu-not-nohz-full',
     f'real-time vCPU host CPUs {VCPU_CPU} are not all in nohz_full=',
     "Add them to nohz_full= and rcu_nocbs= on the host kernel's command "
     'line.'),
    ('real-time throttling', {RUNTIME: '950000'}, {}, 'rt-throttling',
     'real-time throttling is active (kernel.sched_rt_runtime_us=950000, '
     'not -1)', 'Turn it off with sysctl kernel.sched_rt_runtime_us=-1.'),
    ('THP always', {THP: '[always] madvise never'}, {}, 'thp-always',
     "transparent hugepages are 'always'; khugepaged compaction causes "
     'latency spikes', "Set them to 'madvise' with echo madvise > "
     '/sys/kernel/mm/transparent_hugepage/enabled.'),
    ('swap on', {SWAPS: SWAPS_HEADER + '\n/dev/vdb  partition\t1048572\t0'
                 '\t-2'}, {}, 'swap-on', 'swap is active on the host',
     'Turn it off with swapoff -a.'),
)
OURS = {b[3] for b in BAD}


def test_preflight():
    need_cpus()
    if os.geteuid() != 0 or not shutil.which('unshare'):
        qrt.skip('needs root and unshare to show QEMU other host settings')
    missing = [p for p in GOOD_FILES if not os.path.exists(p)]
    if missing:
        qrt.skip(f'{missing} do not exist on this host')
    info, err, status = query_rt_once(RT_ARGS, dict(GOOD_CPUS),
                                      host_files=GOOD_FILES)
    qrt.check(status == 0 and info is not None and
              not OURS & set(info['warnings']), f'a tuned host: exit '
              f'status {status} == 0, no host warnings in '
              f'{info and info["warnings"]}', err)
    qrt.check('Turn it off' not in err and 'Add them' not in err,
              'a tuned host: no hints on stderr', err)
    for what, files, cpus, warning, msg, hint in BAD:
        info, err, status = query_rt_once(
            RT_ARGS, dict(GOOD_CPUS, **cpus),
            host_files=dict(GOOD_FILES, **files))
        got = info and sorted(OURS & set(info['warnings']))
        qrt.check(status == 0 and got == [warning], f'{what}: exit status '
                  f'{status} == 0, host warnings {got} == [{warning!r}]',
                  err)
        qrt.check(warned(err, msg, hint), f'{what}: stderr warns "{msg}", '
                  f'then hints "{hint}"', err)
