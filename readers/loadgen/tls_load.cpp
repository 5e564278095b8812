// The TLS load driver, event-driven. Each simulated reader is a small state
// machine on its worker's io_context (one thread), woken by
// - its link (reader_link.h): connected, a frame, lost;
// - its wake timer: its next tap due, a retry_later hint, a heartbeat, a
//   reconnect's backoff;
// - its reply timer: the earliest deadline of its batches in flight;
// - its worker's tick (below).
// Every wake-up goes through SimReader::advance(), which looks at the
// reader's state and the clock, does what is due and arms what it waits for
// next: it may run more often than needed, never too late. A timer that
// would fire earlier than needed is left alone (the extra wake-up finds
// nothing to do), so the hot path never cancels a timer.
//
// A worker publishes the lowest undecided position of its readers whenever it
// moves (the load's frontier is the lowest of all workers'). Its tick runs
// every tick_interval only while it is needed: while readers are held back by
// the lead window (it wakes them when the frontier has moved), after the
// step's end (it sweeps the readers once, gives up on what is still waited
// for at the hard end, end + reply_timeout) and once the step's taps are
// decided; otherwise it waits for the end. The worker's part of the step is
// over when every reader is finished.
#include "tls_load.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>
#include <unordered_map>

#include "reader_link.h"
#include "roster.h"
#include "readers/uplink/client_tls.h"

namespace citycard::loadgen {

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr Clock::time_point never = Clock::time_point::max();
constexpr Clock::duration tick_interval = std::chrono::microseconds(1000);
constexpr milliseconds backoff_first{50};
constexpr milliseconds backoff_max{2000};
constexpr milliseconds heartbeat_unknown{5000};     // before a hello_ack says otherwise
constexpr std::size_t connects_per_worker_max = 16;  // handshakes in flight at connect()

struct StepPlan {
  Clock::time_point start;
  Clock::time_point end;       // no batch is sent at or after it
  Clock::time_point hard_end;  // end + reply_timeout: nothing is waited for after it
  double rate = 0;             // taps/s; 0 = closed loop
  std::uint64_t base = 0;      // first position of this step
  std::uint64_t limit = 0;     // positions below it belong to this step
  Clock::duration slack{};     // wake-ups for due taps on this grid (TlsLoadOptions::send_slack)
  Clock::time_point due(std::uint64_t position) const {
    if (rate <= 0 || position <= base) return start;
    return start + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(position - base) * 1e9 / rate));
  }
  // When a reader wakes for the tap at position: its due time, rounded up
  // to the slack grid.
  Clock::time_point wake_for(std::uint64_t position) const {
    const Clock::time_point at = due(position);
    if (slack <= Clock::duration::zero()) return at;
    const auto slots = (at - start + slack - Clock::duration(1)) / slack;
    return start + slots * slack;
  }
};

class Worker;

class SimReader final : public LinkOwner {
 public:
  SimReader(std::uint32_t index, ReaderId id, Worker& worker, std::size_t slot);

  // What every event ends with (see the top of the file).
  void advance(Clock::time_point now);
  // connect(): the first connect; its result lands in connect_status.
  void connect_first();
  // The hard deadline: whatever is still waited for is given up.
  void give_up(Clock::time_point now);
  // Nothing left to do or wait for in this step.
  bool finished(const StepPlan& plan, Clock::time_point now) const {
    return dead_ || (sent_ == 0 && state_ != LinkState::connecting && (now >= plan.end || !has_taps(plan)));
  }
  // This reader's taps in the step, not decided yet.
  std::size_t taps_left(const StepPlan& plan) const {
    if (dead_) return 0;
    const auto in_step =
        static_cast<std::size_t>(std::lower_bound(positions.begin(), positions.end(), plan.limit) - positions.begin());
    std::size_t left = in_step > next_send_ ? in_step - next_send_ : 0;
    for (const Flight& flight : flights_) {
      if (positions[flight.first] < plan.limit) left += flight.count;
    }
    return left;
  }
  // This reader's first undecided position; max when done or stopped.
  std::uint64_t frontier() const {
    if (dead_) return UINT64_MAX;
    if (!flights_.empty()) return positions[flights_.front().first];
    return next_send_ < positions.size() ? positions[next_send_] : UINT64_MAX;
  }
  std::size_t decided() const { return decided_; }
  void close() noexcept;

