# The libzpci sources, for this project's CMakeLists.txt and for standalone
# builds (the s390x guest tests): include() this file, then use
#   ZPCI_LIB_SOURCES        all .cpp files of the library (core + vfio +
#                           simulator + netlink client)
#   ZPCI_LIB_CORE_SOURCES   libzpci/*.cpp (includes the simulator, sim.cpp)
#   ZPCI_LIB_SIM_SOURCES    the simulated function alone (Boost.Interprocess);
#                           build without it: remove it from the list and
#                           define ZPCI_NO_SIM (sim specs then fail ENOTSUP)
#   ZPCI_LIB_VFIO_SOURCES   libzpci/vfio/*.cpp (real devices)
#   ZPCI_LIB_NETLINK_SOURCES the driver statistics client (libnl); not part
#                           of libzpci.so/.a, only of the tools and tests
#   ZPCI_LIB_HAS_NETLINK    TRUE when libzpci/netlink/*.cpp exist (link libnl)
#   ZPCI_LIB_INCLUDE_DIRS   public include dir (include/)
#   ZPCI_LIB_PRIVATE_DIRS   private include dir (libzpci/)
#   ZPCI_LIB_VERSION_SCRIPT the linker version script of libzpci.so
# Requirements: C++23 (std::expected), <linux/types.h>, pthreads; Boost
# headers for the simulator; libnl-3 + libnl-genl-3 for the netlink client.
# No generated headers.
get_filename_component(_zpci_lib_dir "${CMAKE_CURRENT_LIST_DIR}" ABSOLUTE)
get_filename_component(_zpci_root "${_zpci_lib_dir}/.." ABSOLUTE)

file(GLOB ZPCI_LIB_CORE_SOURCES CONFIGURE_DEPENDS "${_zpci_lib_dir}/*.cpp")
set(ZPCI_LIB_SIM_SOURCES "${_zpci_lib_dir}/sim.cpp")
file(GLOB ZPCI_LIB_VFIO_SOURCES CONFIGURE_DEPENDS "${_zpci_lib_dir}/vfio/*.cpp")
file(GLOB ZPCI_LIB_NETLINK_SOURCES CONFIGURE_DEPENDS "${_zpci_lib_dir}/netlink/*.cpp")
set(ZPCI_LIB_SOURCES ${ZPCI_LIB_CORE_SOURCES} ${ZPCI_LIB_VFIO_SOURCES}
	${ZPCI_LIB_NETLINK_SOURCES})
if(ZPCI_LIB_NETLINK_SOURCES)
	set(ZPCI_LIB_HAS_NETLINK TRUE)
else()
	set(ZPCI_LIB_HAS_NETLINK FALSE)
endif()
set(ZPCI_LIB_INCLUDE_DIRS "${_zpci_root}/include")
set(ZPCI_LIB_PRIVATE_DIRS "${_zpci_lib_dir}")
set(ZPCI_LIB_VERSION_SCRIPT "${_zpci_lib_dir}/libzpci.map")
