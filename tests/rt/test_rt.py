# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of the -rt option, checked from outside QEMU.

usage: test_rt.py placement-tcg | placement-kvm | emulator-fifo |
                  rt-vcpus | rt-on | housekeeping | thread-context | daemonize | census | hotplug | refusals | balloon | locked-tcg | discard | kvmclock | invtsc | pmu |
                  kvm-hint | preflight | preflight-kvm | kvm-threads | kvm-threads-pidns | kvm-threads-nonroot | mem-lock | mem-merge | numa-bind | vcpu-timers | vcpu-timers-vmstate | vcpu-timers-own | device-timer | timer-advance-kvm | timer-storm | nonroot |
                  hugepages | hugepages-1g

Every check reads the kernel's view of QEMU's threads through
scripts/qemurt.py's thread snapshot: the policy and rt_priority from
sched_getscheduler(tid) and sched_getparam(tid), the affinity from
sched_getaffinity(tid); VmLck from /proc/<pid>/status, guest RAM's huge
pages from /proc/<pid>/smaps and the host's pool; and compares
query-rt with it.  vCPUs run on host CPU 1, everything else on
host CPU 0.
"""

import sys

from census import test_census
from daemonize import test_daemonize
from hotplug import test_hotplug
from hugepages import test_hugepages, test_hugepages_1g
from kvm_threads import test_kvm_threads, test_kvm_threads_nonroot, test_kvm_threads_pidns
from kvm import test_invtsc, test_kvm_hint, test_kvmclock, test_pmu, test_preflight_kvm
from memory import test_balloon, test_discard, test_locked_tcg, test_mem_lock, test_mem_merge, test_numa_bind
from nonroot import test_nonroot
from preflight import test_preflight
from threads import test_housekeeping, test_placement, test_refusals, test_rt_on, test_rt_vcpus, test_thread_context
from timers import test_device_timer, test_timer_advance_kvm, test_timer_storm, test_vcpu_timers, test_vcpu_timers_own, test_vcpu_timers_vmstate


def main():
    tests = {
        'placement-tcg': lambda: test_placement('tcg'),
        'placement-kvm': lambda: test_placement('kvm'),
        'emulator-fifo': lambda: test_placement('tcg', emulator_fifo=True),
        'rt-vcpus': test_rt_vcpus,
        'rt-on': test_rt_on,
        'housekeeping': test_housekeeping,
        'thread-context': test_thread_context,
        'daemonize': test_daemonize,
        'census': test_census,
        'hotplug': test_hotplug,
        'refusals': test_refusals,
        'balloon': test_balloon,
        'locked-tcg': test_locked_tcg,
        'discard': test_discard,
        'kvmclock': test_kvmclock,
        'invtsc': test_invtsc,
        'pmu': test_pmu,
        'kvm-hint': test_kvm_hint,
        'mem-lock': test_mem_lock,
        'mem-merge': test_mem_merge,
        'numa-bind': test_numa_bind,
        'preflight': test_preflight,
        'preflight-kvm': test_preflight_kvm,
        'kvm-threads': test_kvm_threads,
        'kvm-threads-pidns': test_kvm_threads_pidns,
        'kvm-threads-nonroot': test_kvm_threads_nonroot,
        'vcpu-timers': test_vcpu_timers,
        'vcpu-timers-vmstate': test_vcpu_timers_vmstate,
        'vcpu-timers-own': test_vcpu_timers_own,
        'device-timer': test_device_timer,
        'timer-advance-kvm': test_timer_advance_kvm,
        'timer-storm': test_timer_storm,
        'nonroot': test_nonroot,
        'hugepages': test_hugepages,
        'hugepages-1g': test_hugepages_1g,
    }
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print(f'usage: {sys.argv[0]} {"|".join(tests)}')
        sys.exit(2)
    tests[sys.argv[1]]()


if __name__ == '__main__':
    main()
