# CTest fixtures "moto" and "s3rver": real S3-compatible servers on 127.0.0.1 for the tests.
#
# Include this file from any test folder (it registers the fixture tests once, however often it
# is included), then give the tests that need a server the fixture and the environment variable
# that tells them where its port is written:
#
#   include(${LTXVFS_HARNESS_DIR}/fixtures.cmake)
#   ltxvfs_discover_server_tests(my_tests moto   TEST_SPEC "[moto]"   TEST_PREFIX "vfs.")
#   ltxvfs_discover_server_tests(my_tests s3rver TEST_SPEC "[s3rver]" TEST_PREFIX "vfs.")
#
# or, for a plain add_test():
#
#   set_tests_properties(my_test PROPERTIES FIXTURES_REQUIRED moto
#                        ENVIRONMENT "${LTXVFS_TEST_SERVERS_ENV}")
#
# In C++ tests, tests/harness/s3_test_server.h finds the server and makes a fresh bucket.
include_guard(GLOBAL)

# The Python that has moto (pyenv shims are resolved to the real interpreter, so that the
# server's watchdog watches ctest and not a shim).
if(NOT LTXVFS_PYTHON3)
  find_program(_ltxvfs_python3 NAMES python3 REQUIRED)
  execute_process(COMMAND ${_ltxvfs_python3} -c "import sys; print(sys.executable)"
                  OUTPUT_VARIABLE _ltxvfs_python3_real OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(LTXVFS_PYTHON3 "${_ltxvfs_python3_real}" CACHE FILEPATH "Python 3 with moto, for the test servers")
endif()
find_program(LTXVFS_NODE NAMES node nodejs DOC "Node.js, for the s3rver test server")
if(NOT LTXVFS_NODE)
  set(LTXVFS_NODE "")  # the s3rver fixture then fails with "run bash scripts/setup.sh --tests"
endif()

set(LTXVFS_TEST_SERVERS_DIR "${CMAKE_BINARY_DIR}/test-servers" CACHE INTERNAL
    "Where the test servers write their port, pid and log files")
set(LTXVFS_TEST_SERVERS_ENV "LTXVFS_TEST_SERVERS_DIR=${LTXVFS_TEST_SERVERS_DIR}" CACHE INTERNAL
    "ENVIRONMENT property for tests that use the moto or s3rver fixture")

set(_ltxvfs_server_ctl ${CMAKE_CURRENT_LIST_DIR}/server_ctl.py)
foreach(_server moto s3rver)
  set(_extra "")
  if(_server STREQUAL "s3rver")
    set(_extra --node "${LTXVFS_NODE}" --node-prefix "${LTXVFS_NODE_PREFIX}")
  endif()
  add_test(NAME harness.${_server}.start
           COMMAND ${LTXVFS_PYTHON3} ${_ltxvfs_server_ctl} start ${_server}
                   --state-dir ${LTXVFS_TEST_SERVERS_DIR} ${_extra})
  set_tests_properties(harness.${_server}.start PROPERTIES FIXTURES_SETUP ${_server} TIMEOUT 60
                       LABELS harness)
  add_test(NAME harness.${_server}.stop
           COMMAND ${LTXVFS_PYTHON3} ${_ltxvfs_server_ctl} stop ${_server}
                   --state-dir ${LTXVFS_TEST_SERVERS_DIR})
  set_tests_properties(harness.${_server}.stop PROPERTIES FIXTURES_CLEANUP ${_server} TIMEOUT 30
                       LABELS harness)
endforeach()

# ltxvfs_discover_server_tests(<target> <moto|s3rver> [catch_discover_tests options...])
# catch_discover_tests with the fixture and the environment the tests need to find the server.
function(ltxvfs_discover_server_tests target server)
  ltxvfs_discover_tests(${target} ${ARGN}
                       PROPERTIES FIXTURES_REQUIRED ${server}
                                  ENVIRONMENT "${LTXVFS_TEST_SERVERS_ENV}"
                                  LABELS ${server})
endfunction()
