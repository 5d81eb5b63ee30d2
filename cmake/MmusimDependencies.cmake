# Finds the external libraries. All come from Debian packages (scripts/setup.sh installs them).

find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)
if(MMUSIM_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# SystemC: the upstream CMake package when present, else pkg-config (Debian ships only
# systemc.pc). The pkg-config prefix is not SYSTEMC: Verilator's CMake code caches
# SYSTEMC_INCLUDEDIR/SYSTEMC_LIBRARY and the names would collide.
find_package(SystemCLanguage CONFIG QUIET)
if(SystemCLanguage_FOUND)
  add_library(mmusim_systemc INTERFACE)
  target_link_libraries(mmusim_systemc INTERFACE SystemC::systemc)
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(MMUSIM_SC REQUIRED IMPORTED_TARGET systemc)
  add_library(mmusim_systemc INTERFACE)
  target_link_libraries(mmusim_systemc INTERFACE PkgConfig::MMUSIM_SC)
  # SystemC headers are not ours: keep -Wall -Wextra -Werror off them.
  target_include_directories(mmusim_systemc SYSTEM INTERFACE ${MMUSIM_SC_INCLUDE_DIRS})
endif()
