// Logging interface injected through options structs (ServerOptions,
// ClientOptions, ...). Libraries never write to stdout/stderr themselves; they
// call a Logger. Each event is one line of JSON: {"time","level","domain","msg",
// ...fields}. Never log credentials or tokens; bodies only at kDebug.
#ifndef VEMAKIN_CORE_LOG_H_
#define VEMAKIN_CORE_LOG_H_

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace vemakin {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

std::string_view LogLevelName(LogLevel level);
// Parses "debug", "info", "warning"/"warn", "error"; anything else throws kInvalidArgument.
LogLevel ParseLogLevel(std::string_view name);

// Thread-safe: implementations must accept calls from any thread.
class Logger {
 public:
  virtual ~Logger() = default;
  // `domain` is the subsystem: "http", "db", "sync", "schema", ...
  // `fields` is a JSON object merged into the line (may be null).
  virtual void Log(LogLevel level, std::string_view domain, std::string_view message,
                   const nlohmann::json& fields = nullptr) = 0;
  virtual bool Enabled(LogLevel level) const = 0;
};

// Renders one event as a JSON line (no trailing newline). Pure: no I/O.
std::string FormatLogLine(LogLevel level, std::string_view domain, std::string_view message,
                          const nlohmann::json& fields);

// The default logger: one JSON line per event on stderr, at `min_level` and above.
// This is the only place core/ touches a stream, because every binary needs
// the same default. Thread-safe (a mutex keeps lines whole).
class StderrLogger : public Logger {
 public:
  explicit StderrLogger(LogLevel min_level = LogLevel::kInfo) : min_level_(min_level) {}
  void Log(LogLevel level, std::string_view domain, std::string_view message,
           const nlohmann::json& fields = nullptr) override;
  bool Enabled(LogLevel level) const override { return level >= min_level_; }

 private:
  LogLevel min_level_;
  std::mutex mu_;
};

// A logger that drops everything (tests, benchmarks).
class NullLogger : public Logger {
 public:
  void Log(LogLevel, std::string_view, std::string_view, const nlohmann::json&) override {}
  bool Enabled(LogLevel) const override { return false; }
};

std::shared_ptr<Logger> DefaultLogger();

}  // namespace vemakin

#endif  // VEMAKIN_CORE_LOG_H_
