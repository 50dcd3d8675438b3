// vemakin-bench: measurements, never assertions. `vemakin-bench api` seeds a
// project with N shots (default 100,000), serves it with an in-process
// vemakin-server and drives it with keep-alive HTTP connections, printing one
// table of requests/s and latency percentiles per scenario and concurrency.
// Without --database-url it runs its own throwaway PostgreSQL.
#include <fcntl.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/log.h"
#include "server/catalog_seed.h"
#include "server/migrator.h"
#include "server/pg_cluster.h"
#include "server/server.h"
#include "vemakin/client/store.h"
#include "vemakin/client/sync.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Result {
  std::string scenario;
  int connections = 0;
  double rps = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  long errors = 0;
  long requests = 0;
  double switches_per_request = 0;  // context switches, whole machine
  double cpu_us_per_request = 0;    // CPU time, whole machine (all processes)
};

// The machine's context switches and busy CPU time so far (/proc/stat): the
// cost of a request however it is spread over the load generator, the server
// and PostgreSQL's backends.
struct MachineCounters {
  double switches = 0;
  double busy_us = 0;

  static MachineCounters Now() {
    MachineCounters c;
    std::ifstream in("/proc/stat");
    static const double us_per_tick = 1e6 / static_cast<double>(sysconf(_SC_CLK_TCK));
    for (std::string line; std::getline(in, line);) {
      std::istringstream fields(line);
      std::string key;
      fields >> key;
      if (key == "cpu") {
        double v = 0, total = 0, idle = 0;
        for (int i = 0; i < 8 && fields >> v; ++i) {
          total += v;
          if (i == 3 || i == 4) idle += v;  // idle, iowait
        }
        c.busy_us = (total - idle) * us_per_tick;
      } else if (key == "ctxt") {
        fields >> c.switches;
      }
    }
    return c;
  }
  // Per unit of `count` units done between `before` and this.
  std::pair<double, double> PerUnit(const MachineCounters& before, double count) const {
    if (count <= 0) return {0, 0};
    return {(switches - before.switches) / count, (busy_us - before.busy_us) / count};
  }
};

long RssKiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

std::string RandomUuid(std::mt19937_64& gen) {
  char buf[40];
  const unsigned long long a = gen(), b = gen();
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8%03llx-%012llx", a >> 32,
                (a >> 16) & 0xffff, a & 0xfff, (b >> 48) & 0xfff, b & 0xffffffffffffULL);
  return buf;
}

// One request of a scenario: returns the HTTP status (0 = transport error).
// The raw limits the benchmarks measure in the same run on the same rows:
// libpq (and SQLite's C API) with nothing of ours in between.
class RawPg {
 public:
  explicit RawPg(const std::string& url) : conn_(PQconnectdb(url.c_str()), PQfinish) {
    if (PQstatus(conn_.get()) != CONNECTION_OK) throw std::runtime_error("libpq: cannot connect");
  }
  void Exec(const std::string& sql) {
    std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(conn_.get(), sql.c_str()), PQclear);
    const ExecStatusType st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_OUT) {
      throw std::runtime_error(std::string("libpq: ") + PQerrorMessage(conn_.get()));
    }
  }
  PGconn* get() { return conn_.get(); }

 private:
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn_;
};

// One statement a request ran, with its parameters (nullopt = NULL).
struct Recorded {
  std::string sql;
  std::vector<std::optional<std::string>> params;
};

// The server's own statements through libpq: `connections` threads, each on
// a connection of its own with the statements prepared, run one request's
// statements again and again for `seconds` (as pgbench -M prepared would);
// returns those rounds per second.
struct LibpqFigures {
  double rate = 0;  // rounds per second
  double switches_per_round = 0, cpu_us_per_round = 0;
};

LibpqFigures LibpqRate(const std::string& url, const std::vector<Recorded>& statements,
                       int connections, double seconds) {
  std::atomic<long long> rounds{0};
  std::atomic<int> ready{0};
  std::atomic<bool> stop{false};
  std::atomic<long> errors{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      RawPg pg(url);
      std::vector<std::vector<const char*>> values(statements.size());
      for (size_t i = 0; i < statements.size(); ++i) {
        std::unique_ptr<PGresult, void (*)(PGresult*)> r(
            PQprepare(pg.get(), ("s" + std::to_string(i)).c_str(), statements[i].sql.c_str(), 0,
                      nullptr),
            PQclear);
        if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) ++errors;
        for (const std::optional<std::string>& p : statements[i].params) {
          values[i].push_back(p ? p->c_str() : nullptr);
        }
      }
      ++ready;
      while (!stop) {
        for (size_t i = 0; i < statements.size(); ++i) {
          std::unique_ptr<PGresult, void (*)(PGresult*)> r(
              PQexecPrepared(pg.get(), ("s" + std::to_string(i)).c_str(),
                             static_cast<int>(values[i].size()), values[i].data(), nullptr, nullptr,
                             0),
              PQclear);
          const ExecStatusType st = PQresultStatus(r.get());
          if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) ++errors;
        }
        ++rounds;
      }
    });
  }
  while (ready < connections) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const MachineCounters before = MachineCounters::Now();
  const long long r0 = rounds;
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const long long r1 = rounds;
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const MachineCounters after = MachineCounters::Now();
  stop = true;
  for (std::thread& t : threads) t.join();
  if (errors > 0) std::cerr << "libpq replay: " << errors << " statement error(s)\n";
  LibpqFigures f;
  f.rate = (r1 - r0) / elapsed;
  std::tie(f.switches_per_round, f.cpu_us_per_round) =
      after.PerUnit(before, static_cast<double>(r1 - r0));
  return f;
}

using Request = std::function<int(httplib::Client&, std::mt19937_64&)>;

Result Drive(const std::string& name, int port, int connections, double seconds,
             const Request& request) {
  std::vector<std::vector<double>> latencies(connections);
  std::vector<long> errors(connections, 0);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  Clock::time_point end;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client http("127.0.0.1", port);
      http.set_keep_alive(true);
      http.set_tcp_nodelay(true);
      http.set_read_timeout(60, 0);
      std::mt19937_64 gen(static_cast<unsigned long long>(i) * 7919 + 17);
      latencies[i].reserve(100000);
      while (!go.load()) std::this_thread::yield();
      while (Clock::now() < end) {
        const auto t0 = Clock::now();
        const int status = request(http, gen);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (status < 200 || status >= 300) ++errors[i];
        latencies[i].push_back(ms);
      }
    });
  }
  const MachineCounters before = MachineCounters::Now();
  const auto start = Clock::now();
  end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go = true;
  for (std::thread& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const MachineCounters after = MachineCounters::Now();
  std::vector<double> all;
  Result r;
  r.scenario = name;
  r.connections = connections;
  for (int i = 0; i < connections; ++i) {
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
    r.errors += errors[i];
  }
  std::sort(all.begin(), all.end());
  r.requests = static_cast<long>(all.size());
  r.rps = all.size() / elapsed;
  std::tie(r.switches_per_request, r.cpu_us_per_request) =
      after.PerUnit(before, static_cast<double>(all.size()));
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
    r.max_ms = all.back();
  }
  return r;
}

