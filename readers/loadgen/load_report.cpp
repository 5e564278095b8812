#include "load_report.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace citycard::loadgen {

void LoadTally::count(const Tap& tap, const protocol::DecisionRecord& decision, std::int64_t latency) {
  if (decision.tap != tap.id) ++errors;
  const bool approved = decision.outcome == protocol::Outcome::approved;
  ++by_mode[static_cast<std::size_t>(tap.mode)][approved ? 0 : 1];
  if (!approved) ++by_reason[static_cast<std::size_t>(decision.reason) % by_reason.size()];
  if (decision.flags & protocol::DecisionFlags::replayed) ++replayed;
  if (tap.offline) ++offline;
  latency_us.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(latency, 0, UINT32_MAX)));
}

void LoadTally::count_round_trip(std::int64_t microseconds) {
  round_trip_us.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(microseconds, 0, UINT32_MAX)));
}

namespace {
std::uint32_t clamp_us(std::int64_t microseconds) {
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(microseconds, 0, UINT32_MAX));
}
}  // namespace

void LoadTally::count_second(std::size_t second, std::int64_t latency, std::int64_t round_trip, std::int64_t send_lag) {
  if (second >= 86'400) return;  // a clock gone wrong, not a step
  if (seconds.size() <= second) seconds.resize(second + 1);
  Second& at = seconds[second];
  ++at.taps;
  if (latency >= 10'000) ++at.taps_over_10ms;
  at.latency_max_us = std::max(at.latency_max_us, clamp_us(latency));
  at.round_trip_max_us = std::max(at.round_trip_max_us, clamp_us(round_trip));
  at.send_lag_max_us = std::max(at.send_lag_max_us, clamp_us(send_lag));
}

void LoadTally::merge(const LoadTally& other) {
  taps_sent += other.taps_sent;
  taps_decided += other.taps_decided;
  batches += other.batches;
  retry_later += other.retry_later;
  errors += other.errors;
  reconnects += other.reconnects;
  readers_stopped += other.readers_stopped;
  replayed += other.replayed;
  offline += other.offline;
  for (std::size_t m = 0; m < by_mode.size(); ++m) {
    by_mode[m][0] += other.by_mode[m][0];
    by_mode[m][1] += other.by_mode[m][1];
  }
  for (std::size_t r = 0; r < by_reason.size(); ++r) by_reason[r] += other.by_reason[r];
  latency_us.insert(latency_us.end(), other.latency_us.begin(), other.latency_us.end());
  round_trip_us.insert(round_trip_us.end(), other.round_trip_us.begin(), other.round_trip_us.end());
  if (seconds.size() < other.seconds.size()) seconds.resize(other.seconds.size());
  for (std::size_t i = 0; i < other.seconds.size(); ++i) {
    const Second& theirs = other.seconds[i];
    Second& ours = seconds[i];
    ours.taps += theirs.taps;
    ours.taps_over_10ms += theirs.taps_over_10ms;
    ours.latency_max_us = std::max(ours.latency_max_us, theirs.latency_max_us);
    ours.round_trip_max_us = std::max(ours.round_trip_max_us, theirs.round_trip_max_us);
    ours.send_lag_max_us = std::max(ours.send_lag_max_us, theirs.send_lag_max_us);
  }
}

namespace {

// The wire's reason names; numbers the vocabulary does not name (engine
// extensions) as "reason_N".
std::string reason_label(std::size_t reason) {
  std::string_view name = refusal_reason_name(static_cast<RefusalReason>(reason));
  return name == "?" ? "reason_" + std::to_string(reason) : std::string(name);
}

double percentile_ms(const std::vector<std::uint32_t>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)] / 1000.0;
}

}  // namespace

LoadReport make_report(LoadTally tally, double seconds, double offered_taps_per_second) {
  LoadReport report;
  std::sort(tally.latency_us.begin(), tally.latency_us.end());
  report.offered_taps_per_second = offered_taps_per_second;
  report.seconds = seconds;
  report.taps_per_second = seconds > 0 ? static_cast<double>(tally.taps_decided) / seconds : 0;
  report.latency_ms_p50 = percentile_ms(tally.latency_us, 0.50);
  report.latency_ms_p99 = percentile_ms(tally.latency_us, 0.99);
  report.latency_ms_p999 = percentile_ms(tally.latency_us, 0.999);
  report.latency_ms_max = tally.latency_us.empty() ? 0 : tally.latency_us.back() / 1000.0;
  std::sort(tally.round_trip_us.begin(), tally.round_trip_us.end());
  report.round_trip_ms_p50 = percentile_ms(tally.round_trip_us, 0.50);
  report.round_trip_ms_p99 = percentile_ms(tally.round_trip_us, 0.99);
  report.tally = std::move(tally);
  return report;
}

