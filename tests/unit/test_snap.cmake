# test_snap: model/snap (snapshot model: builders, validate, copy,
# aggregate_traces).
pytm_add_unit_test(NAME test_snap
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_snap.c
  LIBS pytm_model)
target_compile_options(test_snap PRIVATE -Wall -Wextra)