  void on_connected(ReaderLink& link, Result<protocol::HelloAck> session) override;
  void on_frame(ReaderLink& link, protocol::Message message) override;
  void on_lost(ReaderLink& link, LinkEnd why, const std::string& what) override;

  const std::uint32_t index;  // into CityMap::readers / CityDay::readers
  const ReaderId id;
  std::vector<std::uint64_t> positions;  // each tap's place in the load's send order (ascending)
  std::unique_ptr<asio::ssl::context> tls;
  Status connect_status;                 // of connect_first()
  bool blocked = false;                  // held back by the lead window; on the worker's list

 private:
  enum class LinkState : std::uint8_t { down, connecting, up };
  enum class Failure : std::uint8_t { link, error_frame };

  // A batch sent and not decided yet: taps [first, first + count) of the
  // reader. On the link (sent) or waiting to go again (after retry_later, a
  // broken link, or a step that ended before its reply).
  struct Flight {
    std::uint64_t id = 0;
    std::size_t first = 0;
    std::size_t count = 0;
    bool sent = false;
    Clock::time_point first_sent;  // closed-loop latency counts from it
    Clock::time_point last_sent;   // its round trip counts from it
    Clock::time_point deadline;    // for its reply, while sent
  };

  bool has_taps(const StepPlan& plan) const {
    return !flights_.empty() || (next_send_ < positions.size() && positions[next_send_] < plan.limit);
  }
  std::size_t inflight_max() const;
  void start_connect(Clock::time_point now);
  // A new batch of the taps due, if there is room and a tap is due.
  bool send_batch(const StepPlan& plan, Clock::time_point now);
  void send_flight(Flight& flight, Clock::time_point now);
  void send_waiting(Clock::time_point now);
  Flight* sent_flight(std::uint64_t id);
  void record(const StepPlan& plan, Flight& flight, const protocol::Decisions& decisions, Clock::time_point now);
  // Every flight off the link: it goes again on the next one.
  void unsend_all() noexcept;
  // The link failed or the engine broke the protocol: close it, count the
  // error, and make the batches in flight go again on a new link.
  void broken(Failure failure, bool counts_as_error, Clock::time_point now);
  void stop();
  void drop_link() noexcept;
  void arm_wake(Clock::time_point at);
  void arm_reply_deadline();

  Worker& worker_;
  const std::size_t slot_;          // in the worker's frontier table
  std::shared_ptr<ReaderLink> link_;
  LinkState state_ = LinkState::down;
  protocol::HelloAck session_;
  std::deque<Flight> flights_;      // undecided batches, in tap order
  std::size_t sent_ = 0;            // flights on the link
  std::size_t next_send_ = 0;       // first tap never sent
  std::size_t decided_ = 0;         // taps decided
  bool dead_ = false;               // stopped: reconnects failed, or a batch refused twice
  protocol::TapBatch batch_;        // the frame being sent (reused)
  std::uint64_t next_batch_id_ = 1;
  int failures_ = 0;                // link failures with batches in flight, since the last decision
  int error_frames_ = 0;            // error frames since the last decision
  Clock::time_point not_before_;    // after retry_later: nothing is sent before it
  Clock::time_point last_active_;   // last frame sent: idle readers send heartbeats
  int reconnect_failures_ = 0;
  Clock::time_point reconnect_at_;
  Clock::duration backoff_ = backoff_first;
  asio::steady_timer wake_;
  Clock::time_point wake_at_ = never;  // while waking_
  bool waking_ = false;
  asio::steady_timer reply_timer_;
  Clock::time_point reply_at_ = never;  // while reply_waiting_
  bool reply_waiting_ = false;
};

// One thread's share of the readers, its io_context and its tallies. Only
// published_frontier is read by other threads.
class Worker {
 public:
  Worker(TlsLoad::Impl& load, const TlsLoadOptions& options) : load(load), options(options) {}

  void run_connects();
  void run_step();
  void connected_one() {
    --connects_pending;
    start_next_connect();
    if (connects_pending == 0) io.stop();  // all connected, or failed
  }
  // A reader whose next tap is at or past the ceiling: true when it must
  // wait (the tick wakes it), false if the frontier has moved meanwhile.
  bool hold_back(SimReader& reader, std::uint64_t position, Clock::time_point now);
  // A reader whose next tap waits for its card's previous tap (card_order):
  // the tick wakes it to look again.
  void hold_for_card(SimReader& reader, Clock::time_point now);
  // A reader's frontier moved (decisions, or it stopped).
  void frontier_moved(std::size_t slot, std::uint64_t position, Clock::time_point now);
  std::uint64_t own_frontier() const {
    return frontiers.empty() ? UINT64_MAX : *std::min_element(frontiers.begin(), frontiers.end());
  }

