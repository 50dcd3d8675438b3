// Default logging: JSON lines with a UTC timestamp.
#include "core/log.h"

#include <cstdio>

#include "core/error.h"
#include "core/time_format.h"

namespace vemakin {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

LogLevel ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warning" || name == "warn") return LogLevel::kWarning;
  if (name == "error") return LogLevel::kError;
  throw Error(ErrorCode::kInvalidArgument, "unknown log level: " + std::string(name));
}

std::string FormatLogLine(LogLevel level, std::string_view domain, std::string_view message,
                          const nlohmann::json& fields) {
  nlohmann::json line = {{"time", FormatTimestamp(std::chrono::system_clock::now())},
                         {"level", LogLevelName(level)},
                         {"domain", domain},
                         {"msg", message}};
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  // Replace invalid UTF-8 rather than throw: a log line must never fail.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void StderrLogger::Log(LogLevel level, std::string_view domain, std::string_view message,
                       const nlohmann::json& fields) {
  if (!Enabled(level)) return;
  std::string line = FormatLogLine(level, domain, message, fields);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

std::shared_ptr<Logger> DefaultLogger() {
  static const std::shared_ptr<Logger> logger = std::make_shared<StderrLogger>();
  return logger;
}

}  // namespace vemakin