void Seed(const std::string& url, const std::string& user_id, const std::string& project_id,
          int shots) {
  pqxx::connection conn(url);
  {
    pqxx::work tx(conn);
    // Realistic spread: 90 shooting days, a tenth unscheduled, several shots a slot.
    tx.exec_params(
        "INSERT INTO shots (id, project_id, title, description, status, date, start_time, "
        "location, "
        "scene_number) "
        "SELECT gen_random_uuid(), $1::uuid, 'Shot ' || g, 'Coverage for scene ' || (g % 300), "
        "CASE WHEN g % 3 = 0 THEN 'done' ELSE 'pending' END, "
        "CASE WHEN g % 10 = 0 THEN NULL ELSE DATE '2026-01-01' + (g % 90) END, "
        "CASE WHEN g % 7 = 0 THEN NULL ELSE lpad(((g % 14) + 6)::text, 2, '0') || ':' || "
        "lpad(((g % 4) * 15)::text, 2, '0') END, "
        "'Stage ' || (g % 12), (g % 300)::text FROM generate_series(1, $2) g",
        project_id, shots);
    tx.commit();
  }
  // The tables as autovacuum leaves them at rest: statistics, and the
  // visibility map that lets an index-only scan skip the heap (a deep page
  // by skip reads 100,000 index entries; with the map unset, each costs a
  // heap visit and the page takes 2.5 times as long). The change log too:
  // the seed's rows went there as well.
  pqxx::nontransaction vacuum(conn);
  vacuum.exec("VACUUM ANALYZE shots");
  vacuum.exec("VACUUM ANALYZE sync_changes");
  (void)user_id;
}

// The database a benchmark runs on: the given URL, or a throwaway cluster;
// migrated, with the catalog seeded.
struct BenchDatabase {
  std::optional<vemakin::server::PgCluster> cluster;
  std::string url;

  explicit BenchDatabase(const std::string& url_in) : url(url_in) {
    if (url.empty()) {
      char tmpl[] = "/tmp/vemakin-bench-XXXXXX";
      if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
      std::filesystem::permissions(tmpl, std::filesystem::perms::owner_all |
                                             std::filesystem::perms::group_exec |
                                             std::filesystem::perms::others_exec);
      vemakin::server::PgClusterOptions o;
      o.root_dir = std::string(tmpl) + "/pg";
      o.logger = std::make_shared<vemakin::NullLogger>();
      cluster.emplace(o);
      cluster->Start();
      url = cluster->ConnectionUrl();
    }
    pqxx::connection conn(url);
    vemakin::server::Migrator(conn, std::make_shared<vemakin::NullLogger>()).Up();
    vemakin::server::SeedCatalog(conn);
  }
  ~BenchDatabase() {
    if (!cluster) return;
    cluster->Stop();
    std::filesystem::remove_all(cluster->options().root_dir.parent_path());
  }
  BenchDatabase(const BenchDatabase&) = delete;
  BenchDatabase& operator=(const BenchDatabase&) = delete;
};

struct BenchOptions {
  std::string database_url;
  int shots = 100000;
  double seconds = 5;
  std::vector<int> levels = {8, 64};
  bool with_256 = true;
  std::string only;        // run only scenarios whose name contains this
  std::string pooler_url;  // the server reaches the database through this transaction pooler
  vemakin::server::ServerOptions server;
};

