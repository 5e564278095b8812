// Posting in two stages: prepare() against the writer's view, commit() in
// order, readers see only committed batches, and a failed sync poisons the
// ledger until it is reopened; several prepared batches commit as one write.
#include <atomic>
#include <thread>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include "ledger/rocks_ledger.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

ledger::NewCard new_card(const char* hex) {
  ledger::NewCard card;
  card.card = *CardId::parse(hex);
  return card;
}

ledger::PostingGroup fare(const CardRecord& card, const ledger::OperatorRecord& op, std::uint32_t reader,
                          std::uint64_t sequence, std::int64_t amount) {
  return make_group(tap_key(reader, sequence), {make_transfer(card.wallet_account, op.payable_account, amount)});
}

// WAL files whose Sync fails while `failing` is set: a disk that stops
// taking writes.
class FailingSyncFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FailingSyncFile(std::unique_ptr<rocksdb::FSWritableFile> file, const std::atomic<bool>& failing)
      : FSWritableFileOwnerWrapper(std::move(file)), failing_(failing) {}
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (failing_) return rocksdb::IOStatus::IOError("injected: the disk refused the sync");
    return target()->Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (failing_) return rocksdb::IOStatus::IOError("injected: the disk refused the sync");
    return target()->Fsync(options, dbg);
  }

 private:
  const std::atomic<bool>& failing_;
};

class FailingSyncFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FailingSyncFileSystem(const std::atomic<bool>& failing)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), failing_(failing) {}
  const char* Name() const override { return "FailingSyncFileSystem"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, result, dbg);
    if (status.ok() && name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) {
      *result = std::make_unique<FailingSyncFile>(std::move(*result), failing_);
    }
    return status;
  }

 private:
  const std::atomic<bool>& failing_;
};

// A ledger on a file system whose WAL syncs fail while `failing` is set,
// with one card holding 100 and an operator to pay.
struct FailingSyncLedger {
  explicit FailingSyncLedger(const char* card_hex, ledger::Options options = create_options()) {
    auto opened = ledger::open_with_env(path, options, env.get());
    REQUIRE(opened);
    ledger = std::move(*opened);
    auto ensured = ledger::ensure_system_accounts(*ledger);
    REQUIRE(ensured);
    system = *ensured;
    auto registered = ledger->register_operator(OperatorId{1}, "Capital Bus");
    REQUIRE(registered);
    bus = *registered;
    auto cards = ledger->issue_cards({new_card(card_hex)});
    REQUIRE(cards);
    card = cards->front();
    REQUIRE(ledger->post({make_group(IdempotencyKey{Origin::operator_action, 1, 1},
                                     {make_transfer(system.topup_float, card.wallet_account, 100, TransferCode::top_up)})}));
  }
  static ledger::Options create_options() {
    ledger::Options options;
    options.create_if_missing = true;
    return options;
  }
  TempDir dir;
  const std::string path = dir.path() + "/ledger";
  std::atomic<bool> failing{false};
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(std::make_shared<FailingSyncFileSystem>(failing));
  std::unique_ptr<ledger::Ledger> ledger;
  ledger::SystemAccounts system;
  ledger::OperatorRecord bus;
  CardRecord card;
};

}  // namespace

TEST_CASE("a prepared batch is validated after the one before it and seen by readers only once committed") {
  LedgerFixture f;
  auto card = f.issue("04CC0001");
  f.fund(card, 100);
  auto first = f.ledger->prepare({fare(card, f.bus, 7, 1, 60)});
  REQUIRE(first);
  REQUIRE((*first)->outcomes.size() == 1);
  CHECK((*first)->outcomes[0].posted);
  // The second batch sees the first's 60 spent: 40 left, 60 more is refused.
  auto second = f.ledger->prepare({fare(card, f.bus, 7, 2, 60), fare(card, f.bus, 7, 3, 40)});
  REQUIRE(second);
  CHECK_FALSE((*second)->outcomes[0].posted);
  CHECK((*second)->outcomes[0].reason.code() == StatusCode::refused);
  CHECK((*second)->outcomes[1].posted);
  // Nothing is visible before its commit.
  CHECK(f.balance(card.wallet_account) == 100);
  auto seen = f.ledger->posted(tap_key(7, 1));
  REQUIRE(seen);
  CHECK_FALSE(seen->has_value());

  REQUIRE(f.ledger->commit(**first));
  CHECK(f.balance(card.wallet_account) == 40);
  seen = f.ledger->posted(tap_key(7, 1));
  REQUIRE(seen);
  CHECK(seen->has_value());
  REQUIRE(f.ledger->commit(**second));
  CHECK(f.balance(card.wallet_account) == 0);
  CHECK(f.ledger->verify().ok());
  f.reopen();
  CHECK(f.balance(card.wallet_account) == 0);
}

