#include "files/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace citycard::files {
namespace {

long system_write(int fd, const void* data, std::size_t size) { return ::write(fd, data, size); }

std::atomic<testing::WriteFunction> write_function{&system_write};
// Makes temporary names unique within the process; the pid makes them unique
// across processes writing the same directory.
std::atomic<std::uint64_t> temporary_counter{0};

std::filesystem::path directory_of(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

std::string errno_text(int error_number) { return std::strerror(error_number); }

Status step_error(const char* step, const std::filesystem::path& path, int error_number) {
  if (error_number == ENOSPC || error_number == EDQUOT) return write_error(path, error_number);
  return Status::io_error(std::string(step) + " " + path.string() + ": " + errno_text(error_number));
}

}  // namespace

Status write_error(const std::filesystem::path& path, int error_number) {
  if (error_number == ENOSPC) return Status::io_error("no space left on device writing " + path.string());
  if (error_number == EDQUOT) return Status::io_error("disk quota exceeded writing " + path.string());
  return Status::io_error("cannot write " + path.string() + ": " + errno_text(error_number));
}

Status sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::io_error("cannot open directory " + dir.string() + ": " + errno_text(errno));
  int synced = ::fsync(fd);
  int error_number = errno;
  ::close(fd);
  if (synced != 0) return Status::io_error("cannot sync directory " + dir.string() + ": " + errno_text(error_number));
  return Status::ok();
}

void remove_stale_temporaries(const std::filesystem::path& path) {
  const std::string prefix = "." + path.filename().string() + ".tmp-";
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory_of(path), error)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) std::filesystem::remove(entry.path(), error);
  }
}

Result<DurableFile> DurableFile::create(const std::filesystem::path& path, DurableOptions options) {
  if (path.filename().empty()) return Status::invalid_argument("cannot write " + path.string() + ": it names no file");
  const std::filesystem::path dir = directory_of(path);
  if (options.existing == Existing::keep && ::access(path.c_str(), F_OK) == 0)
    return Status::already_exists(path.string() + " already exists");
  const auto mode = static_cast<mode_t>(options.mode);
  for (;;) {
    std::filesystem::path temporary = dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                             std::to_string(temporary_counter.fetch_add(1)));
    // Created with the final mode (the umask can only narrow it), so the
    // bytes are never readable by more than the mode allows.
    int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST) continue;  // left by a crashed process with our pid
    if (fd < 0) {
      int error_number = errno;
      if (error_number == ENOENT || error_number == ENOTDIR)
        return Status::io_error("cannot write " + path.string() + ": directory " + dir.string() + " does not exist");
      return step_error("cannot create a temporary file for", path, error_number);
    }
    DurableFile file(path, std::move(temporary), fd, options);
    if (::fchmod(fd, mode) != 0) return file.fail(step_error("cannot set the mode of", path, errno));
    return file;
  }
}

DurableFile::DurableFile(std::filesystem::path path, std::filesystem::path temporary, int fd, DurableOptions options)
    : path_(std::move(path)), temporary_(std::move(temporary)), fd_(fd), options_(options) {}

DurableFile::DurableFile(DurableFile&& other) noexcept
    : path_(std::move(other.path_)),
      temporary_(std::move(other.temporary_)),
      fd_(std::exchange(other.fd_, -1)),
      options_(other.options_),
      size_bytes_(other.size_bytes_),
      failure_(std::move(other.failure_)),
      committed_(std::exchange(other.committed_, true)) {}

DurableFile::~DurableFile() { discard(); }

void DurableFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!committed_) ::unlink(temporary_.c_str());
  committed_ = true;
}

Status DurableFile::fail(Status status) {
  discard();
  failure_ = status;
  return status;
}

Status DurableFile::append(std::string_view bytes) {
  if (!failure_.is_ok()) return failure_;
  if (fd_ < 0) return Status::invalid_argument("cannot append to " + path_.string() + ": it is already synced");
  const testing::WriteFunction write = write_function.load();
  std::size_t done = 0;
  while (done < bytes.size()) {
    long written = write(fd_, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR) continue;
    // write(2) returns 0 only for a zero-byte request; treat it as a full disk
    // rather than loop forever.
    if (written <= 0) return fail(write_error(path_, written == 0 ? ENOSPC : errno));
    done += static_cast<std::size_t>(written);
  }
  size_bytes_ += bytes.size();
  return Status::ok();
}

Status DurableFile::sync() {
  if (!failure_.is_ok()) return failure_;
  if (fd_ < 0) return Status::ok();
  // A file system that allocates late (ext4, XFS) may report ENOSPC only here.
  if (::fsync(fd_) != 0) return fail(step_error("cannot sync", path_, errno));
  int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0 && errno != EINTR) return fail(step_error("cannot close", path_, errno));
  return Status::ok();
}

Status DurableFile::commit() {
  if (Status synced = sync(); !synced) return synced;
  if (committed_) return Status::invalid_argument(path_.string() + " is already committed");
  if (options_.existing == Existing::keep) {
    // link(2) fails when the name exists, where rename(2) would replace it.
    if (::link(temporary_.c_str(), path_.c_str()) != 0) {
      int error_number = errno;
      if (error_number == EEXIST) return fail(Status::already_exists(path_.string() + " already exists"));
      return fail(step_error("cannot create", path_, error_number));
    }
    ::unlink(temporary_.c_str());
  } else if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
    return fail(step_error("cannot put in place", path_, errno));
  }
  committed_ = true;
  return sync_directory(directory_of(path_));
}

Status write_file_durably(const std::filesystem::path& path, std::string_view contents, DurableOptions options) {
  auto file = DurableFile::create(path, options);
  if (!file) return file.status();
  if (Status written = file->append(contents); !written) return written;
  return file->commit();
}

namespace testing {
void set_write_function(WriteFunction function) { write_function.store(function ? function : &system_write); }
}  // namespace testing

}  // namespace citycard::files