int RunApi(const BenchOptions& bo) {
  const std::string& database_url_in = bo.database_url;
  const int shots = bo.shots;
  const double seconds = bo.seconds;
  const std::vector<int>& levels = bo.levels;
  const bool with_256 = bo.with_256;
  BenchDatabase database(database_url_in);
  const std::string& url = database.url;
  vemakin::server::ServerOptions options = bo.server;
  options.database_url = url;
  // One request of each read scenario is recorded (its statements and
  // parameters) and replayed through libpq beside the HTTP figures.
  std::mutex recording_mu;
  std::vector<Recorded>* recording = nullptr;
  options.test_only_statement_observer = [&](const std::string& sql,
                                             const std::vector<std::optional<std::string>>& p) {
    std::lock_guard<std::mutex> lock(recording_mu);
    if (recording != nullptr) recording->push_back({sql, p});
  };
  if (!bo.pooler_url.empty()) {
    options.listen_database_url = url;  // the bell stays direct
    options.database_url = bo.pooler_url;
    options.transaction_pooler = true;
  }
  options.listen = "127.0.0.1:0";
  options.logger = std::make_shared<vemakin::NullLogger>();
  vemakin::server::Server server(options);
  server.Start();
  const int port = server.port();

  httplib::Client http("127.0.0.1", port);
  std::mt19937_64 gen(42);
  const std::string email = "bench-" + RandomUuid(gen) + "@example.com";
  auto reg =
      http.Post("/api/auth/register",
                json{{"email", email}, {"password", "benchmark pass"}, {"name", "Bench"}}.dump(),
                "application/json");
  if (!reg || reg->status != 201) throw std::runtime_error("register failed");
  const json account = json::parse(reg->body);
  const std::string token = account.at("token");
  const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  auto proj = http.Post("/api/projects", auth, json{{"name", "Benchmark feature"}}.dump(),
                        "application/json");
  const std::string project = json::parse(proj->body).at("id");
  const auto seed_start = Clock::now();
  Seed(url, account.at("user").at("id"), project, shots);
  const double seed_s = std::chrono::duration<double>(Clock::now() - seed_start).count();
  std::cerr << "seeded " << shots << " shots in " << seed_s << " s\n";

  const std::string list = "/api/shots?project_id=" + project;
  auto first = http.Get(list + "&limit=100", auth);
  const long long total = json::parse(first->body).at("total");
  // As deep as issue 13 measured the Python stack: the page before the last.
  const long long deep_skip = total > 100 ? total - 50 : total / 2;
  auto before_deep = http.Get(list + "&limit=1&skip=" + std::to_string(deep_skip - 1), auth);
  const std::string deep_cursor = json::parse(before_deep->body).at("next_cursor");
  std::vector<std::string> ids;
  auto sample = http.Get(list + "&limit=1000&skip=1000", auth);
  if (!sample || sample->status != 200) throw std::runtime_error("cannot list shots");
  const json sample_page = json::parse(sample->body);
  for (const json& s : sample_page.at("items")) ids.push_back(s.at("id"));
  if (ids.empty()) throw std::runtime_error("no shots to fetch: " + sample->body.substr(0, 300));

  struct Scenario {
    std::string name;
    Request request;
  };
  const std::vector<Scenario> scenarios = {
      {"shots list, first page (100 rows)",
       [&](httplib::Client& c, std::mt19937_64&) {
         auto r = c.Get(list + "&limit=100", auth);
         return r ? r->status : 0;
       }},
      {"shots list, deep page by skip (" + std::to_string(deep_skip) + ")",
       [&](httplib::Client& c, std::mt19937_64&) {
         auto r = c.Get(list + "&limit=100&skip=" + std::to_string(deep_skip), auth);
         return r ? r->status : 0;
       }},
      {"shots list, deep page by cursor (row " + std::to_string(deep_skip) + ")",
       [&](httplib::Client& c, std::mt19937_64&) {
         auto r = c.Get(list + "&limit=100&cursor=" + deep_cursor, auth);
         return r ? r->status : 0;
       }},
      // The floor under every figure: the listener, the hand-off to a
      // worker and back, a JSON 404 and the load generator, with no SQL.
      {"HTTP alone (an unmatched route, no SQL)",
       [&](httplib::Client& c, std::mt19937_64&) {
         auto r = c.Get("/api/no-such-route", auth);
         return r && r->status == 404 ? 200 : (r ? r->status : 0);
       }},
      {"one shot by id",
       [&](httplib::Client& c, std::mt19937_64& g) {
         auto r = c.Get("/api/shots/" + ids[g() % ids.size()], auth);
         return r ? r->status : 0;
       }},
      {"create a shot",
       [&](httplib::Client& c, std::mt19937_64& g) {
         auto r = c.Post("/api/shots", auth,
                         json{{"id", RandomUuid(g)},
                              {"project_id", project},
                              {"title", "New take"},
                              {"date", "2026-03-01"},
                              {"start_time", "10:00"}}
                             .dump(),
                         "application/json");
         return r ? r->status : 0;
       }},
  };
  std::vector<Result> results;
  std::map<std::pair<std::string, int>, LibpqFigures> own;  // (scenario, conns) -> libpq
  for (const Scenario& s : scenarios) {
    if (!bo.only.empty() && s.name.find(bo.only) == std::string::npos) continue;
    std::vector<Recorded> statements;
    if (s.name != "create a shot" && s.name.rfind("HTTP alone", 0) != 0) {
      httplib::Client once("127.0.0.1", port);
      std::mt19937_64 g(1);
      {
        std::lock_guard<std::mutex> lock(recording_mu);
        recording = &statements;
      }
      const int status = s.request(once, g);
      {
        std::lock_guard<std::mutex> lock(recording_mu);
        recording = nullptr;
      }
      if (status != 200)
        throw std::runtime_error("recording " + s.name + ": " + std::to_string(status));
    }
    for (int level : levels) {
      results.push_back(Drive(s.name, port, level, seconds, s.request));
      if (!statements.empty()) own[{s.name, level}] = LibpqRate(url, statements, level, seconds);
      std::cerr << "done: " << s.name << " @" << level << " (" << statements.size()
                << " statements replayed)\n";
    }
  }
  if (with_256 && bo.only.empty()) {
    for (const size_t i : {0, 1, 4}) {
      results.push_back(Drive(scenarios[i].name, port, 256, seconds, scenarios[i].request));
    }
  }
  const long rss = RssKiB();
  std::printf("\n%-48s %5s %10s %9s %9s %9s %8s %10s %6s %8s %8s\n", "scenario", "conns", "req/s",
              "p50 ms", "p99 ms", "max ms", "errors", "libpq/s", "ratio", "cs/req", "cpu us");
  for (const Result& r : results) {
    std::printf("%-48s %5d %10.0f %9.2f %9.2f %9.2f %8ld", r.scenario.c_str(), r.connections, r.rps,
                r.p50_ms, r.p99_ms, r.max_ms, r.errors);
    auto it = own.find({r.scenario, r.connections});
    if (it != own.end() && it->second.rate > 0) {
      std::printf(" %10.0f %5.0f%%", it->second.rate, 100.0 * r.rps / it->second.rate);
    } else {
      std::printf(" %10s %6s", "-", "-");
    }
    std::printf(" %8.1f %8.0f\n", r.switches_per_request, r.cpu_us_per_request);
    if (it != own.end() && it->second.rate > 0) {
      std::printf("%-48s %5s %10s %9s %9s %9s %8s %10s %6s %8.1f %8.0f\n", "  (its libpq replay)",
                  "", "", "", "", "", "", "", "", it->second.switches_per_round,
                  it->second.cpu_us_per_round);
    }
  }
  std::printf(
      "\nlibpq/s: the statements one such request ran, replayed prepared through libpq\n"
      "on as many connections, same database, same run; ratio = req/s / libpq/s\n"
      "cs/req, cpu us: context switches and CPU microseconds per request (per replayed\n"
      "round on the replay's line), the whole machine: load generator, server, PostgreSQL\n");
  std::printf("\nshots in project: %lld; process RSS (server + load generator): %.1f MB\n", total,
              rss / 1024.0);
  server.Stop();
  return 0;
}

// The limit for batched local writes, measured on the same machine in the
// same run: SQLite inserting the same rows as RunClient's batch (same
// columns and values but the random ids) by one INSERT ... SELECT over a
// recursive series, in one transaction, into a store file with the mirror's
// schema, indexes and triggers (a Store makes it) and no outbox.
double SetBasedInsertRate(const std::filesystem::path& path, int shots, bool with_outbox) {
  namespace vc = vemakin::client;
  std::string project;
  {
    vc::ClientOptions o;
    o.path = path;
    o.logger = std::make_shared<vemakin::NullLogger>();
    auto store = vc::Store::Open(o);
    project = store->Create(vc::Collection::kProjects, {{"name", "Limit"}}).at("id");
  }
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) throw std::runtime_error("sqlite open");
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  auto exec = [&](const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : "?";
      sqlite3_free(error);
      throw std::runtime_error("set-based insert: " + message);
    }
  };
  // The store's own settings (client/store.cc), its page cache included.
  exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
      "PRAGMA cache_size = -16384");
  const auto t0 = Clock::now();
  exec("BEGIN IMMEDIATE");
  exec("WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < " +
       std::to_string(shots - 1) +
       "), r AS (SELECT n, lower(hex(randomblob(16))) AS h FROM g) "
       "INSERT INTO shots (id, project_id, title, status, location, date, start_time, "
       "created_at, updated_at) SELECT "
       "substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8' || "
       "substr(h, 18, 3) || '-' || substr(h, 21, 12), '" +
       project +
       "', 'Shot ' || n, CASE WHEN n % 3 = 0 THEN 'done' ELSE 'pending' END, "
       "'Stage ' || (n % 12), "
       "CASE WHEN n % 10 != 0 THEN printf('2026-%02d-%02d', 1 + n % 12, 1 + n % 28) END, "
       "CASE WHEN n % 7 != 0 THEN printf('%02d:%02d', 6 + n % 14, (n % 4) * 15) END, "
       "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM r");
  if (with_outbox) {
    // Each row's mutation too, as Store::Create appends it (its fields as
    // JSON text, a random mutation id): what the outbox adds to the limit.
    exec(
        "INSERT INTO outbox (mutation_id, table_name, row_id, op, fields, created_at) "
        "SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8' "
        "|| substr(h, 18, 3) || '-' || substr(h, 21, 12), 'shots', id, 'create', "
        "json_object('id', id, 'project_id', project_id, 'title', title, 'status', status, "
        "'location', location, 'date', date, 'start_time', start_time), created_at "
        "FROM (SELECT *, lower(hex(randomblob(16))) AS h FROM shots WHERE project_id = '" +
        project + "')");
  }
  exec("COMMIT");
  return shots / std::chrono::duration<double>(Clock::now() - t0).count();
}

