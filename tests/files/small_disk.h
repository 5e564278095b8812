// A real, small file system for one test: a tmpfs of a given size mounted on
// a fresh temporary directory, filled on demand, unmounted and removed when
// the test ends. Mounting needs root (CAP_SYS_ADMIN); when it is refused,
// mounted() is false and refusal() says why, and the test WARNs and returns.
#pragma once

#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace citycard::testing {

class SmallDisk {
 public:
  explicit SmallDisk(std::uint64_t size_bytes) {
    std::string pattern = (std::filesystem::temp_directory_path() / "citycard-small-disk-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      refusal_ = std::string("mkdtemp: ") + std::strerror(errno);
      return;
    }
    root_ = pattern;
    const std::string options = "size=" + std::to_string(size_bytes) + ",mode=0755";
    if (::mount("tmpfs", root_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      refusal_ = "mount -t tmpfs: " + std::string(std::strerror(errno)) + " (needs root)";
      return;
    }
    mounted_ = true;
  }
  ~SmallDisk() {
    if (mounted_ && ::umount2(root_.c_str(), 0) != 0) ::umount2(root_.c_str(), MNT_DETACH);
    std::error_code error;
    if (!root_.empty()) std::filesystem::remove(root_, error);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& refusal() const { return refusal_; }
  const std::filesystem::path& root() const { return root_; }

  std::uint64_t free_bytes() const {
    struct statvfs info {};
    if (::statvfs(root_.c_str(), &info) != 0) return 0;
    return static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
  }
  // Writes a filler file until about `free_bytes` remain (tmpfs counts whole pages).
  void fill_leaving(std::uint64_t free_bytes) {
    const std::uint64_t now = this->free_bytes();
    if (now <= free_bytes) return;
    std::ofstream filler(root_ / "filler", std::ios::binary | std::ios::app);
    const std::string chunk(4096, '\0');
    for (std::uint64_t left = now - free_bytes; left > 0;) {
      const std::uint64_t piece = std::min<std::uint64_t>(left, chunk.size());
      filler.write(chunk.data(), static_cast<std::streamsize>(piece));
      left -= piece;
    }
  }
  // Gives the filler's space back ("an operator freed the disk").
  void free_filler() {
    std::error_code error;
    std::filesystem::remove(root_ / "filler", error);
  }

 private:
  std::filesystem::path root_;
  std::string refusal_;
  bool mounted_ = false;
};

}  // namespace citycard::testing
