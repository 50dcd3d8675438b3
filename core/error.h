// The one exception type of the codebase and its retry-oriented codes (see
// ../shared/STYLE.md "Errors"). Failures throw vemakin::Error; expected
// outcomes (absence, conflicts, empty batches) are values, never exceptions.
// Each layer maps its dependencies' errors to these codes in one file.
#ifndef VEMAKIN_CORE_ERROR_H_
#define VEMAKIN_CORE_ERROR_H_

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

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace vemakin

#endif  // VEMAKIN_CORE_ERROR_H_
