#include "info_log.h"

#include <sys/time.h>

#include <algorithm>
#include <cstdarg>
#include <ctime>
#include <filesystem>

namespace citycard::ledger {

std::shared_ptr<InfoLog> InfoLog::open(const std::string& directory, rocksdb::InfoLogLevel level) {
  namespace fs = std::filesystem;
  const fs::path path = fs::path(directory) / "LOG";
  std::error_code error;
  std::uintmax_t size = fs::file_size(path, error);
  if (!error && size > (4u << 20)) fs::rename(path, fs::path(directory) / "LOG.old", error);
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) return nullptr;
  std::shared_ptr<InfoLog> log(new InfoLog(file));
  log->SetInfoLogLevel(level);
  return log;
}

InfoLog::InfoLog(std::FILE* file) : file_(file) {}

InfoLog::~InfoLog() { std::fclose(file_); }

void InfoLog::Logv(const char* format, va_list arguments) {
  char line[2048];
  timeval now{};
  ::gettimeofday(&now, nullptr);
  std::tm utc{};
  ::gmtime_r(&now.tv_sec, &utc);
  int used = static_cast<int>(std::strftime(line, sizeof line, "%Y/%m/%d-%H:%M:%S", &utc));
  used += std::snprintf(line + used, sizeof line - static_cast<std::size_t>(used), ".%06ldZ ",
                        static_cast<long>(now.tv_usec));
  va_list copy;
  va_copy(copy, arguments);
  const int wrote = std::vsnprintf(line + used, sizeof line - static_cast<std::size_t>(used), format, copy);
  va_end(copy);
  std::size_t length = static_cast<std::size_t>(used) + static_cast<std::size_t>(std::max(wrote, 0));
  length = std::min(length, sizeof line - 2);  // a longer line is cut
  if (length == 0 || line[length - 1] != '\n') line[length++] = '\n';
  std::lock_guard lock(mutex_);
  // A failed write (no space) loses this line; the next one tries again.
  if (std::fwrite(line, 1, length, file_) != length || std::fflush(file_) != 0) std::clearerr(file_);
}

}  // namespace citycard::ledger
