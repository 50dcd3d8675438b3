#include "tests/support/pg_test.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

#include "core/log.h"
#include "server/migrator.h"

namespace vemakin::testing {

std::string TestPoolerUrl() {
  const char* env_file = std::getenv("VEMAKIN_TEST_PG_ENV");
  if (env_file == nullptr || *env_file == '\0') return "";
  std::ifstream in(env_file);
  std::string port;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PGBOUNCER_PORT=", 0) == 0) port = line.substr(15);
  }
  if (port.empty()) return "";
  return WithConninfoKey(TestDatabaseUrl(), "port", port);
}

std::string WithConninfoKey(std::string conninfo, const std::string& key,
                            const std::string& value) {
  const std::string pair = key + "=" + value;
  size_t at = conninfo.rfind(" " + key + "=");
  at = at == std::string::npos ? (conninfo.rfind(key + "=", 0) == 0 ? 0 : at) : at + 1;
  if (at == std::string::npos) return conninfo + (conninfo.empty() ? "" : " ") + pair;
  const size_t end = conninfo.find(' ', at);
  return conninfo.replace(at, end == std::string::npos ? std::string::npos : end - at, pair);
}

namespace {

// PG* lines of an env file as a key=value conninfo.
std::string ConninfoFromEnvFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("test database settings missing: " + path +
                             " (did its CTest fixture run?)");
  }
  std::string conninfo;
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    const char* keyword = key == "PGHOST"       ? "host"
                          : key == "PGPORT"     ? "port"
                          : key == "PGUSER"     ? "user"
                          : key == "PGPASSWORD" ? "password"
                          : key == "PGDATABASE" ? "dbname"
                                                : nullptr;
    if (keyword) conninfo += std::string(conninfo.empty() ? "" : " ") + keyword + "=" + value;
  }
  return conninfo;
}

}  // namespace

std::string TestReplicaUrl() {
  const char* env_file = std::getenv("VEMAKIN_TEST_PG_ENV");
  if (env_file == nullptr || *env_file == '\0') {
    throw std::runtime_error("no test replica: VEMAKIN_TEST_PG_ENV is not set");
  }
  std::string dir = env_file;
  dir = dir.substr(0, dir.rfind('/') + 1);
  return ConninfoFromEnvFile(dir + "replica.env");
}

std::string TestDatabaseUrl() {
  const char* env_file = std::getenv("VEMAKIN_TEST_PG_ENV");
  if (env_file != nullptr && *env_file != '\0') return ConninfoFromEnvFile(env_file);
  if (std::getenv("PGHOST") == nullptr && std::getenv("PGPORT") == nullptr) {
    throw std::runtime_error("no test database: set VEMAKIN_TEST_PG_ENV or the PG* variables");
  }
  return "";  // libpq reads the PG* variables
}

TestSchema::TestSchema() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  static const char kHex[] = "0123456789abcdef";
  name_ = "t_";
  for (int i = 0; i < 12; ++i) name_ += kHex[gen() % 16];
  pqxx::connection conn(TestDatabaseUrl());
  pqxx::nontransaction tx(conn);
  tx.exec("CREATE SCHEMA " + name_);
}

TestSchema::~TestSchema() {
  try {
    pqxx::connection conn(TestDatabaseUrl());
    pqxx::nontransaction tx(conn);
    tx.exec("DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
  } catch (const std::exception&) {
    // The cluster is thrown away after the run anyway.
  }
}

std::unique_ptr<pqxx::connection> TestSchema::Connect() const {
  auto conn = std::make_unique<pqxx::connection>(TestDatabaseUrl());
  pqxx::nontransaction tx(*conn);
  tx.exec("SET search_path TO " + name_);
  tx.exec("SET TimeZone TO 'UTC'");
  return conn;
}

void TestSchema::MigrateUp() const {
  auto conn = Connect();
  server::Migrator migrator(*conn, std::make_shared<NullLogger>());
  migrator.Up();
}

}  // namespace vemakin::testing
