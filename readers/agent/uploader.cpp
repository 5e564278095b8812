#include "uploader.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

namespace citycard::agent {

void Uploader::back_off(Clock::time_point now, bool to_max) {
  ++failures_;
  auto delay = options_.backoff_max;
  if (!to_max) {
    delay = options_.backoff_initial;
    for (std::uint32_t i = 1; i < failures_ && delay < options_.backoff_max; ++i) delay *= 2;
    delay = std::min(delay, options_.backoff_max);
  }
  // Full jitter over the upper half: between delay/2 and delay.
  auto half = delay.count() / 2;
  std::uniform_int_distribution<std::int64_t> spread(0, half);
  next_attempt_ = now + std::chrono::milliseconds(delay.count() - half + spread(jitter_));
}

UploadReport Uploader::step(Clock::time_point now) {
  UploadReport report;
  const auto& pending = journal_.pending();
  if (pending.empty() || now < next_attempt_) return report;
  report.attempted = true;

  std::size_t count = std::min(pending.size(), options_.batch_taps_max);
  std::vector<QueuedTap> batch(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(count));
  report.taps_sent = batch.size();
  auto decisions = link_.submit_taps(batch, now + options_.attempt_timeout);
  if (!decisions) {
    report.error = decisions.status();
    back_off(now, !is_retryable(report.error));
    return report;
  }
  std::unordered_set<std::uint64_t> sent;
  for (const auto& queued : batch) sent.insert(queued.tap.id.sequence);
  std::vector<std::uint64_t> decided;
  for (const auto& decision : *decisions) {
    if (decision.tap.reader == batch.front().tap.id.reader && sent.count(decision.tap.sequence) != 0) {
      decided.push_back(decision.tap.sequence);
    }
  }
  if (auto acknowledged = journal_.acknowledge(decided); !acknowledged) {
    report.error = acknowledged;
    back_off(now, false);
    return report;
  }
  report.taps_acknowledged = decided.size();
  failures_ = 0;
  next_attempt_ = now;
  return report;
}

}  // namespace citycard::agent
