# The backends, from one list: the top CMakeLists.txt declares every backend
# the library knows with shbuf_backend(), in order of preference, then calls
# shbuf_backends_configure(), which makes everything else of it.
#
#   shbuf_backend(<name> ID <id> FOLDER <folder>
#                 NEEDS <header> <symbol>... [<header> <symbol>...]...
#                 [LIBRARIES <library>...])
#
# <name>      lower case, a C identifier: what shbuf_backends() and
#             SHBUF_BACKEND say; the folder defines shbuf__backend_<name>.
# ID          the number its buffers record in their control block, 1 to
#             254 (255 is the tests' in-memory backend); never reuse one,
#             not even one of a backend that was removed. The folder's code
#             gets it as SHBUF_BACKEND_ID_<name> from config.h.
# FOLDER      the backend's sources (every .c file in it), relative to the
#             top of the tree.
# NEEDS       what the system must have: headers (words ending in .h), each
#             followed by the functions and macros that must be declared in
#             it, checked with check_symbol_exists() and _GNU_SOURCE.
# LIBRARIES   where the C library lacks some of them, the libraries to look
#             in as well (and to link when they are found there).
#
# shbuf_backends_configure() then, for every backend of the list:
#
#  - checks what it needs, and declares the option SHBUF_WITH_<NAME>, ON by
#    default where the system has all of it; turning it ON where the system
#    lacks something fails, naming what is missing;
#  - sets SHBUF_BACKENDS (the backends built, in the list's order),
#    SHBUF_KNOWN_BACKENDS (all), SHBUF_BACKEND_SOURCES,
#    SHBUF_BACKEND_LIBRARIES and SHBUF_NEEDS_LIBRT;
#  - resolves SHBUF_DEFAULT_BACKEND: empty (the default) means the first
#    backend built; a name must be that of a backend built;
#  - sets SHBUF_CONFIG_BACKENDS, the lines of src/core/config.h that say
#    which backends are built, their ids, and which is the default;
#  - generates include/libshbuf/shbuf-backends.h in the build tree (from
#    shbuf-backends.h.in here; installed next to shbuf.h), which maps the
#    quote-free compile-time choice -DSHBUF_USE_BACKEND_<NAME> to
#    SHBUF_USE_BACKEND.
#
# The pkg-config modules shbuf-<name> (ShbufInstall.cmake), the CMake
# targets shbuf::<name> (shbufConfig.cmake.in) and the per-backend tests
# (ShbufTesting.cmake) all follow SHBUF_BACKENDS.
include(CheckSymbolExists)
include(CMakePushCheckState)

set(_SHBUF_BACKENDS_MODULE_DIR ${CMAKE_CURRENT_LIST_DIR})
set(SHBUF_KNOWN_BACKENDS "")

