/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers for the daemon tests, so the shell scripts need nothing beyond
 * what the project builds:
 *
 *   hcd-test-tool dgram-listen SOCKET OUT     receive datagrams on a unix socket (a
 *                                             NOTIFY_SOCKET, or journald's socket in a private
 *                                             mount namespace), append each to OUT + "\n--\n"
 *   hcd-test-tool wait-signal MEMBER SECONDS  on the system bus: print "ready", then the first
 *                                             org.hypercall.Hypercall1 MEMBER signal; exit 1 on
 *                                             timeout
 *   hcd-test-tool check-baseline FILE         exit 0 when FILE is a whole, valid baseline file
 *   hcd-test-tool kill-on-create DIR PREFIX PID SECONDS
 *                                             SIGKILL PID the moment a file named PREFIX* is
 *                                             created in DIR (an atomic write's temp file: the
 *                                             kill lands mid-write); print "ready" first
 *   hcd-test-tool clone-record FILE DIR N     write N copies of the record in FILE to DIR,
 *                                             hosts web-x0 .. web-x(N-1), as the store names them
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "baseline-file.h"
#include "bus-api.h"
#include "record.h"

static int dgram_listen(const char *path, const char *out)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        static char buf[1 << 20];
        int fd, one = 1;
        FILE *f;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "socket path too long\n");
                return 2;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        (void)unlink(path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror(path);
                return 2;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
        f = fopen(out, "a");
        if (!f) {
                perror(out);
                return 2;
        }
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        perror("recv");
                        return 2;
                }
                fwrite(buf, 1, (size_t)n, f);
                fputs("\n--\n", f);
                fflush(f);
        }
}

static int wait_signal(const char *member, int seconds)
{
        sd_bus *bus = NULL;
        char match[256];
        time_t end = time(NULL) + seconds;
        int r, rc = 1;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "cannot connect to the system bus: %s\n", strerror(-r));
                return 2;
        }
        snprintf(match, sizeof(match), "type='signal',interface='%s',member='%s'",
                 strcmp(member, "PropertiesChanged") == 0 ? "org.freedesktop.DBus.Properties"
                                                          : HC_BUS_INTERFACE,
                 member);
        r = sd_bus_add_match(bus, NULL, match, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "AddMatch failed: %s\n", strerror(-r));
                sd_bus_flush_close_unref(bus);
                return 2;
        }
        printf("ready\n");
        fflush(stdout);
        while (rc == 1 && time(NULL) < end) {
                sd_bus_message *m = NULL;

                r = sd_bus_process(bus, &m);
                if (r < 0) {
                        fprintf(stderr, "bus: %s\n", strerror(-r));
                        rc = 2;
                        break;
                }
                if (m && sd_bus_message_is_signal(m, NULL, member)) {
                        (void)sd_bus_message_dump(m, stdout, 0);
                        fflush(stdout);
                        rc = 0;
                }
                sd_bus_message_unref(m);
                if (r == 0)
                        (void)sd_bus_wait(bus, 200 * 1000);
        }
        if (rc == 1)
                fprintf(stderr, "no %s signal within %d s\n", member, seconds);
        sd_bus_flush_close_unref(bus);
        return rc;
}

static int check_baseline(const char *path)
{
        struct hc_baseline_file *f = NULL;
        struct hc_error err = {0};

        if (hc_baseline_file_load(path, &f, &err) < 0) {
                fprintf(stderr, "%s\n", hc_error_text(&err));
                return 1;
        }
        printf("generation %llu, %zu pools\n", (unsigned long long)f->generation, f->n_pools);
        hc_baseline_file_free(f);
        return 0;
}

static int kill_on_create(const char *dir, const char *prefix, pid_t pid, int seconds)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        time_t end = time(NULL) + seconds;
        int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

        if (fd < 0 || inotify_add_watch(fd, dir, IN_CREATE) < 0) {
                perror(dir);
                return 2;
        }
        printf("ready\n");
        fflush(stdout);
        while (time(NULL) < end) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ssize_t len;

                if (poll(&p, 1, 200) <= 0)
                        continue;
                len = read(fd, buf, sizeof(buf));
                for (char *q = buf; len > 0 && q < buf + len;) {
                        const struct inotify_event *ev = (const struct inotify_event *)q;

                        if (ev->len && strncmp(ev->name, prefix, strlen(prefix)) == 0) {
                                kill(pid, SIGKILL);
                                printf("killed %d at %s\n", (int)pid, ev->name);
                                return 0;
                        }
                        q += sizeof(*ev) + ev->len;
                }
        }
        fprintf(stderr, "no %s* file within %d s\n", prefix, seconds);
        return 1;
}

static int clone_record(const char *path, const char *dir, long n)
{
        struct hc_record *r = NULL;
        struct hc_error err = {0};

        if (hc_record_load(path, &r, &err) < 0) {
                fprintf(stderr, "%s\n", hc_error_text(&err));
                return 1;
        }
        for (long i = 0; i < n; i++) {
                char host[64], out[4096];

                snprintf(host, sizeof(host), "web-x%ld", i);
                free(r->host);
                r->host = strdup(host);
                snprintf(out, sizeof(out), "%s/%s.json", dir, host);
                if (!r->host || hc_record_save(r, out, &err) < 0) {
                        fprintf(stderr, "%s\n", hc_error_text(&err));
                        return 1;
                }
        }
        hc_record_free(r);
        return 0;
}

static long num(const char *s)
{
        char *end = NULL;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || !end || *end || end == s) {
                fprintf(stderr, "hcd-test-tool: expected a number, got \"%s\"\n", s);
                exit(2);
        }
        return v;
}

int main(int argc, char **argv)
{
        if (argc == 4 && strcmp(argv[1], "dgram-listen") == 0)
                return dgram_listen(argv[2], argv[3]);
        if (argc == 4 && strcmp(argv[1], "wait-signal") == 0)
                return wait_signal(argv[2], (int)num(argv[3]));
        if (argc == 3 && strcmp(argv[1], "check-baseline") == 0)
                return check_baseline(argv[2]);
        if (argc == 6 && strcmp(argv[1], "kill-on-create") == 0)
                return kill_on_create(argv[2], argv[3], (pid_t)num(argv[4]), (int)num(argv[5]));
        if (argc == 5 && strcmp(argv[1], "clone-record") == 0)
                return clone_record(argv[2], argv[3], num(argv[4]));
        fprintf(stderr, "usage: hcd-test-tool dgram-listen SOCKET OUT | wait-signal MEMBER SECONDS | "
                        "check-baseline FILE | kill-on-create DIR PREFIX PID SECONDS | clone-record FILE DIR N\n");
        return 2;
}
