// The durable file helper: replacing, modes, keeping, and every failure
// leaving the old file and no temporary one behind.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "files/durable_file.h"
#include "small_disk.h"

using namespace citycard;
using namespace citycard::files;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "citycard-files-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path, error);
  }
  fs::path path;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

unsigned mode_of(const fs::path& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

// Every name in dir, so a test can tell that no temporary file was left.
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Restores ::write when a test that injected faults ends, passing or not.
struct WriteFault {
  explicit WriteFault(files::testing::WriteFunction function) { files::testing::set_write_function(function); }
  ~WriteFault() { files::testing::set_write_function(nullptr); }
};

// Injected writers: state in globals because the seam is a plain function pointer.
std::size_t bytes_before_full = 0;
long full_at_byte(int fd, const void* data, std::size_t size) {
  if (bytes_before_full == 0) {
    errno = ENOSPC;
    return -1;
  }
  std::size_t now = std::min(size, bytes_before_full);
  long written = ::write(fd, data, now);
  if (written > 0) bytes_before_full -= static_cast<std::size_t>(written);
  return written;
}

int calls = 0;
long three_bytes_and_interrupted(int fd, const void* data, std::size_t size) {
  if (++calls % 2 == 0) {
    errno = EINTR;
    return -1;
  }
  return ::write(fd, data, std::min<std::size_t>(size, 3));
}

long broken_disk(int, const void*, std::size_t) {
  errno = EIO;
  return -1;
}

}  // namespace

TEST_CASE("a new file gets the contents and the mode, and no temporary file stays") {
  TempDir dir;
  REQUIRE(write_file_durably(dir.path / "a.csv", "hello\n").is_ok());
  CHECK(read_text(dir.path / "a.csv") == "hello\n");
  CHECK(mode_of(dir.path / "a.csv") == 0644);
  CHECK(names_in(dir.path) == std::vector<std::string>{"a.csv"});
}

TEST_CASE("a private file is 0600 whatever the umask, and never wider while written") {
  TempDir dir;
  mode_t old_umask = ::umask(0);  // a umask that would leave 0666 files world-writable
  auto file = DurableFile::create(dir.path / "secret.key", {.mode = mode_private});
  ::umask(old_umask);
  REQUIRE(file.has_value());
  CHECK(mode_of(file->temporary_path()) == 0600);  // already while the key is being written
  REQUIRE(file->append("key bytes").is_ok());
  REQUIRE(file->commit().is_ok());
  CHECK(mode_of(dir.path / "secret.key") == 0600);
}

TEST_CASE("an existing file is replaced whole") {
  TempDir dir;
  REQUIRE(write_file_durably(dir.path / "crl.pem", std::string(10000, 'o')).is_ok());
  REQUIRE(write_file_durably(dir.path / "crl.pem", "new").is_ok());
  CHECK(read_text(dir.path / "crl.pem") == "new");
  CHECK(names_in(dir.path) == std::vector<std::string>{"crl.pem"});
}

TEST_CASE("keep refuses to replace an existing file and leaves it as it was") {
  TempDir dir;
  REQUIRE(write_file_durably(dir.path / "reader.key", "first", {.mode = mode_private, .existing = Existing::keep}).is_ok());
  Status again = write_file_durably(dir.path / "reader.key", "second", {.mode = mode_private, .existing = Existing::keep});
  CHECK(again.code() == StatusCode::already_exists);
  CHECK(read_text(dir.path / "reader.key") == "first");
  CHECK(names_in(dir.path) == std::vector<std::string>{"reader.key"});
}

TEST_CASE("keep refuses a target that appears while the file is written") {
  TempDir dir;
  auto file = DurableFile::create(dir.path / "reader.key", {.mode = mode_private, .existing = Existing::keep});
  REQUIRE(file.has_value());
  REQUIRE(file->append("mine").is_ok());
  REQUIRE(write_file_durably(dir.path / "reader.key", "theirs").is_ok());
  CHECK(file->commit().code() == StatusCode::already_exists);
  CHECK(read_text(dir.path / "reader.key") == "theirs");
  CHECK(names_in(dir.path) == std::vector<std::string>{"reader.key"});
}

TEST_CASE("a missing directory is a clear error naming it") {
  TempDir dir;
  Status status = write_file_durably(dir.path / "nowhere" / "a.csv", "x");
  CHECK(status.code() == StatusCode::io_error);
  CHECK(status.message() == "cannot write " + (dir.path / "nowhere" / "a.csv").string() + ": directory " +
                                (dir.path / "nowhere").string() + " does not exist");
}

