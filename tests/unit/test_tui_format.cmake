# test_tui_format: pytmtop's curses-free helpers (tui/format.c sizes and
# truncation, tui/sparkline.c). Only built with the viewer.
if(TARGET pytmtop)
  pytm_add_unit_test(NAME test_tui_format
    SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_tui_format.c
            ${PROJECT_SOURCE_DIR}/tui/format.c
            ${PROJECT_SOURCE_DIR}/tui/sparkline.c
    LIBS pytm_model)
  target_compile_options(test_tui_format PRIVATE -Wall -Wextra)
endif()
