# What `cmake --install` writes besides the targets (src/CMakeLists.txt):
# the CMake package (find_package(shbuf)) and the pkg-config modules.
include(CMakePackageConfigHelpers)

set(SHBUF_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/shbuf" CACHE STRING
    "Where to install the CMake package of libshbuf (relative paths are under CMAKE_INSTALL_PREFIX)")
mark_as_advanced(SHBUF_INSTALL_CMAKEDIR)

# --- CMake package -------------------------------------------------------
install(EXPORT shbufTargets
  NAMESPACE shbuf::
  DESTINATION ${SHBUF_INSTALL_CMAKEDIR}
  COMPONENT devel)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/shbufConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/shbufConfig.cmake
  INSTALL_DESTINATION ${SHBUF_INSTALL_CMAKEDIR})
# The soname stays libshbuf.so.0 for every 0.x release, so any 0.x package
# satisfies a request for 0.y.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/shbufConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/shbufConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/shbufConfigVersion.cmake
  DESTINATION ${SHBUF_INSTALL_CMAKEDIR}
  COMPONENT devel)

# --- pkg-config ----------------------------------------------------------
# The files are written at install time (ShbufPkgConfig.cmake.in), because
# `cmake --install --prefix` may install somewhere else than configured.
string(REPLACE ";" " " SHBUF_PC_BACKENDS "${SHBUF_BACKENDS}")
set(SHBUF_PC_LIBS_PRIVATE "-pthread")
if(SHBUF_NEEDS_LIBRT)
  string(APPEND SHBUF_PC_LIBS_PRIVATE " -lrt")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/ShbufPkgConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/ShbufPkgConfig.cmake @ONLY)
install(SCRIPT ${CMAKE_CURRENT_BINARY_DIR}/ShbufPkgConfig.cmake COMPONENT devel)
