// The tap server's log lines at a bounded rate: a flood of connections that
// each fail must not become a flood of lines. At most lines_per_second lines
// pass in any one-second window; the rest are counted, and the count is
// written in front of the next line that passes. Counters (ServerStats)
// stay exact; the log is a sample. Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace citycard::net {

class LogBudget {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogBudget(std::size_t lines_per_second) : lines_per_second_(lines_per_second) {}

  void write(const std::function<void(std::string_view)>& out, std::string_view line, Clock::time_point now) {
    if (!out) return;
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      lines_in_window_ = 0;
    }
    if (lines_in_window_ >= lines_per_second_) {
      ++suppressed_;
      return;
    }
    if (suppressed_ > 0) {
      out(std::to_string(suppressed_) + " log lines suppressed (more than " + std::to_string(lines_per_second_) +
          " a second)");
      suppressed_ = 0;
      ++lines_in_window_;
    }
    ++lines_in_window_;
    out(line);
  }

 private:
  std::size_t lines_per_second_;
  Clock::time_point window_start_{};
  std::size_t lines_in_window_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace citycard::net