// `vemakin-bench client`: local write rate (each write with its outbox entry)
// and list latency on a large local project.
int RunClient(int shots, int single_writes) {
  namespace vc = vemakin::client;
  char tmpl[] = "/tmp/vemakin-bench-client-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::filesystem::path dir = tmpl;
  vc::ClientOptions o;
  o.path = dir / "bench.db";
  o.logger = std::make_shared<vemakin::NullLogger>();
  auto store = vc::Store::Open(o);
  const std::string project =
      store->Create(vc::Collection::kProjects, {{"name", "Bench"}}).at("id");
  auto shot = [&](int g) {
    json body = {{"project_id", project},
                 {"title", "Shot " + std::to_string(g)},
                 {"status", g % 3 == 0 ? "done" : "pending"},
                 {"location", "Stage " + std::to_string(g % 12)}};
    if (g % 10 != 0) {
      char date[16];
      std::snprintf(date, sizeof date, "2026-%02d-%02d", 1 + (g % 12), 1 + (g % 28));
      body["date"] = date;
    }
    if (g % 7 != 0) {
      char time[8];
      std::snprintf(time, sizeof time, "%02d:%02d", 6 + (g % 14), (g % 4) * 15);
      body["start_time"] = time;
    }
    store->Create(vc::Collection::kShots, body);
  };
  auto t0 = Clock::now();
  store->Batch([&] {
    for (int g = 0; g < shots; ++g) shot(g);
  });
  const double batched_s = std::chrono::duration<double>(Clock::now() - t0).count();
  t0 = Clock::now();
  for (int g = 0; g < single_writes; ++g) shot(shots + g);
  const double single_s = std::chrono::duration<double>(Clock::now() - t0).count();

  auto time_list = [&](const vc::ListQuery& q, int reps) {
    std::vector<double> ms;
    for (int i = 0; i < reps; ++i) {
      const auto a = Clock::now();
      store->List(vc::Collection::kShots, q);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    }
    std::sort(ms.begin(), ms.end());
    return std::make_pair(ms[ms.size() / 2], ms[ms.size() * 99 / 100]);
  };
  vc::ListQuery first;
  first.filters["project_id"] = project;
  vc::ListQuery deep_skip = first;
  deep_skip.skip = shots / 2;
  vc::ListQuery before = first;
  before.skip = shots / 2 - 1;
  before.limit = 1;
  vc::ListQuery deep_cursor = first;
  deep_cursor.cursor = *store->List(vc::Collection::kShots, before).next_cursor;
  const auto f = time_list(first, 200);
  const auto c = time_list(deep_cursor, 200);
  const auto s = time_list(deep_skip, 50);
  const long rss = RssKiB();
  const double limit = SetBasedInsertRate(dir / "limit.db", shots, false);
  const double limit_outbox = SetBasedInsertRate(dir / "limit-outbox.db", shots, true);
  std::printf("\n%-52s %12s\n", "measurement", "value");
  std::printf("%-52s %12.0f\n", "batched writes (rows/s, one transaction, with outbox)",
              shots / batched_s);
  std::printf("%-52s %12.0f\n", "limit: SQLite set-based insert (rows/s, same rows)", limit);
  std::printf("%-52s %11.0f%%\n", "batched writes / limit", 100.0 * shots / batched_s / limit);
  std::printf("%-52s %12.0f\n", "reference: set-based, outbox rows too (rows/s)", limit_outbox);
  std::printf("%-52s %11.0f%%\n", "batched writes / that reference",
              100.0 * shots / batched_s / limit_outbox);
  std::printf("%-52s %12.0f\n", "single-row writes (rows/s, a transaction each, FULL)",
              single_writes / single_s);
  std::printf("%-52s %12.3f\n", "list first page, 100 rows: p50 ms", f.first);
  std::printf("%-52s %12.3f\n", "list first page, 100 rows: p99 ms", f.second);
  std::printf("%-52s %12.3f\n", "list deep page by cursor: p50 ms", c.first);
  std::printf("%-52s %12.3f\n", "list deep page by cursor: p99 ms", c.second);
  std::printf("%-52s %12.3f\n", "list deep page by skip: p50 ms", s.first);
  std::printf("%-52s %12.1f\n", "process RSS (MB)", rss / 1024.0);
  std::printf("\nshots in project: %d; store file: %.1f MB\n", shots + single_writes,
              std::filesystem::file_size(o.path) / 1e6);
  store.reset();
  std::filesystem::remove_all(dir);
  return 0;
}

// ---------------------------------------------------------------- sync

struct ChildRun {
  double seconds = 0;
  long peak_kib = 0;
  int exit_code = -1;
  std::string out;
};

