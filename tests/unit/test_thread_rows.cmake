# test_thread_rows: model/thread_rows (one row per thread, diff by
# identity, orders, lookup by identity).
pytm_add_unit_test(NAME test_thread_rows
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_thread_rows.c
          ${PROJECT_SOURCE_DIR}/tests/unit/snap_testlib.c
  LIBS pytm_model)
target_compile_options(test_thread_rows PRIVATE -Wall -Wextra)
