# test_reader: shm/reader (attach, validation, snapshot, list, clean).
pytm_add_unit_test(NAME test_reader
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_reader.c
          ${PROJECT_SOURCE_DIR}/tests/unit/test_reader_corrupt.c
  LIBS pytm_shm)
target_compile_options(test_reader PRIVATE -Wall -Wextra)
