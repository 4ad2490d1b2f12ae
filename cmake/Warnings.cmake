# ltxvfs_warnings(target): the project's warning set, applied to every target we own.
function(ltxvfs_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
                                           -Wnull-dereference -Wformat=2 -Wimplicit-fallthrough)
  if(LTXVFS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
