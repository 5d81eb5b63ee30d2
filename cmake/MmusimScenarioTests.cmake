# Scenario files as ctest tests: each runs `mmusim run FILE` and must pass.
# mmusim_expect_run() registers a run that must end with a given exit code and print a pattern.

set(MMUSIM_EXPECT_RUN ${PROJECT_SOURCE_DIR}/cmake/expect_run.cmake)

function(mmusim_expect_run name)
  cmake_parse_arguments(ARG "" "EXIT;MATCH" "ARGS" ${ARGN})
  add_test(NAME ${name}
           COMMAND ${CMAKE_COMMAND} -DMMUSIM=$<TARGET_FILE:mmusim> "-DARGS=${ARG_ARGS}"
                   -DEXIT=${ARG_EXIT} "-DMATCH=${ARG_MATCH}" -P ${MMUSIM_EXPECT_RUN})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120)
endfunction()

# A scenario may name the settings it needs on a line "# Run with --set key=value ...".
file(GLOB MMUSIM_SPEC_SCENARIOS ${PROJECT_SOURCE_DIR}/scenarios/spec/*.scn
     ${PROJECT_SOURCE_DIR}/scenarios/basic/*.scn)
foreach(scn ${MMUSIM_SPEC_SCENARIOS})
  get_filename_component(id ${scn} NAME_WE)
  file(STRINGS ${scn} run_with REGEX "^# Run with ")
  set(settings "")
  if(run_with)
    string(REGEX MATCHALL "--set [^ :]+" sets "${run_with}")
    foreach(s ${sets})
      string(REPLACE "--set " "" kv "${s}")
      list(APPEND settings --set ${kv})
    endforeach()
  endif()
  add_test(NAME scenario.${id} COMMAND mmusim run ${scn} ${settings})
  set_tests_properties(scenario.${id} PROPERTIES TIMEOUT 120)
endforeach()

# The built-in default scenario, and the CLI's documented behaviour.
add_test(NAME cli.run_default COMMAND mmusim run)
mmusim_expect_run(cli.help ARGS --help EXIT 0 MATCH "Subcommands:")
mmusim_expect_run(cli.config ARGS config EXIT 0 MATCH "dtlb.entries")
mmusim_expect_run(cli.no_subcommand ARGS "" EXIT 2 MATCH "subcommand")
mmusim_expect_run(cli.unknown_param ARGS "run;--set;dtlb.bogus=1" EXIT 2 MATCH "dtlb.bogus: unknown parameter")
mmusim_expect_run(cli.bad_param_value ARGS "run;--set;dtlb.entries=abc" EXIT 2 MATCH "not a non-negative integer")
mmusim_expect_run(cli.invalid_geometry ARGS "run;--set;dtlb.ways=3" EXIT 2 MATCH "dtlb.ways")
mmusim_expect_run(cli.json ARGS "run;--json;${CMAKE_CURRENT_BINARY_DIR}/default_stats.json" EXIT 0
                  MATCH "PASSED" )
add_test(NAME cli.json_parses
         COMMAND ${CMAKE_COMMAND} -DJSON=${CMAKE_CURRENT_BINARY_DIR}/default_stats.json
                 -P ${PROJECT_SOURCE_DIR}/cmake/check_stats_json.cmake)
set_tests_properties(cli.json_parses PROPERTIES DEPENDS cli.json)

# The oracles can fail: with COW deliberately broken, A03 reports a missed COW (shadow memory,
# with the invariant checks off so that the run reaches the child's read), and the invariant
# checks alone report I1 (a writable entry maps a shared page) at the parent's write.
mmusim_expect_run(oracle.break_cow_A03_missed_cow
  ARGS "run;${PROJECT_SOURCE_DIR}/scenarios/spec/A03.scn;--set;test.break_cow=1;--set;mm.check_invariants=0"
  EXIT 1 MATCH "A03.scn:8:1: missed COW: C read 2 at A .0x[0-9a-f]+. but must see 1: the value was stored by process P")
mmusim_expect_run(oracle.break_cow_A03_invariant
  ARGS "run;${PROJECT_SOURCE_DIR}/scenarios/spec/A03.scn;--set;test.break_cow=1"
  EXIT 1 MATCH "A03.scn:7:1: invariant: .*I1: .*writable entry maps a page without PG_anon_exclusive")

# Every FOLDER/*.scn must make `mmusim run` exit with EXIT and print what its first
# "# MARKER: regex" line says.
function(mmusim_expect_scenarios prefix folder marker exit)
  file(GLOB scenarios ${folder}/*.scn)
  foreach(scn ${scenarios})
    get_filename_component(id ${scn} NAME_WE)
    file(STRINGS ${scn} expected REGEX "^# ${marker}: ")
    string(REPLACE "# ${marker}: " "" expected "${expected}")
    mmusim_expect_run(${prefix}.${id} ARGS "run;${scn}" EXIT ${exit} MATCH "${expected}")
  endforeach()
endfunction()

# Bad scenario input: file:line:column, the reason, exit code 2.
mmusim_expect_scenarios(bad_input ${PROJECT_SOURCE_DIR}/testbench/tests/bad expect-error 2)
# Scenarios that must fail at run time (the failure is the point): exit code 1.
mmusim_expect_scenarios(failing ${PROJECT_SOURCE_DIR}/testbench/tests/failing expect-failure 1)