TEST_CASE("short writes and EINTR still write every byte") {
  TempDir dir;
  calls = 0;
  WriteFault fault(&three_bytes_and_interrupted);
  const std::string contents = "0123456789abcdefghijklmnopqrstuvwxyz";
  REQUIRE(write_file_durably(dir.path / "a.csv", contents).is_ok());
  CHECK(read_text(dir.path / "a.csv") == contents);
  CHECK(calls > 20);  // the fault did cut the write into pieces
}

TEST_CASE("a disk that fills part-way fails with ENOSPC named, keeps the old file, removes the temporary") {
  TempDir dir;
  REQUIRE(write_file_durably(dir.path / "batch.csv", "the old batch\n").is_ok());
  bytes_before_full = 1000;
  WriteFault fault(&full_at_byte);
  auto file = DurableFile::create(dir.path / "batch.csv");
  REQUIRE(file.has_value());
  const fs::path temporary = file->temporary_path();
  CHECK(fs::exists(temporary));
  Status status = file->append(std::string(4000, 'x'));
  CHECK(status.message() == "no space left on device writing " + (dir.path / "batch.csv").string());
  CHECK_FALSE(fs::exists(temporary));
  CHECK(file->append("more") == status);  // a failed file stays failed
  CHECK(file->commit() == status);
  CHECK(read_text(dir.path / "batch.csv") == "the old batch\n");
  CHECK(names_in(dir.path) == std::vector<std::string>{"batch.csv"});
}

TEST_CASE("another write error names the path and the cause") {
  TempDir dir;
  WriteFault fault(&broken_disk);
  Status status = write_file_durably(dir.path / "a.csv", "x");
  CHECK(status.message() == "cannot write " + (dir.path / "a.csv").string() + ": " + std::strerror(EIO));
  CHECK(names_in(dir.path).empty());
}

TEST_CASE("a file abandoned before commit leaves nothing") {
  TempDir dir;
  {
    auto file = DurableFile::create(dir.path / "a.csv");
    REQUIRE(file.has_value());
    REQUIRE(file->append("half").is_ok());
  }
  CHECK(names_in(dir.path).empty());
}

TEST_CASE("sync makes the whole temporary file readable before it is in place") {
  TempDir dir;
  auto file = DurableFile::create(dir.path / "a.csv");
  REQUIRE(file.has_value());
  REQUIRE(file->append("part one, ").is_ok());
  REQUIRE(file->append("part two").is_ok());
  REQUIRE(file->sync().is_ok());
  CHECK(read_text(file->temporary_path()) == "part one, part two");
  CHECK_FALSE(fs::exists(dir.path / "a.csv"));
  CHECK(file->append("late").code() == StatusCode::invalid_argument);
  REQUIRE(file->commit().is_ok());
  CHECK(read_text(dir.path / "a.csv") == "part one, part two");
  CHECK(file->size_bytes() == 18);
}

TEST_CASE("a writer killed mid-write leaves a temporary that remove_stale_temporaries clears") {
  TempDir dir;
  REQUIRE(write_file_durably(dir.path / "taps.journal", "journal").is_ok());
  REQUIRE(write_file_durably(dir.path / "other", "kept").is_ok());
  std::ofstream(dir.path / ".taps.journal.tmp-4242-7") << "half";  // as a killed writer leaves it
  std::ofstream(dir.path / ".other.tmp-4242-8") << "half";          // another file's: not ours to remove
  remove_stale_temporaries(dir.path / "taps.journal");
  CHECK(names_in(dir.path) == std::vector<std::string>{".other.tmp-4242-8", "other", "taps.journal"});
}

TEST_CASE("on a real full disk the old file stays and the error names the disk") {
  citycard::testing::SmallDisk disk(256u << 10);
  if (!disk.mounted()) {
    WARN("tmpfs test skipped: " << disk.refusal());
    return;
  }
  const fs::path path = disk.root() / "batch.csv";
  REQUIRE(write_file_durably(path, "the old batch\n").is_ok());
  disk.fill_leaving(16u << 10);
  Status status = write_file_durably(path, std::string(64u << 10, 'x'));
  CHECK(status.message() == "no space left on device writing " + path.string());
  CHECK(read_text(path) == "the old batch\n");
  CHECK(names_in(disk.root()) == std::vector<std::string>{"batch.csv", "filler"});
  disk.free_filler();
  REQUIRE(write_file_durably(path, std::string(64u << 10, 'x')).is_ok());
  CHECK(fs::file_size(path) == 64u << 10);
}
