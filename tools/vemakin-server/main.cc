// vemakin-server: builds ServerOptions from flags and environment (SPEC.md
// section 2 "Configuration") and serves until SIGINT/SIGTERM. With --dev and
// no database configured it first starts a private PostgreSQL cluster
// (server/pg_cluster.h), migrates it and seeds the catalog; --migrate does
// the last two on the configured database (the package's service unit asks
// for it with VEMAKIN_MIGRATE=1 in /etc/vemakin/server.env).
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>

#include "core/error.h"
#include "server/catalog_seed.h"
#include "server/migrator.h"
#include "server/pg_cluster.h"
#include "server/server.h"

namespace fs = std::filesystem;

namespace {

fs::path DefaultDevDataDir() {
  if (geteuid() == 0) return "/var/lib/vemakin/dev";
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    return fs::path(xdg) / "vemakin" / "dev";
  }
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".local" / "share" / "vemakin" / "dev";
}

void PrepareDatabase(const std::string& url, const std::shared_ptr<vemakin::Logger>& logger) {
  pqxx::connection conn(url);
  vemakin::server::Migrator migrator(conn, logger);
  migrator.Up();
  vemakin::server::SeedCatalog(conn);
}

// A duration flag (and its environment variable) counted in `Unit`s, stored
// into `*target` when given; its default is the target's current value.
template <class Unit, class Target>
void AddDuration(CLI::App& app, const std::string& flag, const std::string& env,
                 const std::string& help, Target* target, long lo, long hi) {
  app.add_option_function<long>(
         flag, [target](long n) { *target = std::chrono::duration_cast<Target>(Unit(n)); }, help)
      ->envname(env)
      ->check(CLI::Range(lo, hi))
      ->default_str(std::to_string(std::chrono::duration_cast<Unit>(*target).count()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vemakin-server: the Vemakin Sync REST and sync API"};
  vemakin::server::ServerOptions options;
  bool dev = false;
  std::string data_dir;
  std::string log_level = "info";
  app.add_flag("--dev", dev,
               "with no database configured, run a private PostgreSQL in --data-dir, migrated and "
               "seeded");
  bool migrate = false;
  app.add_flag("--migrate", migrate,
               "apply the database migrations and install the starter catalog before serving "
               "(several instances starting at once take turns)")
      ->envname("VEMAKIN_MIGRATE");
  app.add_option("--data-dir", data_dir, "where --dev keeps its PostgreSQL cluster")
      ->envname("VEMAKIN_DEV_DATA_DIR");
  app.add_option("--database-url", options.database_url, "libpq URL (the PG* variables also work)")
      ->envname("DATABASE_URL");
  app.add_option("--schema", options.schema, "PostgreSQL schema (search_path) to use")
      ->envname("VEMAKIN_DB_SCHEMA");
  app.add_option("--listen", options.listen, "HOST:PORT to listen on")
      ->envname("VEMAKIN_LISTEN")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "I/O threads")
      ->envname("VEMAKIN_THREADS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--max-body-bytes", options.max_body_bytes, "largest accepted request body")
      ->envname("VEMAKIN_MAX_BODY_BYTES")
      // Checked before --dev or --migrate touch a database (Server checks it too).
      ->check(CLI::Range(vemakin::server::ServerOptions::kMinBodyBytes, static_cast<std::size_t>(1)
                                                                            << 30))
      ->capture_default_str();
  app.add_option("--pool-size", options.pool_size, "connections kept open")
      ->envname("VEMAKIN_POOL_SIZE")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  app.add_option("--max-overflow", options.max_overflow, "extra connections under load")
      ->envname("VEMAKIN_MAX_OVERFLOW")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  AddDuration<seconds>(app, "--connect-timeout", "VEMAKIN_CONNECT_TIMEOUT",
                       "seconds to wait for a connection", &options.connect_timeout, 1, 3600);
  AddDuration<milliseconds>(app, "--statement-timeout-ms", "VEMAKIN_STATEMENT_TIMEOUT_MS",
                            "statement_timeout of every session", &options.statement_timeout, 0,
                            86400000);
  AddDuration<seconds>(app, "--pool-timeout", "VEMAKIN_POOL_TIMEOUT",
                       "seconds a request waits for a connection", &options.pool_timeout, 0, 3600);
  AddDuration<seconds>(app, "--pool-recycle", "VEMAKIN_POOL_RECYCLE",
                       "seconds before a connection is replaced", &options.pool_recycle, 1, 86400);
  AddDuration<milliseconds>(app, "--slow-query-ms", "VEMAKIN_SLOW_QUERY_MS",
                            "log queries slower than this", &options.slow_query, 0, 86400000);
  AddDuration<milliseconds>(app, "--slow-request-ms", "VEMAKIN_SLOW_REQUEST_MS",
                            "log requests slower than this", &options.slow_request, 0, 86400000);
  AddDuration<milliseconds>(app, "--pool-overflow-idle-ms", "VEMAKIN_POOL_OVERFLOW_IDLE_MS",
                            "how long a returned overflow connection stays open (0: closed on "
                            "return)",
                            &options.pool_overflow_idle, 0, 3600000);
  app.add_option("--workers", options.workers,
                 "handler threads (default: pool size + max overflow)")
      ->envname("VEMAKIN_WORKERS")
      ->check(CLI::Range(0, 1024));
  app.add_option("--worker-concurrency", options.worker_concurrency,
                 "handlers running at once until one stalls (default: pool size)")
      ->envname("VEMAKIN_WORKER_CONCURRENCY")
      ->check(CLI::Range(0, 1024));
  AddDuration<milliseconds>(app, "--worker-stall-ms", "VEMAKIN_WORKER_STALL_MS",
                            "a handler running this long lets another start", &options.worker_stall,
                            1, 60000);
  app.add_option("--max-connections", options.max_connections, "open client connections in all")
      ->envname("VEMAKIN_MAX_CONNECTIONS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--max-connections-per-address", options.max_connections_per_address,
                 "open client connections from one address")
      ->envname("VEMAKIN_MAX_CONNECTIONS_PER_ADDRESS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--max-page-bytes", options.max_page_bytes,
                 "bytes of rows in one page of a list, snapshot or pull (a page ends early past "
                 "it)")
      ->envname("VEMAKIN_MAX_PAGE_BYTES")
      ->check(CLI::Range(4096LL, 1LL << 30))
      ->capture_default_str();
  app.add_option("--max-parked-pulls", options.max_parked_pulls,
                 "long-polling pulls waiting at once, in all")
      ->envname("VEMAKIN_MAX_PARKED_PULLS")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  app.add_option("--max-parked-pulls-per-user", options.max_parked_pulls_per_user,
                 "long-polling pulls waiting at once for one user")
      ->envname("VEMAKIN_MAX_PARKED_PULLS_PER_USER")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--listen-database-url", options.listen_database_url,
                 "where the live-sync bell LISTENs (default: the database URL); must reach "
                 "PostgreSQL directly, not through PgBouncer in transaction mode")
      ->envname("VEMAKIN_LISTEN_DATABASE_URL");
  app.add_flag("--transaction-pooler", options.transaction_pooler,
               "the database URL leads to PgBouncer in transaction mode (or another "
               "transaction pooler): no session state, settings per transaction, no named "
               "prepared statements; needs --listen-database-url")
      ->envname("VEMAKIN_TRANSACTION_POOLER");
  app.add_option("--replica-database-url", options.replica_database_urls,
                 "a streaming read replica (libpq URL, repeatable) for pulls and snapshots; a "
                 "replica behind what a client has seen is passed over for the primary")
      ->envname("VEMAKIN_REPLICA_DATABASE_URLS")
      ->delimiter(' ');
  app.add_option("--trusted-proxy", options.trusted_proxies,
                 "a reverse proxy (CIDR network or address, repeatable) whose forwarding header "
                 "names the client; rate limits and the loopback-only admin route then see the "
                 "real client")
      ->envname("VEMAKIN_TRUSTED_PROXIES")
      ->delimiter(',');
  app.add_option("--proxy-header", options.proxy_header,
                 "the header trusted proxies name the client in: x-forwarded-for or forwarded")
      ->envname("VEMAKIN_PROXY_HEADER")
      ->check(CLI::IsMember({"x-forwarded-for", "forwarded"}, CLI::ignore_case))
      ->capture_default_str();
  app.add_option("--tls-cert", options.tls_cert_file,
                 "serve HTTPS with this PEM certificate chain (with --tls-key; SIGHUP reloads "
                 "both)")
      ->envname("VEMAKIN_TLS_CERT");
  app.add_option("--tls-key", options.tls_key_file, "the certificate's PEM private key")
      ->envname("VEMAKIN_TLS_KEY");
  app.add_option("--cors-origin", options.cors_origin,
                 "Access-Control-Allow-Origin for browser clients (empty: no CORS)")
      ->envname("VEMAKIN_CORS_ORIGIN")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "debug, info, warning or error")
      ->envname("VEMAKIN_LOG_LEVEL")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // reload the TLS certificate
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // A descriptor per client connection: allow as many as the hard limit does.
  vemakin::server::RaiseOpenFileLimit();

  try {
    options.logger = std::make_shared<vemakin::StderrLogger>(vemakin::ParseLogLevel(log_level));
    std::optional<vemakin::server::PgCluster> cluster;
    if (dev && options.database_url.empty()) {
      vemakin::server::PgClusterOptions cluster_options;
      cluster_options.root_dir = data_dir.empty() ? DefaultDevDataDir() : fs::path(data_dir);
      cluster_options.logger = options.logger;
      cluster.emplace(cluster_options);
      cluster->Start();
      options.database_url = cluster->ConnectionUrl();
      // Other tools (vemakin-admin) find the dev database here; 0600, in a 0700 folder.
      const fs::path url_file = cluster_options.root_dir / "database_url";
      std::ofstream(url_file) << options.database_url << "\n";
      fs::permissions(url_file, fs::perms::owner_read | fs::perms::owner_write);
      PrepareDatabase(options.database_url, options.logger);
    } else if (dev || migrate) {
      if (options.transaction_pooler && options.listen_database_url.empty()) {
        throw vemakin::Error(vemakin::ErrorCode::kInvalidArgument,
                             "--transaction-pooler needs --listen-database-url (a direct URL: "
                             "migrations and the live-sync bell cannot go through the pooler)");
      }
      // Migrations take a session-level advisory lock: through a transaction
      // pooler its unlock could land on another server connection. They run
      // over the direct URL the bell uses.
      PrepareDatabase(
          options.transaction_pooler ? options.listen_database_url : options.database_url,
          options.logger);
    }
    vemakin::server::Server server(options);
    server.Start();
    // One write: the server's threads already log to stderr, and a line
    // written in pieces (std::cerr is unbuffered) interleaves with theirs.
    const std::string ready = std::string("vemakin-server listening on ") +
                              (options.tls_cert_file.empty() ? "http://" : "https://") +
                              options.listen.substr(0, options.listen.rfind(':')) + ":" +
                              std::to_string(server.port()) + "\n";
    std::fwrite(ready.data(), 1, ready.size(), stderr);
    std::fflush(stderr);
    int sig = 0;
    for (sigwait(&stop_signals, &sig); sig == SIGHUP; sigwait(&stop_signals, &sig)) {
      try {
        server.ReloadTls();
        options.logger->Log(vemakin::LogLevel::kInfo, "http", "TLS certificate reloaded",
                            {{"certificate", options.tls_cert_file}});
      } catch (const std::exception& e) {
        options.logger->Log(vemakin::LogLevel::kError, "http",
                            "TLS certificate not reloaded; keeping the old one",
                            {{"error", e.what()}});
      }
    }
    options.logger->Log(vemakin::LogLevel::kInfo, "http", "stopping", {{"signal", sig}});
    server.Stop();
    if (cluster) cluster->Stop();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << std::endl;
    return 1;
  }
}
