#include "inprocess_load.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace citycard::bench {

namespace {

using Clock = std::chrono::steady_clock;

struct Completed {
  std::size_t reader = 0;
  net::SubmitResult result;
  Clock::time_point at;
};

struct Mailbox {
  std::mutex mutex;
  std::condition_variable ready;
  std::vector<Completed> items;
};

}  // namespace

loadgen::LoadReport drive_in_process(net::TapSink& sink, const loadgen::CityDay& day, const InProcessOptions& options) {
  const std::size_t readers = day.readers.size();
  std::vector<std::size_t> next(readers, 0);
  std::vector<std::size_t> inflight_count(readers, 0);
  std::vector<Clock::time_point> sent_at(readers);
  std::vector<Clock::time_point> not_before(readers);
  auto mailbox = std::make_shared<Mailbox>();
  loadgen::LoadTally tally;
  std::size_t inflight = 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + options.duration;
  Clock::time_point last = start;
  const std::size_t batch_max = std::clamp<std::size_t>(options.batch_taps_max, 1, limits::batch_taps_max);

  auto submit = [&](std::size_t r, Clock::time_point now) {
    const auto& taps = day.readers[r].taps;
    if (inflight_count[r] > 0 || next[r] >= taps.size() || now < not_before[r]) return;
    std::size_t count = std::min(batch_max, taps.size() - next[r]);
    std::vector<protocol::TapRecord> batch;
    batch.reserve(count);
    for (std::size_t i = 0; i < count; ++i) batch.push_back(taps[next[r] + i].record);
    inflight_count[r] = count;
    sent_at[r] = now;
    ++inflight;
    tally.taps_sent += count;
    const ReaderId reader = taps[next[r]].record.tap.id.reader;
    sink.submit(reader, std::move(batch), [mailbox, r](net::SubmitResult result) {
      std::lock_guard lock(mailbox->mutex);
      mailbox->items.push_back({r, std::move(result), Clock::now()});
      mailbox->ready.notify_one();
    });
  };

  for (std::size_t r = 0; r < readers; ++r) submit(r, start);
  std::vector<Completed> done;
  // Bounded by `end` for new batches and reply_timeout for those in flight.
  while (inflight > 0) {
    {
      std::unique_lock lock(mailbox->mutex);
      if (!mailbox->ready.wait_for(lock, options.reply_timeout, [&] { return !mailbox->items.empty(); })) {
        tally.errors += inflight;  // the sink did not answer in time
        break;
      }
      done.swap(mailbox->items);
    }
    const Clock::time_point now = Clock::now();
    for (Completed& item : done) {
      const std::size_t r = item.reader;
      --inflight;
      const auto& taps = day.readers[r].taps;
      if (item.result.kind == net::SubmitResult::Kind::busy) {
        ++tally.retry_later;
        tally.taps_sent -= inflight_count[r];
        not_before[r] = now + std::chrono::milliseconds(std::max<std::uint32_t>(1, item.result.retry_after_ms));
      } else {
        const auto latency_us = std::chrono::duration_cast<std::chrono::microseconds>(item.at - sent_at[r]).count();
        for (std::size_t i = 0; i < item.result.decisions.size(); ++i) {
          const protocol::DecisionRecord& decision = item.result.decisions[i];
          const Tap& tap = taps[next[r] + i].record.tap;
          if (decision.tap != tap.id) ++tally.errors;
          const bool approved = decision.outcome == protocol::Outcome::approved;
          ++tally.by_mode[static_cast<std::size_t>(tap.mode)][approved ? 0 : 1];
          if (!approved) ++tally.by_reason[static_cast<std::size_t>(decision.reason) % tally.by_reason.size()];
          if (decision.flags & protocol::DecisionFlags::replayed) ++tally.replayed;
          if (tap.offline) ++tally.offline;
          tally.latency_us.push_back(static_cast<std::uint32_t>(latency_us));
        }
        if (item.result.decisions.size() != inflight_count[r]) ++tally.errors;
        tally.taps_decided += item.result.decisions.size();
        ++tally.batches;
        next[r] += inflight_count[r];
        last = std::max(last, item.at);
      }
      inflight_count[r] = 0;
    }
    done.clear();
    if (now < end) {
      for (std::size_t r = 0; r < readers; ++r) submit(r, now);
      // Readers waiting out a busy answer: poll again shortly (bounded by end).
      if (inflight == 0) {
        Clock::time_point wake = end;
        for (std::size_t r = 0; r < readers; ++r) {
          if (next[r] < day.readers[r].taps.size()) wake = std::min(wake, not_before[r]);
        }
        if (wake < end) {
          std::this_thread::sleep_until(wake);
          for (std::size_t r = 0; r < readers; ++r) submit(r, Clock::now());
        }
      }
    }
  }
  const double seconds = std::chrono::duration<double>(last - start).count();
  return loadgen::make_report(std::move(tally), seconds, 0);
}

}  // namespace citycard::bench
