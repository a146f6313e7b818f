# test_reader: shm/reader (attach, validation, snapshot, list, clean).
pytm_add_unit_test(NAME test_reader
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_reader.c
          ${PROJECT_SOURCE_DIR}/tests/unit/test_reader_corrupt.c
          ${PROJECT_SOURCE_DIR}/tests/unit/test_reader_holes.c
  LIBS pytm_shm
  WRAP lseek) # test_reader_holes.c: a file system without SEEK_HOLE
target_compile_options(test_reader PRIVATE -Wall -Wextra)
