// Loads the starter gear catalog (schema/catalog/starter_catalog.json, embedded)
// into PostgreSQL. Idempotent: rows are keyed by the fixed ids of the file, so
// seeding twice changes nothing and a newer file updates names and specs in
// place. The same ids ship in the client's guest catalog, so equipment that
// references a catalog item stays valid when a guest's data reaches a server.
#ifndef VEMAKIN_SERVER_CATALOG_SEED_H_
#define VEMAKIN_SERVER_CATALOG_SEED_H_

#include <pqxx/pqxx>

namespace vemakin::server {

struct CatalogSeedResult {
  int categories = 0;
  int brands = 0;
  int items = 0;
};

// Upserts the whole catalog in one transaction on `conn` (current schema).
CatalogSeedResult SeedCatalog(pqxx::connection& conn);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_CATALOG_SEED_H_