// Runs argv with stdout captured; wall time and the child's peak RSS.
ChildRun RunChild(const std::vector<std::string>& argv) {
  int out_pipe[2];
  if (pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    close(out_pipe[0]);
    close(out_pipe[1]);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  ChildRun run;
  char buf[4096];
  for (ssize_t n; (n = read(out_pipe[0], buf, sizeof buf)) > 0;) run.out.append(buf, n);
  close(out_pipe[0]);
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  run.peak_kib = usage.ru_maxrss;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

struct SyncBenchOptions {
  std::string database_url;
  int shots = 100000;
  int pushes = 10000;
  int samples = 200;
  long long history = 1000000;
};

// The columns of a shot as the mirror stores them, in COPY's text format.
constexpr char kShotColumns[] =
    "id, project_id, title, description, status, date, start_time, duration, location, "
    "location_lat, location_lng, remarks, scene_number, equipment_ids, prepared_equipment_ids, "
    "created_at, updated_at";

// Download limit: COPY (the project's shots, formatted as the mirror holds
// them) TO STDOUT from PostgreSQL into one prepared SQLite insert, one
// transaction, into a store file with the mirror's schema and indexes (the
// client's initial-sync page cache). The list counter a trigger keeps per
// row is kept as a bulk load would keep it: the trigger is set aside for the
// load and the count written once at its end (in the same transaction), so
// the end state is the mirror's exactly. Returns rows/s; *rows the count.
double RawDownloadRate(const std::string& url, const std::string& project, const std::string& owner,
                       const std::filesystem::path& path, long long* rows) {
  namespace vc = vemakin::client;
  {
    vc::ClientOptions o;
    o.path = path;
    o.logger = std::make_shared<vemakin::NullLogger>();
    vc::Store::Open(o);
  }
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) throw std::runtime_error("sqlite open");
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  auto exec = [&](const std::string& sql) {
    if (sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db.get()));
    }
  };
  exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
      "PRAGMA cache_size = -32768");
  exec("INSERT INTO projects (id, user_id, name, created_at, updated_at) VALUES ('" + project +
       "', '" + owner +
       "', 'Limit', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')");
  std::string insert = "INSERT INTO shots (" + std::string(kShotColumns) + ") VALUES (";
  for (int i = 1; i <= 17; ++i) insert += (i > 1 ? ", ?" : "?") + std::to_string(i);
  insert += ")";
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db.get(), insert.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db.get()));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(st, sqlite3_finalize);
  RawPg pg(url);
  const std::string ts = "to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
  auto stamp = [&](const char* column) {
    std::string out = ts;
    out.replace(out.find("%s"), 2, column);
    return out;
  };
  const auto t0 = Clock::now();
  std::string trigger;
  {
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db.get(),
                       "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND "
                       "name = 'shots_count_insert'",
                       -1, &q, nullptr);
    if (q != nullptr && sqlite3_step(q) == SQLITE_ROW) {
      trigger = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
  }
  if (trigger.empty()) throw std::runtime_error("the mirror has no shots_count_insert trigger");
  exec("BEGIN IMMEDIATE");
  exec("DROP TRIGGER shots_count_insert");
  pg.Exec(
      "COPY (SELECT id, project_id, title, description, status, date, start_time, duration, "
      "location, location_lat, location_lng, remarks, scene_number, equipment_ids, "
      "prepared_equipment_ids, " +
      stamp("created_at") + ", " + stamp("updated_at") + " FROM shots WHERE project_id = '" +
      project + "') TO STDOUT");
  long long n = 0;
  std::vector<std::string> fields;
  for (;;) {
    char* line = nullptr;
    const int len = PQgetCopyData(pg.get(), &line, 0);
    if (len < 0) break;
    std::unique_ptr<char, void (*)(void*)> owned(line, PQfreemem);
    // Text format: tab-separated, \N for NULL, backslash escapes.
    fields.assign(1, std::string());
    std::vector<bool> null_fields(1, false);
    for (int i = 0; i < len && line[i] != '\n'; ++i) {
      const char c = line[i];
      if (c == '\t') {
        fields.emplace_back();
        null_fields.push_back(false);
      } else if (c == '\\' && i + 1 < len) {
        const char e = line[++i];
        if (e == 'N') {
          null_fields.back() = true;
        } else {
          fields.back() += e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
        }
      } else {
        fields.back() += c;
      }
    }
    for (size_t f = 0; f < fields.size(); ++f) {
      const int k = static_cast<int>(f) + 1;
      if (null_fields[f]) {
        sqlite3_bind_null(stmt.get(), k);
      } else if (f == 9 || f == 10) {  // location_lat, location_lng: REAL
        sqlite3_bind_double(stmt.get(), k, std::stod(fields[f]));
      } else {
        sqlite3_bind_text(stmt.get(), k, fields[f].data(), static_cast<int>(fields[f].size()),
                          SQLITE_TRANSIENT);
      }
    }
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db.get()));
    }
    sqlite3_reset(stmt.get());
    ++n;
  }
  std::unique_ptr<PGresult, void (*)(PGresult*)> end(PQgetResult(pg.get()), PQclear);
  if (PQresultStatus(end.get()) != PGRES_COMMAND_OK) throw std::runtime_error("COPY failed");
  exec(
      "INSERT INTO list_counts SELECT 'shots', project_id, count(*) FROM shots GROUP BY "
      "project_id ON CONFLICT (table_name, scope_id) DO UPDATE SET n = excluded.n");
  exec(trigger);
  exec("COMMIT");
  *rows = n;
  return n / std::chrono::duration<double>(Clock::now() - t0).count();
}

// Push limit: `count` new shots of the project (as the pushed ones: an id,
// the project, a title) in one multi-row INSERT, one transaction, through
// libpq; the change-capture triggers run as for any write.
double RawPushRate(const std::string& url, const std::string& project, int count, int batch = 0,
                   const std::string& user = "") {
  std::mt19937_64 gen(user.empty() ? 99 : 101);  // ids of their own for each run
  if (batch <= 0) batch = count;
  RawPg pg(url);
  // The rows are built before the clock starts, as the push's are.
  std::vector<std::string> statements;
  for (int first = 0; first < count; first += batch) {
    std::string sql = "INSERT INTO shots (id, project_id, title) VALUES ";
    std::string records;
    for (int i = first; i < std::min(count, first + batch); ++i) {
      sql += (i > first ? ", ('" : "('") + RandomUuid(gen) + "', '" + project + "', 'Limit " +
             std::to_string(i) + "')";
      if (!user.empty()) {
        const std::string m = RandomUuid(gen);
        records += (records.empty() ? "('" : ", ('") + m + "'::uuid, '{\"mutation_id\": \"" + m +
                   "\", \"status\": \"applied\"}')";
      }
    }
    if (!user.empty()) {
      // The at-most-once record of each mutation, as a push keeps it.
      sql +=
          "; INSERT INTO sync_mutations (client_id, mutation_id, user_id, outcome, response) "
          "SELECT '" +
          RandomUuid(gen) + "', m, '" + user + "', 'applied', r::jsonb FROM (VALUES " + records +
          ") AS x(m, r)";
    }
    statements.push_back(std::move(sql));
  }
  const auto t0 = Clock::now();
  for (const std::string& sql : statements) {
    pg.Exec("BEGIN");
    pg.Exec(sql);
    pg.Exec("COMMIT");
  }
  return count / std::chrono::duration<double>(Clock::now() - t0).count();
}

std::pair<double, double> Percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  if (ms.empty()) return {0, 0};
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