  TlsLoad::Impl& load;
  const TlsLoadOptions& options;
  asio::io_context io{1};
  std::vector<SimReader*> readers;
  std::vector<std::uint64_t> frontiers;  // per reader (slot): SimReader::frontier()
  const StepPlan* plan = nullptr;        // set during a step
  // Taps of the step decided by this worker's readers, or given up (stop()).
  void taps_done(std::size_t count, Clock::time_point now);
  LoadTally tally;
  Clock::time_point last_decision;
  std::uint64_t taps_left = 0;           // this step's taps of these readers not yet decided
  std::uint64_t ceiling = UINT64_MAX;    // no position at or past it is sent
  std::atomic<std::uint64_t> published_frontier{UINT64_MAX};
  std::uint64_t heartbeat_nonce = 0;
  asio::steady_timer tick{io};

 private:
  void start_next_connect();
  void on_tick();
  void schedule_tick(Clock::time_point now);
  bool maybe_finish(Clock::time_point now);

  std::vector<SimReader*> blocked;
  std::size_t card_holds_ = 0;  // hold_for_card calls since the last tick
  bool ticking_ = false;
  Clock::time_point tick_at_;  // while ticking_
  bool end_swept_ = false;
  bool step_done_ = false;
  std::size_t connects_started = 0, connects_pending = 0;
};

}  // namespace

class TlsLoad::Impl {
 public:
  Impl(const CityDay& day, const CityMap& map, TlsLoadOptions options)
      : day_(day), map_(map), options_(std::move(options)) {}
  ~Impl();

  Status connect_all();
  LoadReport run(const LoadStep& step);
  std::uint64_t remaining() const;

  // card_order: whether the tap at `position` may go (its card's previous
  // tap is decided), and a tap decided (or given up with its reader).
  bool card_ready(std::uint64_t position) const {
    if (card_previous_.empty()) return true;
    const std::uint64_t previous = card_previous_[position];
    return previous == 0 || decided_[previous - 1].load(std::memory_order_acquire) != 0;
  }
  void mark_decided(std::uint64_t position) {
    if (!card_previous_.empty()) decided_[position].store(1, std::memory_order_release);
  }

  std::uint64_t ceiling() const {
    std::uint64_t low = UINT64_MAX;
    for (const auto& worker : workers_) low = std::min(low, worker->published_frontier.load(std::memory_order_relaxed));
    return low == UINT64_MAX ? UINT64_MAX : low + std::max<std::uint64_t>(1, options_.lead_taps_max);
  }

  const CityDay& day_;
  const CityMap& map_;
  const TlsLoadOptions options_;
  tcp::resolver::results_type endpoints_;
  // Declared first, destroyed last: the readers' timers and links use the
  // workers' io_contexts.
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<SimReader>> readers_;
  std::uint64_t total_taps_ = 0;
  std::uint64_t sent_positions_ = 0;  // positions handed out to steps so far
  StepPlan plan_;
  // card_order: per position, 1 + the position of the card's previous tap
  // when that was at another reader (0: none to wait for); and which
  // positions are decided. Empty when off.
  std::vector<std::uint64_t> card_previous_;
  std::unique_ptr<std::atomic<std::uint8_t>[]> decided_;
};

