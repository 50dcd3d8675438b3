// vemakin: the client CLI over libvemakin-client (SPEC.md section 3). Flags
// for each resource are generated from the model (core/model.h): every field
// a user may write is an option named after it (`start_time` ->
// `--start-time`), plus short aliases (`--project`, `--shot`, `--task`).
// `--db PATH` and `--json` apply to every command.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/list_order.h"
#include "tools/common/print_table.h"
#include "tools/vemakin/sync_commands.h"
#include "vemakin/client/store.h"

namespace {

using nlohmann::json;
using vemakin::Error;
using vemakin::ErrorCode;
using vemakin::client::Collection;
using vemakin::client::ListPage;
using vemakin::client::ListQuery;
using vemakin::client::Store;
using vemakin::client::ValidationError;
namespace core = vemakin::core;

using vemakin::cli::Global;

const std::map<std::string, std::string> kAliases = {
    {"project_id", "project"},           {"shot_id", "shot"},     {"task_id", "task"},
    {"catalog_item_id", "catalog-item"}, {"location_lat", "lat"}, {"location_lng", "lng"}};

std::string FlagOf(const std::string& field) {
  auto it = kAliases.find(field);
  if (it != kAliases.end()) return "--" + it->second;
  std::string out = "--" + field;
  for (char& c : out) {
    if (c == '_') c = '-';
  }
  return out;
}

// A command-line string as the JSON value the field expects. Unparsable input
// is passed through as a string so validation names the field and the type.
json ToFieldValue(const core::FieldSpec& f, const std::string& text) {
  if (f.nullable && text == "null") return nullptr;
  switch (f.type) {
    case core::FieldType::kInteger: {
      try {
        size_t used = 0;
        const long long v = std::stoll(text, &used);
        if (used == text.size()) return v;
      } catch (const std::exception&) {
      }
      return text;
    }
    case core::FieldType::kNumber: {
      try {
        size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size()) return v;
      } catch (const std::exception&) {
      }
      return text;
    }
    case core::FieldType::kBoolean:
      if (text == "true" || text == "yes" || text == "1") return true;
      if (text == "false" || text == "no" || text == "0") return false;
      return text;
    case core::FieldType::kUuidArray: {
      json arr = json::array();
      size_t start = 0;
      while (start < text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        if (comma > start) arr.push_back(text.substr(start, comma - start));
        start = comma + 1;
      }
      return arr;
    }
    case core::FieldType::kJsonObject: {
      json v = json::parse(text, nullptr, false);
      return v.is_discarded() ? json(text) : v;
    }
    default:
      return text;
  }
}

// Options for every field of `spec` a user may set; values land in `values`.
void AddFieldOptions(CLI::App* cmd, const core::TableSpec& spec, bool creating,
                     std::map<std::string, std::string>* values) {
  for (const core::FieldSpec& f : spec.fields) {
    if (f.access == core::Access::kReadOnly) continue;
    if (!creating && f.access == core::Access::kCreateOnly) continue;
    std::string names = FlagOf(f.name);
    const std::string plain = "--" + [&] {
      std::string n = f.name;
      for (char& c : n) {
        if (c == '_') c = '-';
      }
      return n;
    }();
    if (plain != names) names += "," + plain;
    std::string help = std::string(core::FieldTypeName(f.type));
    if (!f.allowed.empty()) {
      help = "one of:";
      for (const std::string& a : f.allowed) help += " " + a;
    }
    if (f.nullable) help += " (\"null\" clears it)";
    cmd->add_option_function<std::string>(
        names, [values, name = f.name](const std::string& v) { (*values)[name] = v; }, help);
  }
}

json BodyFrom(const core::TableSpec& spec, const std::map<std::string, std::string>& values) {
  json body = json::object();
  for (const auto& [name, text] : values) body[name] = ToFieldValue(*spec.Find(name), text);
  return body;
}

