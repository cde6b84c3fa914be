/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sanitizer builds only (HC_SANITIZE): linked into the hook and the <emulator>
 * wrapper.  libvirtd starts both with a stripped environment, so ASAN_OPTIONS
 * and UBSAN_OPTIONS never reach them; instead their runtimes read extra options
 * from HC_SANITIZER_OPTIONS_FILE when it exists.  The libvirt tier's lab writes
 * one that sends ASan reports to a directory it checks after each case: a
 * report from a hook phase whose exit status libvirt ignores (stopped, release)
 * would otherwise be lost.  (GCC's separate UBSan runtime ignores log_path and
 * always writes to stderr; tests/libvirt/lab.sh says where that ends up.)
 * Without the file, reports go to stderr as usual.
 */

#ifndef HC_SANITIZER_OPTIONS_FILE
#error "HC_SANITIZER_OPTIONS_FILE must be defined (hook/CMakeLists.txt)"
#endif

/* Called by the ASan and UBSan runtimes before they read the environment. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *__asan_default_options(void)
{
        return "include_if_exists=" HC_SANITIZER_OPTIONS_FILE;
}

const char *__ubsan_default_options(void)
{
        return "include_if_exists=" HC_SANITIZER_OPTIONS_FILE;
}