TEST_CASE("prepared batches are committed in the order they were prepared") {
  LedgerFixture f;
  auto card = f.issue("04CC0002");
  f.fund(card, 100);
  auto first = f.ledger->prepare({fare(card, f.bus, 7, 1, 10)});
  auto second = f.ledger->prepare({fare(card, f.bus, 7, 2, 10)});
  REQUIRE(first);
  REQUIRE(second);
  Status early = f.ledger->commit(**second);
  CHECK(early.code() == StatusCode::invalid_argument);
  CHECK(f.balance(card.wallet_account) == 100);  // refused, nothing written
  REQUIRE(f.ledger->commit(**first));
  REQUIRE(f.ledger->commit(**second));
  CHECK(f.balance(card.wallet_account) == 80);
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("several prepared batches commit in one synced write, each published as if alone") {
  LedgerFixture f;
  auto card = f.issue("04CC0011");
  f.fund(card, 100);
  auto first = f.ledger->prepare({fare(card, f.bus, 7, 1, 60)});
  auto second = f.ledger->prepare({fare(card, f.bus, 7, 2, 60), fare(card, f.bus, 7, 3, 30)});
  auto third = f.ledger->prepare({fare(card, f.bus, 7, 1, 60), fare(card, f.bus, 7, 4, 5)});
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(third);
  CHECK_FALSE((*second)->outcomes[0].posted);  // 40 left after the first
  CHECK((*third)->outcomes[0].duplicate);
  const std::uint64_t synced_before = f.ledger->storage_activity().synced_writes;
  ledger::PreparedPost* const together[] = {first->get(), second->get(), third->get()};
  REQUIRE(f.ledger->commit(together));
  CHECK(f.ledger->storage_activity().synced_writes == synced_before + 1);
  CHECK(f.balance(card.wallet_account) == 5);  // 60 + 30 + 5, the duplicate moved nothing
  for (std::uint64_t sequence : {1, 3, 4}) {
    auto seen = f.ledger->posted(tap_key(7, sequence));
    REQUIRE(seen);
    CHECK(seen->has_value());
  }
  auto refused = f.ledger->posted(tap_key(7, 2));
  REQUIRE(refused);
  CHECK_FALSE(refused->has_value());
  // The next batch follows on: sequences gap-free, the log replays whole.
  auto after = f.ledger->post({fare(card, f.bus, 7, 5, 5)});
  REQUIRE(after);
  CHECK((*after)[0].posted);
  CHECK(f.ledger->verify().ok());
  f.reopen();
  CHECK(f.balance(card.wallet_account) == 0);
  auto resent = f.ledger->post({fare(card, f.bus, 7, 4, 5)});
  REQUIRE(resent);
  CHECK((*resent)[0].duplicate);
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("a commit of several prepared batches takes only the oldest, in prepare order") {
  LedgerFixture f;
  auto card = f.issue("04CC0012");
  f.fund(card, 100);
  auto first = f.ledger->prepare({fare(card, f.bus, 7, 1, 10)});
  auto second = f.ledger->prepare({fare(card, f.bus, 7, 2, 10)});
  auto third = f.ledger->prepare({fare(card, f.bus, 7, 3, 10)});
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(third);
  ledger::PreparedPost* const swapped[] = {second->get(), first->get()};
  CHECK(f.ledger->commit(swapped).code() == StatusCode::invalid_argument);
  ledger::PreparedPost* const skipping[] = {second->get(), third->get()};
  CHECK(f.ledger->commit(skipping).code() == StatusCode::invalid_argument);
  ledger::PreparedPost* const gap[] = {first->get(), third->get()};
  CHECK(f.ledger->commit(gap).code() == StatusCode::invalid_argument);
  CHECK(f.ledger->commit(std::span<ledger::PreparedPost* const>{}).code() == StatusCode::invalid_argument);
  CHECK(f.balance(card.wallet_account) == 100);  // refused, nothing written
  ledger::PreparedPost* const oldest_two[] = {first->get(), second->get()};
  REQUIRE(f.ledger->commit(oldest_two));
  CHECK(f.balance(card.wallet_account) == 80);
  REQUIRE(f.ledger->commit(**third));
  CHECK(f.balance(card.wallet_account) == 70);
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("a key in a batch not yet committed is a duplicate in the next and moves nothing twice") {
  LedgerFixture f;
  auto card = f.issue("04CC0003");
  f.fund(card, 100);
  auto first = f.ledger->prepare({fare(card, f.bus, 7, 5, 30)});
  REQUIRE(first);
  auto again = f.ledger->prepare({fare(card, f.bus, 7, 5, 30)});
  REQUIRE(again);
  CHECK((*again)->outcomes[0].duplicate);
  CHECK((*again)->outcomes[0].first_sequence == (*first)->outcomes[0].first_sequence);
  REQUIRE(f.ledger->commit(**first));
  REQUIRE(f.ledger->commit(**again));
  CHECK(f.balance(card.wallet_account) == 70);
  // And once committed, from disk.
  auto third = f.ledger->post({fare(card, f.bus, 7, 5, 30)});
  REQUIRE(third);
  CHECK((*third)[0].duplicate);
  CHECK(f.balance(card.wallet_account) == 70);
}

TEST_CASE("prepare waits while prepared_posts_max batches are uncommitted") {
  LedgerFixture f;
  auto card = f.issue("04CC0004");
  f.fund(card, 100);
  std::vector<std::unique_ptr<ledger::PreparedPost>> waiting;
  for (std::uint64_t i = 1; i <= ledger::Ledger::prepared_posts_max; ++i) {
    auto prepared = f.ledger->prepare({fare(card, f.bus, 7, i, 1)});
    REQUIRE(prepared);
    waiting.push_back(std::move(*prepared));
  }
  std::atomic<bool> returned{false};
  std::unique_ptr<ledger::PreparedPost> last;
  std::thread third([&] {
    auto prepared = f.ledger->prepare({fare(card, f.bus, 7, 99, 1)});
    if (prepared) last = std::move(*prepared);
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(returned);  // still waiting: nothing was committed
  REQUIRE(f.ledger->commit(*waiting[0]));
  third.join();
  CHECK(returned);
  REQUIRE(last);
  for (std::size_t i = 1; i < waiting.size(); ++i) REQUIRE(f.ledger->commit(*waiting[i]));
  REQUIRE(f.ledger->commit(*last));
  CHECK(f.balance(card.wallet_account) == 100 - static_cast<std::int64_t>(ledger::Ledger::prepared_posts_max) - 1);
}

TEST_CASE("post() beside a pipelined writer waits for its pending batch and commits after it") {
  // The engine's committer prepares and commits on its own threads while
  // settlement posts an acceptance: post() must not slip its batch in front
  // of one already prepared (that writer's commit would then be refused).
  LedgerFixture f;
  auto card = f.issue("04CC0008");
  f.fund(card, 100);
  auto pipelined = f.ledger->prepare({fare(card, f.bus, 7, 1, 10)});
  REQUIRE(pipelined);
  std::atomic<bool> returned{false};
  Result<std::vector<ledger::GroupOutcome>> posted = Status::unavailable("not yet");
  std::thread beside([&] {
    posted = f.ledger->post({fare(card, f.bus, 8, 1, 5)});
    returned = true;
  });
  // Give post() time to reach the ledger; it may not return before the
  // pipelined batch is committed.
  for (int i = 0; i < 50 && !returned; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(returned);
  REQUIRE(f.ledger->commit(**pipelined));
  beside.join();
  REQUIRE(posted);
  REQUIRE(posted->front().posted);
  CHECK(posted->front().first_sequence > (*pipelined)->outcomes[0].first_sequence);
  CHECK(f.balance(card.wallet_account) == 85);
  CHECK(f.ledger->verify().ok());
}

TEST_CASE("a failed sync voids its batch and the ones prepared after it and refuses writes until reopened") {
  FailingSyncLedger f("04CC0005");
  auto doomed = f.ledger->prepare({fare(f.card, f.bus, 7, 1, 10)});
  auto after = f.ledger->prepare({fare(f.card, f.bus, 7, 2, 10)});
  REQUIRE(doomed);
  REQUIRE(after);
  f.failing = true;
  Status failed = f.ledger->commit(**doomed);
  CHECK(failed.code() == StatusCode::io_error);
  f.failing = false;
  CHECK(f.ledger->commit(**after).code() == StatusCode::io_error);
  CHECK(f.ledger->account(f.card.wallet_account)->balance_minor == 100);  // nothing was published
  CHECK(f.ledger->post({fare(f.card, f.bus, 7, 3, 10)}).status().code() == StatusCode::io_error);
  CHECK(f.ledger->prepare({fare(f.card, f.bus, 7, 3, 10)}).status().code() == StatusCode::io_error);
  CHECK(f.ledger->issue_cards({new_card("04CC0006")}).status().code() == StatusCode::io_error);

  f.ledger.reset();
  auto reopened = ledger::Ledger::open(f.path, ledger::Options{});
  REQUIRE(reopened);
  // The failed batch is there whole or not at all; the one after it is not.
  const std::int64_t balance = (*reopened)->account(f.card.wallet_account)->balance_minor;
  CHECK((balance == 100 || balance == 90));
  auto later = (*reopened)->posted(tap_key(7, 2));
  REQUIRE(later);
  CHECK_FALSE(later->has_value());
  CHECK((*reopened)->verify().ok());
  auto resent = (*reopened)->post({fare(f.card, f.bus, 7, 2, 10)});
  REQUIRE(resent);
  CHECK((*resent)[0].posted);
}

TEST_CASE("a failed sync of several prepared batches loses them all or none, never a part") {
  FailingSyncLedger f("04CC0013");
  auto first = f.ledger->prepare({fare(f.card, f.bus, 7, 1, 10)});
  auto second = f.ledger->prepare({fare(f.card, f.bus, 7, 2, 20)});
  auto after = f.ledger->prepare({fare(f.card, f.bus, 7, 3, 40)});
  REQUIRE(first);
  REQUIRE(second);
  REQUIRE(after);
  f.failing = true;
  ledger::PreparedPost* const together[] = {first->get(), second->get()};
  CHECK(f.ledger->commit(together).code() == StatusCode::io_error);
  f.failing = false;
  CHECK(f.ledger->commit(**after).code() == StatusCode::io_error);
  CHECK(f.ledger->account(f.card.wallet_account)->balance_minor == 100);  // nothing was published

  f.ledger.reset();
  auto reopened = ledger::Ledger::open(f.path, ledger::Options{});
  REQUIRE(reopened);
  // One write: both batches or neither, and never the one after.
  const std::int64_t balance = (*reopened)->account(f.card.wallet_account)->balance_minor;
  CHECK((balance == 100 || balance == 70));
  auto one = (*reopened)->posted(tap_key(7, 1));
  auto two = (*reopened)->posted(tap_key(7, 2));
  auto three = (*reopened)->posted(tap_key(7, 3));
  REQUIRE(one);
  REQUIRE(two);
  REQUIRE(three);
  CHECK(one->has_value() == two->has_value());
  CHECK(one->has_value() == (balance == 70));
  CHECK_FALSE(three->has_value());
  CHECK((*reopened)->verify().ok());
}

TEST_CASE("a checkpoint pass cut short by a failed sync replays every committed transfer once, also into records written after it began") {
  ledger::Options options = FailingSyncLedger::create_options();
  options.checkpoint_interval_transfers = 12;  // a pass every few batches
  options.checkpoint_accounts_per_batch = 2;   // spread over several batches, some changing again meanwhile
  FailingSyncLedger f("04CC0020", options);
  std::vector<CardRecord> cards{f.card};
  for (const char* hex : {"04CC0021", "04CC0022", "04CC0023", "04CC0024", "04CC0025", "04CC0026"}) {
    auto issued = f.ledger->issue_cards({new_card(hex)});
    REQUIRE(issued);
    cards.push_back(issued->front());
  }
  std::vector<std::int64_t> expected(cards.size(), 0);
  expected[0] = 100;
  std::uint64_t sequence = 0;
  std::unique_ptr<ledger::PreparedPost> waiting;
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<ledger::PostingGroup> groups;
    for (int g = 0; g < 3; ++g) {
      const std::size_t c = static_cast<std::size_t>(batch * 5 + g * 3) % cards.size();
      const std::int64_t amount = 1 + (batch * 7 + g) % 40;
      groups.push_back(make_group(tap_key(9, ++sequence),
                                  {make_transfer(f.system.topup_float, cards[c].wallet_account, amount, TransferCode::top_up)}));
      expected[c] += amount;
    }
    // Two prepared at a time: a chunk reads records the batch before it moved.
    auto prepared = f.ledger->prepare(groups);
    REQUIRE(prepared);
    if (waiting) REQUIRE(f.ledger->commit(*waiting));
    waiting = std::move(*prepared);
  }
  REQUIRE(f.ledger->commit(*waiting));
  // The write that fails touches only the bus, so whatever part of it lands
  // leaves the cards' balances as committed; the ledger closes without a checkpoint.
  auto doomed = f.ledger->prepare({make_group(IdempotencyKey{Origin::operator_action, 1, 2},
                                              {make_transfer(f.system.topup_float, f.bus.payable_account, 1, TransferCode::top_up)})});
  REQUIRE(doomed);
  f.failing = true;
  CHECK(f.ledger->commit(**doomed).code() == StatusCode::io_error);
  f.failing = false;
  f.ledger.reset();

  auto reopened = ledger::Ledger::open(f.path, ledger::Options{});
  REQUIRE(reopened);
  for (std::size_t c = 0; c < cards.size(); ++c) {
    INFO("card " << c);
    CHECK((*reopened)->account(cards[c].wallet_account)->balance_minor == expected[c]);
  }
  CHECK((*reopened)->verify().ok());
}

TEST_CASE("a reader's keys out of order across batches post once each, also across a reopen") {
  LedgerFixture f;
  auto card = f.issue("04CC0007");
  f.fund(card, 1000);
  auto first = f.ledger->post({fare(card, f.bus, 8, 10, 1), fare(card, f.bus, 8, 12, 1)});
  REQUIRE(first);
  // Below the mark: 11 and 5 never posted, 12 did.
  auto second = f.ledger->post({fare(card, f.bus, 8, 11, 1), fare(card, f.bus, 8, 12, 1), fare(card, f.bus, 8, 5, 1)});
  REQUIRE(second);
  CHECK(((*second)[0].posted && !(*second)[0].duplicate));
  CHECK((*second)[1].duplicate);
  CHECK((*second)[1].first_sequence == (*first)[1].first_sequence);
  CHECK(((*second)[2].posted && !(*second)[2].duplicate));
  CHECK(f.balance(card.wallet_account) == 996);
  // After a reopen nothing below the mark is known in memory: the disk is read.
  f.reopen();
  auto third = f.ledger->post({fare(card, f.bus, 8, 11, 1), fare(card, f.bus, 8, 7, 1), fare(card, f.bus, 8, 7, 1)});
  REQUIRE(third);
  CHECK((*third)[0].duplicate);
  CHECK(((*third)[1].posted && !(*third)[1].duplicate));
  CHECK((*third)[2].duplicate);  // the same new key twice in one batch
  CHECK(f.balance(card.wallet_account) == 995);
  CHECK(f.ledger->verify().ok());
}
