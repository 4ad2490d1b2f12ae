# ltxvfs_warnings(target): the project's warning set, applied to every target we own.
function(ltxvfs_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                                           -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough)
  # Clang's thread-safety analysis: a member marked GUARDED_BY is touched only with its mutex held
  # (base/thread_annotations.h). CI's sanitizer build is clang's, so it enforces this everywhere.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    target_compile_options(${target} PRIVATE -Wthread-safety -Wthread-safety-beta)
  endif()
  if(LTXVFS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
