#include "records.h"

#include <charconv>
#include <cstdio>
#include <vector>

namespace citycard::settlement {
namespace {

using Fields = std::map<std::string, std::string, std::less<>>;

class Encoder {
 public:
  Encoder& add(std::string_view name, std::string_view value) {
    text_.append(name).push_back('=');
    for (char c : value) text_.push_back(c == '\n' ? ' ' : c);
    text_.push_back('\n');
    return *this;
  }
  Encoder& add(std::string_view name, std::int64_t value) { return add(name, std::to_string(value)); }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

Fields split(std::string_view text) {
  Fields fields;
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    auto equals = line.find('=');
    if (equals != std::string_view::npos) fields.emplace(std::string(line.substr(0, equals)), std::string(line.substr(equals + 1)));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return fields;
}

// Reads named fields and remembers the first one that is missing or malformed.
class Decoder {
 public:
  explicit Decoder(std::string_view text) : fields_(split(text)) {}
  bool has(std::string_view name) const { return fields_.find(name) != fields_.end(); }
  std::string text(std::string_view name) {
    auto it = fields_.find(name);
    if (it == fields_.end()) {
      if (missing_.empty()) missing_ = std::string(name);
      return {};
    }
    return it->second;
  }
  template <typename Integer>
  Integer number(std::string_view name) {
    std::string value = text(name);
    Integer out{};
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), out);
    if ((error != std::errc() || end != value.data() + value.size()) && missing_.empty()) missing_ = std::string(name);
    return out;
  }
  Status status(std::string_view what) const {
    if (missing_.empty()) return Status::ok();
    return Status::corruption("settlement " + std::string(what) + " record: field '" + missing_ + "' missing or malformed");
  }

 private:
  Fields fields_;
  std::string missing_;
};

void encode_totals(Encoder& out, const BatchTotals& t) {
  out.add("lines", static_cast<std::int64_t>(t.lines)).add("late_lines", static_cast<std::int64_t>(t.late_lines));
  out.add("rider_fare", t.rider_fare_minor).add("city_subsidy", t.city_subsidy_minor);
  out.add("points_subsidy", t.points_subsidy_minor).add("points_redeemed", t.points_redeemed);
  out.add("other", t.other_minor).add("total", t.total_minor);
  // Programmes with a non-zero amount only; records written before
  // programmes have none (and read as all zero).
  for (Programme programme : all_programmes()) {
    const std::int64_t amount = t.programme_minor[programme_index(programme)];
    if (amount != 0) out.add("programme." + std::string(programme_name(programme)), amount);
  }
}

BatchTotals decode_totals(Decoder& in) {
  BatchTotals t;
  t.lines = in.number<std::uint64_t>("lines");
  t.late_lines = in.number<std::uint64_t>("late_lines");
  t.rider_fare_minor = in.number<std::int64_t>("rider_fare");
  t.city_subsidy_minor = in.number<std::int64_t>("city_subsidy");
  t.points_subsidy_minor = in.number<std::int64_t>("points_subsidy");
  t.points_redeemed = in.number<std::int64_t>("points_redeemed");
  t.other_minor = in.number<std::int64_t>("other");
  t.total_minor = in.number<std::int64_t>("total");
  for (Programme programme : all_programmes()) {
    const std::string name = "programme." + std::string(programme_name(programme));
    if (in.has(name)) t.programme_minor[programme_index(programme)] = in.number<std::int64_t>(name);
  }
  return t;
}

std::string operator_digits(OperatorId op) {
  char text[16];
  std::snprintf(text, sizeof text, "%010u", op.value);
  return text;
}

}  // namespace

std::string_view batch_state_name(BatchState state) {
  switch (state) {
    case BatchState::sent: return "sent";
    case BatchState::accepted: return "accepted";
    case BatchState::rejected: return "rejected";
  }
  return "?";
}

namespace record_key {
std::string close(BusinessDay day) { return "close/" + day.compact(); }
std::string batch_prefix(BusinessDay day) { return "batch/" + day.compact() + "/"; }
std::string batch(BusinessDay day, OperatorId op) { return batch_prefix(day) + operator_digits(op); }
std::string held_prefix(BusinessDay day, OperatorId op) { return "held/" + day.compact() + "/" + operator_digits(op) + "/"; }
std::string held(BusinessDay day, OperatorId op, std::string_view tap_id) { return held_prefix(day, op) + std::string(tap_id); }
std::string ack(std::string_view ack_sha256) { return "ack/" + std::string(ack_sha256); }
std::string issuer(BusinessDay day) { return "issuer/" + day.compact(); }
}  // namespace record_key

