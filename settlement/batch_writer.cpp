#include "batch_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <openssl/evp.h>

namespace citycard::settlement {
namespace {

constexpr std::size_t io_buffer_bytes = 1u << 20;

// Writes `contents` to `path` through a temporary file, synced, then renamed.
Status write_small_file(const std::string& path, const std::string& contents) {
  const std::string temporary = path + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) return Status::io_error("cannot create " + temporary + ": " + std::strerror(errno));
  bool ok = std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
  ok = std::fflush(file) == 0 && ok;
  ok = ::fsync(::fileno(file)) == 0 && ok;
  ok = std::fclose(file) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) return Status::io_error("cannot write " + path);
  return Status::ok();
}

}  // namespace

BatchWriter::BatchWriter(std::string out_dir, const DayConfig& config, const SettlementKeys& keys)
    : out_dir_(std::move(out_dir)), config_(config), keys_(keys) {}

BatchWriter::~BatchWriter() {
  close_bodies();
  for (auto& [id, pending] : pending_) std::remove(pending.body_path.c_str());
}

void BatchWriter::close_bodies() {
  for (auto& [id, pending] : pending_) {
    if (pending.body) std::fclose(pending.body);
    pending.body = nullptr;
  }
  open_bodies_ = 0;
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
    if (open_bodies_ >= open_bodies_max) close_bodies();
    pending.body = std::fopen(pending.body_path.c_str(), pending.body_started ? "ab" : "wb");
    if (!pending.body) return Status::io_error("cannot write " + pending.body_path + ": " + std::strerror(errno));
    std::setvbuf(pending.body, nullptr, _IOFBF, 256u << 10);
    pending.body_started = true;
    ++open_bodies_;
  }
  pending.totals.add(line);
  if (rule_set_version != 0) pending.rule_set_versions.insert(rule_set_version);
  const std::string text = format_line(pending.totals.lines, line, config_);
  if (std::fwrite(text.data(), 1, text.size(), pending.body) != text.size())
    return Status::io_error("cannot write " + pending.body_path);
  return Status::ok();
}

Status BatchWriter::write_final(Pending& pending, WrittenBatch& written) {
  for (std::uint32_t version : pending.rule_set_versions) {
    if (!pending.header.rule_set_versions.empty()) pending.header.rule_set_versions.push_back(';');
    pending.header.rule_set_versions += std::to_string(version);
  }
  const std::string name = batch_file_name(pending.header.day, pending.header.operator_id, pending.header.sequence);
  const std::string path = out_dir_ + "/" + name;
  const std::string temporary = path + ".tmp";
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  std::FILE* out = std::fopen(temporary.c_str(), "wb");
  if (!out) return Status::io_error("cannot create " + temporary + ": " + std::strerror(errno));
  bool ok = true;
  auto emit = [&](const char* data, std::size_t size) {
    EVP_DigestUpdate(sha.get(), data, size);
    ok = std::fwrite(data, 1, size, out) == size && ok;
  };
  const std::string header = format_header(pending.header, config_);
  emit(header.data(), header.size());
  if (pending.body_started) {
    std::FILE* body = std::fopen(pending.body_path.c_str(), "rb");
    if (!body) ok = false;
    std::vector<char> buffer(io_buffer_bytes);
    std::size_t got = 0;
    while (body && (got = std::fread(buffer.data(), 1, buffer.size(), body)) > 0) emit(buffer.data(), got);
    if (body) std::fclose(body);
    std::remove(pending.body_path.c_str());
  }
  const std::string trailer = format_trailer(pending.totals);
  emit(trailer.data(), trailer.size());
  ok = std::fflush(out) == 0 && ok;
  ok = ::fsync(::fileno(out)) == 0 && ok;
  ok = std::fclose(out) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) return Status::io_error("cannot write " + path);
  std::uint8_t digest[32];
  unsigned length = 0;
  EVP_DigestFinal_ex(sha.get(), digest, &length);
  written.operator_id = pending.header.operator_id;
  written.sequence = pending.header.sequence;
  written.file_name = name;
  written.file_sha256 = to_hex_lower(digest, length);
  written.totals = pending.totals;
  if (Status s = write_small_file(path + ".sha256", written.file_sha256 + "  " + name + "\n"); !s) return s;
  auto signature = keys_.sign_file(path);
  if (!signature) return signature.status();
  return write_small_file(path + ".sig", signature.value());
}

Result<std::vector<WrittenBatch>> BatchWriter::finish() {
  close_bodies();
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
