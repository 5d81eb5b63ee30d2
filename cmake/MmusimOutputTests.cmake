# Outputs, plots, sweeps and the cow suite (docs/stats.md, docs/plots.md, docs/sweeps.md): the
# files exist, parse and hold what they must. Checks run testbench/tests/outputs/check_outputs.py
# with MMUSIM_CHECK_PYTHON (standard library only); plot checks need MMUSIM_PLOT_PYTHON
# (matplotlib) and are skipped, saying so, without it.

set(MMUSIM_OUT ${CMAKE_CURRENT_BINARY_DIR}/outputs)
set(MMUSIM_CHECK ${PROJECT_SOURCE_DIR}/testbench/tests/outputs/check_outputs.py)
set(MMUSIM_A03 ${PROJECT_SOURCE_DIR}/scenarios/spec/A03.scn)
set(MMUSIM_R02 ${PROJECT_SOURCE_DIR}/scenarios/races/R02_T4.scn)
file(MAKE_DIRECTORY ${MMUSIM_OUT})

# mmusim_output_test(NAME NEEDS python|plot COMMAND ... [DEPENDS test...])
function(mmusim_output_test name)
  cmake_parse_arguments(ARG "" "NEEDS" "COMMAND;DEPENDS" ${ARGN})
  set(missing "")
  if(ARG_NEEDS STREQUAL "python" AND NOT MMUSIM_CHECK_PYTHON)
    set(missing "no python3 found")
  elseif(ARG_NEEDS STREQUAL "plot" AND NOT MMUSIM_PLOT_PYTHON)
    set(missing "no python3 with matplotlib found (install python3-matplotlib: scripts/setup.sh)")
  endif()
  if(missing)
    add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -E echo "skipped: ${missing}")
    set_tests_properties(${name} PROPERTIES SKIP_REGULAR_EXPRESSION "skipped:")
    return()
  endif()
  add_test(NAME ${name} COMMAND ${ARG_COMMAND})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120)
  if(ARG_DEPENDS)
    set_tests_properties(${name} PROPERTIES DEPENDS "${ARG_DEPENDS}")
  endif()
endfunction()

# mmusim run --csv / --json: written, parsed, deterministic (two runs, identical bytes).
mmusim_expect_run(outputs.run_a03
  ARGS "run;${MMUSIM_A03};--csv;${MMUSIM_OUT}/a03.csv;--json;${MMUSIM_OUT}/a03.json" EXIT 0 MATCH "PASSED")
mmusim_expect_run(outputs.run_a03_again
  ARGS "run;${MMUSIM_A03};--csv;${MMUSIM_OUT}/a03_again.csv;--json;${MMUSIM_OUT}/a03_again.json" EXIT 0 MATCH "PASSED")
mmusim_output_test(outputs.csv_parses NEEDS python DEPENDS outputs.run_a03
  COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} run-csv ${MMUSIM_OUT}/a03.csv)
mmusim_output_test(outputs.json_v2 NEEDS python DEPENDS outputs.run_a03
  COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} run-json ${MMUSIM_OUT}/a03.json)
add_test(NAME outputs.csv_json_deterministic
  COMMAND ${CMAKE_COMMAND} -E compare_files ${MMUSIM_OUT}/a03.csv ${MMUSIM_OUT}/a03_again.csv)
add_test(NAME outputs.json_deterministic
  COMMAND ${CMAKE_COMMAND} -E compare_files ${MMUSIM_OUT}/a03.json ${MMUSIM_OUT}/a03_again.json)
set_tests_properties(outputs.csv_json_deterministic outputs.json_deterministic
  PROPERTIES DEPENDS "outputs.run_a03;outputs.run_a03_again")
# An output file that cannot be written is bad input found before the run: the error is the
# first thing printed.
mmusim_expect_run(outputs.csv_unwritable ARGS "run;--csv;/nonexistent/dir/x.csv"
  EXIT 2 MATCH "^--csv: /nonexistent/dir/x.csv: no directory /nonexistent/dir\n")
mmusim_expect_run(outputs.json_is_a_directory ARGS "run;${MMUSIM_A03};--json;${MMUSIM_OUT}"
  EXIT 2 MATCH "^--json: [^\n]*outputs: is a directory\n")
mmusim_expect_run(outputs.workload_table_unwritable
  ARGS "workload;page_fault1;--size;4p;--table-csv;/nonexistent/t.csv"
  EXIT 2 MATCH "^--table-csv: /nonexistent/t.csv: no directory /nonexistent\n")

