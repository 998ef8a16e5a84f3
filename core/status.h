#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tributary {

// Status codes are chosen by what the caller should do next.
enum class StatusCode : std::uint8_t {
  kOk,
  kInvalidArgument,     // bad input: drop it, count it, tell the client
  kNotFound,            // the thing asked for does not exist (unknown route)
  kResourceExhausted,   // busy: back off and retry later (backpressure)
  kUnavailable,         // a dependency is down: retry with backoff
  kDeadlineExceeded,    // it took too long; outcome may be unknown
  kFailedPrecondition,  // bad config or state: do not retry until fixed
  kDataLoss,            // corruption found: quarantine and alert
  kInternal,            // our bug
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOkStatus;
    return is_ok() ? kOkStatus : std::get<Status>(state_);
  }
  T& value() { return std::get<T>(state_); }
  const T& value() const { return std::get<T>(state_); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace tributary
