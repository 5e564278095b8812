#include "staging.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "files/durable_file.h"

namespace citycard::settlement {

std::string staging_dir(const std::string& out_dir) { return out_dir + "/.staging"; }

Staging::~Staging() {
  std::error_code ignored;  // a leftover is emptied by the next open()
  std::filesystem::remove_all(dir(), ignored);
}

Status Staging::open() {
  const std::string dir = this->dir();
  std::error_code error;
  std::filesystem::remove_all(dir, error);
  if (error) return Status::io_error("cannot empty " + dir + ": " + error.message());
  std::filesystem::create_directories(dir, error);
  if (error) return Status::io_error("cannot create " + dir + ": " + error.message());
  return Status::ok();
}

Status place_staged(const std::string& out_dir, const std::vector<std::string>& names) {
  const std::string dir = staging_dir(out_dir);
  for (const std::string& name : names) {
    for (const std::string& file : {name + ".sig", name + ".sha256", name}) {
      const std::string from = dir + "/" + file;
      const std::string to = out_dir + "/" + file;
      if (std::rename(from.c_str(), to.c_str()) != 0) {
        return Status::io_error("cannot put " + to + " in place: " + std::strerror(errno));
      }
    }
  }
  return files::sync_directory(out_dir);
}

}  // namespace citycard::settlement