function(shbuf_backend name)
  cmake_parse_arguments(B "" "ID;FOLDER" "NEEDS;LIBRARIES" ${ARGN})
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "shbuf_backend(${name}): a backend's name is lower case letters, digits and _")
  endif()
  if(name IN_LIST SHBUF_KNOWN_BACKENDS)
    message(FATAL_ERROR "shbuf_backend(${name}): listed twice")
  endif()
  if(B_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "shbuf_backend(${name}): unknown arguments ${B_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT B_ID MATCHES "^[1-9][0-9]*$" OR B_ID GREATER 254)
    message(FATAL_ERROR "shbuf_backend(${name}): ID '${B_ID}' is not a number from 1 to 254")
  endif()
  foreach(other IN LISTS SHBUF_KNOWN_BACKENDS)
    if(SHBUF_BACKEND_${other}_ID EQUAL B_ID)
      message(FATAL_ERROR "shbuf_backend(${name}): ID ${B_ID} is that of ${other} already")
    endif()
  endforeach()
  if(NOT B_FOLDER OR NOT IS_DIRECTORY ${PROJECT_SOURCE_DIR}/${B_FOLDER})
    message(FATAL_ERROR "shbuf_backend(${name}): FOLDER '${B_FOLDER}' is no folder of the tree")
  endif()
  if(NOT B_NEEDS MATCHES "^[^;]*\\.h;")
    message(FATAL_ERROR "shbuf_backend(${name}): NEEDS starts with a header, then what it must declare")
  endif()
  set(SHBUF_KNOWN_BACKENDS ${SHBUF_KNOWN_BACKENDS} ${name} PARENT_SCOPE)
  set(SHBUF_BACKEND_${name}_ID ${B_ID} PARENT_SCOPE)
  set(SHBUF_BACKEND_${name}_FOLDER ${B_FOLDER} PARENT_SCOPE)
  set(SHBUF_BACKEND_${name}_NEEDS "${B_NEEDS}" PARENT_SCOPE)
  set(SHBUF_BACKEND_${name}_LIBRARIES "${B_LIBRARIES}" PARENT_SCOPE)
endfunction()

# _shbuf_lacking(<out> <suffix> <word:header>...): sets <out> to the items
# whose word <header> does not declare, with the check state of the caller
# (<suffix> names the cache variables of that state).
function(_shbuf_lacking out suffix)
  set(lacking "")
  foreach(item IN LISTS ARGN)
    string(REPLACE ":" ";" parts "${item}")
    list(GET parts 0 word)
    list(GET parts 1 header)
    string(MAKE_C_IDENTIFIER "SHBUF_SYSTEM_HAS_${word}${suffix}" var)
    check_symbol_exists(${word} ${header} ${var})
    if(NOT ${var})
      list(APPEND lacking "${item}")
    endif()
  endforeach()
  set(${out} "${lacking}" PARENT_SCOPE)
endfunction()

# _shbuf_backend_check(<name>): sets _missing (what the system lacks) and
# _libraries (what to link for the rest) in the caller.
function(_shbuf_backend_check name)
  set(needs "")
  foreach(word IN LISTS SHBUF_BACKEND_${name}_NEEDS)
    if(word MATCHES "\\.h$")
      set(header ${word})
    else()
      list(APPEND needs "${word}:${header}")
    endif()
  endforeach()
  cmake_push_check_state(RESET)
  set(CMAKE_REQUIRED_DEFINITIONS -D_GNU_SOURCE)
  set(CMAKE_REQUIRED_QUIET ON)
  _shbuf_lacking(missing "" ${needs})
  # What the C library lacks may be in one of the backend's libraries
  # (older C libraries keep POSIX shared memory and queues in librt).
  set(libraries "")
  if(missing AND SHBUF_BACKEND_${name}_LIBRARIES)
    set(CMAKE_REQUIRED_LIBRARIES ${SHBUF_BACKEND_${name}_LIBRARIES})
    _shbuf_lacking(missing "_WITH_${SHBUF_BACKEND_${name}_LIBRARIES}" ${missing})
    if(NOT missing)
      set(libraries ${SHBUF_BACKEND_${name}_LIBRARIES})
    endif()
  endif()
  cmake_pop_check_state()
  list(TRANSFORM missing REPLACE ":.*" "")
  set(_missing "${missing}" PARENT_SCOPE)
  set(_libraries "${libraries}" PARENT_SCOPE)
endfunction()

macro(shbuf_backends_configure)
  if(NOT SHBUF_KNOWN_BACKENDS)
    message(FATAL_ERROR "shbuf_backends_configure(): no shbuf_backend() before it")
  endif()
  set(SHBUF_BACKENDS "")
  set(SHBUF_BACKEND_SOURCES "")
  set(SHBUF_BACKEND_LIBRARIES "")
  set(_shbuf_options "")
  set(_shbuf_unbuildable "")
  foreach(_b IN LISTS SHBUF_KNOWN_BACKENDS)
    string(TOUPPER ${_b} _B)
    list(APPEND _shbuf_options SHBUF_WITH_${_B})
    _shbuf_backend_check(${_b})
    set(_possible ON)
    if(_missing)
      set(_possible OFF)
      string(REPLACE ";" ", " _missing "${_missing}")
      list(APPEND _shbuf_unbuildable "${_b} (lacks ${_missing})")
    endif()
    string(REPLACE ";" " " _needs "${SHBUF_BACKEND_${_b}_NEEDS}")
    option(SHBUF_WITH_${_B} "Build the ${_b} backend (${SHBUF_BACKEND_${_b}_FOLDER}; needs ${_needs})" ${_possible})
    if(SHBUF_WITH_${_B} AND NOT _possible)
      message(FATAL_ERROR "SHBUF_WITH_${_B} is ON but this system lacks ${_missing}, "
                          "which the ${_b} backend needs")
    endif()
    if(SHBUF_WITH_${_B})
      list(APPEND SHBUF_BACKENDS ${_b})
      file(GLOB _sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${SHBUF_BACKEND_${_b}_FOLDER}/*.c)
      list(APPEND SHBUF_BACKEND_SOURCES ${_sources})
      list(APPEND SHBUF_BACKEND_LIBRARIES ${_libraries})
    endif()
  endforeach()
  list(REMOVE_DUPLICATES SHBUF_BACKEND_LIBRARIES)
  # The name the tests and the tool link librt by, for their own use of
  # POSIX queues and shared memory.
  set(SHBUF_NEEDS_LIBRT OFF)
  if(rt IN_LIST SHBUF_BACKEND_LIBRARIES)
    set(SHBUF_NEEDS_LIBRT ON)
  endif()

  string(REPLACE ";" ", " _shbuf_known_text "${SHBUF_KNOWN_BACKENDS}")
  if(NOT SHBUF_BACKENDS)
    string(REPLACE ";" ", " _shbuf_options "${_shbuf_options}")
    if(_shbuf_unbuildable)
      string(REPLACE ";" "; " _shbuf_unbuildable "${_shbuf_unbuildable}")
      set(_shbuf_unbuildable " (this system cannot build: ${_shbuf_unbuildable})")
    endif()
    message(FATAL_ERROR "No backend is built: turn at least one of ${_shbuf_options} ON${_shbuf_unbuildable}")
  endif()

  # The default backend: the first one built, unless one is named.
  set(SHBUF_DEFAULT_BACKEND "" CACHE STRING
      "Backend used when none is named: one of ${_shbuf_known_text}; empty for the first one built")
  set_property(CACHE SHBUF_DEFAULT_BACKEND PROPERTY STRINGS "" ${SHBUF_KNOWN_BACKENDS})
  if("$CACHE{SHBUF_DEFAULT_BACKEND}" STREQUAL "")
    list(GET SHBUF_BACKENDS 0 _shbuf_default)
  elseif(NOT "$CACHE{SHBUF_DEFAULT_BACKEND}" IN_LIST SHBUF_KNOWN_BACKENDS)
    message(FATAL_ERROR "SHBUF_DEFAULT_BACKEND is '$CACHE{SHBUF_DEFAULT_BACKEND}', which is no backend: "
                        "name one of ${_shbuf_known_text}, or leave it empty for the first one built")
  elseif(NOT "$CACHE{SHBUF_DEFAULT_BACKEND}" IN_LIST SHBUF_BACKENDS)
    set(_shbuf_default "$CACHE{SHBUF_DEFAULT_BACKEND}")
    string(TOUPPER ${_shbuf_default} _B)
    list(GET SHBUF_BACKENDS 0 _b)
    message(FATAL_ERROR "SHBUF_DEFAULT_BACKEND is '${_shbuf_default}' but SHBUF_WITH_${_B} is OFF; "
                        "turn SHBUF_WITH_${_B} ON, or leave SHBUF_DEFAULT_BACKEND empty "
                        "for the first backend built (${_b})")
  else()
    set(_shbuf_default "$CACHE{SHBUF_DEFAULT_BACKEND}")
  endif()
  # From here on SHBUF_DEFAULT_BACKEND is the name resolved (the cache keeps
  # what was asked for, so that an empty one follows the options next time).
  set(SHBUF_DEFAULT_BACKEND ${_shbuf_default})

  # src/core/config.h: whether each backend is built, its id, and the default.
  list(LENGTH SHBUF_KNOWN_BACKENDS _n)
  set(SHBUF_CONFIG_BACKENDS "#define SHBUF_KNOWN_COUNT ${_n}\n")
  list(LENGTH SHBUF_BACKENDS _n)
  string(APPEND SHBUF_CONFIG_BACKENDS "#define SHBUF_BUILT_COUNT ${_n}\n")
  foreach(_b IN LISTS SHBUF_KNOWN_BACKENDS)
    if(_b IN_LIST SHBUF_BACKENDS)
      string(APPEND SHBUF_CONFIG_BACKENDS "#define SHBUF_BUILT_${_b} 1\n")
    else()
      string(APPEND SHBUF_CONFIG_BACKENDS "#define SHBUF_BUILT_${_b} 0\n")
    endif()
    string(APPEND SHBUF_CONFIG_BACKENDS "#define SHBUF_BACKEND_ID_${_b} ${SHBUF_BACKEND_${_b}_ID}\n")
  endforeach()
  string(APPEND SHBUF_CONFIG_BACKENDS "#define SHBUF_DEFAULT_BACKEND \"${SHBUF_DEFAULT_BACKEND}\"")

  # The public header's quote-free compile-time choice, for every backend
  # of the list, built here or not (a choice this build lacks fails at run
  # time with ENOTSUP, as a quoted one does).
  # Two of them at once (say, two pkg-config modules) is a mistake the
  # compiler reports.
  set(SHBUF_HEADER_BACKENDS "")
  foreach(_b IN LISTS SHBUF_KNOWN_BACKENDS)
    string(TOUPPER ${_b} _B)
    string(APPEND SHBUF_HEADER_BACKENDS
           "#ifdef SHBUF_USE_BACKEND_${_B}\n"
           "#ifdef SHBUF_USE_BACKEND_CHOSEN_\n"
           "#error \"more than one SHBUF_USE_BACKEND_<NAME> is defined: choose one backend\"\n"
           "#endif\n"
           "#define SHBUF_USE_BACKEND_CHOSEN_ \"${_b}\"\n"
           "#endif\n")
  endforeach()
  string(APPEND SHBUF_HEADER_BACKENDS
         "#if !defined(SHBUF_USE_BACKEND) && defined(SHBUF_USE_BACKEND_CHOSEN_)\n"
         "#define SHBUF_USE_BACKEND SHBUF_USE_BACKEND_CHOSEN_\n"
         "#endif\n")
  set(SHBUF_GENERATED_INCLUDE_DIR ${PROJECT_BINARY_DIR}/include)
  configure_file(${_SHBUF_BACKENDS_MODULE_DIR}/shbuf-backends.h.in
                 ${SHBUF_GENERATED_INCLUDE_DIR}/libshbuf/shbuf-backends.h @ONLY)

  string(REPLACE ";" ", " _shbuf_built_text "${SHBUF_BACKENDS}")
  message(STATUS "libshbuf backends: ${_shbuf_built_text} (default ${SHBUF_DEFAULT_BACKEND}), "
                 "platform layer ${SHBUF_OS}")
  if(_shbuf_unbuildable)
    string(REPLACE ";" "; " _shbuf_unbuildable "${_shbuf_unbuildable}")
    message(STATUS "libshbuf backends this system cannot build: ${_shbuf_unbuildable}")
  endif()
endmacro()
