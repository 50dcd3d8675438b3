// The SQL migrations and the starter gear catalog, embedded in the binaries at
// build time (schema/embed_files.cmake) so that no program depends on finding the
// source tree at run time. The files under schema/ are the single source; C++
// never spells DDL itself. Pure data: no I/O, safe from any thread.
#ifndef VEMAKIN_SCHEMA_EMBEDDED_H_
#define VEMAKIN_SCHEMA_EMBEDDED_H_

#include <string>
#include <vector>

namespace vemakin::schema {

struct EmbeddedFile {
  std::string path;      // relative to its folder, e.g. "0001_core_tables.up.sql"
  std::string contents;  // the file's bytes
};

// schema/postgres/*.sql, sorted by file name (the numeric prefix orders them).
const std::vector<EmbeddedFile>& PostgresMigrations();
// schema/sqlite/*.sql, sorted by file name.
const std::vector<EmbeddedFile>& SqliteMigrations();
// schema/catalog/*.json: the starter gear catalog.
const std::vector<EmbeddedFile>& CatalogFiles();

// The starter catalog JSON document ({categories, brands, items}).
const std::string& StarterCatalogJson();

}  // namespace vemakin::schema

#endif  // VEMAKIN_SCHEMA_EMBEDDED_H_
