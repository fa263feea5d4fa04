/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * librtcheck: every file access goes through rc_path() so that --root
 * can point the tools at a fake tree, and every read is bounded.
 */
#define _GNU_SOURCE
#include "rtcheck.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *rc_root;

bool rc_set_root(const char *root)
{
    char *real;
    struct stat st;

    free(rc_root);
    rc_root = NULL;
    if (!root) {
        return true;
    }
    real = realpath(root, NULL);
    if (!real || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(real);
        return false;
    }
    if (strcmp(real, "/") == 0) {
        free(real);
        return true;
    }
    rc_root = real;
    return true;
}

bool rc_have_root(void)
{
    return rc_root != NULL;
}

char *rc_path(const char *path)
{
    return rc_root ? rc_strf("%s%s", rc_root, path) : rc_strdup(path);
}

ssize_t rc_read(const char *path, char *buf, size_t size)
{
    char *full = rc_path(path);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    size_t i;
    int saved;

    free(full);
    buf[0] = '\0';
    if (fd < 0) {
        return -1;
    }
    while (len < size - 1) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            saved = errno;
            close(fd);
            errno = saved;
            buf[0] = '\0';
            return -1;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    for (i = 0; i < len; i++) {
        if (buf[i] == '\0') {
            buf[i] = ' ';
        }
    }
    while (len > 0 && isspace((unsigned char)buf[len - 1])) {
        len--;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

ssize_t rc_readf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    char *path;
    ssize_t ret;
    int saved;

    va_start(ap, fmt);
    path = rc_vstrf(fmt, ap);
    va_end(ap);
    ret = rc_read(path, buf, size);
    saved = errno;
    free(path);
    errno = saved;
    return ret;
}

char *rc_read_big(const char *path)
{
    char *buf = rc_xmalloc(RC_BIG_MAX);
    int saved;

    if (rc_read(path, buf, RC_BIG_MAX) < 0) {
        saved = errno;
        free(buf);
        errno = saved;
        return NULL;
    }
    return buf;
}

DIR *rc_opendir(const char *path)
{
    char *full = rc_path(path);
    DIR *d = opendir(full);
    int saved = errno;

    free(full);
    errno = saved;
    return d;
}

int rc_write(const char *path, const char *value)
{
    char *full = rc_path(path);
    char *text = rc_strf("%s\n", value);
    size_t len = strlen(text);
    int fd = open(full, O_WRONLY | O_TRUNC | O_CLOEXEC);
    int ret = 0;

    free(full);
    if (fd < 0) {
        free(text);
        return -errno;
    }
    if (write(fd, text, len) != (ssize_t)len) {
        ret = errno ? -errno : -EIO;
    }
    if (close(fd) < 0 && ret == 0) {
        ret = -errno;
    }
    free(text);
    return ret;
}

bool rc_exists(const char *path)
{
    char *full = rc_path(path);
    bool ret = access(full, F_OK) == 0;

    free(full);
    return ret;
}
