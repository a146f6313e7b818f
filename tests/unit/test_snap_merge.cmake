# test_snap_merge: model/snap_merge (a process tree's snapshots merged
# into one, with and without the per-process split).
pytm_add_unit_test(NAME test_snap_merge
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_snap_merge.c
          ${PROJECT_SOURCE_DIR}/tests/unit/snap_testlib.c
  LIBS pytm_model)
target_compile_options(test_snap_merge PRIVATE -Wall -Wextra)
