#include "batch_writer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <utility>

#include "citycard/check.h"
#include "files/durable_file.h"

namespace citycard::settlement {
namespace {

constexpr std::size_t io_buffer_bytes = 1u << 20;

// A body file mapped read-only (the lines are copied out in sorted order).
class MappedBody {
 public:
  static Result<MappedBody> open(const std::string& path, std::uint64_t bytes) {
    MappedBody body;
    if (bytes == 0) return body;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::io_error("cannot read " + path + ": " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0 || static_cast<std::uint64_t>(info.st_size) != bytes) {
      ::close(fd);
      return Status::io_error("cannot read " + path + ": it does not hold the " + std::to_string(bytes) +
                              " bytes written to it");
    }
    void* data = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (data == MAP_FAILED) return Status::io_error("cannot map " + path + ": " + std::strerror(errno));
    ::madvise(data, bytes, MADV_RANDOM);
    body.data_ = static_cast<const char*>(data);
    body.size_ = bytes;
    return body;
  }
  MappedBody() = default;
  MappedBody(MappedBody&& other) noexcept : data_(std::exchange(other.data_, nullptr)), size_(other.size_) {}
  MappedBody& operator=(MappedBody&&) = delete;
  ~MappedBody() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  // The line starting at `offset`, its LF included (fields never hold one).
  std::string_view line_at(std::uint64_t offset) const {
    const char* start = data_ + offset;
    const void* end = std::memchr(start, '\n', size_ - offset);
    CITYCARD_CHECK(end != nullptr);
    return {start, static_cast<std::size_t>(static_cast<const char*>(end) - start) + 1};
  }

