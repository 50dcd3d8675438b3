// Sync between a Store and a Vemakin server (SPEC.md section 4; the wire
// protocol and the rules are in docs/sync-protocol.md).
//
// The client's view is the server's state with its own pending mutations
// (the outbox) re-applied on top, field by field: the server's order decides,
// and every client ends equal to the server. Sync() pushes the outbox (each
// mutation applied at most once, rejected ones taken out, undone locally and
// kept in the conflict log), then pulls: a first sync (or a client behind the
// server's history horizon) loads a snapshot in pages; later syncs pull the
// changes after the cursor. Every page or batch is applied in one local
// transaction together with the position it reached, so an interrupted sync
// resumes where it stopped.
//
// Register/Login claim a guest store's data into the account (the same row
// ids, uploaded once through the outbox); Logout returns the file to a fresh
// guest store.
//
// Errors: Error kUnavailable (server unreachable or failing: nothing is lost,
// retry later), kUnauthenticated (sign in again), kFailedPrecondition (not
// signed in, or signed in already, or a pending change larger than a proxy in
// front of the server accepts: HTTP 413), kInvalidArgument / kAlreadyExists /
// kNotFound / kPermissionDenied with the server's reason.
//
// Thread-safety: one SyncClient per thread; it may share its Store with other
// threads writing to it.
#ifndef VEMAKIN_CLIENT_SYNC_H_
#define VEMAKIN_CLIENT_SYNC_H_

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vemakin/client/store.h"

namespace vemakin::client {

struct SyncProgress {
  std::string phase;     // "push", "snapshot", "pull"
  long long done = 0;    // mutations or rows handled so far in this phase
  long long total = -1;  // when known
};

struct SyncReport {
  long long pushed = 0;          // mutations the server applied
  long long rejected = 0;        // mutations it refused (see Conflicts())
  long long pulled = 0;          // changes applied from the pull
  long long snapshot_rows = 0;   // rows applied from snapshots
  long long bytes_received = 0;  // response bodies as they crossed the wire
  long long bytes_sent = 0;
  bool rebased = false;  // the cursor was behind the horizon: a fresh snapshot was loaded
  std::string cursor;
  nlohmann::json ToJson() const;
};

struct Conflict {
  long long id = 0;
  std::string mutation_id;
  std::string table;
  std::string row_id;
  std::string kind;  // rejected | deleted | orphaned
  std::string reason;
  nlohmann::json detail;
  std::string created_at;
  nlohmann::json ToJson() const;
};

struct VerifyReport {
  bool equal = false;
  std::vector<std::string> mismatched;  // table names
  nlohmann::json tables;                // {table: {local: {count, digest}, server: {...}}}
  long long pending_mutations = 0;
  std::string cursor;         // the position the mirror was compared at
  std::string server_cursor;  // the position of the server's digest
  nlohmann::json ToJson() const;
};

struct SyncClientOptions {
  std::chrono::seconds timeout{30};
  // A push request carries at most push_batch mutations and, past its first,
  // no more than push_batch_bytes of their JSON: the server refuses bodies
  // over its VEMAKIN_MAX_BODY_BYTES (1 MiB by default) with 413, and a push
  // it refuses so is retried with half as many mutations.
  long long push_batch = 1000;
  std::size_t push_batch_bytes = 512 << 10;
  long long pull_batch = 5000;
  long long snapshot_batch = 2500;
  std::function<void(const SyncProgress&)> progress;  // may be empty
  // How long a sync waits for changes the server holds back behind a
  // transaction still open on its database, before it gives up with
  // kUnavailable ("not up to date"); what it pulled is kept.
  std::chrono::milliseconds horizon_patience{5000};
  // HTTPS: a PEM file of the certificate authorities to trust for the
  // server's certificate (a private CA); "" = the system's. The server's
  // certificate and host name are always verified.
  std::string ca_file;
  // Fault injection for crash tests: "<point>:<n>" kills the process with
  // SIGKILL the n-th time it reaches <point>: "push-answered" (the server
  // applied a push whose answer is not recorded here yet), "pull-applied" or
  // "snapshot-applied" (a batch just committed). Empty (the default): never.
  std::string fault_point;
};

class Transport;  // internal: client/transport.h

class SyncClient {
 public:
  explicit SyncClient(Store& store, SyncClientOptions options = {});
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  // Create an account / sign in, claim guest data, then Sync(). Returns the user.
  nlohmann::json Register(const std::string& server_url, const std::string& email,
                          const std::string& password, const std::string& name);
  nlohmann::json Login(const std::string& server_url, const std::string& email,
                       const std::string& password);
  // Signs out and empties the store (a fresh guest store). Refuses while
  // mutations are pending unless `discard_pending`. With `everywhere`, every
  // token of the account is revoked first (POST /api/auth/logout-all: other
  // devices are signed out at their next request); that needs the server,
  // and when it fails (kUnavailable, kUnauthenticated) nothing local changes.
  void Logout(bool discard_pending = false, bool everywhere = false);
  // Changes the account's password on the server; the server revokes every
  // other token of the account and this store stays signed in. Returns how
  // many tokens were revoked. kInvalidArgument for a wrong current password
  // or a new one the server refuses; kUnavailable when rate limited.
  long long ChangePassword(const std::string& current_password, const std::string& new_password);

  // Push, then pull until up to date.
  SyncReport Sync();
  // Pull only, keeping the outbox for later (a metered link, a push that
  // keeps failing): pending mutations stay on top of the pulled state.
  SyncReport PullOnly();
  // Push only (e.g. from a second thread while another SyncClient of the
  // same Store waits in WatchRound).
  SyncReport PushOnly();
  // Push, then pull; the first pull waits up to `wait` for a change (long
  // poll). One round of `vemakin sync --watch`.
  SyncReport WatchRound(std::chrono::seconds wait);
  // `vemakin sync --watch`: WatchRound(wait) again and again until stopped.
  // After each round that changed something (pushed, rejected, pulled or
  // loaded rows) it calls on_change(report), which returns false to stop. A
  // server that cannot be reached (kUnavailable) is tried again after 1 s,
  // doubling up to 30 s, each wait announced to on_retry (may be empty); any
  // other error ends the watch by its exception.
  void Watch(std::chrono::seconds wait, const std::function<bool(const SyncReport&)>& on_change,
             const std::function<void(const Error&, std::chrono::seconds)>& on_retry = {});
  // From any thread, also from on_change: Watch() returns soon (a long poll
  // in flight is cut short; a retry wait ends). Called while no Watch() runs,
  // the next one returns at once.
  void StopWatch();

  // Brings the store up to date, takes the server's digest (one snapshot, at
  // a position), pulls to exactly that position and compares.
  VerifyReport Verify();
  // Pushes pending work, adds a member on the server, pulls.
  nlohmann::json AddMember(const std::string& project_id, const std::string& email,
                           const std::string& role);
  std::vector<Conflict> Conflicts(long long limit = 1000);
  // The report of the last sync this client ran (also inside Register/Login).
  const SyncReport& last_report() const;

  // Tests: requests go to `transport` instead of HTTP.
  void TestOnlySetTransport(std::unique_ptr<Transport> transport);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vemakin::client

#endif  // VEMAKIN_CLIENT_SYNC_H_