std::string LoadReport::json() const {
  nlohmann::json modes = nlohmann::json::object();
  for (int m = 1; m <= mode_count; ++m) {
    const auto& counts = tally.by_mode[static_cast<std::size_t>(m)];
    if (counts[0] + counts[1] == 0) continue;
    modes[std::string(mode_name(static_cast<Mode>(m)))] = {{"approved", counts[0]}, {"refused", counts[1]}};
  }
  nlohmann::json reasons = nlohmann::json::object();
  for (std::size_t r = 1; r < tally.by_reason.size(); ++r) {
    if (tally.by_reason[r] == 0) continue;
    reasons[reason_label(r)] = tally.by_reason[r];
  }
  nlohmann::json out = {
      {"offered_taps_per_second", offered_taps_per_second},
      {"seconds", seconds},
      {"taps_per_second", taps_per_second},
      {"taps_sent", tally.taps_sent},
      {"taps_decided", tally.taps_decided},
      {"batches", tally.batches},
      {"retry_later", tally.retry_later},
      {"errors", tally.errors},
      {"reconnects", tally.reconnects},
      {"readers_stopped", tally.readers_stopped},
      {"replayed", tally.replayed},
      {"offline", tally.offline},
      {"latency_ms", {{"p50", latency_ms_p50}, {"p99", latency_ms_p99}, {"p999", latency_ms_p999}, {"max", latency_ms_max}}},
      {"round_trip_ms", {{"p50", round_trip_ms_p50}, {"p99", round_trip_ms_p99}}},
      {"by_mode", modes},
      {"refusals", reasons},
  };
  if (!tally.seconds.empty()) {
    // [taps, over 10 ms, latency max, round trip max, send lag max] (ms), per second of the step
    nlohmann::json seconds_json = nlohmann::json::array();
    for (const auto& second : tally.seconds) {
      seconds_json.push_back({second.taps, second.taps_over_10ms, second.latency_max_us / 1000.0,
                              second.round_trip_max_us / 1000.0, second.send_lag_max_us / 1000.0});
    }
    out["by_second"] = std::move(seconds_json);
  }
  if (started_unix_s > 0) {
    out["started_unix_s"] = started_unix_s;
    out["ended_unix_s"] = ended_unix_s;
  }
  return out.dump();
}

std::string LoadReport::summary() const {
  char line[512];
  std::string text;
  std::snprintf(line, sizeof line,
                "%s: %.0f taps/s decided (%llu taps in %.2f s, %llu batches), latency p50 %.2f ms p99 %.2f ms p99.9 %.2f ms "
                "max %.2f ms; retry_later %llu, errors %llu, reconnects %llu, readers stopped %llu\n",
                offered_taps_per_second > 0 ? ("open loop at " + std::to_string(static_cast<long long>(offered_taps_per_second)) + "/s").c_str()
                                            : "closed loop",
                taps_per_second, static_cast<unsigned long long>(tally.taps_decided), seconds,
                static_cast<unsigned long long>(tally.batches), latency_ms_p50, latency_ms_p99, latency_ms_p999,
                latency_ms_max, static_cast<unsigned long long>(tally.retry_later),
                static_cast<unsigned long long>(tally.errors), static_cast<unsigned long long>(tally.reconnects),
                static_cast<unsigned long long>(tally.readers_stopped));
  text += line;
  if (!tally.round_trip_us.empty()) {
    std::snprintf(line, sizeof line, "  batch round trip (last send to decisions): p50 %.2f ms p99 %.2f ms\n",
                  round_trip_ms_p50, round_trip_ms_p99);
    text += line;
  }
  text += "  by mode (approved/refused):";
  for (int m = 1; m <= mode_count; ++m) {
    const auto& counts = tally.by_mode[static_cast<std::size_t>(m)];
    if (counts[0] + counts[1] == 0) continue;
    std::snprintf(line, sizeof line, " %s %llu/%llu", std::string(mode_name(static_cast<Mode>(m))).c_str(),
                  static_cast<unsigned long long>(counts[0]), static_cast<unsigned long long>(counts[1]));
    text += line;
  }
  text += "\n  refusals:";
  bool any = false;
  for (std::size_t r = 1; r < tally.by_reason.size(); ++r) {
    if (tally.by_reason[r] == 0) continue;
    any = true;
    std::snprintf(line, sizeof line, " %s %llu", reason_label(r).c_str(),
                  static_cast<unsigned long long>(tally.by_reason[r]));
    text += line;
  }
  if (!any) text += " none";
  text += "\n";
  return text;
}

}  // namespace citycard::loadgen
