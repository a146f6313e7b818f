# test_model: tui/model (grouping, cumulative, diff, sort, filter) on
# hand-built snapshots. Only built with the viewer (PYTM_BUILD_TUI).
if(TARGET pytm_model)
  pytm_add_unit_test(NAME test_model
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_model.c
    LIBS pytm_model)
  target_compile_options(test_model PRIVATE -Wall -Wextra)
endif()
