# test_snap_threads: model/snap_threads (per-thread tbs merged, splits, totals,
# filter).
pytm_add_unit_test(NAME test_snap_threads
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_snap_threads.c
          ${PROJECT_SOURCE_DIR}/tests/unit/snap_testlib.c
  LIBS pytm_model)
target_compile_options(test_snap_threads PRIVATE -Wall -Wextra)
