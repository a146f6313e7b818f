# test_sampler: recorder/core/sampler (Poisson-by-bytes sampler), compiled in
# directly so the test needs neither Python nor the extension.
pytm_add_unit_test(NAME test_sampler
  SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_sampler.c
          ${PROJECT_SOURCE_DIR}/recorder/core/sampler.c
  LIBS m)
target_compile_options(test_sampler PRIVATE -Wall -Wextra)
