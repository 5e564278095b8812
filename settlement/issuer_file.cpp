// The issuer's batch file, version 1. Every record is one CSV line ending in LF:
//
//   file    := header line* trailer
//   header  := "H,CCISS,1," issuer_name "," business_day "," created_at "," period_start "," period_end ","
//              signing_key_id "," token_key_id LF
//   line    := "L," line_number "," tap_id "," card_token "," event_time "," amount "," flags LF
//   trailer := "T," line_count "," late_count "," total LF
//   times and amounts as in CCSET files (batch_file.cpp); total = sum of amount;
//   lines by event time, then tap id, numbered from 1.
#include "issuer_file.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <tuple>

#include "batch_file.h"
#include "citycard/transfer.h"
#include "csv.h"
#include "files/durable_file.h"

namespace citycard::settlement {
namespace {

constexpr std::size_t header_fields = 10;
constexpr std::size_t line_fields = 7;
constexpr std::size_t trailer_fields = 4;

template <typename Integer>
bool parse_integer(std::string_view text, Integer& out) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

void append_number(std::string& line, std::int64_t value) {
  line.push_back(',');
  line += std::to_string(value);
}

std::string format_issuer_header(const IssuerHeader& header, const DayConfig& config) {
  std::string line = "H,CCISS,1";
  csv::append_field(line, header.issuer_name);
  csv::append_field(line, header.day.to_string());
  csv::append_field(line, format_local_time(header.created_at, config));
  csv::append_field(line, format_local_time(header.period_start, config));
  csv::append_field(line, format_local_time(header.period_end, config));
  csv::append_field(line, header.signing_key_id);
  csv::append_field(line, header.token_key_id);
  line.push_back('\n');
  return line;
}

std::string format_issuer_line(std::uint64_t number, const IssuerLine& issuer_line, const DayConfig& config) {
  std::string line = "L";
  append_number(line, static_cast<std::int64_t>(number));
  csv::append_field(line, issuer_line.tap_id);
  csv::append_field(line, issuer_line.card_token);
  csv::append_field(line, format_local_time(issuer_line.event_time, config));
  append_number(line, issuer_line.amount_minor);
  csv::append_field(line, format_flags(issuer_line.flags));
  line.push_back('\n');
  return line;
}

}  // namespace

void IssuerTotals::add(const IssuerLine& line) {
  ++lines;
  if (line.flags & transfer_flag_late) ++late_lines;
  total_minor += line.amount_minor;
}

std::string issuer_file_name(BusinessDay day) { return "CCISS_" + day.compact() + "_01.csv"; }

Result<WrittenIssuerFile> write_issuer_file(const std::string& dir, const IssuerHeader& header,
                                            std::vector<IssuerLine> lines, const DayConfig& config,
                                            const SettlementKeys& keys) {
  // Canonical order, as in CCSET files: the bytes depend on what was posted, not on arrival.
  std::sort(lines.begin(), lines.end(), [](const IssuerLine& a, const IssuerLine& b) {
    return std::tie(a.event_time.unix_us, a.tap_id) < std::tie(b.event_time.unix_us, b.tap_id);
  });
  WrittenIssuerFile written;
  written.file_name = issuer_file_name(header.day);
  std::string text = format_issuer_header(header, config);
  std::uint64_t number = 0;
  for (const IssuerLine& line : lines) {
    text += format_issuer_line(++number, line, config);
    written.totals.add(line);
  }
  text += "T";
  append_number(text, static_cast<std::int64_t>(written.totals.lines));
  append_number(text, static_cast<std::int64_t>(written.totals.late_lines));
  append_number(text, written.totals.total_minor);
  text.push_back('\n');

  // As BatchWriter::write_final: synced under a temporary name, signed there,
  // digest and signature in place, then the file itself.
  const std::string path = dir + "/" + written.file_name;
  auto out = files::DurableFile::create(path);
  if (!out) return out.status();
  if (Status s = out->append(text); !s) return s;
  if (Status s = out->sync(); !s) return s;
  auto digest = sha256_file_hex(out->temporary_path().string());
  if (!digest) return digest.status();
  written.file_sha256 = *digest;
  auto signature = keys.sign_file(out->temporary_path().string());
  if (!signature) return signature.status();
  if (Status s = files::write_file_durably(path + ".sha256", written.file_sha256 + "  " + written.file_name + "\n"); !s)
    return s;
  if (Status s = files::write_file_durably(path + ".sig", signature.value()); !s) return s;
  if (Status s = out->commit(); !s) return s;
  return written;
}

Result<IssuerFileContents> read_issuer_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open issuer file " + path);
  IssuerFileContents contents;
  IssuerTotals sum;
  std::string text;
  std::uint64_t record = 0;
  bool have_header = false;
  bool have_trailer = false;
  auto bad = [&](const std::string& why) { return Status::corruption(path + ": record " + std::to_string(record) + ": " + why); };
  while (std::getline(in, text)) {
    ++record;
    if (have_trailer) return bad("text after the trailer");
    auto parsed = csv::parse_line(text);
    if (!parsed) return bad(parsed.status().message());
    const auto& f = parsed.value();
    if (!have_header) {
      if (f.size() != header_fields || f[0] != "H" || f[1] != "CCISS" || f[2] != "1")
        return bad("expected a CCISS version 1 header");
      contents.day = f[4];
      have_header = true;
      continue;
    }
    if (f[0] == "L") {
      IssuerLine line;
      std::uint64_t number = 0;
      if (f.size() != line_fields || !parse_integer(f[1], number) || !parse_integer(f[5], line.amount_minor))
        return bad("malformed line");
      if (number != sum.lines + 1) return bad("line numbers must count from 1 without gaps");
      if (f[6].find("late") != std::string::npos) line.flags |= transfer_flag_late;
      if (__builtin_add_overflow(sum.total_minor, line.amount_minor, &sum.total_minor))
        return bad("the lines' amounts overflow their sum");
      ++sum.lines;
      if (line.flags & transfer_flag_late) ++sum.late_lines;
      continue;
    }
    if (f[0] == "T") {
      IssuerTotals& t = contents.totals;
      if (f.size() != trailer_fields || !parse_integer(f[1], t.lines) || !parse_integer(f[2], t.late_lines) ||
          !parse_integer(f[3], t.total_minor))
        return bad("malformed trailer");
      have_trailer = true;
      continue;
    }
    return bad("unknown record type '" + f[0] + "'");
  }
  if (!have_header) return Status::corruption(path + ": no header");
  if (!have_trailer) return Status::corruption(path + ": no trailer (truncated file?)");
  if (!(contents.totals == sum)) return Status::corruption(path + ": trailer totals differ from the sum of the lines");
  return contents;
}

}  // namespace citycard::settlement