namespace {

// ---- SimReader: the link ---------------------------------------------------

SimReader::SimReader(std::uint32_t index, ReaderId id, Worker& worker, std::size_t slot)
    : index(index), id(id), worker_(worker), slot_(slot), wake_(worker.io), reply_timer_(worker.io) {}

void SimReader::connect_first() { start_connect(Clock::now()); }

void SimReader::start_connect(Clock::time_point now) {
  state_ = LinkState::connecting;
  link_ = std::make_shared<ReaderLink>(worker_.io, *tls, *this);
  protocol::Hello hello{protocol::protocol_version_min, protocol::protocol_version, id, "citycard-loadgen"};
  // As Uplink: the whole of TCP + TLS + hello within the reply timeout.
  link_->start(worker_.load.endpoints_, worker_.options.server_name, hello, now + worker_.options.reply_timeout);
}

void SimReader::on_connected(ReaderLink& /*link*/, Result<protocol::HelloAck> session) {
  const Clock::time_point now = Clock::now();
  if (!session) {
    link_.reset();
    state_ = LinkState::down;
    if (worker_.plan == nullptr) {  // connect(): the first connect fails the load
      connect_status = session.status();
      return worker_.connected_one();
    }
    if (++reconnect_failures_ >= worker_.options.reconnect_attempts) return stop();
    reconnect_at_ = now + backoff_;
    backoff_ = std::min<Clock::duration>(backoff_ * 2, backoff_max);
    return advance(now);
  }
  state_ = LinkState::up;
  session_ = session.value();
  last_active_ = now;
  reconnect_failures_ = 0;
  backoff_ = backoff_first;
  if (worker_.plan == nullptr) return worker_.connected_one();
  // Batches of the old link go again first, in order; the engine answers
  // the taps it decided before with their first decisions (replayed).
  advance(now);
}

void SimReader::on_frame(ReaderLink& /*link*/, protocol::Message message) {
  const Clock::time_point now = Clock::now();
  if (auto* decisions = std::get_if<protocol::Decisions>(&message)) {
    Flight* flight = sent_flight(decisions->batch_id);
    if (flight == nullptr || decisions->decisions.size() != flight->count) {
      return broken(Failure::link, true, now);  // not the answer to a batch of ours
    }
    if (worker_.plan != nullptr) record(*worker_.plan, *flight, *decisions, now);
    return advance(now);
  }
  if (auto* retry = std::get_if<protocol::RetryLater>(&message)) {
    Flight* flight = sent_flight(retry->batch_id);
    if (flight == nullptr) return broken(Failure::link, true, now);
    ++worker_.tally.retry_later;
    flight->sent = false;  // it goes again after the hint, before any new batch
    --sent_;
    not_before_ = std::max(not_before_, now + milliseconds(std::max<std::uint32_t>(1, retry->retry_after_ms)));
    return advance(now);
  }
  if (std::holds_alternative<protocol::Heartbeat>(message) || std::holds_alternative<protocol::DenyListDelta>(message)) {
    return;  // heartbeat echoes; deny list deltas are not asked for
  }
  // An error frame (the engine closes after it), or a frame only a reader sends.
  broken(std::holds_alternative<protocol::ErrorFrame>(message) ? Failure::error_frame : Failure::link, true, now);
}

void SimReader::on_lost(ReaderLink& /*link*/, LinkEnd why, const std::string& /*what*/) {
  // A broken link costs an error when a batch was waiting on it; bytes that
  // break the protocol always do.
  broken(Failure::link, sent_ > 0 || why == LinkEnd::bad_frame, Clock::now());
}

void SimReader::broken(Failure failure, bool counts_as_error, Clock::time_point now) {
  const bool waiting = sent_ > 0;
  drop_link();
  if (counts_as_error) ++worker_.tally.errors;
  if (waiting) {
    // Bounded: batches refused by two error frames, or failing more often
    // than reconnect_attempts, with no decision between, are not sent again
    // (the reader stops).
    if (failure == Failure::error_frame && ++error_frames_ >= 2) return stop();
    if (++failures_ > worker_.options.reconnect_attempts) return stop();
  }
  reconnect_failures_ = 0;
  reconnect_at_ = now + backoff_first;
  backoff_ = backoff_first * 2;
  advance(now);
}

void SimReader::unsend_all() noexcept {
  for (Flight& flight : flights_) flight.sent = false;
  sent_ = 0;
}

void SimReader::drop_link() noexcept {
  if (link_) link_->close();  // silent from now on: a late reply cannot be taken for the next
  link_.reset();
  state_ = LinkState::down;
  unsend_all();
}

void SimReader::stop() {
  const std::size_t left = worker_.plan != nullptr ? taps_left(*worker_.plan) : 0;
  ++worker_.tally.readers_stopped;
  // Its taps will never be decided: the cards' later taps need not wait.
  for (const Flight& flight : flights_) {
    for (std::size_t i = 0; i < flight.count; ++i) worker_.load.mark_decided(positions[flight.first + i]);
  }
  for (std::size_t i = next_send_; i < positions.size(); ++i) worker_.load.mark_decided(positions[i]);
  dead_ = true;
  flights_.clear();
  close();
  const Clock::time_point now = Clock::now();
  worker_.frontier_moved(slot_, frontier(), now);
  if (worker_.plan != nullptr) worker_.taps_done(left, now);
}

void SimReader::close() noexcept {
  drop_link();
  wake_.cancel();
  waking_ = false;
  reply_timer_.cancel();
  reply_waiting_ = false;
}

void SimReader::give_up(Clock::time_point now) {
  if (sent_ == 0 && state_ != LinkState::connecting) return;
  if (sent_ > 0) ++worker_.tally.errors;  // no reply by the hard deadline
  drop_link();  // the batches go again in the next step
  reconnect_at_ = now;
}

// ---- SimReader: batches ----------------------------------------------------

std::size_t SimReader::inflight_max() const {
  std::size_t most = std::max<std::size_t>(1, worker_.options.inflight_batches_max);
  if (session_.inflight_batches_max > 0) most = std::min<std::size_t>(most, session_.inflight_batches_max);
  return most;
}

SimReader::Flight* SimReader::sent_flight(std::uint64_t id) {
  for (Flight& flight : flights_) {
    if (flight.id == id && flight.sent) return &flight;
  }
  return nullptr;
}

void SimReader::send_flight(Flight& flight, Clock::time_point now) {
  const auto& taps = worker_.load.day_.readers[index].taps;
  batch_.batch_id = flight.id;
  batch_.taps.clear();
  for (std::size_t i = 0; i < flight.count; ++i) batch_.taps.push_back(taps[flight.first + i].record);
  flight.sent = true;
  flight.last_sent = now;
  flight.deadline = now + worker_.options.reply_timeout;
  ++sent_;
  last_active_ = now;
  link_->send(batch_);
}

void SimReader::send_waiting(Clock::time_point now) {
  for (Flight& flight : flights_) {
    if (!flight.sent) send_flight(flight, now);
  }
}

bool SimReader::send_batch(const StepPlan& plan, Clock::time_point now) {
  if (flights_.size() >= inflight_max()) return false;
  const auto& taps = worker_.load.day_.readers[index].taps;
  std::size_t batch_max = std::clamp<std::size_t>(worker_.options.batch_taps_max, 1, limits::batch_taps_max);
  if (session_.batch_taps_max > 0) batch_max = std::min<std::size_t>(batch_max, session_.batch_taps_max);
  std::size_t count = 0;
  while (count < batch_max && next_send_ + count < taps.size()) {
    const std::uint64_t position = positions[next_send_ + count];
    if (position >= plan.limit || position >= worker_.ceiling || plan.due(position) > now) break;
    if (!worker_.load.card_ready(position)) break;
    ++count;
  }
  if (count == 0) return false;
  Flight flight;
  flight.id = next_batch_id_++;
  flight.first = next_send_;
  flight.count = count;
  flight.first_sent = now;
  next_send_ += count;
  worker_.tally.taps_sent += count;
  flights_.push_back(flight);
  send_flight(flights_.back(), now);
  return true;
}

void SimReader::record(const StepPlan& plan, Flight& flight, const protocol::Decisions& decisions,
                       Clock::time_point now) {
  LoadTally& tally = worker_.tally;
  const auto& taps = worker_.load.day_.readers[index].taps;
  using std::chrono::microseconds;
  const auto round_trip = std::chrono::duration_cast<microseconds>(now - flight.last_sent).count();
  const auto second = static_cast<std::size_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::seconds>(now - plan.start).count()));
  for (std::size_t i = 0; i < decisions.decisions.size(); ++i) {
    // Open loop: from the tap's due time, so waiting anywhere counts.
    const Clock::time_point from = plan.rate > 0 ? plan.due(positions[flight.first + i]) : flight.first_sent;
    const auto latency = std::chrono::duration_cast<microseconds>(now - from).count();
    tally.count(taps[flight.first + i].record.tap, decisions.decisions[i], latency);
    tally.count_second(second, latency, round_trip, std::chrono::duration_cast<microseconds>(flight.first_sent - from).count());
    worker_.load.mark_decided(positions[flight.first + i]);
  }
  const std::size_t count = decisions.decisions.size();
  tally.count_round_trip(round_trip);
  tally.taps_decided += count;
  ++tally.batches;
  decided_ += count;
  failures_ = 0;
  error_frames_ = 0;
  --sent_;
  // A deque is not contiguous: find the flight's place by address.
  flights_.erase(std::find_if(flights_.begin(), flights_.end(), [&](const Flight& f) { return &f == &flight; }));
  worker_.last_decision = std::max(worker_.last_decision, now);
  worker_.frontier_moved(slot_, frontier(), now);
  worker_.taps_done(count, now);
}

