// CPU time of this process's threads between two points of a bench, by
// thread name (/proc/self/task/*/stat: user and system time, in the
// kernel's clock ticks, 10 ms here). Per unit
// of work it moves far less with a shared host than a rate does, so an A/B
// of two builds can tell a few percent apart where taps/s cannot.
#pragma once

#include <map>
#include <string>

namespace citycard::bench {

class ThreadCpu {
 public:
  // The threads alive now and their CPU so far.
  static ThreadCpu now();
  // Seconds on a CPU since `before`, by thread name (threads of one name
  // summed; a thread started since counts from 0; one ended since is lost).
  std::map<std::string, double> seconds_since(const ThreadCpu& before) const;

 private:
  struct Thread {
    std::string name;
    unsigned long long nanoseconds = 0;
  };
  std::map<int, Thread> threads_;  // by thread id
};

// "9.8 us a tap: cc-shard-0 3.1, cc-commit 2.5, ..." (the names using at
// least 1% of the total, largest first) for `units` units of work.
std::string per_unit_line(const std::map<std::string, double>& seconds, double units, const char* unit);

}  // namespace citycard::bench
