# Toolchain for the Windows build: 64-bit mingw-w64 from Debian, run under Wine.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(PC_MINGW x86_64-w64-mingw32)

find_program(CMAKE_C_COMPILER NAMES ${PC_MINGW}-gcc REQUIRED)
find_program(CMAKE_CXX_COMPILER NAMES ${PC_MINGW}-g++)
find_program(CMAKE_RC_COMPILER NAMES ${PC_MINGW}-windres REQUIRED)
set(CMAKE_FIND_ROOT_PATH /usr/${PC_MINGW})

# Headers and libraries come only from the target tree (and the prefixes the
# caller adds with CMAKE_PREFIX_PATH); programs come from the host.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