// ---- SimReader: what is due, and when to look again -------------------------

void SimReader::advance(Clock::time_point now) {
  if (dead_ || worker_.plan == nullptr) return;
  const StepPlan& plan = *worker_.plan;
  const bool sending = now < plan.end;
  if (state_ == LinkState::down && sending && now >= reconnect_at_) {
    if (worker_.options.reconnect_attempts <= 0) return stop();
    ++worker_.tally.reconnects;
    start_connect(now);
  }
  Clock::time_point reply_due = never;
  for (const Flight& flight : flights_) {
    if (flight.sent) reply_due = std::min(reply_due, flight.deadline);
  }
  if (state_ == LinkState::up && now >= reply_due) return broken(Failure::link, true, now);
  const auto heartbeat_every =
      session_.heartbeat_interval_ms > 0 ? milliseconds(session_.heartbeat_interval_ms / 2) : heartbeat_unknown;
  if (state_ == LinkState::up && sending && now >= not_before_) {
    send_waiting(now);
    while (send_batch(plan, now)) {
    }
  }
  if (state_ == LinkState::up && sending && sent_ == 0 && now - last_active_ >= heartbeat_every) {
    link_->send(protocol::Heartbeat{++worker_.heartbeat_nonce});
    last_active_ = now;
  }
  // What to wake up for next (the step's end: the worker's sweep).
  if (state_ == LinkState::up && sent_ > 0) arm_reply_deadline();
  if (!sending) return;
  if (state_ == LinkState::down) return arm_wake(reconnect_at_);
  if (state_ != LinkState::up) return;  // connecting: the link calls back
  Clock::time_point at = sent_ == 0 ? last_active_ + heartbeat_every : never;
  if (sent_ < flights_.size()) at = std::min(at, not_before_);  // batches waiting to go again
  if (flights_.size() < inflight_max() && next_send_ < positions.size() && positions[next_send_] < plan.limit) {
    const std::uint64_t position = positions[next_send_];
    if (position >= worker_.ceiling && worker_.hold_back(*this, position, now)) {
      // the worker's tick wakes it when the frontier has moved
    } else if (plan.due(position) <= now && !worker_.load.card_ready(position)) {
      worker_.hold_for_card(*this, now);  // the tick looks again
    } else {
      at = std::min(at, std::max(plan.wake_for(position), not_before_));
    }
  }
  if (at != never) arm_wake(at);
}

