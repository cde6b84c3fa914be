# Toolchain for the `aarch64` preset: a fully static arm64 hypercallctl that runs as
# PID 1's payload inside the emulated KVM hosts of the lab tier (tests/lab/).
#
# With HC_STATIC off it links dynamically instead, against Debian bookworm's arm64
# libraries: tests/lab/build-userland.sh builds the push path that way (the shim is a
# shared object loaded into Debian's arm64 QEMU, and the hook needs libsystemd, which
# Debian ships only as a shared library).  The emulated hosts then carry the same
# bookworm libraries (tests/lab/fetch.sh, userland/).
#
# The C library comes from Debian's cross packages (gcc-aarch64-linux-gnu,
# libc6-dev-arm64-cross, in /usr/aarch64-linux-gnu).  json-c and libyaml are not
# packaged for cross builds, so tests/lab/fetch.sh unpacks the arm64 -dev packages
# into a sysroot: $HC_ARM64_SYSROOT, default /var/cache/hypercall-lab/sysroot.
# That sysroot holds only those libraries, so it is not passed as --sysroot
# (gcc would then miss glibc); it is a search root and pkg-config's sysroot.

# Second pass.  This file is also the CMAKE_PROJECT_INCLUDE (set below), read after
# project() has loaded the platform defaults, which reset CMAKE_FIND_LIBRARY_SUFFIXES
# to ".so;.a" after the toolchain ran.  FindPkgConfig resolves -ljson-c with
# find_library and would take the .so, which ld refuses in a -static link
# ("attempted static link of dynamic object"); only archives will do.
if(CMAKE_C_COMPILER_LOADED)
  if(HC_STATIC)
    set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
  endif()
  return()
endif()
set(CMAKE_PROJECT_INCLUDE "${CMAKE_CURRENT_LIST_FILE}")

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_AR aarch64-linux-gnu-ar CACHE FILEPATH "")
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP aarch64-linux-gnu-strip CACHE FILEPATH "")

if(DEFINED ENV{HC_ARM64_SYSROOT} AND NOT "$ENV{HC_ARM64_SYSROOT}" STREQUAL "")
  set(HC_ARM64_SYSROOT "$ENV{HC_ARM64_SYSROOT}")
else()
  set(HC_ARM64_SYSROOT "/var/cache/hypercall-lab/sysroot")
endif()
set(HC_ARM64_SYSROOT "${HC_ARM64_SYSROOT}" CACHE PATH "arm64 -dev tree from tests/lab/fetch.sh")
if(NOT EXISTS "${HC_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig")
  message(FATAL_ERROR "no arm64 sysroot at ${HC_ARM64_SYSROOT}: run tests/lab/fetch.sh "
                      "or set HC_ARM64_SYSROOT")
endif()

# Look for arm64 headers and libraries only in the cross tree and our sysroot; build
# tools (pkg-config itself) still come from the host.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu "${HC_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# pkg-config sees only the arm64 .pc files, never the host's x86_64 ones.  LIBDIR
# (not PATH) replaces the default search path.  fetch.sh makes the .pc files point
# into the sysroot; the sysroot variable is for any that still say /usr.
set(ENV{PKG_CONFIG_LIBDIR}
    "${HC_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${HC_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${HC_ARM64_SYSROOT}")
unset(ENV{PKG_CONFIG_PATH})

if(HC_STATIC)
  # Fully static: the probe initramfs has no dynamic loader and no libraries.
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
else()
  # libsystemd.so needs libcap, libgcrypt, liblz4, ...: ld must find them to check the
  # link, and they sit in the sysroot's /lib and /usr/lib (bookworm is not usr-merged).
  set(hc_rpath_link "-Wl,-rpath-link,${HC_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu:${HC_ARM64_SYSROOT}/lib/aarch64-linux-gnu")
  set(CMAKE_EXE_LINKER_FLAGS_INIT "${hc_rpath_link}")
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "${hc_rpath_link}")
endif()