 private:
  const char* data_ = nullptr;
  std::uint64_t size_ = 0;
};

}  // namespace

BatchWriter::BatchWriter(std::string out_dir, const DayConfig& config, const SettlementKeys& keys)
    : out_dir_(std::move(out_dir)), config_(config), keys_(keys) {}

BatchWriter::~BatchWriter() {
  (void)close_bodies();  // the bodies are removed anyway
  for (auto& [id, pending] : pending_) std::remove(pending.body_path.c_str());
}

// fclose() writes the buffered tail: a full disk may only show here, and a
// body missing its tail would make a batch file whose lines and trailer disagree.
Status BatchWriter::close_bodies() {
  Status status;
  for (auto& [id, pending] : pending_) {
    if (pending.body && std::fclose(pending.body) != 0 && status.is_ok())
      status = files::write_error(pending.body_path, errno);
    pending.body = nullptr;
  }
  open_bodies_ = 0;
  return status;
}

void BatchWriter::expect(const BatchHeader& header) {
  Pending& pending = pending_[header.operator_id.value];
  pending.header = header;
  pending.body_path = out_dir_ + "/." + batch_file_name(header.day, header.operator_id, header.sequence) + ".body";
}

Status BatchWriter::add(OperatorId op, const BatchLine& line, std::uint32_t rule_set_version) {
  auto it = pending_.find(op.value);
  if (it == pending_.end()) return Status::ok();
  Pending& pending = it->second;
  if (!pending.body) {
    if (open_bodies_ >= open_bodies_max) {
      if (Status closed = close_bodies(); !closed) return closed;
    }
    pending.body = std::fopen(pending.body_path.c_str(), pending.body_started ? "ab" : "wb");
    if (!pending.body) return files::write_error(pending.body_path, errno);
    std::setvbuf(pending.body, nullptr, _IOFBF, 256u << 10);
    pending.body_started = true;
    ++open_bodies_;
  }
  pending.totals.add(line);
  if (rule_set_version != 0) pending.rule_set_versions.insert(rule_set_version);
  // The body keeps the line after "L,<number>": numbers are given in sorted order.
  const std::string text = format_line(0, line, config_);
  constexpr std::size_t unnumbered = 3;  // "L,0"
  const std::string_view body_text = std::string_view(text).substr(unnumbered);
  if (std::fwrite(body_text.data(), 1, body_text.size(), pending.body) != body_text.size())
    return files::write_error(pending.body_path, errno);
  pending.lines.push_back({line.event_time.unix_us, pending.body_bytes});
  pending.body_bytes += body_text.size();
  return Status::ok();
}

Status BatchWriter::copy_lines_sorted(Pending& pending, files::DurableFile& out, EVP_MD_CTX* sha) {
  auto body = MappedBody::open(pending.body_path, pending.body_bytes);
  if (!body) return body.status();
  const MappedBody& lines = body.value();
  std::sort(pending.lines.begin(), pending.lines.end(), [&lines](const LineIndex& a, const LineIndex& b) {
    if (a.event_time_us != b.event_time_us) return a.event_time_us < b.event_time_us;
    // The body text starts ",<tap id>,": the same instant goes by tap id (unique in a file).
    return lines.line_at(a.offset) < lines.line_at(b.offset);
  });
  std::string buffer;
  buffer.reserve(io_buffer_bytes + 512);
  auto flush = [&]() -> Status {
    EVP_DigestUpdate(sha, buffer.data(), buffer.size());
    Status status = out.append(buffer);
    buffer.clear();
    return status;
  };
  std::uint64_t number = 0;
  for (const LineIndex& entry : pending.lines) {
    buffer += 'L';
    buffer += ',';
    buffer += std::to_string(++number);
    buffer += lines.line_at(entry.offset);
    if (buffer.size() >= io_buffer_bytes) {
      if (Status s = flush(); !s) return s;
    }
  }
  CITYCARD_CHECK(number == pending.totals.lines);
  return flush();
}

// The batch file is written whole and synced under a temporary name, signed
// there, its digest and signature put in place, and only then is it renamed
// to its own name: a batch file never exists truncated, never without its
// digest and signature, and no signature covers a partial file.
Status BatchWriter::write_final(Pending& pending, WrittenBatch& written) {
  for (std::uint32_t version : pending.rule_set_versions) {
    if (!pending.header.rule_set_versions.empty()) pending.header.rule_set_versions.push_back(';');
    pending.header.rule_set_versions += std::to_string(version);
  }
  const std::string name = batch_file_name(pending.header.day, pending.header.operator_id, pending.header.sequence);
  const std::string path = out_dir_ + "/" + name;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  auto out = files::DurableFile::create(path);
  if (!out) return out.status();
  const std::string header = format_header(pending.header, config_);
  EVP_DigestUpdate(sha.get(), header.data(), header.size());
  if (Status s = out->append(header); !s) return s;
  if (pending.body_started) {
    if (Status s = copy_lines_sorted(pending, *out, sha.get()); !s) return s;
  }
  const std::string trailer = format_trailer(pending.totals);
  EVP_DigestUpdate(sha.get(), trailer.data(), trailer.size());
  if (Status s = out->append(trailer); !s) return s;
  if (Status s = out->sync(); !s) return s;
  std::remove(pending.body_path.c_str());
  pending.body_started = false;
  pending.body_bytes = 0;
  std::vector<LineIndex>().swap(pending.lines);
  std::uint8_t digest[32];
  unsigned length = 0;
  EVP_DigestFinal_ex(sha.get(), digest, &length);
  written.operator_id = pending.header.operator_id;
  written.sequence = pending.header.sequence;
  written.file_name = name;
  written.file_sha256 = to_hex_lower(digest, length);
  written.totals = pending.totals;
  auto signature = keys_.sign_file(out->temporary_path().string());
  if (!signature) return signature.status();
  if (Status s = files::write_file_durably(path + ".sha256", written.file_sha256 + "  " + name + "\n"); !s) return s;
  if (Status s = files::write_file_durably(path + ".sig", signature.value()); !s) return s;
  return out->commit();
}

Result<std::vector<WrittenBatch>> BatchWriter::finish() {
  if (Status closed = close_bodies(); !closed) return closed;
  std::error_code error;
  std::filesystem::create_directories(out_dir_, error);
  std::vector<WrittenBatch> written;
  for (auto& [id, pending] : pending_) {
    WrittenBatch batch;
    if (Status s = write_final(pending, batch); !s) return s;
    written.push_back(std::move(batch));
  }
  return written;
}

}  // namespace citycard::settlement
