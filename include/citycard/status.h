// Status and Result<T>: errors as values on expected failure paths.
//
// A Status is either ok (costs one byte and an empty string) or carries a code
// and a message meant for a person: it names the thing that is wrong
// ("card 04A2... is blocked", "ledger at ./var is locked by another process").
// Result<T> holds either a T or a non-ok Status (C++20 has no std::expected).
#pragma once

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace citycard {

enum class StatusCode : unsigned char {
  ok = 0,
  not_found,         // the thing asked for does not exist
  invalid_argument,  // the caller's input is malformed or impossible
  already_exists,    // creating something that is already there
  refused,           // a business rule says no (limits, blocked card, ...)
  corruption,        // stored data is inconsistent or unreadable
  io_error,          // the disk or the OS failed
  busy,              // try again later (queue full, lock held)
  unavailable,       // a peer or service cannot be reached
};

const char* status_code_name(StatusCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;

  static Status ok() { return Status(); }
  static Status not_found(std::string message) { return {StatusCode::not_found, std::move(message)}; }
  static Status invalid_argument(std::string message) { return {StatusCode::invalid_argument, std::move(message)}; }
  static Status already_exists(std::string message) { return {StatusCode::already_exists, std::move(message)}; }
  static Status refused(std::string message) { return {StatusCode::refused, std::move(message)}; }
  static Status corruption(std::string message) { return {StatusCode::corruption, std::move(message)}; }
  static Status io_error(std::string message) { return {StatusCode::io_error, std::move(message)}; }
  static Status busy(std::string message) { return {StatusCode::busy, std::move(message)}; }
  static Status unavailable(std::string message) { return {StatusCode::unavailable, std::move(message)}; }

  bool is_ok() const noexcept { return code_ == StatusCode::ok; }
  explicit operator bool() const noexcept { return is_ok(); }
  StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // "refused: card 0001 is blocked"
  std::string to_string() const;

  bool operator==(const Status& other) const = default;

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {
    assert(code != StatusCode::ok);
  }

  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}                  // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {            // NOLINT: implicit by design
    assert(!std::get<Status>(state_).is_ok() && "a Result holding a Status must hold an error");
  }

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // A value asked of an error is a programmer error: caught in every build,
  // the error named, never undefined behaviour.
  T& value() & { held(); return std::get<0>(state_); }
  const T& value() const& { held(); return std::get<0>(state_); }
  T&& value() && { held(); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; ok() when a value is held.
  Status status() const { return has_value() ? Status::ok() : std::get<1>(state_); }

 private:
  void held() const {
    if (has_value()) return;
    std::fprintf(stderr, "event=invariant_broken check=\"value() of a Result holding an error\" error=\"%s\"\n",
                 std::get<1>(state_).to_string().c_str());
    std::abort();
  }

  std::variant<T, Status> state_;
};

inline const char* status_code_name(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::not_found: return "not found";
    case StatusCode::invalid_argument: return "invalid argument";
    case StatusCode::already_exists: return "already exists";
    case StatusCode::refused: return "refused";
    case StatusCode::corruption: return "corruption";
    case StatusCode::io_error: return "I/O error";
    case StatusCode::busy: return "busy";
    case StatusCode::unavailable: return "unavailable";
  }
  return "unknown";
}

inline std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

// An I/O error whose cure is free space (ENOSPC, EDQUOT). Told by the
// message: it carries the OS's (strerror) or RocksDB's words, there is no
// sub-code. The engine waits for space on it; the reader agent gives up its
// reserve on it.
inline bool is_out_of_space(const Status& status) {
  if (status.code() != StatusCode::io_error) return false;
  std::string message = status.message();
  for (char& c : message) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return message.find("no space left on device") != std::string::npos ||
         message.find("disk quota exceeded") != std::string::npos;
}

}  // namespace citycard