void SimReader::arm_wake(Clock::time_point at) {
  if (waking_ && wake_at_ <= at) return;  // an earlier wake-up comes first and looks again
  wake_at_ = at;
  waking_ = true;
  wake_.expires_at(at);  // a later wait before this one returns aborted
  wake_.async_wait([this](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    waking_ = false;
    advance(Clock::now());
  });
}

void SimReader::arm_reply_deadline() {
  Clock::time_point earliest = never;
  for (const Flight& flight : flights_) {
    if (flight.sent) earliest = std::min(earliest, flight.deadline);
  }
  // A pending wait that fires no later looks again when it does.
  if (earliest == never || (reply_waiting_ && reply_at_ <= earliest)) return;
  reply_waiting_ = true;
  reply_at_ = earliest;
  reply_timer_.expires_at(earliest);  // a later wait before this one returns aborted
  reply_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    reply_waiting_ = false;
    if (sent_ > 0) advance(Clock::now());
  });
}

// ---- Worker ------------------------------------------------------------------

// Named, so the generator's own CPU can be told from the engine's (top -H,
// perf, /proc/PID/task/*/comm).
void name_thread(std::size_t worker) {
  const std::string name = "loadgen-" + std::to_string(worker);
  pthread_setname_np(pthread_self(), name.c_str());
}

void Worker::run_connects() {
  if (readers.empty()) return;
  io.restart();
  asio::post(io, [this] {
    for (std::size_t i = 0; i < connects_per_worker_max; ++i) start_next_connect();
  });
  io.run();  // until connected_one() stops it
}

void Worker::start_next_connect() {
  if (connects_started >= readers.size()) return;
  ++connects_pending;
  readers[connects_started++]->connect_first();
}

