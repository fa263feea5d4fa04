# SPDX-License-Identifier: GPL-2.0-or-later
"""The TCI build is really TCI and runs TCG plugins: configure honours
--enable-plugins with --enable-tcg-interpreter (patches/tci-plugins)."""

import os

import qrt


def main():
    qemu = qrt.qemu_binary('tci')
    build = os.path.dirname(os.path.realpath(qemu))
    config = open(os.path.join(build, 'config-host.h')).read().splitlines()
    qrt.check('#define CONFIG_TCG_INTERPRETER' in config,
              'the TCI binary was built with the TCG interpreter')
    qrt.check('#define CONFIG_PLUGIN' in config,
              'the TCI binary was built with plugin support')
    plugin = os.path.join(build, 'contrib', 'plugins', 'libhotblocks.so')
    r = qrt.run_guest('hello', accel='tci', extra=['-plugin', plugin, '-d', 'plugin'],
                      timeout=180)
    qrt.expect_guest_pass(r, 'hello under TCI with the hotblocks plugin')
    qrt.check('collected' in r.err + r.out and 'hash table' in r.err + r.out,
              'the hotblocks plugin ran and printed its report',
              r.err + r.out)


if __name__ == '__main__':
    main()
