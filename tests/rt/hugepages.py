# SPDX-License-Identifier: GPL-2.0-or-later
"""Tests of -rt hugepages=: guest RAM on 2 MiB and 1 GiB hugetlb pages,
locked, reported by query-rt; the warning without it; the refusals."""

import contextlib
import os

import qrt
from rtlib import (
    GUEST_RAM, RT_ARGS, errors, need_cpus, start_idle, warned)


HP_SIZE = 2 << 20
HP_DIR = '/sys/kernel/mm/hugepages/hugepages-2048kB'
GP_DIR = '/sys/kernel/mm/hugepages/hugepages-1048576kB'
HP_PAGES = GUEST_RAM // HP_SIZE
HP_ARGS = ['-rt', RT_ARGS[1] + ',hugepages=2M']
MSG = 'qemu-system-x86_64: -rt: hugepages=2M '


def count(name, d=HP_DIR):
    with open(os.path.join(d, name)) as f:
        return int(f.read())


def available(d=HP_DIR):
    return count('free_hugepages', d) - count('resv_hugepages', d)


def write(name, value, d=HP_DIR):
    with open(os.path.join(d, name), 'w') as f:
        f.write(str(value))


@contextlib.contextmanager
def reserved(avail, d=HP_DIR, over=0):
    """The host's page pool of directory d with avail pages free and
    unreserved and room for over surplus pages (nr_overcommit_hugepages);
    the old pool size and overcommit are restored afterwards."""
    old = count('nr_hugepages', d)
    old_over = count('nr_overcommit_hugepages', d)
    # Gigantic (1 GiB) pages refuse any overcommit, even a write of 0.
    new_over = over + count('surplus_hugepages', d)
    try:
        if new_over != old_over:
            write('nr_overcommit_hugepages', new_over, d)
        want = old - available(d) + avail
        write('nr_hugepages', want, d)
        if count('nr_hugepages', d) != want:
            qrt.skip(f'the kernel gave {count("nr_hugepages", d)} of {want} '
                     f'huge pages of {d} (fragmented memory)')
        yield
    finally:
        write('nr_hugepages', old, d)
        if new_over != old_over:
            write('nr_overcommit_hugepages', old_over, d)


def ram_mapping(pid):
    """The smaps fields of the mapping of guest RAM's memfd, in kB."""
    found, fields = False, {}
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            if '/memfd:memory-backend-memfd' in line:
                found = True
            elif found and line.startswith('VmFlags:'):
                fields['VmFlags'] = line.split()[1:]
                return fields
            elif found:
                key, val = line.split(':', 1)
                fields[key] = int(val.split()[0])
    qrt.fail(f'no memory-backend-memfd mapping in /proc/{pid}/smaps')


def refused(args, msg, what):
    r = qrt.run_qemu(qrt.base_args('tcg') + args)
    qrt.check(r.status == 1 and r.err.strip() == msg,
              f'{what}: exit status {r.status} == 1 and stderr is the one '
              f'line "{msg}"', r.err)


def need_pool(d, size):
    need_cpus()
    if not os.path.isdir(d):
        qrt.skip(f'the host has no {size} huge pages ({d})')
    if os.geteuid() != 0:
        qrt.skip('reserving huge pages (nr_hugepages) needs root')


