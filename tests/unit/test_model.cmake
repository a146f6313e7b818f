# test_model: model/ (grouping, cumulative, diff, sort, filter) on
# hand-built snapshots. Links only the model library: built and run
# whatever else is (PYTM_BUILD_TUI and PYTM_BUILD_EXTENSION off too).
pytm_add_unit_test(NAME test_model
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_model.c
          ${PROJECT_SOURCE_DIR}/tests/unit/snap_testlib.c
  LIBS pytm_model)
target_compile_options(test_model PRIVATE -Wall -Wextra)
# pytm_bench_model --check (bench/model/bench_model.c): the api, full and top
# refresh paths give the same leading rows for every view and size up to
# 100k tracebacks (about 1 s; no timing is judged).
if(TARGET pytm_bench_model)
  add_test(NAME bench_model_check COMMAND pytm_bench_model --check)
  set_tests_properties(bench_model_check PROPERTIES LABELS unit TIMEOUT 120)
endif()
