#include "server/server.h"

#include <sys/resource.h>

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "server/api.h"
#include "server/db.h"
#include "server/metrics.h"
#include "server/pg_pool.h"
#include "server/read_replicas.h"
#include "server/worker_pool.h"

namespace vemakin::server {

long RaiseOpenFileLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return -1;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) != 0) getrlimit(RLIMIT_NOFILE, &files);
  }
  return files.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long>(files.rlim_cur);
}

namespace {

void CheckSchemaName(const std::string& schema) {
  for (char c : schema) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      throw Error(ErrorCode::kInvalidArgument, "schema names are letters, digits and _");
    }
  }
}

}  // namespace

std::string TransactionSettings(std::chrono::milliseconds statement_timeout,
                                const std::string& schema) {
  CheckSchemaName(schema);
  std::string sql = "SET LOCAL statement_timeout = " + std::to_string(statement_timeout.count()) +
                    "; SET LOCAL TimeZone = 'UTC'";
  // A literal, as the -c value is: a bare `default` (or a reserved word)
  // would mean something else. CheckSchemaName allows no quote.
  if (!schema.empty()) sql += "; SET LOCAL search_path = '" + schema + "'";
  return sql;
}

std::string WithConnectionSettings(const std::string& url, std::chrono::seconds connect_timeout,
                                   std::chrono::milliseconds statement_timeout,
                                   const std::string& schema, bool session_options) {
  CheckSchemaName(schema);
  const std::string timeout = std::to_string(connect_timeout.count());
  if (!session_options) {
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
      return url + (url.find('?') == std::string::npos ? '?' : '&') + "connect_timeout=" + timeout;
    }
    return url + (url.empty() ? "" : " ") + "connect_timeout=" + timeout;
  }
  std::string options =
      "-c statement_timeout=" + std::to_string(statement_timeout.count()) + " -c TimeZone=UTC";
  if (!schema.empty()) options += " -c search_path=" + schema;
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    // URL form: settings go in the query string, percent-encoded.
    std::string encoded;
    for (char c : options) {
      if (c == ' ') {
        encoded += "%20";
      } else if (c == '=') {
        encoded += "%3D";
      } else {
        encoded += c;
      }
    }
    const char sep = url.find('?') == std::string::npos ? '?' : '&';
    return url + sep + "connect_timeout=" + timeout + "&options=" + encoded;
  }
  return url + (url.empty() ? "" : " ") + "connect_timeout=" + timeout + " options='" + options +
         "'";
}

// Destruction order matters: Stop() closes the listener (no new work); then the
// workers drain (their replies go to the stopped listener's queue), then the
// listener, the API, the Db and the pool go.
struct Server::State {
  std::unique_ptr<ChangeBell> bell;  // destroyed last: parked pulls wake into a stopped listener
  std::unique_ptr<PgPool> pool;
  std::unique_ptr<Db> db;
  std::unique_ptr<ReadReplicas> replicas;
  Metrics metrics;
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<WorkerPool> workers;  // destroyed first: drains into a live listener
};

