// Lookups over the generated file tables.
#include "schema/embedded.h"

#include <cstdlib>

namespace vemakin::schema {

const std::string& StarterCatalogJson() {
  for (const EmbeddedFile& f : CatalogFiles()) {
    if (f.path == "starter_catalog.json") return f.contents;
  }
  std::abort();  // The build embeds it; its absence is a build bug.
}

}  // namespace vemakin::schema
