# parley_embed_schema(<target> <backend>): compiles schema/<backend>/NNN_*.sql into the binary,
# so a parleyd copied anywhere carries its own migrations.
function(parley_embed_schema out_var backend)
  file(GLOB files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/schema/${backend}/*.sql)
  list(SORT files)
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/schema_${backend}.cpp)
  add_custom_command(
    OUTPUT ${gen}
    COMMAND ${CMAKE_COMMAND} -DOUT=${gen} -DBACKEND=${backend} "-DFILES=${files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedRun.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/EmbedRun.cmake
    VERBATIM)
  set(${out_var} ${gen} PARENT_SCOPE)
endfunction()
