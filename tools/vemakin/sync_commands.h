// The account and sync commands of the vemakin CLI (register, login, logout,
// sync [--watch], conflicts, verify, member add) over vemakin/client/sync.h.
#ifndef VEMAKIN_TOOLS_VEMAKIN_SYNC_COMMANDS_H_
#define VEMAKIN_TOOLS_VEMAKIN_SYNC_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "vemakin/client/store.h"

namespace vemakin::cli {

struct Global {
  std::string db = "vemakin.db";
  bool json = false;
  std::string ca_file;  // certificate authorities for an https:// server ("" = the system's)
};

using Action = std::function<void(client::Store&)>;

void AddSyncCommands(CLI::App& app, const Global& g, Action& action);

}  // namespace vemakin::cli

#endif  // VEMAKIN_TOOLS_VEMAKIN_SYNC_COMMANDS_H_