Server::Server(ServerOptions options) : options_(std::move(options)), state_(new State) {
  if (!options_.logger) options_.logger = DefaultLogger();
  const auto [host, port] = ParseListenAddress(options_.listen);
  TrustedProxies proxies(options_.trusted_proxies, ParseProxyHeader(options_.proxy_header));
  PgPoolOptions pool;
  if (options_.max_body_bytes < ServerOptions::kMinBodyBytes) {
    throw Error(ErrorCode::kInvalidArgument,
                "max_body_bytes (VEMAKIN_MAX_BODY_BYTES) must be at least " +
                    std::to_string(ServerOptions::kMinBodyBytes) +
                    ": the largest mutation a client may push must fit in one request");
  }
  if (options_.transaction_pooler && options_.listen_database_url.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "behind a transaction pooler the change bell needs a direct connection: set "
                "listen_database_url (VEMAKIN_LISTEN_DATABASE_URL) to PostgreSQL itself");
  }
  pool.conninfo = WithConnectionSettings(options_.database_url, options_.connect_timeout,
                                         options_.statement_timeout, options_.schema,
                                         !options_.transaction_pooler);
  pool.pool_size = options_.pool_size;
  pool.max_overflow = options_.max_overflow;
  pool.pool_timeout = options_.pool_timeout;
  pool.pool_recycle = options_.pool_recycle;
  pool.overflow_idle = options_.pool_overflow_idle;
  pool.logger = options_.logger;
  state_->pool = std::make_unique<PgPool>(pool);
  DbOptions db;
  if (options_.transaction_pooler) {
    db.transaction_settings = TransactionSettings(options_.statement_timeout, options_.schema);
    db.named_statements = false;
  }
  db.slow_query = options_.slow_query;
  db.logger = options_.logger;
  db.observer = options_.test_only_statement_observer;
  db.track_commit_lsn = !options_.replica_database_urls.empty();
  state_->db = std::make_unique<Db>(*state_->pool, db);
  // Replicas: the same settings, but a replica that cannot give a connection
  // soon is passed over for the primary (server/read_replicas.h).
  std::vector<PgPoolOptions> replica_pools;
  for (const std::string& url : options_.replica_database_urls) {
    PgPoolOptions r = pool;
    r.conninfo = WithConnectionSettings(
        url, std::min(options_.connect_timeout, std::chrono::seconds(2)),
        options_.statement_timeout, options_.schema, !options_.transaction_pooler);
    r.pool_timeout = std::min(options_.pool_timeout, std::chrono::milliseconds(1000));
    replica_pools.push_back(std::move(r));
  }
  state_->replicas = std::make_unique<ReadReplicas>(std::move(replica_pools), db);
  ApiOptions api;
  api.slow_request = options_.slow_request;
  api.cors_origin = options_.cors_origin;
  api.token_ttl = options_.token_ttl;
  api.queue_timeout = options_.pool_timeout;
  api.max_page_bytes = options_.max_page_bytes;
  api.max_parked_pulls = options_.max_parked_pulls;
  api.max_parked_pulls_per_user = options_.max_parked_pulls_per_user;
  api.logger = options_.logger;
  state_->bell = std::make_unique<ChangeBell>(
      WithConnectionSettings(options_.listen_database_url.empty() ? options_.database_url
                                                                  : options_.listen_database_url,
                             options_.connect_timeout, options_.statement_timeout,
                             options_.schema),  // the bell rings for its own schema
      options_.logger, std::chrono::milliseconds(10), !state_->replicas->empty());
  api.bell = state_->bell.get();
  api.replicas = state_->replicas.get();
  state_->api = std::make_unique<Api>(api, *state_->db, state_->metrics);
  // One worker per connection the pool may open: pool_size + max_overflow
  // connections are really usable, and a request that touches a blocked
  // table holds one worker and one connection, not the whole server. Only
  // pool_size of them run at once while requests are fast; each that stalls
  // (worker_stall) lets another start, so a stall is served on overflow
  // connections. A request that finds no worker waits in the queue at most
  // pool_timeout (then 503). Overflow connections stay open for
  // pool_overflow_idle after use, so sustained stalls do not open a
  // connection per request.
  if (options_.worker_stall.count() < 1 ||
      (options_.pool_timeout.count() > 0 && options_.worker_stall >= options_.pool_timeout)) {
    // Handlers blocked for good would never lend their places before the
    // queued requests' deadlines: head-of-line blocking again.
    throw Error(ErrorCode::kInvalidArgument,
                "worker_stall must be at least 1 ms and shorter than pool_timeout");
  }
  const int workers = options_.workers > 0
                          ? options_.workers
                          : std::max(1, options_.pool_size + options_.max_overflow);
  state_->workers = std::make_unique<WorkerPool>(
      workers, options_.max_queue,
      options_.worker_concurrency > 0 ? options_.worker_concurrency : options_.pool_size,
      options_.worker_stall);
  HttpServerOptions http;
  http.host = host;
  http.port = port;
  http.io_threads = options_.threads;
  http.max_body_bytes = options_.max_body_bytes;
  http.request_timeout = options_.request_timeout;
  http.idle_timeout = options_.idle_timeout;
  http.workers = state_->workers.get();
  http.queue_timeout = options_.pool_timeout;
  http.max_connections = options_.max_connections;
  http.max_connections_per_address = options_.max_connections_per_address;
  http.trusted_proxies = std::move(proxies);
  http.tls_cert_file = options_.tls_cert_file;
  http.tls_key_file = options_.tls_key_file;
  // Each connection holds a descriptor: keep some for the pool, the bell,
  // logs and the listener itself, or accepting would fail with EMFILE.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    const long usable =
        static_cast<long>(files.rlim_cur) - 64 - 2L * (options_.pool_size + options_.max_overflow);
    if (usable < http.max_connections) {
      http.max_connections = static_cast<int>(std::max(16L, usable));
      options_.logger->Log(LogLevel::kInfo, "http", "connection cap lowered to the file limit",
                           {{"max_connections", http.max_connections},
                            {"rlimit_nofile", static_cast<long>(files.rlim_cur)}});
    }
  }
  http.logger = options_.logger;
  Api* api_ptr = state_->api.get();
  state_->http = std::make_unique<HttpServer>(
      http, [api_ptr](const HttpRequest& r) { return api_ptr->Handle(r); });
  HttpServer* http_ptr = state_->http.get();
  PgPool* pool_ptr = state_->pool.get();
  WorkerPool* workers_ptr = state_->workers.get();
  ChangeBell* bell_ptr = state_->bell.get();
  ReadReplicas* replicas_ptr = state_->replicas.get();
  state_->api->SetConnectionGauge([http_ptr] { return http_ptr->open_connections(); });
  state_->metrics.SetGaugeSource([pool_ptr, http_ptr, workers_ptr, bell_ptr, replicas_ptr] {
    const PoolStatus s = pool_ptr->Status();
    return std::vector<std::pair<std::string, double>>{
        {"vemakin_pool_size", s.size},
        {"vemakin_pool_checked_in", s.checked_in},
        {"vemakin_pool_checked_out", s.checked_out},
        {"vemakin_pool_overflow", s.overflow},
        {"vemakin_pool_waiters", s.waiters},
        {"vemakin_pool_timeouts", static_cast<double>(s.timeouts)},
        {"vemakin_http_open_connections", http_ptr->open_connections()},
        {"vemakin_http_connections_refused_total",
         static_cast<double>(http_ptr->refused_connections())},
        {"vemakin_http_accept_pauses_total", static_cast<double>(http_ptr->accept_pauses())},
        {"vemakin_http_requests_refused_total", static_cast<double>(http_ptr->refused_requests())},
        {"vemakin_worker_threads", workers_ptr->threads()},
        {"vemakin_worker_queue", static_cast<double>(workers_ptr->queued())},
        {"vemakin_worker_busy", workers_ptr->busy()},
        {"vemakin_worker_queue_expired_total", static_cast<double>(workers_ptr->expired())},
        {"vemakin_worker_stall_starts_total", static_cast<double>(workers_ptr->lent())},
        {"vemakin_sync_pulls_waiting", static_cast<double>(bell_ptr->waiting())},
        {"vemakin_sync_pulls_woken_total", static_cast<double>(bell_ptr->woken())},
        {"vemakin_replicas_up", replicas_ptr->up()},
        {"vemakin_replica_reads_total", static_cast<double>(replicas_ptr->reads())},
        {"vemakin_replica_fallbacks_total", static_cast<double>(replicas_ptr->fallbacks())}};
  });
}

Server::~Server() { Stop(); }

void Server::Start() {
  state_->bell->Start();
  state_->http->Start();
}

void Server::Stop() {
  if (state_ && state_->http) state_->http->Stop();
  if (state_ && state_->bell) state_->bell->Stop();
}

std::uint16_t Server::port() const { return state_->http->port(); }

void Server::ReloadTls() { state_->http->ReloadTls(); }

}  // namespace vemakin::server
