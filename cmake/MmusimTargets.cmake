# Helpers that give every project target the same standard, warnings and sanitizer flags.

set(MMUSIM_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)

function(mmusim_target_defaults target)
  target_compile_features(${target} PUBLIC cxx_std_17)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
  if(MMUSIM_SANITIZE)
    target_compile_options(${target} PRIVATE ${MMUSIM_SANITIZER_FLAGS})
    target_link_options(${target} PUBLIC ${MMUSIM_SANITIZER_FLAGS})
  endif()
endfunction()

# Every executable that links SystemC: in sanitizer builds, LeakSanitizer is off by default
# (cmake/asan_systemc_options.cpp explains why).
function(mmusim_systemc_executable target)
  if(MMUSIM_SANITIZE)
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/asan_systemc_options.cpp)
  endif()
endfunction()

# mmusim_add_library(name SOURCES ... DEPS ...): a static library whose public headers live in
# include/ beside its CMakeLists.txt.
function(mmusim_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  mmusim_target_defaults(${name})
endfunction()

# mmusim_add_gtest(name SOURCES ... DEPS ...): a plain C++ GoogleTest binary; each case is its
# own ctest test.
function(mmusim_add_gtest name)
  if(NOT MMUSIM_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  mmusim_target_defaults(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
endfunction()

# mmusim_add_sc_gtest(name SOURCES ... DEPS ...): a GoogleTest binary that links SystemC.
# libsystemc defines main(), which calls sc_main(); sc_gtest_main.cpp provides an sc_main that
# runs the tests. SystemC elaborates only once per process, so ctest runs one case per process
# (gtest_discover_tests).
function(mmusim_add_sc_gtest name)
  if(NOT MMUSIM_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/cmake/sc_gtest_main.cpp)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} mmusim_systemc GTest::gtest)
  mmusim_target_defaults(${name})
  mmusim_systemc_executable(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120
                       ENVIRONMENT SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1)
endfunction()
