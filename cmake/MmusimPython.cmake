# The Python that draws plots (scripts/mmusim_plot.py): a python3 that can import matplotlib,
# Debian's /usr/bin/python3 first (python3-matplotlib is Debian's package; a python3 earlier on
# PATH, e.g. a pyenv shim, may lack it). Set MMUSIM_PLOT_PYTHON to choose another; at run time
# the environment variable MMUSIM_PYTHON overrides it.
#   MMUSIM_PLOT_PYTHON   python3 with matplotlib, or empty (plots report what is missing)
#   MMUSIM_CHECK_PYTHON  any python3 (the tests' output checkers need only its standard library)
find_program(MMUSIM_SYSTEM_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
find_program(MMUSIM_PATH_PYTHON3 NAMES python3)
set(_mmusim_pythons ${MMUSIM_SYSTEM_PYTHON3} ${MMUSIM_PATH_PYTHON3})
list(FILTER _mmusim_pythons EXCLUDE REGEX "NOTFOUND$")

if(NOT MMUSIM_PLOT_PYTHON)
  foreach(candidate ${_mmusim_pythons})
    execute_process(COMMAND ${candidate} -c "import matplotlib" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
    if(rc EQUAL 0)
      set(MMUSIM_PLOT_PYTHON ${candidate} CACHE FILEPATH "python3 with matplotlib for plots" FORCE)
      break()
    endif()
  endforeach()
endif()
if(MMUSIM_PLOT_PYTHON)
  message(STATUS "Plots: ${MMUSIM_PLOT_PYTHON} (imports matplotlib)")
else()
  message(STATUS "Plots: no python3 with matplotlib found (install python3-matplotlib, scripts/setup.sh); "
                 "mmusim plot will say so and plot tests are skipped")
endif()

set(MMUSIM_CHECK_PYTHON "")
if(_mmusim_pythons)
  list(GET _mmusim_pythons 0 MMUSIM_CHECK_PYTHON)
endif()
if(MMUSIM_PLOT_PYTHON)
  set(MMUSIM_CHECK_PYTHON ${MMUSIM_PLOT_PYTHON})
endif()