int RunSync(const SyncBenchOptions& so) {
  namespace vc = vemakin::client;
  BenchDatabase database(so.database_url);
  vemakin::server::ServerOptions options;
  options.database_url = database.url;
  options.listen = "127.0.0.1:0";
  options.logger = std::make_shared<vemakin::NullLogger>();
  vemakin::server::Server server(options);
  server.Start();
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  httplib::Client http("127.0.0.1", server.port());
  std::mt19937_64 gen(7);
  // Ratios of this run's figures to the limits measured here, on these rows.
  auto ratio = [](double ours, double limit) { return limit > 0 ? 100.0 * ours / limit : 0.0; };
  const std::string email = "sync-bench-" + RandomUuid(gen) + "@example.com";
  const std::string password = "benchmark pass";
  auto reg = http.Post("/api/auth/register",
                       json{{"email", email}, {"password", password}, {"name", "Bench"}}.dump(),
                       "application/json");
  if (!reg || reg->status != 201) throw std::runtime_error("register failed");
  const json account = json::parse(reg->body);
  const httplib::Headers auth = {
      {"Authorization", "Bearer " + account.at("token").get<std::string>()}};
  auto proj =
      http.Post("/api/projects", auth, json{{"name", "Sync bench"}}.dump(), "application/json");
  const std::string project = json::parse(proj->body).at("id");
  Seed(database.url, account.at("user").at("id"), project, so.shots);
  std::cerr << "seeded " << so.shots << " shots\n";

  char tmpl[] = "/tmp/vemakin-bench-sync-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::filesystem::path dir = tmpl;
  const std::string cli =
      (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "vemakin").string();

  // 1. Initial sync by the real CLI: rows/s, its peak RSS, bytes on the wire.
  const ChildRun initial = RunChild({cli, "--db", (dir / "initial.db").string(), "--json", "login",
                                     "--server", base, "--email", email, "--password", password});
  if (initial.exit_code != 0) throw std::runtime_error("initial sync failed: " + initial.out);
  const json report = json::parse(initial.out).at("sync");
  const double rows = report.at("snapshot_rows").get<double>();
  std::cerr << "initial sync done\n";
  long long limit_rows = 0;
  const double download_limit =
      RawDownloadRate(database.url, project, account.at("user").at("id").get<std::string>(),
                      dir / "limit.db", &limit_rows);
  std::cerr << "download limit measured (" << limit_rows << " rows)\n";

  // 2. Push of offline mutations.
  vc::ClientOptions co;
  co.path = dir / "device.db";
  co.logger = std::make_shared<vemakin::NullLogger>();
  auto store = vc::Store::Open(co);
  vc::SyncClient device(*store);
  device.Login(base, email, password);
  store->Batch([&] {
    for (int i = 0; i < so.pushes; ++i) {
      store->Create(vc::Collection::kShots,
                    {{"project_id", project}, {"title", "Offline " + std::to_string(i)}});
    }
  });
  std::cerr << "push starts\n";
  auto t0 = Clock::now();
  const vc::SyncReport pushed = device.PushOnly();
  const double push_s = std::chrono::duration<double>(Clock::now() - t0).count();
  // The pull that follows brings the pushed rows' changes back (each
  // acknowledged): timed apart, as what a whole `vemakin sync` adds.
  t0 = Clock::now();
  device.PullOnly();
  const double echo_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::cerr << "push done\n";
  const double push_limit = RawPushRate(database.url, project, so.pushes);
  // A reference beside the limit: the same rows with what a push cannot do
  // without, each mutation's at-most-once record, in transactions of one
  // push request's size.
  const double push_floor = RawPushRate(database.url, project, so.pushes,
                                        static_cast<int>(vc::SyncClientOptions().push_batch),
                                        account.at("user").at("id").get<std::string>());
  // The limits wrote their rows into the project: the device takes them
  // now, so that the first live sample measures one change reaching an
  // up-to-date watcher, not a catch-up of 20,000.
  device.PullOnly();

  // 3. Live: a REST write until a watching client has applied it.
  const std::string shot = store
                               ->List(vc::Collection::kShots,
                                      [&] {
                                        vc::ListQuery q;
                                        q.filters["project_id"] = project;
                                        q.limit = 1;
                                        return q;
                                      }())
                               .items.at(0)
                               .at("id");
  std::mutex mu;
  std::condition_variable cv;
  std::string expected;
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    vc::SyncClient watch(*store);
    while (!stop) {
      watch.WatchRound(std::chrono::seconds(5));
      std::lock_guard<std::mutex> lock(mu);
      if (!expected.empty() && store->Get(vc::Collection::kShots, shot).at("title") == expected) {
        expected.clear();
        cv.notify_all();
      }
    }
  });
  std::vector<double> live_ms;
  for (int i = 0; i < so.samples; ++i) {
    const std::string title = "Live " + std::to_string(i);
    {
      std::lock_guard<std::mutex> lock(mu);
      expected = title;
    }
    const auto sent = Clock::now();
    auto r =
        http.Patch("/api/shots/" + shot, auth, json{{"title", title}}.dump(), "application/json");
    if (!r || r->status != 200) throw std::runtime_error("live write failed");
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return expected.empty(); })) {
      throw std::runtime_error("a live change was not seen within 10 s");
    }
    live_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
    if (live_ms.back() > 100)
      std::cerr << "live sample " << i << " took " << live_ms.back() << " ms\n";
  }
  stop = true;
  {  // wake the watcher's long poll
    auto r =
        http.Patch("/api/shots/" + shot, auth, json{{"title", "done"}}.dump(), "application/json");
    (void)r;
  }
  watcher.join();
  const auto live = Percentiles(live_ms);
  std::cerr << "live done\n";

  // 4. Pull cost for a client 10 changes behind, small history vs. large.
  auto pull_cost = [&]() {
    device.Sync();
    const std::string cursor = store->Status().cursor.value_or("");
    for (int i = 0; i < 10; ++i) {
      http.Patch("/api/shots/" + shot, auth, json{{"title", "Behind " + std::to_string(i)}}.dump(),
                 "application/json");
    }
    std::vector<double> ms;
    for (int i = 0; i < so.samples; ++i) {
      const auto a = Clock::now();
      auto r = http.Get("/api/sync/pull?cursor=" + cursor, auth);
      if (!r || r->status != 200 || json::parse(r->body).at("changes").size() != 10) {
        throw std::runtime_error("pull-cost request failed");
      }
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    }
    return Percentiles(ms);
  };
  auto history_size = [&] {
    pqxx::connection conn(database.url);
    pqxx::work tx(conn);
    return tx.exec1("SELECT count(*) FROM sync_changes")[0].as<long long>();
  };
  const long long small_history = history_size();
  const auto small = pull_cost();
  {
    pqxx::connection conn(database.url);
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO sync_changes (table_name, row_id, op, project_id, data) "
        "SELECT 'shots', gen_random_uuid()::text, 'upsert', gen_random_uuid(), "
        "'{\"title\": \"elsewhere\"}'::jsonb FROM generate_series(1, $1::bigint)",
        so.history);
    tx.commit();
  }
  const long long large_history = history_size();
  const auto large = pull_cost();

  std::printf("\n%-60s %12s\n", "measurement", "value");
  std::printf(
      "%-60s %12.0f\n",
      ("initial sync of " + std::to_string(so.shots) + " shots: rows/s (CLI, wall)").c_str(),
      rows / initial.seconds);
  std::printf("%-60s %12.0f\n", "limit: COPY from PostgreSQL into SQLite (rows/s)", download_limit);
  std::printf("%-60s %11.0f%%\n", "initial sync / limit",
              ratio(rows / initial.seconds, download_limit));
  std::printf("%-60s %12.2f\n", "initial sync: seconds", initial.seconds);
  std::printf("%-60s %12.1f\n", "initial sync: CLI peak RSS (MB)", initial.peak_kib / 1024.0);
  std::printf("%-60s %12.1f\n", "initial sync: bytes on the wire per row (received)",
              report.at("bytes_received").get<double>() / rows);
  std::printf(
      "%-60s %12.0f\n",
      ("push of " + std::to_string(pushed.pushed) + " offline mutations: mutations/s").c_str(),
      pushed.pushed / push_s);
  std::printf("%-60s %12.0f\n", "limit: one multi-row INSERT with triggers (rows/s)", push_limit);
  std::printf("%-60s %11.0f%%\n", "push / limit", ratio(pushed.pushed / push_s, push_limit));
  std::printf("%-60s %12.0f\n", "reference: with mutation records, per push request (rows/s)",
              push_floor);
  std::printf("%-60s %11.0f%%\n", "push / that reference",
              ratio(pushed.pushed / push_s, push_floor));
  std::printf("%-60s %12.1f\n", "push: bytes on the wire per mutation (sent)",
              static_cast<double>(pushed.bytes_sent) / std::max<long long>(1, pushed.pushed));
  std::printf("%-60s %12.2f\n", "the pull after the push (the rows' own changes): seconds", echo_s);
  std::printf("%-60s %12.1f\n", "live: REST write -> watching client applied, p50 ms", live.first);
  std::printf("%-60s %12.1f\n", "live: p99 ms", live.second);
  std::printf("%-60s %12.2f\n",
              ("pull 10 behind, history " + std::to_string(small_history) + ": p50 ms").c_str(),
              small.first);
  std::printf("%-60s %12.2f\n",
              ("pull 10 behind, history " + std::to_string(large_history) + ": p50 ms").c_str(),
              large.first);
  std::printf("%-60s %12.2f\n", "pull 10 behind, large history: p99 ms", large.second);
  store.reset();
  server.Stop();
  std::filesystem::remove_all(dir);
  return 0;
}

