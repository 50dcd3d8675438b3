// vemakin-server as a library: the options of SPEC.md section 2 and the
// object that wires the pool, the worker threads, the API and the listener.
// Thread-safety: Start/Stop from one owner thread.
#ifndef VEMAKIN_SERVER_SERVER_H_
#define VEMAKIN_SERVER_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "server/http_server.h"

namespace vemakin::server {

struct ServerOptions {
  std::string database_url;               // libpq URL or key=value string; "" = PG* variables
  std::string schema;                     // search_path of every session; "" = the role's default
  std::string listen = "127.0.0.1:8000";  // HOST:PORT; port 0 picks a free one
  int threads = 2;                        // I/O threads (accept, parse, write)
  int workers = 0;                        // handler threads; 0 = pool_size + max_overflow
  // Handlers running at once (0 = pool_size); each that has run for
  // worker_stall lets one more thread start (server/worker_pool.h).
  int worker_concurrency = 0;
  std::chrono::milliseconds worker_stall{20};
  std::size_t max_queue = 1024;  // requests waiting for a worker before 503
  int pool_size = 5;
  int max_overflow = 10;
  std::chrono::milliseconds pool_timeout{30000};
  std::chrono::milliseconds pool_recycle{300000};
  // A returned overflow connection stays open this long for the next request
  // (0 = closed on return, as QueuePool; see docs/architecture.md).
  std::chrono::milliseconds pool_overflow_idle{5000};
  std::chrono::seconds connect_timeout{10};
  std::chrono::milliseconds statement_timeout{30000};
  std::chrono::milliseconds slow_query{1000};
  std::chrono::milliseconds slow_request{1000};
  // At least kMinBodyBytes: one push mutation may be a 100,000-character
  // note (up to ~600 KB of JSON with escapes), and a push of one mutation the
  // server cannot take would stay at the head of its client's outbox.
  std::size_t max_body_bytes = 1 << 20;
  static constexpr std::size_t kMinBodyBytes = 640 << 10;
  std::chrono::milliseconds request_timeout{15000};  // headers + body of one request
  std::chrono::milliseconds idle_timeout{75000};     // keep-alive idle
  std::string cors_origin = "*";
  // Open connections in all (lowered to what RLIMIT_NOFILE allows) and per
  // client address.
  int max_connections = 20000;
  int max_connections_per_address = 512;
  // Reverse proxies (CIDR networks or addresses) whose forwarding header
  // names the client, and which header that is: "x-forwarded-for" or
  // "forwarded" (RFC 7239). Empty = the TCP peer is the client; a proxy on
  // this host then makes every client look local (server/forwarded.h).
  std::vector<std::string> trusted_proxies;
  std::string proxy_header = "x-forwarded-for";
  // Bytes of rows in one page of a list, bulk read, snapshot or pull; past it
  // the page ends early (has_more).
  long long max_page_bytes = 4 << 20;
  // Long-polling pulls parked at once, in all and per user; past either the
  // pull is answered 503 / 429.
  int max_parked_pulls = 20000;
  int max_parked_pulls_per_user = 32;
  // Where the change bell LISTENs for commits (live sync); "" = database_url.
  // Must reach PostgreSQL directly, not through PgBouncer in transaction mode.
  std::string listen_database_url;
  // database_url leads to a transaction pooler (PgBouncer pool_mode =
  // transaction): no session state is relied on. Connections carry no startup
  // options; each unit of work sets its timeout, time zone and search_path
  // with SET LOCAL (reads run in a transaction too), and statements are not
  // prepared by name (a later transaction may run on another server
  // connection). listen_database_url must then be set (LISTEN needs a session).
  bool transaction_pooler = false;
  // Streaming read replicas of the database (libpq URLs): pulls and snapshot
  // pages read one that has replayed what the client has already seen, else
  // the primary; everything else reads and writes the primary
  // (server/read_replicas.h).
  std::vector<std::string> replica_database_urls;
  // HTTPS: a PEM certificate chain and its key (both or neither); see
  // HttpServerOptions. ReloadTls() reads them again.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::chrono::hours token_ttl{24 * 30};
  std::shared_ptr<Logger> logger;  // null = DefaultLogger()
  // Benchmarks only (server/db.h's StatementObserver): every statement run,
  // with its parameters (nullopt = NULL). Never set in a server.
  std::function<void(const std::string&, const std::vector<std::optional<std::string>>&)>
      test_only_statement_observer;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and serves in background threads. Throws Error on a bad address or a
  // taken port. The database may be down at start: requests then get 503.
  void Start();
  void Stop();
  std::uint16_t port() const;
  // The certificate and key files again (HttpServer::ReloadTls).
  void ReloadTls();

 private:
  struct State;
  ServerOptions options_;
  std::unique_ptr<State> state_;
};

// Raises this process's soft RLIMIT_NOFILE to its hard limit (a server holds
// a descriptor per client connection) and returns the new soft limit.
long RaiseOpenFileLimit();

// The libpq connection string for `url` with connect_timeout and the session's
// statement_timeout/TimeZone/search_path appended (as libpq `options`), or,
// with `session_options` false (a transaction pooler refuses `options`),
// connect_timeout alone.
std::string WithConnectionSettings(const std::string& url, std::chrono::seconds connect_timeout,
                                   std::chrono::milliseconds statement_timeout,
                                   const std::string& schema = "", bool session_options = true);

// The SET LOCAL statements that give one transaction the settings the
// session would otherwise carry (behind a transaction pooler).
std::string TransactionSettings(std::chrono::milliseconds statement_timeout,
                                const std::string& schema);

}  // namespace vemakin::server

#endif  // VEMAKIN_SERVER_SERVER_H_
