#include "inprocess_load.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace citycard::bench {

namespace {

using Clock = std::chrono::steady_clock;

struct Batch {
  std::size_t reader = 0;
  std::vector<std::uint32_t> taps;  // indexes into the reader's taps
  Clock::time_point sent_at;
  Clock::time_point due{};          // open loop: when its first tap was due (latency counts from it)
};

struct Completed {
  std::size_t batch = 0;
  net::SubmitResult result;
  Clock::time_point at;
};

struct Mailbox {
  std::mutex mutex;
  std::condition_variable ready;
  std::vector<Completed> items;
};

}  // namespace

loadgen::LoadReport drive_in_process(net::TapSink& sink, const loadgen::CityDay& day, const InProcessOptions& options,
                                     std::size_t& position) {
  auto mailbox = std::make_shared<Mailbox>();
  loadgen::LoadTally tally;
  std::vector<Batch> batches;            // by id; kept for the tally
  // Room for the most batches the rest of the day can make (one tap each at
  // least), reserved, not touched: grown by doubling, moving a million
  // batches held this thread off the engine for ~185 ms at a fixed 20k
  // taps/s, which the taps due meanwhile counted as latency.
  batches.reserve(day.send_order.size() - std::min(position, day.send_order.size()));
  std::size_t inflight_taps = 0;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + options.duration;
  Clock::time_point last = start;
  const std::size_t batch_max = std::clamp<std::size_t>(options.batch_taps_max, 1, limits::batch_taps_max);
  std::vector<std::size_t> retry;        // batches answered busy, to resend

  auto submit = [&](std::size_t id) {
    Batch& batch = batches[id];
    const auto& taps = day.readers[batch.reader].taps;
    std::vector<protocol::TapRecord> records;
    records.reserve(batch.taps.size());
    for (std::uint32_t index : batch.taps) records.push_back(taps[index].record);
    batch.sent_at = Clock::now();
    inflight_taps += batch.taps.size();
    sink.submit(taps[batch.taps[0]].record.tap.id.reader, std::move(records), [mailbox, id](net::SubmitResult result) {
      std::lock_guard lock(mailbox->mutex);
      mailbox->items.push_back({id, std::move(result), Clock::now()});
      mailbox->ready.notify_one();
    });
  };

  // Returns false when the sink stopped answering within reply_timeout.
  auto collect = [&](bool wait) {
    std::vector<Completed> done;
    {
      std::unique_lock lock(mailbox->mutex);
      if (wait && !mailbox->ready.wait_for(lock, options.reply_timeout, [&] { return !mailbox->items.empty(); })) {
        return false;
      }
      done.swap(mailbox->items);
    }
    for (Completed& item : done) {
      Batch& batch = batches[item.batch];
      inflight_taps -= batch.taps.size();
      if (item.result.kind == net::SubmitResult::Kind::busy) {
        ++tally.retry_later;
        retry.push_back(item.batch);
        continue;
      }
      const auto& taps = day.readers[batch.reader].taps;
      const Clock::time_point from = options.taps_per_second > 0 ? batch.due : batch.sent_at;
      const auto latency_us = std::chrono::duration_cast<std::chrono::microseconds>(item.at - from).count();
      if (item.result.decisions.size() != batch.taps.size()) ++tally.errors;
      for (std::size_t i = 0; i < item.result.decisions.size() && i < batch.taps.size(); ++i) {
        tally.count(taps[batch.taps[i]].record.tap, item.result.decisions[i], latency_us);
      }
      tally.taps_decided += item.result.decisions.size();
      ++tally.batches;
      last = std::max(last, item.at);
    }
    return true;
  };

  // Windows of the day's send order, grouped by reader within a window, are
  // submitted in order: a card's taps reach its shard in send order.
  std::vector<std::vector<std::uint32_t>> pending(day.readers.size());
  std::vector<std::size_t> touched;
  std::size_t cursor = position;
  const std::size_t first = position;
  bool stalled = false;
  const bool open_loop = options.taps_per_second > 0;
  auto due_at = [&](std::size_t position) {
    return start + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(position - first) * 1e9 / options.taps_per_second));
  };
  std::vector<Clock::time_point> first_due(day.readers.size());
  while (cursor < day.send_order.size() && Clock::now() < end && !stalled) {
    std::size_t window_end = std::min(day.send_order.size(), cursor + options.window_taps);
    if (open_loop) {
      // Everything due by now, and nothing later: wait for the next tap's turn.
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      window_end = std::min(window_end, first + static_cast<std::size_t>(elapsed * options.taps_per_second) + 1);
      if (window_end <= cursor) {
        collect(false);
        std::this_thread::sleep_until(std::min(due_at(cursor), Clock::now() + std::chrono::microseconds(200)));
        continue;
      }
    }
    for (; cursor < window_end; ++cursor) {
      const loadgen::SendSlot& slot = day.send_order[cursor];
      auto& list = pending[slot.reader_index];
      if (list.empty()) {
        touched.push_back(slot.reader_index);
        if (open_loop) first_due[slot.reader_index] = due_at(cursor);
      }
      list.push_back(slot.tap_index);
      if (list.size() == batch_max) {
        batches.push_back({slot.reader_index, std::move(list), {}, first_due[slot.reader_index]});
        list.clear();
        submit(batches.size() - 1);
      }
    }
    for (std::size_t reader : touched) {
      if (pending[reader].empty()) continue;
      batches.push_back({reader, std::move(pending[reader]), {}, first_due[reader]});
      pending[reader].clear();
      submit(batches.size() - 1);
    }
    touched.clear();
    tally.taps_sent = cursor - first;
    // Keep at most inflight_taps_max in the engine; resend busy batches.
    while (!stalled && (inflight_taps > options.inflight_taps_max || !retry.empty())) {
      if (!retry.empty()) {
        std::vector<std::size_t> again;
        again.swap(retry);
        for (std::size_t id : again) submit(id);
      }
      if (inflight_taps > options.inflight_taps_max) stalled = !collect(true);
      else collect(false);
    }
  }
  // Drain what is in flight (bounded: reply_timeout per wait).
  while (!stalled && (inflight_taps > 0 || !retry.empty())) {
    if (!retry.empty()) {
      std::vector<std::size_t> again;
      again.swap(retry);
      for (std::size_t id : again) submit(id);
    }
    stalled = !collect(true);
  }
  if (stalled) tally.errors += inflight_taps;
  const double seconds = std::chrono::duration<double>(last - start).count();
  position = cursor;
  return loadgen::make_report(std::move(tally), seconds, options.taps_per_second);
}

}  // namespace citycard::bench