// ---------------------------------------------------------------- scale

struct ScaleOptions {
  std::string database_url;
  std::string replica_url;  // a streaming replica of database_url, for the pull comparison
  int watchers = 10000;
  int shots = 20000;  // changes a pull reads, for the replica comparison
  double seconds = 5;
  std::vector<int> levels = {8, 64};
  std::string server_bin;  // the vemakin-server binary (default: beside this one)
};

long ChildRssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double Gauge(int port, const std::string& name) {
  httplib::Client http("127.0.0.1", port);
  const auto r = http.Get("/metrics");
  if (!r) return -1;
  const size_t at = r->body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atof(r->body.c_str() + at + name.size() + 2);
}

int FreeLoopbackPort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// A fresh account on the server `http` talks to and a project of its own:
// (the account JSON with its token, the auth header, the project id).
struct BenchAccount {
  json account;
  httplib::Headers auth;
  std::string project;
};
BenchAccount NewAccountWithProject(httplib::Client& http, const std::string& name) {
  std::mt19937_64 gen(std::random_device{}());
  auto reg = http.Post("/api/auth/register",
                       json{{"email", name + "-" + RandomUuid(gen) + "@example.com"},
                            {"password", "benchmark pass"},
                            {"name", name}}
                           .dump(),
                       "application/json");
  if (!reg || reg->status != 201) throw std::runtime_error("register failed");
  BenchAccount out;
  out.account = json::parse(reg->body);
  out.auth = {{"Authorization", "Bearer " + out.account.at("token").get<std::string>()}};
  auto proj = http.Post("/api/projects", out.auth, json{{"name", name}}.dump(), "application/json");
  if (!proj || proj->status != 201) throw std::runtime_error("cannot create a project");
  out.project = json::parse(proj->body).at("id");
  return out;
}

