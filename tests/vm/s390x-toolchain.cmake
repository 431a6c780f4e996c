# CMake toolchain file: cross-build guest programs for the s390x test VM.
#   cmake -S tests/vm/guest -B build/vm/guest-build \
#         -DCMAKE_TOOLCHAIN_FILE=tests/vm/s390x-toolchain.cmake
# Compilers: Debian's gcc/g++-s390x-linux-gnu (libc, libstdc++ in
# /usr/s390x-linux-gnu). Other libraries (libnl-3, libnl-genl-3, GTest/GMock,
# benchmark; boost headers linked from the host) come from the sysroot that
# tests/vm/fetch.sh unpacks from Debian's s390x .debs: ZPCI_SYSROOT, default
# $ZPCI_CACHE/s390x-sysroot (~/.cache/zpci/s390x-sysroot).
# Static linking works for libnl, gtest and gmock (.a files exist); Debian
# ships libbenchmark only as a shared library, so a benchmark binary links
# dynamically (the initramfs script copies the libraries it needs).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(CMAKE_C_COMPILER s390x-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER s390x-linux-gnu-g++)

if(DEFINED ENV{ZPCI_SYSROOT})
  set(ZPCI_SYSROOT "$ENV{ZPCI_SYSROOT}")
elseif(DEFINED ENV{ZPCI_CACHE})
  set(ZPCI_SYSROOT "$ENV{ZPCI_CACHE}/s390x-sysroot")
elseif(DEFINED ENV{XDG_CACHE_HOME})
  set(ZPCI_SYSROOT "$ENV{XDG_CACHE_HOME}/zpci/s390x-sysroot")
else()
  set(ZPCI_SYSROOT "$ENV{HOME}/.cache/zpci/s390x-sysroot")
endif()
if(NOT EXISTS "${ZPCI_SYSROOT}/usr/lib/s390x-linux-gnu")
  message(FATAL_ERROR "s390x sysroot ${ZPCI_SYSROOT} missing: run tests/vm/fetch.sh")
endif()
# resolve the stable symlink once so that try_compile sees the same path
get_filename_component(ZPCI_SYSROOT "${ZPCI_SYSROOT}" REALPATH)
set(ENV{ZPCI_SYSROOT} "${ZPCI_SYSROOT}")

set(CMAKE_FIND_ROOT_PATH "${ZPCI_SYSROOT}" /usr/s390x-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE s390x-linux-gnu)

# headers and libraries of the sysroot for plain -l / #include use too
set(CMAKE_C_FLAGS_INIT "-isystem ${ZPCI_SYSROOT}/usr/include")
set(CMAKE_CXX_FLAGS_INIT "-isystem ${ZPCI_SYSROOT}/usr/include")
set(CMAKE_EXE_LINKER_FLAGS_INIT
  "-L${ZPCI_SYSROOT}/usr/lib/s390x-linux-gnu -Wl,-rpath-link,${ZPCI_SYSROOT}/usr/lib/s390x-linux-gnu")

# prefer static archives, so that find_library / pkg_check_modules results
# also work in a -static link (libbenchmark has no .a and stays shared).
# The platform files reset CMAKE_FIND_LIBRARY_SUFFIXES after the toolchain
# file, so this is done right after project().
set(CMAKE_PROJECT_INCLUDE "${CMAKE_CURRENT_LIST_DIR}/s390x-prefer-static.cmake")

# pkg-config (libnl-3.0, libnl-genl-3.0) answers from the sysroot only
set(PKG_CONFIG_EXECUTABLE /usr/bin/pkg-config CACHE FILEPATH "pkg-config")
set(ENV{PKG_CONFIG_LIBDIR}
  "${ZPCI_SYSROOT}/usr/lib/s390x-linux-gnu/pkgconfig:${ZPCI_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${ZPCI_SYSROOT}")
set(ENV{PKG_CONFIG_PATH} "")

# guest binaries cannot run on the host
set(CMAKE_CROSSCOMPILING_EMULATOR "")
