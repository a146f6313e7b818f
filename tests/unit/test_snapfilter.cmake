# test_snapfilter: model/snapfilter (tracemalloc's filter_traces rules
# on a struct pytm_snap, plain C).
pytm_add_unit_test(NAME test_snapfilter
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_snapfilter.c
  LIBS pytm_model)
target_compile_options(test_snapfilter PRIVATE -Wall -Wextra)
