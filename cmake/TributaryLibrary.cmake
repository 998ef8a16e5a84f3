# Build helpers shared by every module: one library target per module, one warning set.

set(TRIBUTARY_WARNINGS
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual)

# Applies the project's warnings and sanitizer flags to TARGET.
function(tributary_compile_options TARGET)
  target_compile_options(${TARGET} PRIVATE ${TRIBUTARY_WARNINGS})
  if(TRIBUTARY_WERROR)
    target_compile_options(${TARGET} PRIVATE -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
    # GCC 12 at -O2 reports std::variant<..., std::string> members as maybe-uninitialized
    # (a known false positive, GCC bug 105562); the other builds keep the warning.
    target_compile_options(${TARGET} PRIVATE -Wno-maybe-uninitialized)
  endif()
  if(TRIBUTARY_SANITIZE)
    target_compile_options(${TARGET} PRIVATE -fsanitize=${TRIBUTARY_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${TARGET} PRIVATE -fsanitize=${TRIBUTARY_SANITIZE})
    if(TRIBUTARY_SANITIZE MATCHES "thread")
      # GCC warns that TSan does not model std::atomic_thread_fence, which Asio's handler
      # invocation uses; Asio also synchronises through its scheduler's mutex, which TSan sees.
      target_compile_options(${TARGET} PRIVATE -Wno-tsan)
      # librdkafka's threads and locks made visible to TSan (see the file).
      get_target_property(type ${TARGET} TYPE)
      if(type STREQUAL "EXECUTABLE")
        target_sources(${TARGET} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/tsan_c11_threads.cc)
      endif()
    endif()
  endif()
endfunction()

# tributary_library(NAME name SRCS ... DEPS ...): the static library target tributary_<name>,
# whose public include root is the repository root (includes read "core/status.h").
function(tributary_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  set(target tributary_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SRCS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  tributary_compile_options(${target})
  if(TRIBUTARY_SANITIZE)
    target_link_options(${target} INTERFACE -fsanitize=${TRIBUTARY_SANITIZE})
  endif()
endfunction()

# tributary_test(NAME name SRCS ... DEPS ... LABELS ... [PROPERTIES ...]): one GoogleTest
# binary whose tests are registered with ctest one by one.
function(tributary_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS;PROPERTIES" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  tributary_compile_options(${ARG_NAME})
  gtest_discover_tests(${ARG_NAME} DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 120 ${ARG_PROPERTIES})
endfunction()
