// What every bench prints and saves about the machine it ran on, so that a
// figure is never quoted without its context.
#pragma once

#include <string>

namespace citycard::bench {

struct Machine {
  std::string cpu_model;   // from /proc/cpuinfo
  unsigned cores = 0;      // online cores
  std::string memory;      // MemTotal from /proc/meminfo
  std::string kernel;      // uname -sr
  std::string compiler;    // compiler and version
  std::string load;        // /proc/loadavg at start: these machines are shared
};

Machine describe_machine();
std::string machine_line(const Machine& machine);   // one line for humans
std::string machine_json(const Machine& machine);   // a JSON object

}  // namespace citycard::bench