void Worker::run_step() {
  io.restart();
  step_done_ = false;
  end_swept_ = false;
  asio::post(io, [this] {
    const Clock::time_point now = Clock::now();
    for (SimReader* reader : readers) reader->advance(now);
    on_tick();
  });
  io.run();  // until maybe_finish() stops it; what is still pending waits for the next step
}

bool Worker::hold_back(SimReader& reader, std::uint64_t position, Clock::time_point now) {
  ceiling = std::max(ceiling, load.ceiling());
  if (position < ceiling) return false;
  if (!reader.blocked) blocked.push_back(&reader);
  reader.blocked = true;
  schedule_tick(now);
  return true;
}

void Worker::hold_for_card(SimReader& reader, Clock::time_point now) {
  if (!reader.blocked) blocked.push_back(&reader);
  reader.blocked = true;
  ++card_holds_;
  schedule_tick(now);
}

void Worker::frontier_moved(std::size_t slot, std::uint64_t position, Clock::time_point /*now*/) {
  const std::uint64_t before = frontiers[slot];
  frontiers[slot] = position;
  // Only the lowest reader moves the worker's frontier.
  if (before <= published_frontier.load(std::memory_order_relaxed)) {
    published_frontier.store(own_frontier(), std::memory_order_relaxed);
  }
}

void Worker::taps_done(std::size_t count, Clock::time_point now) {
  taps_left -= std::min<std::uint64_t>(count, taps_left);
  if (taps_left == 0 && !maybe_finish(now)) schedule_tick(now);
}

void Worker::on_tick() {
  const Clock::time_point now = Clock::now();
  ticking_ = false;
  // The frontier only moves forward, and so does the ceiling.
  const std::uint64_t fresh = load.ceiling();
  // Readers waiting for a card's earlier tap look again on every tick; those
  // held by the lead window only once the frontier has moved.
  if (fresh > ceiling || card_holds_ > 0) {
    ceiling = std::max(ceiling, fresh);
    card_holds_ = 0;
    std::vector<SimReader*> waking;
    waking.swap(blocked);
    for (SimReader* reader : waking) {
      reader->blocked = false;
      reader->advance(now);
    }
  }
  if (now >= plan->end && !end_swept_) {
    end_swept_ = true;  // links down with a batch to resend give it up
    for (SimReader* reader : readers) reader->advance(now);
  }
  if (now >= plan->hard_end) {
    for (SimReader* reader : readers) reader->give_up(now);
  }
  if (maybe_finish(now)) return;
  schedule_tick(now);
}

void Worker::schedule_tick(Clock::time_point now) {
  if (step_done_) return;
  // Idle until the end unless someone waits for the frontier or the step is
  // winding down.
  const bool busy = !blocked.empty() || now >= plan->end || taps_left == 0;
  const Clock::time_point at = busy ? now + tick_interval : plan->end;
  if (ticking_ && tick_at_ <= at) return;
  ticking_ = true;
  tick_at_ = at;
  tick.expires_at(at);  // a later wait before this one returns aborted
  tick.async_wait([this](boost::system::error_code ec) {
    if (ec != asio::error::operation_aborted) on_tick();
  });
}

bool Worker::maybe_finish(Clock::time_point now) {
  // While taps of the step are left before its end, some reader has work.
  if (now < plan->end && taps_left > 0) return false;
  for (const SimReader* reader : readers) {
    if (!reader->finished(*plan, now)) return false;
  }
  step_done_ = true;
  ticking_ = false;
  tick.cancel();
  io.stop();
  return true;
}

}  // namespace

// ---- TlsLoad::Impl -------------------------------------------------------------

TlsLoad::Impl::~Impl() {
  // Close every link and timer, then let the aborted operations finish
  // (links are silent once closed) before the readers and contexts go.
  for (auto& reader : readers_) reader->close();
  for (auto& worker : workers_) {
    worker->tick.cancel();
    worker->plan = nullptr;
    worker->io.restart();
    worker->io.run();
  }
  readers_.clear();
}

