# HC_SANITIZE=ON builds everything with ASan + UBSan; any report aborts the test.
option(HC_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(HC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Fuzz builds instrument the whole library for coverage, not only the targets.
if(HC_BUILD_FUZZERS)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
