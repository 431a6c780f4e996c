# Included after project() by s390x-toolchain.cmake: prefer lib*.a.
set(CMAKE_FIND_LIBRARY_SUFFIXES .a .so)