# Plots: a latency CDF of two runs (faults and flushes, a shootdown in R02_T4); PNG and SVG,
# twice, byte-identical.
mmusim_expect_run(outputs.run_r02 ARGS "run;${MMUSIM_R02};--json;${MMUSIM_OUT}/r02.json" EXIT 0 MATCH "PASSED")
foreach(n 1 2)
  mmusim_output_test(plots.cdf_${n} NEEDS plot DEPENDS "outputs.run_a03;outputs.run_r02"
    COMMAND mmusim plot cdf ${MMUSIM_OUT}/a03.json ${MMUSIM_OUT}/r02.json -o ${MMUSIM_OUT}/cdf_${n})
endforeach()
mmusim_output_test(plots.cdf_files NEEDS plot DEPENDS plots.cdf_1
  COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} png ${MMUSIM_OUT}/cdf_1.png)
mmusim_output_test(plots.cdf_svg NEEDS plot DEPENDS plots.cdf_1
  COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} svg ${MMUSIM_OUT}/cdf_1.svg)
foreach(ext png svg)
  mmusim_output_test(plots.cdf_deterministic_${ext} NEEDS plot DEPENDS "plots.cdf_1;plots.cdf_2"
    COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} same ${MMUSIM_OUT}/cdf_1.${ext} ${MMUSIM_OUT}/cdf_2.${ext})
endforeach()
mmusim_expect_run(plots.no_python
  ARGS "plot;cdf;x.json;-o;x" EXIT 2 MATCH "/nonexistent/python3 .the python for plots, from MMUSIM_PYTHON. is not an executable")
set_tests_properties(plots.no_python PROPERTIES ENVIRONMENT MMUSIM_PYTHON=/nonexistent/python3)
if(MMUSIM_PLOT_PYTHON)
  mmusim_expect_run(plots.bad_column
    ARGS "plot;xy;${PROJECT_SOURCE_DIR}/testbench/tests/outputs/table.csv;--x;size;--y;bogus;-o;${MMUSIM_OUT}/bad"
    EXIT 2 MATCH "no column 'bogus' .columns: size, latency, cores.")
else()
  mmusim_output_test(plots.bad_column NEEDS plot)
endif()
mmusim_output_test(plots.xy NEEDS plot
  COMMAND mmusim plot xy ${PROJECT_SOURCE_DIR}/testbench/tests/outputs/table.csv --x size --y latency
          --series cores --logx -o ${MMUSIM_OUT}/xy.svg)
mmusim_output_test(plots.xy_svg NEEDS plot DEPENDS plots.xy
  COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} svg ${MMUSIM_OUT}/xy.svg)

# Sweeps: a 2x2 grid on a small scenario (4 rows and a plot); the Slurm array run by hand.
mmusim_output_test(sweep.grid_2x2 NEEDS plot
  COMMAND mmusim sweep --grid memory.read_cycles=50,100 --grid dtlb.array0.entries=16,64 --jobs 2
          --out ${MMUSIM_OUT}/sweep_2x2 -- run ${MMUSIM_A03})
mmusim_output_test(sweep.grid_2x2_table NEEDS plot DEPENDS sweep.grid_2x2
  COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} sweep ${MMUSIM_OUT}/sweep_2x2 4 memory.read_cycles dtlb.array0.entries)
mmusim_output_test(sweep.slurm_fake_array NEEDS python
  COMMAND bash ${PROJECT_SOURCE_DIR}/testbench/tests/outputs/slurm_fake_array.sh $<TARGET_FILE:mmusim> ${MMUSIM_A03}
          ${MMUSIM_OUT}/slurm)
mmusim_expect_run(sweep.failed_point_is_a_row
  ARGS "sweep;--grid;dtlb.array0.ways=4,3;--no-plot;--out;${MMUSIM_OUT}/sweep_fail;--;run;${MMUSIM_A03}"
  EXIT 1 MATCH "0 +4 +0 +[0-9]+.*1 +3 +2.*sweep: 2 points, 1 failed")
mmusim_expect_run(sweep.option_key
  ARGS "sweep;--grid=--trace=false,true;--metric;result.passed;--no-plot;--out;${MMUSIM_OUT}/sweep_option;--;run;${MMUSIM_A03}"
  EXIT 0 MATCH "point +--trace +status +result.passed\n +0 +false +0 +true\n +1 +true +0 +true")
mmusim_expect_run(sweep.unknown_key
  ARGS "sweep;--grid;dtlb.colour=1,2;--out;${MMUSIM_OUT}/sweep_bad;--;run;${MMUSIM_A03}"
  EXIT 2 MATCH "--grid dtlb.colour: unknown grid key or bad value: --set dtlb.colour: unknown parameter")
mmusim_expect_run(sweep.unknown_option_key
  ARGS "sweep;--grid=--cores=1,2;--out;${MMUSIM_OUT}/sweep_bad;--;run;${MMUSIM_A03}"
  EXIT 2 MATCH "--grid --cores: unknown grid key: not an option of `mmusim run`")