std::string encode(const IssuerRecord& r) {
  Encoder out;
  out.add("day", r.day.days_since_epoch).add("file", r.file_name).add("sha256", r.file_sha256);
  out.add("lines", static_cast<std::int64_t>(r.totals.lines)).add("late_lines", static_cast<std::int64_t>(r.totals.late_lines));
  out.add("total", r.totals.total_minor);
  return out.take();
}

Result<IssuerRecord> decode_issuer(std::string_view text) {
  Decoder in(text);
  IssuerRecord r;
  r.day.days_since_epoch = in.number<std::int32_t>("day");
  r.file_name = in.text("file");
  r.file_sha256 = in.text("sha256");
  r.totals.lines = in.number<std::uint64_t>("lines");
  r.totals.late_lines = in.number<std::uint64_t>("late_lines");
  r.totals.total_minor = in.number<std::int64_t>("total");
  if (Status s = in.status("issuer"); !s) return s;
  return r;
}

std::string encode(const CloseRecord& r) {
  Encoder out;
  out.add("day", r.day.days_since_epoch).add("utc_offset_minutes", r.config.utc_offset_minutes);
  out.add("close_minute_of_day", r.config.close_minute_of_day).add("created_at_us", r.created_at.unix_us);
  out.add("from", static_cast<std::int64_t>(r.from_sequence)).add("to", static_cast<std::int64_t>(r.to_sequence));
  out.add("previous_to", static_cast<std::int64_t>(r.previous_to_sequence));
  out.add("next_from", static_cast<std::int64_t>(r.next_from_sequence));
  out.add("scanned", static_cast<std::int64_t>(r.transfers_scanned));
  return out.take();
}

std::string encode(const BatchRecord& r) {
  Encoder out;
  out.add("day", r.day.days_since_epoch).add("operator", r.operator_id.value).add("name", r.operator_name);
  out.add("sequence", r.sequence).add("state", static_cast<std::int64_t>(r.state));
  out.add("file", r.file_name).add("sha256", r.file_sha256).add("note", r.note);
  encode_totals(out, r.totals);
  return out.take();
}

std::string encode(const HeldLine& r) {
  Encoder out;
  out.add("tap", r.tap_id).add("held_from", r.held_from_sequence).add("reason", r.reason);
  return out.take();
}

Result<CloseRecord> decode_close(std::string_view text) {
  Decoder in(text);
  CloseRecord r;
  r.day.days_since_epoch = in.number<std::int32_t>("day");
  r.config.utc_offset_minutes = in.number<std::int32_t>("utc_offset_minutes");
  r.config.close_minute_of_day = in.number<std::int32_t>("close_minute_of_day");
  r.created_at.unix_us = in.number<std::int64_t>("created_at_us");
  r.from_sequence = in.number<std::uint64_t>("from");
  r.to_sequence = in.number<std::uint64_t>("to");
  r.previous_to_sequence = in.number<std::uint64_t>("previous_to");
  r.next_from_sequence = in.number<std::uint64_t>("next_from");
  r.transfers_scanned = in.number<std::uint64_t>("scanned");
  if (Status s = in.status("close"); !s) return s;
  return r;
}

Result<BatchRecord> decode_batch(std::string_view text) {
  Decoder in(text);
  BatchRecord r;
  r.day.days_since_epoch = in.number<std::int32_t>("day");
  r.operator_id.value = in.number<std::uint32_t>("operator");
  r.operator_name = in.text("name");
  r.sequence = in.number<std::uint32_t>("sequence");
  auto state = in.number<int>("state");
  r.file_name = in.text("file");
  r.file_sha256 = in.text("sha256");
  r.note = in.text("note");
  r.totals = decode_totals(in);
  if (Status s = in.status("batch"); !s) return s;
  if (state < 1 || state > 3) return Status::corruption("settlement batch record: unknown state");
  r.state = static_cast<BatchState>(state);
  return r;
}

Result<HeldLine> decode_held(std::string_view text) {
  Decoder in(text);
  HeldLine r;
  r.tap_id = in.text("tap");
  r.held_from_sequence = in.number<std::uint32_t>("held_from");
  r.reason = in.text("reason");
  if (Status s = in.status("held line"); !s) return s;
  return r;
}

}  // namespace citycard::settlement