def test_hugepages():
    need_pool(HP_DIR, '2 MiB')

    # Without hugepages=: base pages, and the warning.
    qemu = start_idle('tcg', RT_ARGS)
    try:
        info = qemu.qmp.cmd('query-rt')
    finally:
        qemu.quit()
    base = os.sysconf('SC_PAGE_SIZE')
    qrt.check(info.get('ram-page-size') == base and
              'ram-not-hugetlb' in info['warnings'],
              f'-rt: query-rt ram-page-size {info.get("ram-page-size")} == '
              f'{base}, ram-not-hugetlb in {info["warnings"]}', qemu.stderr())
    warn = 'guest RAM is on 4 kB pages, not huge pages'
    hint = 'Back it with -rt ...,hugepages=2M.'
    qrt.check(warned(qemu.stderr(), warn, hint),
              f'-rt: stderr warns "{warn}", then hints "{hint}"',
              qemu.stderr())

    refused(['-m', '129M'] + HP_ARGS,
            MSG + 'needs a RAM size that is a multiple of 2 MiB, not '
            '129 MiB; change -m', '-m 129M')
    refused(HP_ARGS + ['-mem-path', '/dev/hugepages'],
            MSG + 'backs guest RAM itself and cannot be used with '
            '-mem-path; remove one of them', '-mem-path')
    refused(HP_ARGS + ['-object', 'memory-backend-ram,id=m0,size=128M',
                       '-machine', 'memory-backend=m0'],
            MSG + 'backs guest RAM itself and cannot be used with -machine '
            'memory-backend=m0; give that backend hugetlb=on,'
            'hugetlbsize=2M instead', '-machine memory-backend')

    # Too few free pages: one line with both numbers and the fix.
    with reserved(3):
        nr, free, resv = (count('nr_hugepages'), count('free_hugepages'),
                          count('resv_hugepages'))
        msg = (MSG + f'needs {HP_PAGES} free huge pages of 2048 kB for 128 '
               'MiB of guest RAM and the host has 3 free; reserve them '
               f'with: echo {nr + HP_PAGES - 3} > {HP_DIR}/nr_hugepages')
        refused(HP_ARGS, msg, f'{nr} huge pages, 3 free')
        qrt.check((count('free_hugepages'), count('resv_hugepages')) ==
                  (free, resv), f'the refusal left the pool as it was: '
                  f'{free} free, {resv} reserved')

    # Surplus pages the kernel may allocate count too, in the refusal and
    # when QEMU starts (the free pages alone are too few in both).
    with reserved(3, over=10):
        nr = count('nr_hugepages')
        msg = (MSG + f'needs {HP_PAGES} free huge pages of 2048 kB for 128 '
               'MiB of guest RAM and the host has 3 free and may allocate 10 '
               'more (nr_overcommit_hugepages); reserve them with: echo '
               f'{nr + HP_PAGES - 3} > {HP_DIR}/nr_hugepages')
        refused(HP_ARGS, msg, f'{nr} huge pages, 3 free, 10 surplus allowed')
    with reserved(3, over=HP_PAGES):
        surplus = count('surplus_hugepages')
        qemu = start_idle('tcg', HP_ARGS)
        try:
            info = qemu.qmp.cmd('query-rt')
            taken = count('surplus_hugepages') - surplus
        finally:
            status = qemu.quit()
        qrt.check(info.get('ram-page-size') == HP_SIZE and
                  taken == HP_PAGES - 3 and status == 0,
                  f'3 free, {HP_PAGES} surplus allowed: QEMU starts on 2 MiB '
                  f'pages (ram-page-size {info.get("ram-page-size")}), '
                  f'{taken} surplus pages allocated == {HP_PAGES - 3}, quit '
                  f'{status}', qemu.stderr())

    # Enough pages: an -object of the backend's id is refused (it exists
    # only after the early checks; this aborted QEMU before).
    # The host preflight has warned by then, each warning with its hint
    # line: the error is the last line.
    with reserved(HP_PAGES + 2):
        r = qrt.run_qemu(qrt.base_args('tcg') + HP_ARGS + [
            '-object', f'memory-backend-ram,id=pc.ram,size={GUEST_RAM}'])
        msg = ("qemu-system-x86_64: -rt: hugepages= creates the RAM backend "
               "'pc.ram', and an object of that id exists; rename it")
        qrt.check(r.status == 1 and errors(r.err) == [msg],
                  f'-object ...,id=pc.ram: exit status {r.status} == 1, the '
                  f'last line "{msg}", only warnings and their hints before '
                  'it', r.err)

    # Enough pages: guest RAM on them, populated at startup.
    with reserved(HP_PAGES + 2):
        before = count('free_hugepages')
        qemu = start_idle('tcg', HP_ARGS)
        try:
            info = qemu.qmp.cmd('query-rt')
            hmp = qemu.qmp.cmd('human-monitor-command',
                               **{'command-line': 'info rt'})
            ram = ram_mapping(qemu.pid)
            used = before - count('free_hugepages')
        finally:
            qemu.quit()
        err = qemu.stderr()
        qrt.check(info.get('ram-page-size') == HP_SIZE and
                  'ram-not-hugetlb' not in info['warnings'],
                  f'hugepages=2M: query-rt ram-page-size '
                  f'{info.get("ram-page-size")} == {HP_SIZE}, no '
                  f'ram-not-hugetlb in {info["warnings"]}', err)
        qrt.check(f'guest RAM page size: {HP_SIZE} bytes' in hmp,
                  'hugepages=2M: info rt shows the page size', hmp)
        hugetlb = ram.get('Private_Hugetlb', 0) + ram.get('Shared_Hugetlb', 0)
        qrt.check(ram['Size'] == GUEST_RAM // 1024 and
                  ram['KernelPageSize'] == 2048 and 'ht' in ram['VmFlags'],
                  f'hugepages=2M: smaps: {ram["Size"]} kB of guest RAM on '
                  f'{ram["KernelPageSize"]} kB hugetlb pages '
                  f'({" ".join(ram["VmFlags"])})', err)
        qrt.check(hugetlb == GUEST_RAM // 1024 and used == HP_PAGES,
                  f'hugepages=2M, mem-lock=on: all of guest RAM is resident '
                  f'at startup ({hugetlb} kB in smaps), {used} huge pages '
                  f'taken from the pool == {HP_PAGES}', err)


def test_hugepages_1g():
    """hugepages=1G: a 1 GiB guest on one 1 GiB page."""
    need_pool(GP_DIR, '1 GiB')
    args = ['-m', '1G', '-rt', RT_ARGS[1] + ',hugepages=1G']
    refused(['-m', '1536M'] + args[2:], 'qemu-system-x86_64: -rt: '
            'hugepages=1G needs a RAM size that is a multiple of 1024 MiB, not '
            '1536 MiB; change -m', '-m 1536M')
    with reserved(1, GP_DIR):
        before = count('free_hugepages', GP_DIR)
        qemu = start_idle('tcg', args)
        try:
            info = qemu.qmp.cmd('query-rt')
            ram = ram_mapping(qemu.pid)
            used = before - count('free_hugepages', GP_DIR)
        finally:
            qemu.quit()
        err = qemu.stderr()
        qrt.check(info.get('ram-page-size') == 1 << 30 and
                  'ram-not-hugetlb' not in info['warnings'],
                  f'hugepages=1G: query-rt ram-page-size '
                  f'{info.get("ram-page-size")} == {1 << 30}, no '
                  f'ram-not-hugetlb in {info["warnings"]}', err)
        qrt.check(ram['Size'] == 1 << 20 and
                  ram['KernelPageSize'] == 1 << 20 and used == 1,
                  f'hugepages=1G: smaps: {ram["Size"]} kB on '
                  f'{ram["KernelPageSize"]} kB pages, {used} page taken '
                  'from the pool == 1', err)
