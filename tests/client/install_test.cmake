# Installs the build tree into a temporary prefix, builds consumer/ against the
# installed package with find_package(vemakin), and runs it.
# Then builds tests/embedding/c_api_test.c with `pkg-config --cflags --libs
# vemakin` of the installed tree and runs it (offline).
# -DBUILD_DIR=<build tree> -DSOURCE_DIR=<tests/client> -DWORK_DIR=<scratch>
# -DC_TEST_SOURCE=<tests/embedding/c_api_test.c>
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/consumer -B ${WORK_DIR}/build
  -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc
  OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed:\n${out}\n${err}")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer ${WORK_DIR}/consumer.db RESULT_VARIABLE rc
  OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "shots: 1\n")
  message(FATAL_ERROR "the consumer failed (${rc}): ${out}")
endif()
message(STATUS "consumer built against the installed package: ${out}")

# The C API through pkg-config, as a C application builds against it: the
# flags come from the installed vemakin.pc alone (relocated with the prefix).
file(GLOB_RECURSE pc_file ${WORK_DIR}/prefix/*/vemakin.pc)
if(NOT pc_file)
  message(FATAL_ERROR "vemakin.pc was not installed")
endif()
get_filename_component(pc_dir ${pc_file} DIRECTORY)
execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir}
  pkg-config --cflags --libs vemakin
  RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs vemakin failed: ${err}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND cc -std=c11 -Wall -Werror ${C_TEST_SOURCE} -o ${WORK_DIR}/c_api_test
  ${flags} -lpthread RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the C program with pkg-config's flags (${flags}) failed:\n${err}")
endif()
get_filename_component(lib_dir ${pc_dir} DIRECTORY)
file(MAKE_DIRECTORY ${WORK_DIR}/c-store)
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${lib_dir}
  ${WORK_DIR}/c_api_test ${WORK_DIR}/c-store RESULT_VARIABLE rc OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^ok: ")
  message(FATAL_ERROR "the C program failed (${rc}): ${out}${err}")
endif()
message(STATUS "C program built with pkg-config against the installed library: ${out}")
file(REMOVE_RECURSE ${WORK_DIR})