mmusim_expect_run(sweep.empty_grid
  ARGS "sweep;--grid;dtlb.array0.entries=;--out;${MMUSIM_OUT}/sweep_bad;--;run;${MMUSIM_A03}"
  EXIT 2 MATCH "empty grid: no values for dtlb.array0.entries")
mmusim_expect_run(sweep.no_grid ARGS "sweep;--out;${MMUSIM_OUT}/sweep_bad;--;run;${MMUSIM_A03}"
  EXIT 2 MATCH "empty grid: give at least one --grid")
mmusim_expect_run(sweep.unwritable_dir
  ARGS "sweep;--grid;dtlb.array0.entries=16;--out;/proc/mmusim/sweep;--;run;${MMUSIM_A03}"
  EXIT 2 MATCH "--out /proc/mmusim/sweep: cannot create the directory")
mmusim_expect_run(sweep.unknown_metric
  ARGS "sweep;--grid;dtlb.array0.entries=16;--metric;tb.faults.bogus.p50;--no-plot;--out;${MMUSIM_OUT}/sweep_metric;--;run;${MMUSIM_A03}"
  EXIT 2 MATCH "--metric tb.faults.bogus.p50: no point's statistics declare it")
mmusim_expect_run(sweep.not_a_json_command
  ARGS "sweep;--grid;dtlb.array0.entries=16;--out;${MMUSIM_OUT}/sweep_bad;--;config"
  EXIT 2 MATCH "cannot sweep `config`")

# The cow suite: a folder with passing, known-bad, Run-with and failing scenarios (exit 1), and
# the whole scenarios/ folder (exit 0, every scenario passes).
mmusim_output_test(cow.small_folder NEEDS python
  COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} cow $<TARGET_FILE:mmusim>
          ${PROJECT_SOURCE_DIR}/testbench/tests/cow ${MMUSIM_OUT})
mmusim_expect_run(cow.scenarios ARGS "cow;--jobs;2" EXIT 0
  MATCH "spec/C07 +L2 +pass .*cow: [0-9]+ scenarios: [0-9]+ passed .2 known-bad reproduced., 0 FAILED")
mmusim_expect_run(cow.missing_path ARGS "cow;/nonexistent/scenarios" EXIT 2 MATCH "/nonexistent/scenarios: no such file or folder")

# The plots issue 5 names, from the built-in workloads at small sizes: latency CDFs per kind
# (faults of page_fault1 and cow_parent_write), shootdown latency against target cores (a sweep
# over --cores), fork latency against populated size (the fork workload's table).
mmusim_expect_run(plots.workload_page_fault1
  ARGS "workload;page_fault1;--size;64p;--json;${MMUSIM_OUT}/wl_pf.json" EXIT 0 MATCH "missing")
mmusim_expect_run(plots.workload_cow
  ARGS "workload;cow_parent_write;--size;64p;--json;${MMUSIM_OUT}/wl_cow.json" EXIT 0 MATCH "wp_copy")
mmusim_output_test(plots.workload_cdf NEEDS plot DEPENDS "plots.workload_page_fault1;plots.workload_cow"
  COMMAND mmusim plot cdf ${MMUSIM_OUT}/wl_pf.json ${MMUSIM_OUT}/wl_cow.json -o ${MMUSIM_OUT}/workload_cdf)
foreach(ext png svg)
  mmusim_output_test(plots.workload_cdf_${ext} NEEDS plot DEPENDS plots.workload_cdf
    COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} ${ext} ${MMUSIM_OUT}/workload_cdf.${ext})
endforeach()
mmusim_output_test(plots.shootdown_vs_cores NEEDS plot
  COMMAND mmusim sweep --grid=--cores=2,3,5 --metric tb.flush.shootdown.latency.p50 --metric result.cycles --jobs 2
          --out ${MMUSIM_OUT}/sweep_shootdown -- workload mprotect --size 1p)
mmusim_output_test(plots.shootdown_vs_cores_table NEEDS plot DEPENDS plots.shootdown_vs_cores
  COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} sweep ${MMUSIM_OUT}/sweep_shootdown 3 --cores)
mmusim_expect_run(plots.workload_fork
  ARGS "workload;fork;--size;4M,8M,16M;--table-csv;${MMUSIM_OUT}/fork.csv" EXIT 0 MATCH "16M")
mmusim_output_test(plots.fork_vs_size NEEDS plot DEPENDS plots.workload_fork
  COMMAND mmusim plot xy ${MMUSIM_OUT}/fork.csv --x pages --y fork -o ${MMUSIM_OUT}/fork_vs_size)
foreach(ext png svg)
  mmusim_output_test(plots.fork_vs_size_${ext} NEEDS plot DEPENDS plots.fork_vs_size
    COMMAND ${MMUSIM_CHECK_PYTHON} ${MMUSIM_CHECK} ${ext} ${MMUSIM_OUT}/fork_vs_size.${ext})
endforeach()
