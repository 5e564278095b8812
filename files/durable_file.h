// Files that survive a crash whole: the only way citycard writes a file that
// someone relies on (settlement batch files and their signatures, keys,
// certificates, the CRL, the reader agent's state, the engine's ports file).
//
// Contract:
// - The bytes go to a temporary file in the target's directory, created with
//   O_CREAT|O_EXCL and exactly the requested mode from the start (a key is
//   never world-readable, not even for a moment), named ".NAME.tmp-PID-N" so
//   that it is hidden and never mistaken for the target. Every write is
//   retried on a short write and on EINTR; then fsync, close (checked), and
//   only then rename over the target (or link, when the target must not be
//   replaced) and fsync the directory.
// - On success the target holds the new bytes, durably.
// - On any failure before the rename the temporary file is removed and the
//   old target, if any, is untouched: a reader sees the old file or the new
//   one, never a mix and never a truncated file. A failed directory sync after
//   the rename reports an error although the new file is in place.
// - A crash (power loss, SIGKILL) may leave a ".NAME.tmp-*" file behind; it is
//   never read and may be deleted.
// - Errors are Statuses naming the target path and the cause: io_error for
//   the disk and the OS ("no space left on device writing PATH", "cannot
//   write PATH: directory DIR does not exist", "cannot sync PATH: Input/output
//   error"), already_exists for Existing::keep over an existing file.
//
// Threading: separate DurableFile objects may be used from separate threads;
// one object is not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "citycard/status.h"

namespace citycard::files {

// Permission bits for files that only their owner may read (keys, PINs).
inline constexpr std::uint32_t mode_private = 0600;
// Permission bits for files anyone on the machine may read (certificates, batch files).
inline constexpr std::uint32_t mode_public = 0644;

enum class Existing : std::uint8_t {
  replace,  // rename over an existing target
  keep,     // fail with already_exists when the target exists (keys are never replaced)
};

struct DurableOptions {
  // The file's permission bits from the moment it exists, exactly (the umask
  // does not narrow them). Default 0644.
  std::uint32_t mode = mode_public;
  // What to do when the target exists. Default replace.
  Existing existing = Existing::replace;
};

// A file written in pieces and put in place whole. Move-only. Destroying it
// before commit() removes the temporary file.
class DurableFile {
 public:
  // Creates the temporary file next to `path`.
  static Result<DurableFile> create(const std::filesystem::path& path, DurableOptions options = {});
  DurableFile(DurableFile&& other) noexcept;
  DurableFile& operator=(DurableFile&&) = delete;
  DurableFile(const DurableFile&) = delete;
  DurableFile& operator=(const DurableFile&) = delete;
  ~DurableFile();

  // Writes all of `bytes`. After a failure every later call fails the same way.
  Status append(std::string_view bytes);
  // fsync and close the temporary file: from then on temporary_path() holds
  // every appended byte on disk (to be signed, say, before it is in place).
  // commit() does it when not done; append() is refused afterwards.
  Status sync();
  // Puts the file in place and syncs the directory.
  Status commit();

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temporary_path() const { return temporary_; }
  std::uint64_t size_bytes() const { return size_bytes_; }

 private:
  DurableFile(std::filesystem::path path, std::filesystem::path temporary, int fd, DurableOptions options);
  Status fail(Status status);
  void discard();

  std::filesystem::path path_;
  std::filesystem::path temporary_;
  int fd_ = -1;  // open until sync()
  DurableOptions options_;
  std::uint64_t size_bytes_ = 0;
  Status failure_;          // the first failure; ok while none
  bool committed_ = false;  // the temporary file is gone (renamed or linked)
};

// The whole of `contents` as `path`, through a DurableFile.
Status write_file_durably(const std::filesystem::path& path, std::string_view contents, DurableOptions options = {});

// Removes the temporary files that writers of `path` killed mid-write left
// behind. Only for a caller that knows no one writes `path` now (it holds the
// lock that makes it the file's only writer).
void remove_stale_temporaries(const std::filesystem::path& path);

// fsync of a directory: makes a rename, a new file or a new subdirectory in it durable.
Status sync_directory(const std::filesystem::path& dir);

// The Status for a failed write of `path` with errno `error_number`, worded
// as everywhere else: ENOSPC -> "no space left on device writing PATH".
// For code that writes scratch files itself (settlement's batch bodies).
Status write_error(const std::filesystem::path& path, int error_number);

namespace testing {
// The write(2) the helper calls, replaceable by a test to inject short
// writes, EINTR or ENOSPC at a chosen byte; nullptr restores ::write. Same
// contract as write(2): bytes written, or -1 with errno set.
using WriteFunction = long (*)(int fd, const void* data, std::size_t size);
void set_write_function(WriteFunction function);
}  // namespace testing

}  // namespace citycard::files
