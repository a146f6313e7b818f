# test_tables: recorder/core/tables (trace table, caches, filters), compiled in
# directly: plain C, no Python needed.
pytm_add_unit_test(NAME test_tables
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_tables.c
          ${PROJECT_SOURCE_DIR}/recorder/core/tables.c
          ${PROJECT_SOURCE_DIR}/recorder/core/tables_cache.c
  LIBS pytm_model)
target_include_directories(test_tables PRIVATE ${PROJECT_SOURCE_DIR}/recorder/core)
target_compile_options(test_tables PRIVATE -Wall -Wextra)
