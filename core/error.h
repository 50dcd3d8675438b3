// The one exception type of the codebase and its retry-oriented codes (see
// ../shared/STYLE.md "Errors"). Failures throw vemakin::Error; expected
// outcomes (absence, conflicts, empty batches) are values, never exceptions.
// Each layer maps its dependencies' errors to these codes in one file.
#ifndef VEMAKIN_CORE_ERROR_H_
#define VEMAKIN_CORE_ERROR_H_

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vemakin {

// Meaning for callers, after abseil's status codes:
//  kUnavailable        retry the call with backoff (network, pool exhausted, busy);
//  kAborted            retry the whole transaction or sync round (deadlock, serialization);
//  kFailedPrecondition do not retry until state changes;
//  kDataLoss           stored data is damaged; stop and report.
enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kFailedPrecondition,
  kAborted,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
  kPermissionDenied,
  kDeadlineExceeded,
  kInternal,
};

// "invalid_argument", "not_found", ...: stable names for logs and JSON.
std::string_view ErrorCodeName(ErrorCode code);
// The code named `name` (ErrorCodeName's spelling); nullopt for any other text.
std::optional<ErrorCode> ParseErrorCodeName(std::string_view name);

// The HTTP status of each code (SPEC.md section 2), used by the server's one
// HTTP boundary and by the push results' `http_status` (sync protocol 1), and
// the code a client gives an HTTP status it receives. Transports translate
// with these; domain code speaks ErrorCode only.
int HttpStatusFor(ErrorCode code);
ErrorCode ErrorCodeForHttpStatus(int status);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace vemakin

#endif  // VEMAKIN_CORE_ERROR_H_
