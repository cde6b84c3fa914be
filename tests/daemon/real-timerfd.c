/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Preloaded before libfaketime in the clock-jump test: timerfd_settime() and
 * timerfd_gettime() go straight to the kernel.  A real jump of the wall
 * clock leaves CLOCK_MONOTONIC timers alone, but libfaketime 0.9.10 shifts
 * absolute monotonic timerfd expiries by its offset too (even with
 * FAKETIME_DONT_FAKE_MONOTONIC=1), so sd-event's next timerfd_settime() fails
 * with EINVAL and any sd-event program stops: an artifact of the tool, not a
 * fault a real host can produce.  Only the wall clock (time(),
 * clock_gettime(CLOCK_REALTIME)) stays faked.
 */
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

__attribute__((visibility("default"))) int timerfd_settime(int fd, int flags, const struct itimerspec *new_value,
                                                           struct itimerspec *old_value)
{
        return (int)syscall(SYS_timerfd_settime, fd, flags, new_value, old_value);
}

__attribute__((visibility("default"))) int timerfd_gettime(int fd, struct itimerspec *curr_value)
{
        return (int)syscall(SYS_timerfd_gettime, fd, curr_value);
}
