# SPDX-License-Identifier: GPL-2.0-or-later
"""TCG plugins see MMIO outside the APIC/HPET window: four reads of q35's
MMCONFIG page reach rt-audit as MMIO (patches/plugins-mmio), on TCG and
TCI.  argv: ACCEL PLUGIN."""

import json
import os
import sys
import tempfile

import qrt

MCFG_PAGE = 0xb0000000


def main():
    accel, plugin = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'report.json')
        r = qrt.run_guest('mmio-mcfg', accel=accel, machine='q35',
                          extra=['-plugin', f'{plugin},out={out}'],
                          timeout=180)
        qrt.expect_guest_pass(r, f'mmio-mcfg on q35 ({accel})')
        report = json.load(open(out))
    pages = [m for m in report['mmio'] if m['page'] == MCFG_PAGE]
    qrt.check(len(pages) == 1,
              f'rt-audit lists the MMCONFIG page 0x{MCFG_PAGE:x} as MMIO '
              f'(got {[hex(m["page"]) for m in report["mmio"]]})', r.err)
    qrt.check(pages[0]['reads'] == 4 and pages[0]['writes'] == 0,
              f'exactly 4 MMIO reads, 0 writes there (got '
              f'{pages[0]["reads"]}, {pages[0]["writes"]})', r.err)


if __name__ == '__main__':
    main()
