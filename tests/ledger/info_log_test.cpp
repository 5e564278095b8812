// RocksDB's info log on a full disk (a tmpfs the test mounts): lines are
// lost, nothing aborts, and logging resumes once there is room. RocksDB's
// own file logger asserted on its second write after a failed one, which
// took the engine down when a flush failed on a full disk. Not root: skipped.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "ledger/info_log.h"
#include "ledger_fixture.h"
#include "small_disk.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void log_at(rocksdb::Logger& log, rocksdb::InfoLogLevel level, const char* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  log.Logv(level, format, arguments);
  va_end(arguments);
}

template <typename... Arguments>
void log_line(rocksdb::Logger& log, const char* format, Arguments... arguments) {
  log_at(log, rocksdb::InfoLogLevel::ERROR_LEVEL, format, arguments...);
}

}  // namespace

TEST_CASE("the ledger's info log loses lines on a full disk instead of aborting, and writes again once freed") {
  SmallDisk disk(1u << 20);
  if (!disk.mounted()) {
    WARN("skipped: " << disk.refusal());
    return;
  }
  auto log = ledger::InfoLog::open(disk.root().string(), rocksdb::InfoLogLevel::WARN_LEVEL);
  REQUIRE(log);
  log_line(*log, "before the disk filled: %d", 1);
  log_line(*log, "%s", std::string(100, 'x').c_str());
  log_at(*log, rocksdb::InfoLogLevel::INFO_LEVEL, "below the level: %s", "info");
  disk.fill_leaving(0);
  // A page of lines: the first fills what was left, every later one fails.
  for (int i = 0; i < 200; ++i) log_line(*log, "while full: background error number %d", i);
  disk.free_filler();
  log_line(*log, "after the disk was freed: %d", 2);
  const std::string text = read_all(disk.root() / "LOG");
  CHECK(text.find("before the disk filled: 1\n") != std::string::npos);
  CHECK(text.find("after the disk was freed: 2\n") != std::string::npos);
  CHECK(text.find("below the level") == std::string::npos);
  CHECK(text.find("while full: background error number 199") == std::string::npos);
  // Each line starts with its UTC time and ends with one newline.
  CHECK(text.rfind("20", 0) == 0);
  CHECK(text.find("\n\n") == std::string::npos);
}

TEST_CASE("the ledger's info log cuts a line longer than its buffer and moves a large LOG aside when opened") {
  TempDir dir;
  {
    std::ofstream big(std::filesystem::path(dir.path()) / "LOG");
    big << std::string((4u << 20) + 1, 'o');
  }
  auto log = ledger::InfoLog::open(dir.path(), rocksdb::InfoLogLevel::WARN_LEVEL);
  REQUIRE(log);
  log_line(*log, "%s", std::string(10000, 'y').c_str());
  log.reset();
  CHECK(std::filesystem::file_size(std::filesystem::path(dir.path()) / "LOG.old") == (4u << 20) + 1);
  const std::string text = read_all(std::filesystem::path(dir.path()) / "LOG");
  CHECK(text.size() < 2100);
  CHECK(text.back() == '\n');
  CHECK(text.find("yyyy") != std::string::npos);
}
