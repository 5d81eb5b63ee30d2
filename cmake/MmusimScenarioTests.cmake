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
     ${PROJECT_SOURCE_DIR}/scenarios/basic/*.scn ${PROJECT_SOURCE_DIR}/scenarios/races/*.scn)
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
mmusim_expect_run(cli.config ARGS config EXIT 0 MATCH "dtlb.array0.entries")
mmusim_expect_run(cli.no_subcommand ARGS "" EXIT 2 MATCH "subcommand")
mmusim_expect_run(cli.unknown_param ARGS "run;--set;dtlb.bogus=1" EXIT 2 MATCH "dtlb.bogus: unknown parameter")
mmusim_expect_run(cli.bad_param_value ARGS "run;--set;dtlb.array0.entries=abc" EXIT 2 MATCH "not a non-negative integer")
mmusim_expect_run(cli.invalid_geometry ARGS "run;--set;dtlb.array0.ways=3" EXIT 2 MATCH "dtlb.array0.ways=3 does not divide")
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
  ARGS "run;${PROJECT_SOURCE_DIR}/scenarios/spec/A03.scn;--set;inject.break_cow=1;--set;mm.check_invariants=0"
  EXIT 1 MATCH "A03.scn:8:1: missed COW: C read 2 at A .0x[0-9a-f]+. but must see 1: the value was stored by process P")
mmusim_expect_run(oracle.break_cow_A03_invariant
  ARGS "run;${PROJECT_SOURCE_DIR}/scenarios/spec/A03.scn;--set;inject.break_cow=1"
  EXIT 1 MATCH "A03.scn:7:1: invariant: .*I1: .*writable entry maps a page without PG_anon_exclusive")

# Each fault-injection switch removes one rule of mm-semantics.md §4.2; at least one scenario
# must catch it (docs/injection.md lists them).
function(mmusim_injection_test name scenario setting match)
  mmusim_expect_run(inject.${name}
    ARGS "run;${PROJECT_SOURCE_DIR}/scenarios/${scenario};--set;inject.${setting}=1;--set;mm.check_invariants=0"
    EXIT 1 MATCH "${match}")
endfunction()
mmusim_injection_test(break_cow spec/A03.scn break_cow "missed COW: C read 2")
mmusim_injection_test(skip_fork_flush_C04 spec/C04.scn skip_fork_flush "missed COW: C read 2")
mmusim_injection_test(skip_cow_flush_R01 races/R01_T2.scn skip_cow_flush "missed COW: P read 3")
mmusim_injection_test(skip_cow_flush_T3 races/T3.scn skip_cow_flush "lost store: P read 1")
mmusim_injection_test(early_cow_unmap_R01 races/R01_T2_window.scn early_cow_unmap "missed COW: P read 3")
mmusim_injection_test(skip_mprotect_flush_M03 spec/M03.scn skip_mprotect_flush "expected SIGSEGV, but the access")
mmusim_injection_test(free_before_flush_Z03 races/Z03_T10_window.scn free_before_flush "missed COW: P read 99")
mmusim_injection_test(skip_swapout_flush_R03 races/R03_T9.scn skip_swapout_flush "lost store: P read 1")
mmusim_injection_test(skip_unshare_B07 spec/B07.scn skip_unshare "wrong COW")
mmusim_injection_test(no_eager_fork_copy_B01 spec/B01.scn no_eager_fork_copy "wrong COW")
mmusim_injection_test(skip_reclaim_batch_flush_R9 races/D08_R9.scn skip_reclaim_batch_flush "missed COW: P read 99")
mmusim_injection_test(skip_pgtable_flush_T10 races/T10_pgtable_pwc.scn skip_pgtable_flush "expected SIGSEGV, but the access to 0x10000000 completed")
mmusim_injection_test(skip_fork_seqcount_T6 races/T6_fork_seqcount.scn skip_fork_seqcount "wrong COW: the device through X read 1 but process P sees 2")
# T4 needs two rules removed at once: either one alone keeps the clear visible (races/T4_plain_clear).
mmusim_expect_run(inject.plain_pte_clear_and_skip_swapout_flush_T4
  ARGS "run;${PROJECT_SOURCE_DIR}/scenarios/races/T4_plain_clear.scn;--set;store_buffer.drain_cycles=100000;--set;inject.plain_pte_clear=1;--set;inject.skip_swapout_flush=1;--set;mm.check_invariants=0"
  EXIT 1 MATCH "wrong COW: the device through X read 1")
foreach(one plain_pte_clear skip_swapout_flush)
  mmusim_expect_run(inject.${one}_alone_T4
    ARGS "run;${PROJECT_SOURCE_DIR}/scenarios/races/T4_plain_clear.scn;--set;store_buffer.drain_cycles=100000;--set;inject.${one}=1;--set;mm.check_invariants=0"
    EXIT 0 MATCH "PASSED")
endforeach()
mmusim_injection_test(skip_nested_flush_zap races/zap_nested_flush.scn skip_nested_flush "lost store: P read 1 at A")
# R06 needs the odd write_protect_seq to stay in the forking CPU's store buffer (a slow drain):
# without the fence it does, and GUP-fast keeps a pin on a page fork shares; with the default
# drain rate the count reaches memory in time even without the fence.
mmusim_expect_run(inject.skip_fork_seq_fence_R06
  ARGS "run;${PROJECT_SOURCE_DIR}/scenarios/races/R06_fork_seq_fence.scn;--set;store_buffer.drain_cycles=100000;--set;inject.skip_fork_seq_fence=1;--set;mm.check_invariants=0"
  EXIT 1 MATCH "wrong COW: the device through X read 1 but process P sees 2")
mmusim_expect_run(inject.skip_fork_seq_fence_fast_drain_R06
  ARGS "run;${PROJECT_SOURCE_DIR}/scenarios/races/R06_fork_seq_fence.scn;--set;inject.skip_fork_seq_fence=1"
  EXIT 0 MATCH "PASSED")

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

# Configuration files: applied before --set; errors name the file and line.
mmusim_expect_run(cli.config_file
  ARGS "run;--config;${PROJECT_SOURCE_DIR}/testbench/tests/config/small_tlb.cfg;--json;${CMAKE_CURRENT_BINARY_DIR}/cfg_stats.json"
  EXIT 0 MATCH "PASSED")
mmusim_expect_run(cli.config_file_bad_key
  ARGS "run;--config;${PROJECT_SOURCE_DIR}/testbench/tests/config/bad_key.cfg"
  EXIT 2 MATCH "bad_key.cfg:2: error: dtlb.colour: unknown parameter")
mmusim_expect_run(cli.config_dump ARGS "config;--dump" EXIT 0 MATCH "stlb.array0.page_sizes = 4k\\+2m")
mmusim_expect_run(cli.bad_enum ARGS "run;--set;dtlb.replacement=fifo" EXIT 2 MATCH "'fifo' is not one of lru\\|plru\\|random")
mmusim_expect_run(cli.plru_needs_power_of_two
  ARGS "run;--set;dtlb.replacement=plru;--set;dtlb.array0.ways=3;--set;dtlb.array0.entries=12" EXIT 2
  MATCH "dtlb.array0")

# Calibration (docs/calibration.md): the defaults fall within every accepted range; a
# miscalibrated IPI delivery cost is reported out of range (exit 1); bad settings are input errors.
mmusim_expect_run(calibrate.quick_in_range
  ARGS "calibrate;--quick;--jobs;2;--out;${PROJECT_BINARY_DIR}/calibration_quick.md" EXIT 0
  MATCH "Classic fork, per GiB[^\n]*in range")
mmusim_expect_run(calibrate.detects_miscalibration
  ARGS "calibrate;--quick;--jobs;2;--set;interconnect.ipi_delivery_cycles=30000" EXIT 1
  MATCH "Shootdown to one remote core[^\n]*OUT OF RANGE")
mmusim_expect_run(calibrate.bad_setting
  ARGS "calibrate;--quick;--set;no.such=1" EXIT 2 MATCH "unknown parameter")
