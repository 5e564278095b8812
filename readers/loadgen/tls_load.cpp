#include "tls_load.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "uplink/uplink.h"

namespace citycard::loadgen {

namespace {

using Clock = std::chrono::steady_clock;

struct SimReader {
  std::uint32_t index = 0;                      // into CityMap::readers / CityDay::readers
  std::unique_ptr<uplink::Uplink> link;
  std::vector<std::uint64_t> positions;         // each tap's place in the load's send order
  std::size_t next = 0;                         // first tap not yet decided
  bool dead = false;                            // gave up after reconnect_attempts
  bool inflight = false;
  protocol::TapBatch batch;
  Clock::time_point sent_at;
  Clock::time_point not_before;                 // after retry_later
  Clock::time_point last_active;                // last frame sent: idle readers send heartbeats
  std::uint64_t next_batch_id = 1;
};

}  // namespace

class TlsLoad::Impl {
 public:
  Impl(const CityDay& day, const CityMap& map, TlsLoadOptions options)
      : day_(day), map_(map), options_(std::move(options)) {}

  Status connect_all();
  LoadReport run(const LoadStep& step);
  std::uint64_t remaining() const;

 private:
  struct StepPlan {
    Clock::time_point start;
    Clock::time_point end;
    double rate = 0;
    std::uint64_t base = 0;       // first position of this step
    std::uint64_t limit = 0;      // positions below it belong to this step
    Clock::time_point due(std::uint64_t position) const {
      if (rate <= 0 || position <= base) return start;
      return start + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(position - base) * 1e9 / rate));
    }
  };

  uplink::UplinkOptions uplink_options(const ReaderSite& site) const;
  void work(std::size_t worker, const StepPlan& plan, LoadTally& tally, Clock::time_point& last_decision);
  bool send_batch(SimReader& reader, const StepPlan& plan, Clock::time_point now, std::uint64_t ceiling, LoadTally& tally);
  void collect(SimReader& reader, const StepPlan& plan, LoadTally& tally, Clock::time_point& last_decision);
  bool recover(SimReader& reader, LoadTally& tally);

  const CityDay& day_;
  const CityMap& map_;
  TlsLoadOptions options_;
  std::vector<SimReader> readers_;
  std::uint64_t total_taps_ = 0;
  std::uint64_t sent_positions_ = 0;   // positions handed out to steps so far
  std::atomic<std::uint64_t> heartbeat_nonce_{0};
  // Per reader: the position of its first undecided tap (max when done or
  // stopped). Its minimum is the load's frontier.
  std::unique_ptr<std::atomic<std::uint64_t>[]> frontier_;
  void update_frontier(const SimReader& reader) {
    const bool left = !reader.dead && reader.next < reader.positions.size();
    frontier_[reader.index].store(left ? reader.positions[reader.next] : UINT64_MAX, std::memory_order_relaxed);
  }
  std::uint64_t frontier() const {
    std::uint64_t low = UINT64_MAX;
    for (std::size_t i = 0; i < readers_.size(); ++i) low = std::min(low, frontier_[i].load(std::memory_order_relaxed));
    return low;
  }
};

uplink::UplinkOptions TlsLoad::Impl::uplink_options(const ReaderSite& site) const {
  uplink::UplinkOptions options;
  options.host = options_.host;
  options.port = options_.port;
  options.server_name = options_.server_name;
  const std::string name = "reader-" + std::to_string(site.reader.value);
  options.ca_certificate = options_.pki_dir + "/ca.crt";
  options.certificate = options_.pki_dir + "/readers/" + name + ".crt";
  options.private_key = options_.pki_dir + "/readers/" + name + ".key";
  options.reader = site.reader;
  options.agent = "citycard-loadgen";
  options.connect_timeout = options_.reply_timeout;
  options.reply_timeout = options_.reply_timeout;
  return options;
}

