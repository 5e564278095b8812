#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace citycard::agent {
namespace {

Status errno_status(const std::string& what) { return Status::io_error(fmt::format("{}: {}", what, std::strerror(errno))); }

}  // namespace

std::uint32_t crc32(card::ByteView bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

std::string parent_directory(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status fsync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_status("open directory " + dir);
  int rc = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (rc != 0) return Status::io_error(fmt::format("fsync directory {}: {}", dir, std::strerror(error)));
  return Status::ok();
}

Status ensure_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0750) == 0) return fsync_directory(parent_directory(dir));
  if (errno == EEXIST) return Status::ok();
  return errno_status("mkdir " + dir);
}

Status write_file_atomically(const std::string& path, card::ByteView contents) {
  const std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return errno_status("create " + temporary);
  std::size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status status = errno_status("write " + temporary);
      ::close(fd);
      ::unlink(temporary.c_str());
      return status;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status status = errno_status("fsync " + temporary);
    ::close(fd);
    ::unlink(temporary.c_str());
    return status;
  }
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return errno_status("rename " + temporary + " to " + path);
  return fsync_directory(parent_directory(path));
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
