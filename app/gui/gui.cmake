# The Qt GUI, include()d by app/CMakeLists.txt when ATTNLAB_GUI is ON.
#   attnlab_app_core  controllers (engine on worker threads) + main window; everything but
#                     main.cpp, so the GUI tests link it too.
#   attnlab           the executable.
# Only training_controller.cpp, inspector.cpp and hub_service.cpp include engine (LibTorch) headers, and
# they include them first; every other GUI file is plain Qt.
set(ATTNLAB_GUI_DIR ${CMAKE_CURRENT_LIST_DIR})
find_package(Qt6 REQUIRED COMPONENTS Concurrent)

set(ATTNLAB_GUI_TORCH_SOURCES
  ${ATTNLAB_GUI_DIR}/training_controller.cpp
  ${ATTNLAB_GUI_DIR}/inspector.cpp
  ${ATTNLAB_GUI_DIR}/hub_service.cpp)
set(ATTNLAB_GUI_QT_SOURCES
  ${ATTNLAB_GUI_DIR}/attention_tab.cpp
  ${ATTNLAB_GUI_DIR}/main_window.cpp
  ${ATTNLAB_GUI_DIR}/screenshot.cpp)
add_library(attnlab_app_core STATIC
  ${ATTNLAB_GUI_TORCH_SOURCES} ${ATTNLAB_GUI_QT_SOURCES}
  ${ATTNLAB_GUI_DIR}/gui_types.h
  ${ATTNLAB_GUI_DIR}/training_controller.h
  ${ATTNLAB_GUI_DIR}/inspector.h
  ${ATTNLAB_GUI_DIR}/hub_service.h
  ${ATTNLAB_GUI_DIR}/attention_tab.h
  ${ATTNLAB_GUI_DIR}/main_window.h
  ${ATTNLAB_GUI_DIR}/screenshot.h
  ${ATTNLAB_GUI_DIR}/attnlab.qrc)
add_library(attnlab::app ALIAS attnlab_app_core)
set_target_properties(attnlab_app_core PROPERTIES AUTOMOC ON AUTORCC ON)
# "gui/main_window.h" resolves from app/; "widgets/..." comes with the widgets target.
target_include_directories(attnlab_app_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(attnlab_app_core PUBLIC engine widgets Qt6::Widgets Qt6::Concurrent)
# LibTorch costs ~25 s per translation unit: precompile it (torch first, then JSON) for
# the two engine-facing files only; the Qt-only files skip the (large) PCH.
target_precompile_headers(attnlab_app_core PRIVATE ${CMAKE_SOURCE_DIR}/engine/common/pch.h)
set_source_files_properties(${ATTNLAB_GUI_QT_SOURCES} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)

add_executable(attnlab ${ATTNLAB_GUI_DIR}/main.cpp)
set_source_files_properties(${ATTNLAB_GUI_DIR}/main.cpp PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
target_link_libraries(attnlab PRIVATE attnlab_app_core)
install(TARGETS attnlab RUNTIME DESTINATION bin)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/attnlab.desktop DESTINATION share/applications)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/attnlab.svg DESTINATION share/icons/hicolor/scalable/apps)
