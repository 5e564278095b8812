// RocksDB's info log (the ledger directory's LOG file), written so that a
// full disk only loses log lines. RocksDB's own file logger asserts when it
// writes again after a failed write (Debian's librocksdb keeps its asserts):
// a flush or compaction failing for want of space logs the error and took
// the engine down with it. Internal to ledger/.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include <rocksdb/env.h>

namespace citycard::ledger {

class InfoLog final : public rocksdb::Logger {
 public:
  // Appends to `directory`/LOG; a LOG past 4 MiB is first moved to LOG.old.
  // Nullptr when the file cannot be opened (RocksDB then makes its own).
  static std::shared_ptr<InfoLog> open(const std::string& directory, rocksdb::InfoLogLevel level);
  ~InfoLog() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list arguments) override;

 private:
  explicit InfoLog(std::FILE* file);
  std::mutex mutex_;
  std::FILE* file_;
};

}  // namespace citycard::ledger
