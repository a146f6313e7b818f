# The .pytm dump format (dump/dump_read.c, dump/dump_write.c).
#   test_dump          round trips, 1M-trace timing, compatibility window,
#                      golden files, fuzz regressions + seed corpus
#   test_dump_corrupt  every malformed input rejected; allocation bound
#                      checked by wrapping malloc/calloc/realloc
#   pytm_dump_gen      text description -> .pytm (makes tests/golden/)
pytm_add_unit_test(NAME test_dump
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dump.c
          ${CMAKE_CURRENT_LIST_DIR}/dump_testlib.c
  LIBS pytm_dump)
target_compile_definitions(test_dump PRIVATE
  PYTM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_compile_options(test_dump PRIVATE -Wall -Wextra)

pytm_add_unit_test(NAME test_dump_corrupt
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dump_corrupt.c
          ${CMAKE_CURRENT_LIST_DIR}/dump_testlib.c
  LIBS pytm_dump
  WRAP malloc calloc realloc)
target_compile_options(test_dump_corrupt PRIVATE -Wall -Wextra)

add_executable(pytm_dump_gen ${PROJECT_SOURCE_DIR}/tests/tools/pytm_dump_gen.c)
target_link_libraries(pytm_dump_gen PRIVATE pytm_dump)
target_compile_options(pytm_dump_gen PRIVATE -Wall -Wextra)