std::string Cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// The rows as a table of the given columns (upper-case headers, long cells cut).
void PrintTable(const std::vector<std::string>& columns, const json& rows) {
  std::vector<std::vector<std::string>> cells;
  for (const json& row : rows) {
    std::vector<std::string> line;
    for (const std::string& column : columns) {
      std::string c = Cell(row.value(column, json()));
      if (c.size() > 48) c = c.substr(0, 45) + "...";
      line.push_back(std::move(c));
    }
    cells.push_back(std::move(line));
  }
  std::vector<std::string> header;
  for (std::string h : columns) {
    for (char& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    header.push_back(std::move(h));
  }
  vemakin::tools::PrintTable(header, cells);
}

void PrintRow(const Global& g, const json& row) {
  if (g.json) {
    std::cout << row.dump() << "\n";
    return;
  }
  size_t w = 0;
  for (auto it = row.begin(); it != row.end(); ++it) w = std::max(w, it.key().size());
  for (auto it = row.begin(); it != row.end(); ++it) {
    std::cout << it.key() << std::string(w - it.key().size() + 2, ' ') << Cell(it.value()) << "\n";
  }
}

void PrintPage(const Global& g, const ListPage& page, const std::vector<std::string>& columns) {
  if (g.json) {
    std::cout << page.ToJson().dump() << "\n";
    return;
  }
  PrintTable(columns, page.items);
  std::cout << page.items.size() << " of " << page.total;
  if (page.next_cursor) std::cout << "  (more: --cursor " << *page.next_cursor << ")";
  std::cout << "\n";
}

struct Group {
  const char* name;
  Collection collection;
  std::vector<std::string> columns;
};

// Error text with CLI flag names instead of field names.
std::string Describe(const ValidationError& e) {
  std::string msg = "invalid input:";
  for (const core::FieldError& fe : e.errors()) {
    std::string where = fe.loc.size() > 1 ? fe.loc[1] : "body";
    if (fe.loc.size() > 1) where = FlagOf(fe.loc[1]);
    for (size_t i = 2; i < fe.loc.size(); ++i) where += "[" + fe.loc[i] + "]";
    msg += "\n  " + where + ": " + (fe.type == "missing" ? "is required" : fe.msg);
  }
  return msg;
}

}  // namespace

