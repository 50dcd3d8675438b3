// Uses the installed library: creates a store, a project and a shot, lists them.
#include <iostream>

#include "vemakin/client/store.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  vemakin::client::ClientOptions options;
  options.path = argv[1];
  auto store = vemakin::client::Store::Open(options);
  const auto project =
      store->Create(vemakin::client::Collection::kProjects, {{"name", "Consumer"}});
  store->Create(vemakin::client::Collection::kShots,
                {{"project_id", project.at("id")}, {"title", "Installed and linked"}});
  vemakin::client::ListQuery q;
  q.filters["project_id"] = project.at("id").get<std::string>();
  std::cout << "shots: " << store->List(vemakin::client::Collection::kShots, q).total << "\n";
  return 0;
}
