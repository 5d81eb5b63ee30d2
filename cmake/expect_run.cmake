# Runs ${MMUSIM} with the ;-list ${ARGS}; fails unless it exits with ${EXIT} and its combined
# output matches the regular expression ${MATCH}.
execute_process(COMMAND ${MMUSIM} ${ARGS} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(NOT code EQUAL EXIT)
  message(FATAL_ERROR "exit code ${code}, expected ${EXIT}\n${all}")
endif()
if(NOT all MATCHES "${MATCH}")
  message(FATAL_ERROR "output does not match '${MATCH}':\n${all}")
endif()
message(STATUS "ok: exit ${code}, matched '${MATCH}'")
