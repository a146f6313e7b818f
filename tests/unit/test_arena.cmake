# test_arena: shm/arena (the writer). Links only the shm library.
pytm_add_unit_test(NAME test_arena
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_arena.c
          ${PROJECT_SOURCE_DIR}/tests/unit/test_arena_mt.c
          ${PROJECT_SOURCE_DIR}/tests/unit/test_arena_splits.c
          ${PROJECT_SOURCE_DIR}/tests/unit/test_arena_backing.c
  LIBS pytm_shm
  WRAP posix_fallocate) # test_arena_backing.c fails it on demand
target_compile_options(test_arena PRIVATE -Wall -Wextra)