Status TlsLoad::Impl::connect_all() {
  std::size_t count = map_.readers.size();
  if (options_.readers_max > 0) count = std::min(count, options_.readers_max);
  readers_.resize(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    readers_[i].index = i;
    readers_[i].link = std::make_unique<uplink::Uplink>(uplink_options(map_.site(i)));
    readers_[i].last_active = Clock::now();
  }
  // Positions: the day's send order restricted to the readers in use.
  for (const SendSlot& slot : day_.send_order) {
    if (slot.reader_index >= count) continue;
    readers_[slot.reader_index].positions.push_back(total_taps_++);
  }
  frontier_ = std::make_unique<std::atomic<std::uint64_t>[]>(count);
  for (const SimReader& reader : readers_) update_frontier(reader);
  const std::size_t threads = std::max<std::size_t>(1, options_.threads);
  std::vector<Status> failures(threads);
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([this, t, threads, &failures] {
      for (std::size_t i = t; i < readers_.size(); i += threads) {
        Status status = readers_[i].link->connect();
        if (!status.is_ok()) {
          failures[t] = Status::unavailable("reader " + std::to_string(map_.site(readers_[i].index).reader.value) +
                                            ": " + status.to_string());
          return;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  for (const Status& failure : failures) {
    if (!failure.is_ok()) return failure;
  }
  return Status::ok();
}

bool TlsLoad::Impl::recover(SimReader& reader, LoadTally& tally) {
  auto backoff = std::chrono::milliseconds(50);
  for (int attempt = 0; attempt < options_.reconnect_attempts; ++attempt) {
    ++tally.reconnects;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    if (reader.link->connect().is_ok() && reader.link->send(reader.batch).is_ok()) return true;
  }
  ++tally.readers_stopped;
  reader.dead = true;
  reader.inflight = false;
  update_frontier(reader);
  return false;
}

bool TlsLoad::Impl::send_batch(SimReader& reader, const StepPlan& plan, Clock::time_point now, std::uint64_t ceiling,
                                LoadTally& tally) {
  const auto& taps = day_.readers[reader.index].taps;
  const std::size_t batch_max = std::clamp<std::size_t>(options_.batch_taps_max, 1, limits::batch_taps_max);
  std::size_t count = 0;
  while (count < batch_max && reader.next + count < taps.size()) {
    std::uint64_t position = reader.positions[reader.next + count];
    if (position >= plan.limit || position >= ceiling || plan.due(position) > now) break;
    ++count;
  }
  if (count == 0) return false;
  reader.batch.batch_id = reader.next_batch_id++;
  reader.batch.taps.clear();
  for (std::size_t i = 0; i < count; ++i) reader.batch.taps.push_back(taps[reader.next + i].record);
  reader.sent_at = now;
  reader.last_active = now;
  reader.inflight = true;
  tally.taps_sent += count;
  if (!reader.link->send(reader.batch).is_ok()) {
    ++tally.errors;
    recover(reader, tally);
  }
  return true;
}

void TlsLoad::Impl::collect(SimReader& reader, const StepPlan& plan, LoadTally& tally, Clock::time_point& last_decision) {
  // Bounded: one reply, or reconnect_attempts resends; a batch the engine
  // answers with an error frame twice is not sent again (the reader stops).
  int error_frames = 0;
  for (int attempt = 0; attempt <= options_.reconnect_attempts && reader.inflight; ++attempt) {
    auto received = reader.link->receive(options_.reply_timeout);
    const Clock::time_point now = Clock::now();
    if (received) {
      if (auto* decisions = std::get_if<protocol::Decisions>(&*received);
          decisions != nullptr && decisions->batch_id == reader.batch.batch_id &&
          decisions->decisions.size() == reader.batch.taps.size()) {
        for (std::size_t i = 0; i < decisions->decisions.size(); ++i) {
          const protocol::DecisionRecord& decision = decisions->decisions[i];
          const Tap& tap = reader.batch.taps[i].tap;
          if (decision.tap != tap.id) ++tally.errors;
          const bool approved = decision.outcome == protocol::Outcome::approved;
          ++tally.by_mode[static_cast<std::size_t>(tap.mode)][approved ? 0 : 1];
          if (!approved) ++tally.by_reason[static_cast<std::size_t>(decision.reason) % tally.by_reason.size()];
          if (decision.flags & protocol::DecisionFlags::replayed) ++tally.replayed;
          if (tap.offline) ++tally.offline;
          Clock::time_point from = plan.rate > 0 ? plan.due(reader.positions[reader.next + i]) : reader.sent_at;
          auto latency = std::chrono::duration_cast<std::chrono::microseconds>(now - from).count();
          tally.latency_us.push_back(static_cast<std::uint32_t>(std::clamp<std::int64_t>(latency, 0, UINT32_MAX)));
        }
        tally.taps_decided += decisions->decisions.size();
        ++tally.batches;
        reader.next += decisions->decisions.size();
        reader.inflight = false;
        update_frontier(reader);
        last_decision = std::max(last_decision, now);
        return;
      }
      if (auto* retry = std::get_if<protocol::RetryLater>(&*received); retry != nullptr && retry->batch_id == reader.batch.batch_id) {
        ++tally.retry_later;
        tally.taps_sent -= reader.batch.taps.size();  // they go again
        reader.inflight = false;
        reader.not_before = now + std::chrono::milliseconds(std::max<std::uint32_t>(1, retry->retry_after_ms));
        return;
      }
      if (std::holds_alternative<protocol::Heartbeat>(*received) ||
          std::holds_alternative<protocol::DenyListDelta>(*received)) {
        continue;  // not ours to wait for; read on
      }
    }
    ++tally.errors;
    if (received && std::holds_alternative<protocol::ErrorFrame>(*received) && ++error_frames >= 2) break;
    if (!recover(reader, tally)) return;
  }
  if (reader.inflight) {
    ++tally.readers_stopped;
    reader.dead = true;
    reader.inflight = false;
  }
  update_frontier(reader);
}

void TlsLoad::Impl::work(std::size_t worker, const StepPlan& plan, LoadTally& tally, Clock::time_point& last_decision) {
  const std::size_t threads = std::max<std::size_t>(1, options_.threads);
  std::vector<SimReader*> mine;
  for (std::size_t i = worker; i < readers_.size(); i += threads) mine.push_back(&readers_[i]);
  // Bounded by plan.end: after it nothing new is sent, and replies in flight
  // are collected with their own deadlines.
  while (true) {
    const Clock::time_point now = Clock::now();
    const bool sending = now < plan.end;
    // No reader runs more than lead_taps_max ahead of the slowest, so a
    // card's taps at different readers reach the engine in city order.
    const std::uint64_t low = frontier();
    const std::uint64_t ceiling = low == UINT64_MAX ? UINT64_MAX : low + std::max<std::uint64_t>(1, options_.lead_taps_max);
    bool any_inflight = false, any_left = false;
    Clock::time_point next_due = plan.end;
    for (SimReader* reader : mine) {
      if (reader->dead) continue;
      if (sending && !reader->inflight && now >= reader->not_before) send_batch(*reader, plan, now, ceiling, tally);
      any_inflight = any_inflight || reader->inflight;
      const auto& taps = day_.readers[reader->index].taps;
      if (!reader->inflight && reader->next < taps.size() && reader->positions[reader->next] < plan.limit) {
        any_left = true;
        next_due = std::min(next_due, std::max(plan.due(reader->positions[reader->next]), reader->not_before));
      }
    }
    for (SimReader* reader : mine) {
      if (reader->inflight) collect(*reader, plan, tally, last_decision);
    }
    // A reader with nothing to send keeps its link: the engine closes links
    // silent for longer than its idle timeout (the hello_ack's heartbeat
    // interval is the pace it asks for).
    for (SimReader* reader : mine) {
      if (!sending || reader->dead || reader->inflight) continue;
      const std::uint32_t every_ms = reader->link->connected() && reader->link->session().heartbeat_interval_ms > 0
                                         ? reader->link->session().heartbeat_interval_ms / 2
                                         : 5000;
      const Clock::time_point at = Clock::now();
      if (at - reader->last_active < std::chrono::milliseconds(every_ms)) continue;
      reader->last_active = at;
      if (!reader->link->connected() || !reader->link->heartbeat(++heartbeat_nonce_).is_ok()) {
        ++tally.reconnects;
        if (!reader->link->connect().is_ok()) ++tally.errors;
      }
    }
    if (!any_inflight) {
      if (!sending || !any_left) return;
      auto wait = std::min(next_due - Clock::now(), std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(1)));
      if (wait > Clock::duration::zero()) std::this_thread::sleep_for(wait);
    }
  }
}

LoadReport TlsLoad::Impl::run(const LoadStep& step) {
  StepPlan plan;
  plan.rate = step.taps_per_second;
  plan.base = sent_positions_;
  plan.limit = step.taps_max > 0 ? std::min(total_taps_, plan.base + step.taps_max) : total_taps_;
  plan.start = Clock::now();
  plan.end = plan.start + step.duration;
  const std::size_t threads = std::max<std::size_t>(1, options_.threads);
  std::vector<LoadTally> tallies(threads);
  std::vector<Clock::time_point> last(threads, plan.start);
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([this, t, &plan, &tallies, &last] { work(t, plan, tallies[t], last[t]); });
  }
  for (auto& worker : workers) worker.join();
  LoadTally total;
  for (const LoadTally& tally : tallies) total.merge(tally);
  // The next step starts at the frontier: readers ahead of it wait for
  // their taps' due times, none starts with a backlog.
  const std::uint64_t low = frontier();
  sent_positions_ = low == UINT64_MAX ? total_taps_ : low;
  const Clock::time_point end = *std::max_element(last.begin(), last.end());
  const double seconds = std::chrono::duration<double>(end - plan.start).count();
  return make_report(std::move(total), seconds, step.taps_per_second);
}

std::uint64_t TlsLoad::Impl::remaining() const {
  std::uint64_t left = 0;
  for (const SimReader& reader : readers_) left += reader.positions.size() - reader.next;
  return left;
}

TlsLoad::TlsLoad(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsLoad::~TlsLoad() = default;

Result<std::unique_ptr<TlsLoad>> TlsLoad::connect(const CityDay& day, const CityMap& map, TlsLoadOptions options) {
  if (options.port == 0) return Status::invalid_argument("the engine's port is required");
  if (options.pki_dir.empty()) return Status::invalid_argument("the PKI directory is required");
  auto impl = std::make_unique<Impl>(day, map, std::move(options));
  Status status = impl->connect_all();
  if (!status.is_ok()) return status;
  return std::unique_ptr<TlsLoad>(new TlsLoad(std::move(impl)));
}

LoadReport TlsLoad::run(const LoadStep& step) { return impl_->run(step); }
std::uint64_t TlsLoad::remaining() const { return impl_->remaining(); }

}  // namespace citycard::loadgen
