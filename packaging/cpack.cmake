# Debian package (CPack DEB) for AttnLab. Include it from the top-level CMakeLists.txt
# after all targets exist:
#     include(${CMAKE_SOURCE_DIR}/packaging/cpack.cmake)
# then:  cmake --build build --target package   (or: cd build && cpack -G DEB)
#
# The package holds attnlab-cli, attnlab (when built with the GUI), the engine shared
# library (private, under lib/attnlab), the bundled resources (tokenizer, demo data and
# model, configs) under share/attnlab/resources, where attnlab::resources_dir() looks
# (../share/attnlab/resources next to the executable), the desktop entry and the icon.
include(GNUInstallDirs)

# --- what gets installed ------------------------------------------------------------------------
if(TARGET engine)
  get_target_property(_attnlab_engine_type engine TYPE)
  if(_attnlab_engine_type STREQUAL "SHARED_LIBRARY")
    install(TARGETS engine LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/attnlab)
  endif()
endif()
# Installed executables find the private engine library next to them.
foreach(_attnlab_exe attnlab attnlab-cli)
  if(TARGET ${_attnlab_exe})
    set_target_properties(${_attnlab_exe} PROPERTIES INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}/attnlab")
  endif()
endforeach()
install(DIRECTORY ${CMAKE_SOURCE_DIR}/resources/ DESTINATION ${CMAKE_INSTALL_DATADIR}/attnlab/resources
        PATTERN ".git*" EXCLUDE)
if(NOT TARGET attnlab)
  # CLI-only builds still get the icon; the desktop entry needs the GUI.
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/attnlab.svg DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
endif()

# --- package metadata -------------------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "attnlab")
set(CPACK_PACKAGE_VENDOR "AttnLab")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Workbench for distilling GPT-2 attention into cheaper variants")
set(CPACK_PACKAGE_DESCRIPTION
    "AttnLab copies a frozen GPT-2 into a model whose attention is a cheaper variant\n(mask mixtures, Performer, NSA, windows) and trains it to minimise the per-token\nKL divergence to the reference. Desktop GUI (attnlab) and headless CLI (attnlab-cli).")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # attnlab_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "AttnLab developers <attnlab@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION "science")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Library dependencies (LibTorch, Qt 6, QCustomPlot, PCRE2, ...) are read off the binaries.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CMAKE_BINARY_DIR}/engine")
# Debian's LibTorch calls BLAS through alternatives; without OpenBLAS it falls back to the
# reference BLAS (~40x slower, see docs/build-notes). Qt's offscreen/xcb plugins come with
# libqt6gui6, and the GUI needs the SVG icon engine for the themed icon (recommended).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libopenblas0-pthread | libopenblas0-openmp")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "qt6-svg-plugins")
include(CPack)
