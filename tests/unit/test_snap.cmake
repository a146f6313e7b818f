# test_snap: shm/snap (snapshot model: builders, validate, copy,
# aggregate_traces).
pytm_add_unit_test(NAME test_snap
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_snap.c
  LIBS pytm_shm)
target_compile_options(test_snap PRIVATE -Wall -Wextra)