int main(int argc, char** argv) {
  Global g;
  CLI::App app{"vemakin: your Vemakin projects, shots, notes, tasks and gear, offline"};
  app.require_subcommand(1);
  app.add_option("--db", g.db, "the local store file")->capture_default_str();
  app.add_flag("--json", g.json, "machine output (JSON); errors as {\"error\": ...} on stderr");
  app.add_option("--ca-file", g.ca_file,
                 "PEM certificate authorities to trust for an https:// server (a private CA; "
                 "default: the system's)")
      ->envname("VEMAKIN_CA_FILE");

  std::function<void(Store&)> action;
  const std::vector<Group> groups = {
      {"project", Collection::kProjects, {"id", "name", "created_at"}},
      {"shot", Collection::kShots, {"id", "date", "start_time", "status", "title"}},
      {"note", Collection::kNotes, {"id", "title", "shot_id", "task_id", "updated_at"}},
      {"task", Collection::kTasks, {"id", "status", "priority", "category", "due_date", "title"}},
      {"gear", Collection::kInventory, {"id", "category", "name", "quantity", "status"}},
  };
  // Storage for parsed values (stable addresses: reserved up front).
  std::vector<std::map<std::string, std::string>> field_values(groups.size() * 2);
  std::vector<ListQuery> queries(groups.size());
  std::vector<std::string> ids(groups.size());
  std::vector<std::string> names(groups.size());

  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& grp = groups[gi];
    const core::TableSpec& spec = vemakin::client::CollectionSpec(grp.collection);
    const std::string plural(vemakin::client::CollectionName(grp.collection));
    CLI::App* group = app.add_subcommand(grp.name, "manage " + plural);
    group->require_subcommand(1);
    group->fallthrough();

    CLI::App* add = group->add_subcommand("add", "create one");
    add->fallthrough();
    if (grp.collection == Collection::kProjects) {
      add->add_option("NAME", names[gi], "the project's name");
    }
    AddFieldOptions(add, spec, true, &field_values[gi * 2]);
    add->callback([&, gi] {
      action = [&, gi](Store& store) {
        const Group& gr = groups[gi];
        const core::TableSpec& sp = vemakin::client::CollectionSpec(gr.collection);
        json body = BodyFrom(sp, field_values[gi * 2]);
        if (!names[gi].empty()) body["name"] = names[gi];
        PrintRow(g, store.Create(gr.collection, body));
      };
    });

    CLI::App* list = group->add_subcommand("list", "list them");
    list->fallthrough();
    ListQuery& q = queries[gi];
    if (grp.collection != Collection::kProjects && grp.collection != Collection::kInventory) {
      list->add_option_function<std::string>(
          "--project", [&q](const std::string& v) { q.filters["project_id"] = v; }, "project id");
    }
    const core::Entity entity = spec.entity;
    for (const std::string& filter : core::ListFilters(entity)) {
      list->add_option_function<std::string>(
          FlagOf(filter), [&q, filter](const std::string& v) { q.filters[filter] = v; },
          "only rows with this " + filter);
    }
    list->add_option("--limit", q.limit, "rows per page (max 1000)")->capture_default_str();
    list->add_option("--skip", q.skip, "rows to skip");
    list->add_option("--cursor", q.cursor, "continue after a previous page");
    list->callback([&, gi] {
      action = [&, gi](Store& store) {
        PrintPage(g, store.List(groups[gi].collection, queries[gi]), groups[gi].columns);
      };
    });

    CLI::App* show = group->add_subcommand("show", "show one");
    show->fallthrough();
    show->add_option("ID", ids[gi], "its id")->required();
    show->callback([&, gi] {
      action = [&, gi](Store& store) { PrintRow(g, store.Get(groups[gi].collection, ids[gi])); };
    });

    CLI::App* update = group->add_subcommand("update", "change the given fields");
    update->fallthrough();
    update->add_option("ID", ids[gi], "its id")->required();
    AddFieldOptions(update, spec, false, &field_values[gi * 2 + 1]);
    update->callback([&, gi] {
      action = [&, gi](Store& store) {
        const Group& gr = groups[gi];
        const json body =
            BodyFrom(vemakin::client::CollectionSpec(gr.collection), field_values[gi * 2 + 1]);
        if (body.empty())
          throw Error(ErrorCode::kInvalidArgument, "nothing to change: give a field");
        PrintRow(g, store.Update(gr.collection, ids[gi], body));
      };
    });

    CLI::App* del = group->add_subcommand("delete", "delete one");
    del->fallthrough();
    del->add_option("ID", ids[gi], "its id")->required();
    del->callback([&, gi] {
      action = [&, gi](Store& store) {
        store.Delete(groups[gi].collection, ids[gi]);
        if (g.json) {
          std::cout << json{{"deleted", ids[gi]}}.dump() << "\n";
        } else {
          std::cout << "deleted " << ids[gi] << "\n";
        }
      };
    });
  }

  CLI::App* catalog = app.add_subcommand("catalog", "browse the gear catalog");
  catalog->require_subcommand(1);
  catalog->fallthrough();
  ListQuery catalog_query;
  std::string catalog_category, catalog_brand;
  auto catalog_cmd = [&](const char* name, const char* help, core::Entity table,
                         std::vector<std::string> columns, bool by_category, bool by_brand) {
    CLI::App* cmd = catalog->add_subcommand(name, help);
    cmd->fallthrough();
    if (by_category) cmd->add_option("--category", catalog_category, "category id");
    if (by_brand) cmd->add_option("--brand", catalog_brand, "brand id");
    cmd->add_option("--limit", catalog_query.limit, "rows per page")->capture_default_str();
    cmd->add_option("--skip", catalog_query.skip, "rows to skip");
    cmd->add_option("--cursor", catalog_query.cursor, "continue after a previous page");
    cmd->callback([&, table, columns] {
      action = [&, table, columns](Store& store) {
        if (!catalog_category.empty()) catalog_query.filters["category_id"] = catalog_category;
        if (!catalog_brand.empty()) catalog_query.filters["brand_id"] = catalog_brand;
        PrintPage(g, store.Catalog(table, catalog_query), columns);
      };
    });
  };
  catalog_cmd("categories", "gear categories", core::Entity::kGearCategory, {"id", "name", "slug"},
              false, false);
  catalog_cmd("brands", "brands (of a category)", core::Entity::kGearBrand, {"id", "name"}, true,
              false);
  catalog_cmd("items", "catalog items", core::Entity::kGearCatalogItem,
              {"id", "name", "description"}, true, true);

  CLI::App* status =
      app.add_subcommand("status", "pending mutations, last sync, cursor, conflicts");
  status->fallthrough();
  status->callback([&] {
    action = [&](Store& store) {
      const vemakin::client::StoreStatus s = store.Status();
      if (g.json) {
        std::cout << s.ToJson().dump() << "\n";
        return;
      }
      std::cout << "store              " << g.db << "\n"
                << "mode               " << (s.account ? "account " + *s.account : "guest") << "\n"
                << "client id          " << s.client_id << "\n"
                << "pending mutations  " << s.pending_mutations << "\n"
                << "last sync          " << s.last_sync_at.value_or("never") << "\n"
                << "cursor             " << s.cursor.value_or("-") << "\n"
                << "conflicts          " << s.conflicts << "\n";
    };
  });

  // vemakin config [get KEY | set KEY VALUE | unset KEY]: the store's settings.
  CLI::App* config = app.add_subcommand(
      "config", "this store's settings: server (where sign-ins go), ca-file; no verb lists them");
  config->fallthrough();
  std::string config_key, config_value;
  std::string keys_help = "one of:";
  for (const std::string& k : Store::SettingKeys()) keys_help += " " + k;
  auto print_settings = [&](Store& store) {
    const std::map<std::string, std::string> all = store.Settings();
    if (g.json) {
      std::cout << json(all).dump() << "\n";
      return;
    }
    for (const std::string& k : Store::SettingKeys()) {
      auto it = all.find(k);
      std::cout << k << std::string(std::max<size_t>(10, k.size() + 2) - k.size(), ' ')
                << (it == all.end() ? "-" : it->second) << "\n";
    }
  };
  config->callback([&] {
    if (config->get_subcommands().empty()) action = print_settings;
  });
  CLI::App* config_get = config->add_subcommand("get", "print one setting");
  config_get->fallthrough();
  config_get->add_option("KEY", config_key, keys_help)->required();
  config_get->callback([&] {
    action = [&](Store& store) {
      const std::optional<std::string> v = store.Setting(config_key);
      if (!v) throw Error(ErrorCode::kNotFound, config_key + " is not set");
      std::cout << (g.json ? json{{config_key, *v}}.dump() : *v) << "\n";
    };
  });
  CLI::App* config_set = config->add_subcommand("set", "change one setting");
  config_set->fallthrough();
  config_set->add_option("KEY", config_key, keys_help)->required();
  config_set->add_option("VALUE", config_value, "its value")->required();
  config_set->callback([&] {
    action = [&](Store& store) {
      // A CA file named from here is stored as the absolute path it names.
      if (config_key == "ca-file" && !config_value.empty() && config_value[0] != '/') {
        config_value = std::filesystem::absolute(config_value).string();
      }
      store.SetSetting(config_key, config_value);
      print_settings(store);
    };
  });
  CLI::App* config_unset = config->add_subcommand("unset", "forget one setting");
  config_unset->fallthrough();
  config_unset->add_option("KEY", config_key, keys_help)->required();
  config_unset->callback([&] {
    action = [&](Store& store) {
      store.SetSetting(config_key, std::nullopt);
      print_settings(store);
    };
  });

  vemakin::cli::AddSyncCommands(app, g, action);

  app.set_version_flag("--version", std::string("vemakin ") + VEMAKIN_VERSION);
  // --json is looked for before parsing: a usage error can stop the parse
  // before it reaches the flag, and must still be answered in JSON.
  for (int i = 1; i < argc; ++i) g.json |= std::string(argv[i]) == "--json";
  auto fail = [&](const std::string& message, int code) {
    if (g.json) {
      std::cerr << json{{"error", message}, {"exit_code", code}}.dump() << "\n";
    } else {
      std::cerr << "error: " << message << "\n";
    }
    return code;
  };
  // Exit codes (docs/client.md): 0 success, 1 any other failure, 2 usage or
  // invalid input, 3 not found, 4 conflict, 5 server unreachable.
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (g.json) return fail(e.what(), 2);
    app.exit(e);  // CLI11's message and the usage hint
    return 2;
  }
  try {
    vemakin::client::ClientOptions options;
    options.path = g.db;
    std::unique_ptr<Store> store = Store::Open(options);
    if (action) action(*store);
    return 0;
  } catch (const ValidationError& e) {
    return fail(Describe(e), 2);
  } catch (const Error& e) {
    switch (e.code()) {
      case ErrorCode::kInvalidArgument:
        return fail(e.what(), 2);
      case ErrorCode::kNotFound:
        return fail(e.what(), 3);
      case ErrorCode::kAlreadyExists:
        return fail(e.what(), 4);
      case ErrorCode::kUnavailable:
        return fail(e.what(), 5);
      default:
        return fail(e.what(), 1);
    }
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  }
}