Status TlsLoad::Impl::connect_all() {
  std::size_t count = map_.readers.size();
  if (options_.readers_max > 0) count = std::min(count, options_.readers_max);
  const std::size_t threads = std::max<std::size_t>(1, options_.threads);
  for (std::size_t t = 0; t < threads; ++t) workers_.push_back(std::make_unique<Worker>(*this, options_));
  {
    boost::system::error_code ec;
    tcp::resolver resolver(workers_[0]->io);
    endpoints_ = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec) return Status::unavailable("cannot resolve " + options_.host + ": " + ec.message());
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    const ReaderSite& site = map_.site(i);
    Worker& worker = *workers_[i % threads];
    auto reader = std::make_unique<SimReader>(i, site.reader, worker, worker.readers.size());
    const std::string name = "reader-" + std::to_string(site.reader.value);
    reader->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    Status tls = uplink::configure_client_tls(
        *reader->tls, {options_.pki_dir + "/ca.crt", options_.pki_dir + "/readers/" + name + ".crt",
                       options_.pki_dir + "/readers/" + name + ".key"});
    if (!tls) return Status::invalid_argument("reader " + std::to_string(site.reader.value) + ": " + tls.message());
    worker.readers.push_back(reader.get());
    readers_.push_back(std::move(reader));
  }
  // Positions: the day's send order restricted to the readers in use.
  // 1 + position of the card's last tap, and its reader. A card's taps at
  // one reader need no wait: a link delivers its batches in order.
  std::unordered_map<CardId, std::pair<std::uint64_t, std::uint32_t>, CardIdHash> last_of_card;
  for (const SendSlot& slot : day_.send_order) {
    if (slot.reader_index >= count) continue;
    if (options_.card_order) {
      auto& [last, last_reader] = last_of_card[day_.at(slot).record.tap.card];
      card_previous_.push_back(last != 0 && last_reader != slot.reader_index ? last : 0);
      last = total_taps_ + 1;
      last_reader = slot.reader_index;
    }
    readers_[slot.reader_index]->positions.push_back(total_taps_++);
  }
  if (options_.card_order) decided_ = std::make_unique<std::atomic<std::uint8_t>[]>(total_taps_);
  for (auto& worker : workers_) {
    for (const SimReader* reader : worker->readers) worker->frontiers.push_back(reader->frontier());
  }
  std::vector<std::thread> threads_running;
  for (std::size_t t = 0; t < workers_.size(); ++t) {
    threads_running.emplace_back([this, t] {
      name_thread(t);
      workers_[t]->run_connects();
    });
  }
  for (auto& thread : threads_running) thread.join();
  for (const auto& reader : readers_) {
    if (!reader->connect_status) {
      return Status::unavailable("reader " + std::to_string(reader->id.value) + ": " +
                                 reader->connect_status.to_string());
    }
  }
  return Status::ok();
}

LoadReport TlsLoad::Impl::run(const LoadStep& step) {
  plan_.rate = step.taps_per_second;
  plan_.base = sent_positions_;
  plan_.limit = step.taps_max > 0 ? std::min(total_taps_, plan_.base + step.taps_max) : total_taps_;
  plan_.start = Clock::now();
  plan_.end = plan_.start + step.duration;
  plan_.hard_end = plan_.end + options_.reply_timeout;
  plan_.slack = std::max(Clock::duration::zero(), Clock::duration(options_.send_slack));
  for (auto& worker : workers_) worker->published_frontier.store(worker->own_frontier(), std::memory_order_relaxed);
  for (auto& worker : workers_) {
    worker->tally = LoadTally{};
    worker->last_decision = plan_.start;
    worker->ceiling = ceiling();
    worker->taps_left = 0;
    for (const SimReader* reader : worker->readers) worker->taps_left += reader->taps_left(plan_);
    worker->plan = &plan_;
  }
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < workers_.size(); ++t) {
    threads.emplace_back([this, t] {
      name_thread(t);
      workers_[t]->run_step();
    });
  }
  for (auto& thread : threads) thread.join();
  LoadTally total;
  Clock::time_point end = plan_.start;
  for (auto& worker : workers_) {
    total.merge(worker->tally);
    end = std::max(end, worker->last_decision);
    worker->plan = nullptr;
  }
  // The next step starts at the frontier: readers ahead of it wait for
  // their taps' due times, none starts with a backlog.
  std::uint64_t low = UINT64_MAX;
  for (const auto& reader : readers_) low = std::min(low, reader->frontier());
  sent_positions_ = low == UINT64_MAX ? total_taps_ : low;
  const double seconds = std::chrono::duration<double>(end - plan_.start).count();
  return make_report(std::move(total), seconds, step.taps_per_second);
}

std::uint64_t TlsLoad::Impl::remaining() const {
  std::uint64_t left = 0;
  for (const auto& reader : readers_) left += reader->positions.size() - reader->decided();
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