// N long-polling watchers parked on one server process (the real binary:
// its memory is measured on its own), then one write: how long until each
// watcher has its answer.
void ScaleWatchers(const ScaleOptions& so, const std::string& url) {
  const int n = so.watchers;
  const int port = FreeLoopbackPort();
  const std::string log = "/tmp/vemakin-bench-scale-server.log";
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string parked = std::to_string(n + 16), per_address = std::to_string(n + 64),
                      listen = "127.0.0.1:" + std::to_string(port);
    ::execl(so.server_bin.c_str(), "vemakin-server", "--database-url", url.c_str(), "--listen",
            listen.c_str(), "--max-parked-pulls", parked.c_str(), "--max-parked-pulls-per-user",
            parked.c_str(), "--max-connections-per-address", per_address.c_str(), "--log-level",
            "warning", static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  } reap{pid};
  httplib::Client http("127.0.0.1", port);
  const auto up_deadline = Clock::now() + std::chrono::seconds(30);
  while (true) {
    if (auto r = http.Get("/health"); r && r->status == 200) break;
    if (Clock::now() > up_deadline)
      throw std::runtime_error("the server did not start; see " + log);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const BenchAccount bench = NewAccountWithProject(http, "scale");
  const std::string token = bench.account.at("token");
  const httplib::Headers& auth = bench.auth;
  const std::string& project = bench.project;
  std::string cursor;
  for (bool more = true; more;) {
    auto r = http.Get("/api/sync/pull?limit=10000&cursor=" + cursor, auth);
    if (!r || r->status != 200) throw std::runtime_error("pull failed");
    const json body = json::parse(r->body);
    cursor = body.at("cursor");
    more = body.at("has_more");
  }
  const long rss_before = ChildRssKiB(pid);

  namespace net = boost::asio;
  net::io_context io;
  const std::string request = "GET /api/sync/pull?wait=30&cursor=" + cursor +
                              " HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer " + token +
                              "\r\n\r\n";
  struct Watcher {
    explicit Watcher(net::io_context& io) : socket(io) {}
    net::ip::tcp::socket socket;
    char byte[1];
    Clock::time_point answered{};
  };
  std::vector<std::unique_ptr<Watcher>> watchers;
  const net::ip::tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"),
                                        static_cast<unsigned short>(port));
  const auto park_start = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<Watcher>(io);
    boost::system::error_code ec;
    w->socket.connect(endpoint, ec);
    if (ec) throw std::runtime_error("watcher " + std::to_string(i) + ": " + ec.message());
    net::write(w->socket, net::buffer(request), ec);
    if (ec) throw std::runtime_error("watcher " + std::to_string(i) + ": " + ec.message());
    Watcher* raw = w.get();
    raw->socket.async_read_some(net::buffer(raw->byte), [raw](boost::system::error_code, size_t) {
      raw->answered = Clock::now();
    });
    watchers.push_back(std::move(w));
    // In waves: each first pull runs on a worker before it parks, and a
    // burst past the worker queue (1024) would be answered 503.
    if ((i + 1) % 500 == 0 || i + 1 == n) {
      while (Gauge(port, "vemakin_sync_pulls_waiting") < i + 1) {
        if (Clock::now() - park_start > std::chrono::seconds(120)) {
          throw std::runtime_error("only " +
                                   std::to_string(Gauge(port, "vemakin_sync_pulls_waiting")) +
                                   " of " + std::to_string(i + 1) + " watchers parked");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
  const double park_s = std::chrono::duration<double>(Clock::now() - park_start).count();
  const long rss_parked = ChildRssKiB(pid);
  const auto t0 = Clock::now();
  auto note = http.Post("/api/notes", auth, json{{"project_id", project}, {"title", "Now"}}.dump(),
                        "application/json");
  if (!note || note->status != 201) throw std::runtime_error("the write failed");
  io.run_for(std::chrono::seconds(35));
  std::vector<double> ms;
  for (const auto& w : watchers) {
    if (w->answered != Clock::time_point{}) {
      ms.push_back(std::chrono::duration<double, std::milli>(w->answered - t0).count());
    }
  }
  std::sort(ms.begin(), ms.end());
  std::printf("\n%d watchers parked on one instance in %.1f s\n", n, park_s);
  std::printf("%-60s %12.1f\n", "server RSS before parking (MB)", rss_before / 1024.0);
  std::printf("%-60s %12.1f\n", "server RSS with every watcher parked (MB)", rss_parked / 1024.0);
  std::printf("%-60s %12.2f\n", "server memory per parked watcher (KB)",
              static_cast<double>(rss_parked - rss_before) / n);
  std::printf("%-60s %12zu\n", "watchers answered after one write", ms.size());
  if (!ms.empty()) {
    std::printf("%-60s %12.1f\n", "write to watcher: p50 ms", ms[ms.size() / 2]);
    std::printf("%-60s %12.1f\n", "write to watcher: p99 ms",
                ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]);
    std::printf("%-60s %12.1f\n", "write to watcher: max ms", ms.back());
  }
}

// Pull throughput (a client 1000 changes behind) served by the primary, then
// by a streaming replica of it, on the same data.
void ScaleReplicaPulls(const ScaleOptions& so, const std::string& url) {
  std::vector<Result> results;
  for (const bool replica : {false, true}) {
    vemakin::server::ServerOptions options;
    options.database_url = url;
    if (replica) options.replica_database_urls = {so.replica_url};
    options.listen = "127.0.0.1:0";
    options.logger = std::make_shared<vemakin::NullLogger>();
    vemakin::server::Server server(options);
    server.Start();
    const int port = server.port();
    httplib::Client http("127.0.0.1", port);
    const BenchAccount bench = NewAccountWithProject(http, "pulls");
    const httplib::Headers& auth = bench.auth;
    Seed(url, bench.account.at("user").at("id"), bench.project, so.shots);
    if (replica) {
      // Wait for the replica to have it all.
      pqxx::connection p(url), r(so.replica_url);
      pqxx::work wt(p);
      wt.exec("SELECT pg_current_xact_id()");
      const std::string target = wt.exec1("SELECT pg_current_wal_insert_lsn()::text")[0].c_str();
      wt.commit();
      for (;;) {
        pqxx::nontransaction tx(r);
        if (tx.exec_params1("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target)[0].as<bool>())
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    const std::string path = "/api/sync/pull?limit=1000";
    for (int level : so.levels) {
      results.push_back(
          Drive(std::string("pull 1000 changes from the ") + (replica ? "replica" : "primary"),
                port, level, so.seconds, [&](httplib::Client& c, std::mt19937_64&) {
                  auto r = c.Get(path, auth);
                  return r ? r->status : 0;
                }));
    }
    if (replica) {
      std::printf("replica reads %0.f, fallbacks %0.f\n",
                  Gauge(port, "vemakin_replica_reads_total"),
                  Gauge(port, "vemakin_replica_fallbacks_total"));
    }
    server.Stop();
  }
  std::printf("\n%-48s %5s %10s %9s %9s %9s %8s\n", "scenario", "conns", "req/s", "p50 ms",
              "p99 ms", "max ms", "errors");
  for (const Result& r : results) {
    std::printf("%-48s %5d %10.0f %9.2f %9.2f %9.2f %8ld\n", r.scenario.c_str(), r.connections,
                r.rps, r.p50_ms, r.p99_ms, r.max_ms, r.errors);
  }
}

int RunScale(const ScaleOptions& so) {
  BenchDatabase database(so.database_url);
  if (so.watchers > 0) ScaleWatchers(so, database.url);
  if (!so.replica_url.empty()) ScaleReplicaPulls(so, database.url);
  std::printf(
      "\nthrough PgBouncer vs direct: vemakin-bench api --pooler-url URL "
      "(docs/PERFORMANCE.md, issue 12 part 1)\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vemakin-bench: performance measurements for Vemakin Sync"};
  app.require_subcommand(1);
  BenchOptions bo;
  CLI::App* api = app.add_subcommand("api", "REST API throughput and latency on a large project");
  api->add_option("--database-url", bo.database_url,
                  "use this database (default: a throwaway cluster)");
  api->add_option("--shots", bo.shots, "shots in the benchmark project")->capture_default_str();
  api->add_option("--seconds", bo.seconds, "duration of each measurement")->capture_default_str();
  api->add_option("--connections", bo.levels, "concurrency levels")->capture_default_str();
  api->add_flag("!--no-256", bo.with_256, "skip the 256-connection stall check");
  api->add_option("--only", bo.only, "run only scenarios whose name contains this");
  api->add_option("--pooler-url", bo.pooler_url,
                  "the server's pool goes through this PgBouncer (transaction mode) to "
                  "--database-url's database");
  api->add_option("--pool-size", bo.server.pool_size, "server pool size")->capture_default_str();
  api->add_option("--max-overflow", bo.server.max_overflow, "server max overflow")
      ->capture_default_str();
  api->add_option("--workers", bo.server.workers, "server worker threads (0 = default)");
  api->add_option("--worker-concurrency", bo.server.worker_concurrency,
                  "server handlers running at once until one stalls (0 = pool size)");
  api->add_option("--io-threads", bo.server.threads, "server I/O threads")->capture_default_str();
  int client_shots = 100000, client_single = 2000;
  CLI::App* client = app.add_subcommand("client", "local store write rate and list latency");
  client->add_option("--shots", client_shots, "shots written in one batch")->capture_default_str();
  client->add_option("--single-writes", client_single, "shots written one transaction each")
      ->capture_default_str();
  SyncBenchOptions so;
  CLI::App* sync = app.add_subcommand("sync", "initial sync, push, live latency, pull cost");
  sync->add_option("--database-url", so.database_url,
                   "use this database (default: a throwaway cluster)");
  sync->add_option("--shots", so.shots, "shots in the project synced")->capture_default_str();
  sync->add_option("--pushes", so.pushes, "offline mutations pushed")->capture_default_str();
  sync->add_option("--samples", so.samples, "live and pull-cost samples")->capture_default_str();
  sync->add_option("--history", so.history, "changes added to the log for the pull-cost check")
      ->capture_default_str();
  ScaleOptions sc;
  CLI::App* scale = app.add_subcommand(
      "scale", "parked watchers on one instance (memory, wake-up), pulls from a replica");
  scale->add_option("--database-url", sc.database_url,
                    "use this database (default: a throwaway cluster)");
  scale->add_option("--replica-url", sc.replica_url,
                    "a streaming replica of --database-url: compare pulls from it and the primary");
  scale->add_option("--watchers", sc.watchers, "long polls parked at once (0: skip)")
      ->capture_default_str();
  scale->add_option("--shots", sc.shots, "changes in the pulled project")->capture_default_str();
  scale->add_option("--seconds", sc.seconds, "duration of each pull measurement")
      ->capture_default_str();
  scale->add_option("--connections", sc.levels, "pull concurrency levels")->capture_default_str();
  scale->add_option("--server-bin", sc.server_bin, "the vemakin-server binary (default: beside)");
  CLI11_PARSE(app, argc, argv);
  if (sc.server_bin.empty()) {
    sc.server_bin =
        (std::filesystem::canonical("/proc/self/exe").parent_path() / "vemakin-server").string();
  }
  try {
    if (*scale) return RunScale(sc);
    if (*sync) return RunSync(so);
    if (*client) return RunClient(client_shots, client_single);
    if (*api) return RunApi(bo);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
