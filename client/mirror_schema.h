// Creates or upgrades the client's SQLite mirror schema from schema/sqlite
// (embedded). The file's `PRAGMA user_version` records how many of those
// migrations it holds; opening an older file with a newer client applies the
// missing ones in place, each in its own IMMEDIATE transaction with its
// version bump, so a crash leaves the file at a whole version.
// Internal to the client library. Not thread-safe per connection (SQLite's
// own rule for one sqlite3*).
#ifndef VEMAKIN_CLIENT_MIRROR_SCHEMA_H_
#define VEMAKIN_CLIENT_MIRROR_SCHEMA_H_

#include <sqlite3.h>

namespace vemakin::client {

// The number of embedded SQLite migrations (the newest user_version).
int LatestMirrorVersion();

// Applies the migrations `db` lacks. Returns how many ran. Throws
// Error(kFailedPrecondition) when the file is newer than this client, and
// Error(kDataLoss) / kUnavailable on SQLite failures.
int ApplyMirrorSchema(sqlite3* db);

}  // namespace vemakin::client

#endif  // VEMAKIN_CLIENT_MIRROR_SCHEMA_H_
