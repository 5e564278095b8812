// Structured logs: one line per event on stderr, key=value pairs after a
// UTC timestamp and the event name:
//   ts=2026-05-01T08:00:00.123456Z event=engine_started tap_port=7443 shards=1
// Values with spaces, quotes or '=' are quoted. Thread-safe: a line is
// written whole. A Log is passed by reference to whoever logs; there is no
// global logger.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace citycard::engine {

using LogField = std::pair<std::string_view, std::string>;

class Log {
 public:
  explicit Log(std::FILE* out = stderr) : out_(out) {}
  void event(std::string_view name, std::initializer_list<LogField> fields = {});

 private:
  std::mutex mutex_;
  std::FILE* out_;
};

}  // namespace citycard::engine
