# test_arena: shm/arena (the writer). Links only the shm library.
pytm_add_unit_test(NAME test_arena
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_arena.c
          ${PROJECT_SOURCE_DIR}/tests/unit/test_arena_mt.c
          ${PROJECT_SOURCE_DIR}/tests/unit/test_arena_splits.c
  LIBS pytm_shm)
target_compile_options(test_arena PRIVATE -Wall -Wextra)
