# Every target in the tree builds warning-free under these flags.
set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS ON)
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes
                    -Wstrict-prototypes -Wno-unused-parameter -fno-strict-aliasing)
add_compile_definitions(_GNU_SOURCE)
