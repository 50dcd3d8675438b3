# Build helpers shared by every target: warnings, sanitizers and file embedding.

# vemakin_set_warnings(target): the project's warning set, -Werror when enabled,
# and the sanitizers chosen with VEMAKIN_SANITIZE.
function(vemakin_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  if(VEMAKIN_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(VEMAKIN_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${VEMAKIN_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${VEMAKIN_SANITIZE})
  endif()
endfunction()

# vemakin_embed_files(OUTPUT out.cc NAMESPACE ns FUNCTION fn BASE dir FILES ...):
# generates a .cc that defines `const std::vector<EmbeddedFile>& ns::fn()` holding
# each file's path (relative to BASE) and contents, regenerated when a file changes.
function(vemakin_embed_files)
  cmake_parse_arguments(ARG "" "OUTPUT;NAMESPACE;FUNCTION;BASE" "FILES" ${ARGN})
  string(REPLACE ";" "|" files_arg "${ARG_FILES}")
  add_custom_command(
    OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${ARG_OUTPUT} -DNAMESPACE=${ARG_NAMESPACE}
            -DFUNCTION=${ARG_FUNCTION} -DBASE=${ARG_BASE} "-DFILES=${files_arg}"
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    DEPENDS ${ARG_FILES} ${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake
    COMMENT "Embedding ${ARG_FUNCTION}"
    VERBATIM)
endfunction()
