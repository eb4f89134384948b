# Helpers shared by the folder CMakeLists.

# finsam_embed(OUT_C SYMBOL FILE): generate a C file defining
#   const unsigned char SYMBOL[]; const size_t SYMBOL_len;
# from FILE, regenerated when FILE changes.
function(finsam_embed out_c symbol file)
  add_custom_command(
    OUTPUT ${out_c}
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out_c} -DSYM=${symbol}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${file} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${file}")
endfunction()

# finsam_test(NAME SOURCES... [LIBS ...] [TIMEOUT s]): a C test binary
# registered with ctest, run from the build tree.
function(finsam_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "LIBS" ${ARGN})
  add_executable(${name} ${T_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE finsam_testutil ${T_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "FINSAM_BIN=${CMAKE_BINARY_DIR}/bin;FINSAM_SRC=${PROJECT_SOURCE_DIR}")
endfunction()
