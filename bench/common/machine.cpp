#include "machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace citycard::bench {

namespace {

std::string first_value(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return "unknown";
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

Machine describe_machine() {
  Machine machine;
  machine.cpu_model = first_value("/proc/cpuinfo", "model name");
  machine.cores = static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN));
  machine.memory = first_value("/proc/meminfo", "MemTotal");
  utsname names{};
  if (::uname(&names) == 0) machine.kernel = std::string(names.sysname) + " " + names.release;
  machine.compiler = std::string("g++ ") + __VERSION__;
  std::ifstream load("/proc/loadavg");
  std::getline(load, machine.load);
  return machine;
}

std::string machine_line(const Machine& machine) {
  std::ostringstream out;
  out << machine.cpu_model << ", " << machine.cores << " cores, " << machine.memory << ", " << machine.kernel << ", "
      << machine.compiler << ", load " << machine.load;
  return out.str();
}

std::string machine_json(const Machine& machine) {
  std::ostringstream out;
  out << "{\"cpu\":\"" << escape(machine.cpu_model) << "\",\"cores\":" << machine.cores << ",\"memory\":\""
      << escape(machine.memory) << "\",\"kernel\":\"" << escape(machine.kernel) << "\",\"compiler\":\""
      << escape(machine.compiler) << "\",\"load\":\"" << escape(machine.load) << "\"}";
  return out.str();
}

}  // namespace citycard::bench
