# Helpers for registering tests.
#
# shbuf_add_backend_test(NAME <name> COMMAND <cmd...> [LABELS <l...>] [TIMEOUT <s>]
#                        [ENVIRONMENT <k=v...>] [WORKING_DIRECTORY <dir>] [GC])
#
# Registers the test once per compiled backend as <name>__<backend>, with
# SHBUF_BACKEND=<backend> in its environment and the backend's name as an
# extra label (libevent's per-backend registrations). Every backend-neutral
# test goes through this.
#
# GC: the test calls shbuf_gc() (or `shbuf gc`), which removes every stale
# buffer of the machine, or leaves a stale buffer behind for a moment and
# expects it there. Such tests never run at the same time as each other.
# Where every test process records the pids and keys it used, for the leak
# check around the whole suite (tests/ipc-leak-check.sh). Both helpers below
# put it into the environment of every test they register.
set(SHBUF_TEST_LOG ${CMAKE_BINARY_DIR}/tests/ipc-test.log)

function(shbuf_add_backend_test)
  cmake_parse_arguments(T "GC" "NAME;TIMEOUT;WORKING_DIRECTORY" "COMMAND;LABELS;ENVIRONMENT" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  if(NOT T_WORKING_DIRECTORY)
    set(T_WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  foreach(backend IN LISTS SHBUF_BACKENDS)
    add_test(NAME ${T_NAME}__${backend} COMMAND ${T_COMMAND} WORKING_DIRECTORY ${T_WORKING_DIRECTORY})
    set_tests_properties(${T_NAME}__${backend} PROPERTIES
      ENVIRONMENT "SHBUF_BACKEND=${backend};SHBUF_TEST_LOG=${SHBUF_TEST_LOG};${T_ENVIRONMENT}"
      LABELS "${backend};${T_LABELS}"
      TIMEOUT ${T_TIMEOUT}
      FIXTURES_REQUIRED shbuf_ipc)
    if(T_GC)
      set_tests_properties(${T_NAME}__${backend} PROPERTIES RESOURCE_LOCK shbuf_gc)
    endif()
  endforeach()
endfunction()

# shbuf_add_test(NAME <name> COMMAND <cmd...> [LABELS ...] [TIMEOUT s] [ENVIRONMENT ...] [GC])
# A test that is not backend-neutral (or that loops over backends itself).
function(shbuf_add_test)
  cmake_parse_arguments(T "GC" "NAME;TIMEOUT;WORKING_DIRECTORY" "COMMAND;LABELS;ENVIRONMENT" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  if(NOT T_WORKING_DIRECTORY)
    set(T_WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND} WORKING_DIRECTORY ${T_WORKING_DIRECTORY})
  set_tests_properties(${T_NAME} PROPERTIES
    ENVIRONMENT "SHBUF_TEST_LOG=${SHBUF_TEST_LOG};${T_ENVIRONMENT}"
    LABELS "${T_LABELS}"
    TIMEOUT ${T_TIMEOUT}
    FIXTURES_REQUIRED shbuf_ipc)
  if(T_GC)
    set_tests_properties(${T_NAME} PROPERTIES RESOURCE_LOCK shbuf_gc)
  endif()
endfunction()
