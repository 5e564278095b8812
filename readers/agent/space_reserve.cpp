#include "space_reserve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "file_io.h"
#include "files/durable_file.h"

namespace citycard::agent {

Status SpaceReserve::restore() {
  if (bytes_ == 0) return Status::ok();
  struct stat info {};
  if (::stat(path_.c_str(), &info) == 0 && static_cast<std::uint64_t>(info.st_blocks) * 512 >= bytes_) {
    held_ = true;
    return Status::ok();
  }
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error(fmt::format("open {}: {}", path_, std::strerror(errno)));
  // Allocated, not written: the blocks are the disk's to give back later.
  const int allocated = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes_));
  const bool synced = allocated == 0 && ::fsync(fd) == 0;
  const int sync_errno = errno;
  ::close(fd);
  if (allocated != 0) {
    ::unlink(path_.c_str());  // a part of a reserve is worth less than the space it takes from the journal now
    return Status::io_error(fmt::format("reserve {} bytes in {}: {}", bytes_, path_, std::strerror(allocated)));
  }
  if (!synced) return Status::io_error(fmt::format("fsync {}: {}", path_, std::strerror(sync_errno)));
  if (Status dir = files::sync_directory(parent_directory(path_)); !dir) return dir;
  held_ = true;
  return Status::ok();
}

Status SpaceReserve::write_with_reserve(const std::function<Status()>& write, bool& released) {
  released = false;
  Status first = write();
  if (first || !held_ || !is_out_of_space(first)) return first;
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return Status::io_error(fmt::format("{}; and giving up the reserve {} failed: {}", first.message(), path_,
                                        std::strerror(errno)));
  }
  held_ = false;
  released = true;
  return write();
}

}  // namespace citycard::agent
