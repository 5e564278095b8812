// The committer on a real ledger: outcomes before durability for every
// shard, batches of more groups than one ledger write takes, and each
// shard's batch durable once the write holding its last group is committed.
#include <condition_variable>
#include <map>
#include <mutex>

#include "committer.h"
#include "engine_fixture.h"

namespace citycard::engine::testing {

namespace {

struct Told {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> events;  // "outcomes S N" / "durable S", in order
  std::map<std::size_t, std::vector<ledger::GroupOutcome>> received;  // the last outcomes, by shard
  std::map<std::size_t, std::vector<ledger::PostingGroup>> spent;      // the groups handed back with them
  std::size_t prepared = 0;  // hand-overs told their outcomes
  std::size_t durable = 0;
};

// A committer that writes down in `told` everything it tells the shards.
std::unique_ptr<Committer> telling_committer(ledger::Ledger& ledger, Metrics& metrics, Log& log, Told& told,
                                             Drive drive = Drive::threads) {
  return std::make_unique<Committer>(
      ledger, metrics, log,
      [&told](std::size_t shard, std::vector<ledger::GroupOutcome> outcomes, std::vector<ledger::PostingGroup> spent) {
        std::lock_guard lock(told.mutex);
        told.events.push_back("outcomes " + std::to_string(shard) + " " + std::to_string(outcomes.size()));
        told.received[shard] = std::move(outcomes);
        told.spent[shard] = std::move(spent);
        ++told.prepared;
        told.changed.notify_all();
      },
      [&told](std::size_t shard) {
        std::lock_guard lock(told.mutex);
        told.events.push_back("durable " + std::to_string(shard));
        ++told.durable;
        told.changed.notify_all();
      },
      [&told](std::size_t shard) {
        std::lock_guard lock(told.mutex);
        told.events.push_back("voided " + std::to_string(shard));
      },
      [&told](std::string_view stage, const Status& error, std::size_t) {
        std::lock_guard lock(told.mutex);
        told.events.push_back("failed " + std::string(stage) + " " + error.to_string());
      },
      drive);
}

std::vector<ledger::PostingGroup> identity_groups(std::uint32_t reader, std::size_t count) {
  std::vector<ledger::PostingGroup> groups(count);
  for (std::size_t i = 0; i < count; ++i) {
    groups[i].key = IdempotencyKey::for_tap(TapId{ReaderId{reader}, i + 1});
    groups[i].outcome = "decision " + std::to_string(i);
  }
  return groups;
}

}  // namespace

TEST_CASE("the committer tells every shard its outcomes before its batch is durable, also past one write's size") {
  TempDir dir("engine-committer");
  auto ledger = make_ledger(dir.path / "ledger");
  Metrics metrics;
  Log log(stderr);
  Told told;
  auto made = telling_committer(*ledger, metrics, log, told);
  Committer& committer = *made;
  // 2.5 ledger writes' worth from one shard, a few groups from the other.
  const std::size_t big = 2 * limits::batch_groups_max + limits::batch_groups_max / 2;
  committer.hand({0, identity_groups(9001, big), {}, false});
  committer.hand({1, identity_groups(9002, 7), {}, false});
  {
    std::unique_lock lock(told.mutex);
    REQUIRE(told.changed.wait_for(lock, std::chrono::seconds(60), [&] { return told.durable == 2; }));
  }
  committer.stop();
  for (std::size_t shard : {0u, 1u}) {
    const std::string outcomes = "outcomes " + std::to_string(shard) + " " + std::to_string(shard == 0 ? big : 7);
    const std::string durable = "durable " + std::to_string(shard);
    auto at_outcomes = std::find(told.events.begin(), told.events.end(), outcomes);
    auto at_durable = std::find(told.events.begin(), told.events.end(), durable);
    REQUIRE(at_outcomes != told.events.end());
    REQUIRE(at_durable != told.events.end());
    CHECK(at_outcomes < at_durable);
  }
  const auto& received = told.received[0];
  for (const auto& outcome : received) REQUIRE((outcome.posted && !outcome.duplicate));
  CHECK(received[big - 1].outcome == "decision " + std::to_string(big - 1));
  // Each shard gets its own groups back, whole and in order, also those
  // prepared in an earlier write than its last.
  for (std::size_t shard : {0u, 1u}) {
    const auto handed = identity_groups(shard == 0 ? 9001 : 9002, shard == 0 ? big : 7);
    const auto& spent = told.spent[shard];
    REQUIRE(spent.size() == handed.size());
    for (std::size_t i = 0; i < spent.size(); ++i) {
      REQUIRE(spent[i].key == handed[i].key);
      REQUIRE(spent[i].outcome == handed[i].outcome);
    }
  }
  // Durable: the ledger answers the last group of each batch from disk.
  auto last = ledger->posted(IdempotencyKey::for_tap(TapId{ReaderId{9001}, big}));
  REQUIRE(last);
  REQUIRE(last->has_value());
  CHECK((*last)->outcome == "decision " + std::to_string(big - 1));
  CHECK(ledger->verify().ok());
}

TEST_CASE("a job's answer runs once its groups are durable, before the shard is told, naming those that posted as handed") {
  TempDir dir("engine-committer-answer");
  auto ledger = make_ledger(dir.path / "ledger");
  Metrics metrics;
  Log log(stderr);
  Told told;
  auto earlier = identity_groups(9003, 2);
  REQUIRE(ledger->post({earlier[1]}));  // so handing it again is a duplicate
  auto made = telling_committer(*ledger, metrics, log, told);
  Committer& committer = *made;
  std::vector<ledger::PostingGroup> groups = identity_groups(9003, 4);
  Transfer impossible;  // nothing moves between an account and itself
  impossible.debit_account = impossible.credit_account = AccountId{1};
  impossible.amount_minor = 5;
  groups[2].transfers.push_back(impossible);
  std::vector<bool> seen;
  bool durable_when_answered = false;
  Committer::Job job{0, groups, {}, false};
  job.answer = [&](const std::vector<bool>& as_handed) {
    auto first = ledger->posted(groups[0].key);
    durable_when_answered = first && first->has_value();
    std::lock_guard lock(told.mutex);
    told.events.push_back("answer 0");
    seen = as_handed;
  };
  committer.hand(std::move(job));
  {
    std::unique_lock lock(told.mutex);
    REQUIRE(told.changed.wait_for(lock, std::chrono::seconds(60), [&] { return told.durable == 1; }));
  }
  committer.stop();
  CHECK(told.events == std::vector<std::string>{"outcomes 0 4", "answer 0", "durable 0"});
  CHECK(seen == std::vector<bool>{true, false, false, true});
  CHECK(durable_when_answered);
}

TEST_CASE("the committing thread makes the prepared writes that waited behind a busy commit durable in one write") {
  TempDir dir("engine-committer-behind");
  auto ledger = make_ledger(dir.path / "ledger");
  Metrics metrics;
  Log log(stderr);
  Told told;
  auto made = telling_committer(*ledger, metrics, log, told);
  Committer& committer = *made;
  // The first job's answer holds the committing thread, as a slow sync
  // would, until the next two are prepared behind it.
  bool entered = false;
  bool released = false;
  Committer::Job first{0, identity_groups(9010, 3), {}, false};
  first.answer = [&](const std::vector<bool>&) {
    std::unique_lock lock(told.mutex);
    entered = true;
    told.changed.notify_all();
    told.changed.wait(lock, [&] { return released; });
  };
  const std::uint64_t synced_before = ledger->storage_activity().synced_writes;
  committer.hand(std::move(first));
  {
    std::unique_lock lock(told.mutex);
    REQUIRE(told.changed.wait_for(lock, std::chrono::seconds(60), [&] { return entered; }));
  }
  // One at a time: handed together, the preparing thread would make them one write.
  committer.hand({1, identity_groups(9011, 2), {}, false});
  {
    std::unique_lock lock(told.mutex);
    REQUIRE(told.changed.wait_for(lock, std::chrono::seconds(60), [&] { return told.prepared == 2; }));
  }
  committer.hand({2, identity_groups(9012, 4), {}, false});
  {
    std::unique_lock lock(told.mutex);
    REQUIRE(told.changed.wait_for(lock, std::chrono::seconds(60), [&] { return told.prepared == 3; }));
  }
  // A shard's outcomes are told before its write is queued: an empty
  // hand-over told after them proves the third write queued too.
  committer.hand({3, {}, {}, false});
  {
    std::unique_lock lock(told.mutex);
    REQUIRE(told.changed.wait_for(lock, std::chrono::seconds(60), [&] { return told.prepared == 4; }));
    released = true;
    told.changed.notify_all();
    REQUIRE(told.changed.wait_for(lock, std::chrono::seconds(60), [&] { return told.durable == 4; }));
  }
  committer.stop();
  CHECK(metrics.commits() == 2);  // the first, then the two that waited, together
  CHECK(metrics.prepared_writes_committed() == 3);
  CHECK(ledger->storage_activity().synced_writes == synced_before + 2);
  const std::vector<std::string> durable(told.events.end() - 4, told.events.end());
  CHECK(durable == std::vector<std::string>{"durable 0", "durable 1", "durable 2", "durable 3"});
  for (std::uint32_t reader : {9010u, 9011u, 9012u}) {
    auto posted = ledger->posted(IdempotencyKey::for_tap(TapId{ReaderId{reader}, 1}));
    REQUIRE(posted);
    CHECK(posted->has_value());
  }
  CHECK(ledger->verify().ok());
}

TEST_CASE("prepared writes waiting together are made durable in one synced write, each shard told in order") {
  TempDir dir("engine-committer-together");
  auto ledger = make_ledger(dir.path / "ledger");
  Metrics metrics;
  Log log(stderr);
  Told told;
  auto made = telling_committer(*ledger, metrics, log, told, Drive::steps);
  Committer& committer = *made;
  // Three hand-overs prepared one by one while no write is committed: as
  // behind a slow sync.
  committer.hand({0, identity_groups(9004, 3), {}, false});
  REQUIRE(committer.turn_prepare());
  committer.hand({1, identity_groups(9005, 2), {}, false});
  REQUIRE(committer.turn_prepare());
  auto next = identity_groups(9004, 5);
  next.erase(next.begin(), next.begin() + 3);  // the shard's next batch: keys 4 and 5
  committer.hand({0, next, {}, false});
  REQUIRE(committer.turn_prepare());
  REQUIRE(committer.prepared_waiting() == 3);
  auto seen = ledger->posted(IdempotencyKey::for_tap(TapId{ReaderId{9004}, 1}));
  REQUIRE(seen);
  CHECK_FALSE(seen->has_value());  // told its outcome, not durable yet

  const std::uint64_t synced_before = ledger->storage_activity().synced_writes;
  auto committed = committer.turn_commit();
  REQUIRE(committed);
  CHECK(*committed);
  CHECK(ledger->storage_activity().synced_writes == synced_before + 1);
  CHECK(metrics.commits() == 1);
  CHECK(metrics.prepared_writes_committed() == 3);
  CHECK(metrics.commit_groups().counts().count == 1);
  CHECK(metrics.commit_queue().counts().count == 3);
  CHECK(committer.prepared_waiting() == 0);
  CHECK(told.events == std::vector<std::string>{"outcomes 0 3", "outcomes 1 2", "outcomes 0 2", "durable 0", "durable 1",
                                           "durable 0"});
  for (auto [reader, last] : {std::pair{9004u, 5u}, std::pair{9005u, 2u}}) {
    for (std::uint64_t sequence = 1; sequence <= last; ++sequence) {
      INFO(reader << " " << sequence);
      auto posted = ledger->posted(IdempotencyKey::for_tap(TapId{ReaderId{reader}, sequence}));
      REQUIRE(posted);
      CHECK(posted->has_value());
    }
  }
  auto again = committer.turn_commit();
  REQUIRE(again);
  CHECK_FALSE(*again);  // nothing left
  CHECK(ledger->verify().ok());
  const std::string text = metrics.render(Gauges{});
  CHECK(text.find("citycard_commits_total 1\n") != std::string::npos);
  CHECK(text.find("citycard_commit_prepared_writes_total 3\n") != std::string::npos);
}

}  // namespace citycard::engine::testing
