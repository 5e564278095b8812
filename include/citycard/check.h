// Invariant checks that stay on in every build (NDEBUG does not remove
// them): a broken invariant is a programmer error, and going on would
// write a wrong ledger. The one fatal path: it writes one line to stderr
// naming what broke, where, and the values involved, then aborts.
//
//   CITYCARD_CHECK(condition)          event=invariant_broken check="..." at=FILE:LINE
//   CITYCARD_CHECK_EQ(left, right)     ... left=VALUE right=VALUE  (also _NE _LT _LE _GT _GE)
//   CITYCARD_CHECK_OK(status)          ... error="..."   (a Status, or a Result, that must be ok)
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

namespace citycard::check_detail {

[[noreturn]] inline void broken(const char* check, const char* file, int line, const std::string& values) {
  std::fprintf(stderr, "event=invariant_broken check=\"%s\" at=%s:%d%s%s\n", check, file, line,
               values.empty() ? "" : " ", values.c_str());
  std::fflush(stderr);
  std::abort();
}

template <typename T>
std::string value_text(const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_enum_v<T>) {
    return std::to_string(static_cast<long long>(static_cast<std::underlying_type_t<T>>(value)));
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return std::to_string(static_cast<long long>(value));
  } else if constexpr (std::is_integral_v<T>) {
    return std::to_string(static_cast<unsigned long long>(value));
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return "\"" + std::string(std::string_view(value)) + "\"";
  } else {
    return "?";
  }
}

// A Status, or a Result's error.
template <typename S>
std::string error_text(const S& status) {
  if constexpr (requires { status.status(); }) {
    return status.status().to_string();
  } else {
    return status.to_string();
  }
}

}  // namespace citycard::check_detail

#define CITYCARD_CHECK(condition)                                                             \
  do {                                                                                        \
    if (!(condition)) citycard::check_detail::broken(#condition, __FILE__, __LINE__, {});      \
  } while (false)

#define CITYCARD_CHECK_OP(left, op, right)                                                              \
  do {                                                                                                  \
    const auto& citycard_check_left = (left);                                                           \
    const auto& citycard_check_right = (right);                                                         \
    if (!(citycard_check_left op citycard_check_right)) {                                               \
      citycard::check_detail::broken(#left " " #op " " #right, __FILE__, __LINE__,                      \
                                     "left=" + citycard::check_detail::value_text(citycard_check_left) + \
                                         " right=" + citycard::check_detail::value_text(citycard_check_right)); \
    }                                                                                                   \
  } while (false)

#define CITYCARD_CHECK_EQ(left, right) CITYCARD_CHECK_OP(left, ==, right)
#define CITYCARD_CHECK_NE(left, right) CITYCARD_CHECK_OP(left, !=, right)
#define CITYCARD_CHECK_LT(left, right) CITYCARD_CHECK_OP(left, <, right)
#define CITYCARD_CHECK_LE(left, right) CITYCARD_CHECK_OP(left, <=, right)
#define CITYCARD_CHECK_GT(left, right) CITYCARD_CHECK_OP(left, >, right)
#define CITYCARD_CHECK_GE(left, right) CITYCARD_CHECK_OP(left, >=, right)

#define CITYCARD_CHECK_OK(status)                                                                         \
  do {                                                                                                    \
    const auto& citycard_check_status = (status);                                                         \
    if (!citycard_check_status) {                                                                         \
      citycard::check_detail::broken(#status, __FILE__, __LINE__,                                         \
                                     "error=\"" + citycard::check_detail::error_text(citycard_check_status) + "\""); \
    }                                                                                                     \
  } while (false)
