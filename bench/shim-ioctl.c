/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the shim costs a process for an ioctl that is not KVM's: N calls of
 * ioctl(TCGETS) on /dev/null (ENOTTY, the kernel's cheapest ioctl path) in
 * a tight loop.  bench/shim-ioctl.sh runs it with and without LD_PRELOAD of
 * the shim, interleaved, and reports ns per call and the overhead.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000000;
        struct termios t;
        struct timespec a, b;
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (fd < 0 || n <= 0)
                return 1;
        for (long i = 0; i < n / 10; i++) /* warm-up */
                (void)ioctl(fd, TCGETS, &t);
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (long i = 0; i < n; i++)
                (void)ioctl(fd, TCGETS, &t);
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%.2f\n", ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n);
        close(fd);
        return 0;
}
