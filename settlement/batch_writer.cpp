#include "batch_writer.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <openssl/evp.h>

#include "files/durable_file.h"

namespace citycard::settlement {
namespace {

constexpr std::size_t io_buffer_bytes = 1u << 20;

// Copies a body file into `out` and the digest, in 1 MiB pieces.
Status copy_body(const std::string& body_path, files::DurableFile& out, EVP_MD_CTX* sha) {
  std::FILE* body = std::fopen(body_path.c_str(), "rb");
  if (!body) return Status::io_error("cannot read " + body_path + ": " + std::strerror(errno));
  std::vector<char> buffer(io_buffer_bytes);
  Status status;
  std::size_t got = 0;
  while (status.is_ok() && (got = std::fread(buffer.data(), 1, buffer.size(), body)) > 0) {
    EVP_DigestUpdate(sha, buffer.data(), got);
    status = out.append(std::string_view(buffer.data(), got));
  }
  if (status.is_ok() && std::ferror(body)) status = Status::io_error("cannot read " + body_path);
  std::fclose(body);
  return status;
}

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
  const std::string text = format_line(pending.totals.lines, line, config_);
  if (std::fwrite(text.data(), 1, text.size(), pending.body) != text.size())
    return files::write_error(pending.body_path, errno);
  return Status::ok();
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
    if (Status s = copy_body(pending.body_path, *out, sha.get()); !s) return s;
  }
  const std::string trailer = format_trailer(pending.totals);
  EVP_DigestUpdate(sha.get(), trailer.data(), trailer.size());
  if (Status s = out->append(trailer); !s) return s;
  if (Status s = out->sync(); !s) return s;
  std::remove(pending.body_path.c_str());
  pending.body_started = false;
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
