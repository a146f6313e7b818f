# test_snapfilter: recorder/snapfilter (tracemalloc's filter_traces rules
# on a struct pytm_snap, plain C).
pytm_add_unit_test(NAME test_snapfilter
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_snapfilter.c
          ${PROJECT_SOURCE_DIR}/recorder/snapfilter.c
  LIBS pytm_shm)
target_include_directories(test_snapfilter PRIVATE ${PROJECT_SOURCE_DIR}/recorder)
target_compile_options(test_snapfilter PRIVATE -Wall -Wextra)
