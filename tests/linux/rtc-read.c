/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * rtc-read: read each RTC device given once with RTC_RD_TIME, inside an
 * rt-audit section (include/rt-audit-marker.h), so that rt-audit counts
 * the exits of each read; print "DEV YYYY-MM-DD HH:MM:SS" or the error.
 * Static, for the Linux RT guest's initramfs
 * (scripts/pipeline/build-rt-guest).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/rtc.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "rt-audit-marker.h"

int main(int argc, char **argv)
{
    struct rtc_time tm;
    int i, fd, r, status = 0;

    for (i = 1; i < argc; i++) {
        fd = open(argv[i], O_RDONLY);
        if (fd < 0) {
            printf("%s error %s\n", argv[i], strerror(errno));
            status = 1;
            continue;
        }
        memset(&tm, 0, sizeof(tm));
        RT_SECTION_BEGIN();
        r = ioctl(fd, RTC_RD_TIME, &tm);
        RT_SECTION_END();
        if (r < 0) {
            printf("%s error %s\n", argv[i], strerror(errno));
            status = 1;
        } else {
            printf("%s %04d-%02d-%02d %02d:%02d:%02d\n", argv[i],
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec);
        }
        close(fd);
    }
    return status;
}
