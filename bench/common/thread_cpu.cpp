#include "thread_cpu.h"

#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace citycard::bench {

ThreadCpu ThreadCpu::now() {
  ThreadCpu snapshot;
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
    Thread thread;
    std::ifstream comm(task.path() / "comm");
    std::getline(comm, thread.name);
    // utime and stime, fields 14 and 15, counted after the name's ')'
    // (schedstat would give nanoseconds, but reads 0 where the kernel keeps
    // no schedstats).
    std::ifstream stat_file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const auto name_end = stat.rfind(')');
    if (name_end == std::string::npos) continue;  // ended meanwhile
    std::istringstream fields(stat.substr(name_end + 2));
    std::string field;
    unsigned long long user = 0, system = 0;
    for (int index = 3; index <= 13 && fields >> field; ++index) {}
    if (!(fields >> user >> system)) continue;
    thread.nanoseconds = (user + system) * (1'000'000'000ull / static_cast<unsigned long long>(sysconf(_SC_CLK_TCK)));
    snapshot.threads_[std::stoi(task.path().filename().string())] = thread;
  }
  return snapshot;
}

std::map<std::string, double> ThreadCpu::seconds_since(const ThreadCpu& before) const {
  std::map<std::string, double> seconds;
  for (const auto& [id, thread] : threads_) {
    auto earlier = before.threads_.find(id);
    const unsigned long long start = earlier != before.threads_.end() ? earlier->second.nanoseconds : 0;
    seconds[thread.name] += static_cast<double>(thread.nanoseconds - std::min(start, thread.nanoseconds)) / 1e9;
  }
  return seconds;
}

std::string per_unit_line(const std::map<std::string, double>& seconds, double units, const char* unit) {
  double total = 0;
  std::vector<std::pair<double, std::string>> by_use;
  for (const auto& [name, used] : seconds) {
    total += used;
    by_use.emplace_back(used, name);
  }
  std::sort(by_use.rbegin(), by_use.rend());
  std::ostringstream line;
  line.precision(3);
  if (units <= 0) return "no " + std::string(unit) + "s";
  line << total / units * 1e6 << " us a " << unit << ":";
  const char* separator = " ";
  for (const auto& [used, name] : by_use) {
    if (used < total / 100) break;
    line << separator << name << " " << used / units * 1e6;
    separator = ", ";
  }
  return line.str();
}

}  // namespace citycard::bench
