// The business-day close and the clearing house's acknowledgements while the
// engine runs (admin ops settle_close, settle_ack, settle_resend, settle_job:
// docs/admin-api.md). The engine holds the ledger, so it runs them itself,
// with the same settlement library the CLI uses on a stopped ledger:
// - a job runs on a thread of its own, one at a time (a second is refused
//   busy), so neither the admin loop nor a shard waits for a long close;
// - the close reads the ledger through one snapshot taken at its start
//   (settlement.h), while the shards keep posting taps through the
//   committer; a tap of the closed day posted after that snapshot becomes a
//   late line of the next close, as one uploaded days later does;
// - what it writes goes through the ledger's own write paths, which wait for
//   the committer's prepared batches and hold the next ones back until the
//   write is durable (Ledger::put_records for the close's records, post()
//   for an acceptance's money): no second writer interleaves with the
//   committer's sequences;
// - the business day (close time, UTC offset) is the engine's rule set's.
// A request answers at once with a job number; settle_job reports its
// progress (transfers scanned of the range) and, once done, its result: the
// same JSON `citycard settle ... --json` prints (settlement/summary_json.h).
//
// Every close, acknowledgement and resend asked for writes an audit entry
// (engine/groups/settle_audit.h): in settlement's own write when it
// writes, alone when it refuses, fails or changes nothing; the request's
// "audit" object ({"clerk", "role", "ref"}, set by the admin API, never by
// the client) names who asked.
//
// Threading: handle() from any thread; reply is called on the calling thread.
// The destructor waits for a running job (it cannot be cut short: the close
// writes its records at the end, or nothing).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "ledger/ledger.h"
#include "log.h"
#include "repricer.h"
#include "settle_audit.h"
#include "settlement/business_day.h"

namespace citycard::engine {

// Where the engine writes the day's files and keeps the signing key: its own
// configuration ([settlement] dir, key_dir), never a request's, so a signed-in
// clerk cannot have the engine write elsewhere or sign with another key.
struct SettlementPlaces {
  std::string out_dir;
  std::string key_dir;
};

class SettlementDesk {
 public:
  // `clock`: when a close without "at" happens; default the system clock.
  SettlementDesk(ledger::Ledger& ledger, settlement::DayConfig day, SettlementPlaces places, Log& log,
                 std::function<EventTime()> clock = {});
  ~SettlementDesk();
  SettlementDesk(const SettlementDesk&) = delete;
  SettlementDesk& operator=(const SettlementDesk&) = delete;

  // A close reprices its day first (repricing.h) with this; none: it does not.
  // Set before the first request.
  void reprice_with(Repricer repricer) { repricer_ = std::move(repricer); }

  // op is one of settle_close, settle_ack, settle_resend, settle_job.
  void handle(const std::string& op, const nlohmann::json& request, const std::function<void(nlohmann::json)>& reply);

 private:
  struct Job {
    std::uint64_t number = 0;
    std::string what;           // "close of 2026-11-20", for logs and busy answers
    bool running = true;
    std::uint64_t done = 0;     // transfers scanned
    std::uint64_t total = 0;    // of the close's range
    nlohmann::json reply;       // once finished: the op's answer
  };
  using Work = std::function<nlohmann::json(const std::function<void(std::uint64_t, std::uint64_t)>& progress)>;
  nlohmann::json start(std::string what, Work work);
  nlohmann::json status(std::uint64_t number) const;
  // Who asked, from the request's "audit" object the admin API sets.
  OfficeActor actor_of(const nlohmann::json& request) const;
  static std::string asked(const std::string& op, const nlohmann::json& request);
  // The request's audit entry unless settlement's write carried it; a
  // failure to write it is logged and returned.
  Status write_audit(const SettleAudit& audit, const Status& outcome, const std::string& unchanged);
  // A job's answer: its audit entry written, then the error, or `done()`
  // with "ok" (and "audit_error" when the entry could not be written).
  nlohmann::json answer(const SettleAudit& audit, const Status& outcome, const std::function<nlohmann::json()>& done,
                        const std::string& unchanged = {});

  ledger::Ledger& ledger_;
  const settlement::DayConfig day_;
  const SettlementPlaces places_;
  Log& log_;
  std::function<EventTime()> clock_;
  Repricer repricer_;
  mutable std::mutex mutex_;
  Job job_;                  // the last job; number 0: none yet
  std::uint64_t jobs_started_ = 0;  // job numbers are unique within an engine run
  std::thread worker_;
  mutable std::atomic<std::uint64_t> last_own_key_{0};  // actor_of's keys for requests without a reference
};

}  // namespace citycard::engine
