# test_attach: attach/ (ELF .dynsym lookup against real binaries, maps
# parsing, probe, and one real injection into a forked child). Links only
# the attach library.
pytm_add_unit_test(NAME test_attach
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_attach.c
  LIBS pytm_attach ${CMAKE_DL_LIBS})
target_include_directories(test_attach PRIVATE ${PROJECT_SOURCE_DIR}/attach)
target_compile_options(test_attach PRIVATE -Wall -Wextra)
