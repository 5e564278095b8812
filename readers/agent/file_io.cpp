#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "files/durable_file.h"

namespace citycard::agent {
namespace {

Status errno_status(const std::string& what) { return Status::io_error(fmt::format("{}: {}", what, std::strerror(errno))); }

}  // namespace

std::string parent_directory(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status ensure_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0750) == 0) return files::sync_directory(parent_directory(dir));
  if (errno == EEXIST) return Status::ok();
  return errno_status("mkdir " + dir);
}

Status write_file_atomically(const std::string& path, card::ByteView contents) {
  const std::string_view bytes(reinterpret_cast<const char*>(contents.data()), contents.size());
  return files::write_file_durably(path, bytes, {.mode = agent_state_mode});
}

Result<std::optional<card::Bytes>> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<card::Bytes>{};
    return errno_status("open " + path);
  }
  card::Bytes contents;
  std::uint8_t chunk[65536];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status status = errno_status("read " + path);
      ::close(fd);
      return status;
    }
    if (n == 0) break;
    contents.insert(contents.end(), chunk, chunk + n);
  }
  ::close(fd);
  return std::optional<card::Bytes>(std::move(contents));
}

}  // namespace citycard::agent
