// The double-entry ledger on RocksDB.
//
// What it promises:
// - Value moves only by transfers between two accounts of the same asset, so
//   the balances of one asset always sum to zero.
// - post() applies a batch of posting groups with one synced WriteBatch and
//   returns only after the write is durable. A group is all-or-nothing: if one
//   of its transfers breaks a limit, none of them posts, the group reports why,
//   and the other groups of the batch still post.
// - Every group carries an IdempotencyKey. Posting a key that already posted
//   (in this batch, earlier, or before a restart) moves nothing and returns the
//   original outcome with duplicate = true. A rejected group leaves no trace,
//   so it may be retried.
// - The ledger is append-only: corrections are new transfers.
//
// Threading: one Ledger per directory per process (RocksDB holds a file
// lock). Writes (post, create, issue, put) are serialised internally; reads may
// run from any thread at the same time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "citycard/account.h"
#include "citycard/card.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/transfer.h"
#include "ledger/storage_activity.h"

namespace citycard::ledger {

struct Options {
  // Create an empty ledger when the directory holds none. Default false: a
  // missing ledger is an error for everything but `init`.
  bool create_if_missing = false;
  // Memtable size per column family, bytes. Default 64 MiB: a day of hot
  // writes stays in memory between flushes.
  std::size_t write_buffer_bytes = 64u << 20;
  // Shared block cache, bytes. Default 256 MiB: card records and recent history.
  std::size_t block_cache_bytes = 256u << 20;
  // Open read-only (no lock taken, nothing written): reports, verify, and the
  // CLI while the engine runs. Default false.
  bool read_only = false;
  // Balances are checkpointed, not written with every batch: after this many
  // transfers the changed accounts are written out, a few thousand per batch.
  // It bounds the replay on open (about 1 s per 5M transfers). Default 4M.
  std::uint64_t checkpoint_interval_transfers = 4'000'000;
  // Account records written per batch while a checkpoint is in progress:
  // this many, or as many as the batch has transfers if more. Default 512:
  // at 20k taps/s a pass of the city's 1.3M accounts spreads over ~2 500
  // small batches, each write ~35 KB larger, instead of ~320 each ~300 KB
  // larger, which slowed every commit of that second or two; a big batch
  // (a closed loop's thousands) takes its own size, so passes keep up.
  std::size_t checkpoint_accounts_per_batch = 512;
  // Writes are refused (io_error "no space left on device", nothing written)
  // while less than this is free on the ledger's filesystem, so that the
  // disk fills under this margin and not inside one of RocksDB's own log
  // writes -- which, failed, needs the ledger reopened (recover() says so).
  // The margin covers a log file's next preallocated chunk and memtable
  // flushes. Bytes; 0 = 4 x write_buffer_bytes (256 MiB by default).
  std::uint64_t free_bytes_min = 0;
  // RocksDB's compactions when a level fills, on its own threads. Default
  // true; false: none (the deterministic simulator, tests/sim/: its small
  // ledgers need no compaction, and no thread of RocksDB's may decide what a
  // crash keeps). RocksDB never recovers from a failed write by itself in
  // either case: recover() does, or a reopen.
  bool background_compactions = true;
  // Obsolete files (WAL files after a flush, tables after a compaction) are
  // deleted at most this many bytes a second, in 8 MiB pieces, not at once:
  // on a disk mounted with discard, deleting 64 MiB at once held a synced
  // WAL write ~15 ms and 512 MiB ~30-40 ms (bench/README.md, "Engine:
  // sustained load"). Bytes a second; 0: delete at once. Default 32 MiB/s,
  // several times what 20k taps/s make obsolete.
  std::uint64_t delete_bytes_per_s = 32u << 20;
};

// Opaque records stored beside the ledger in the same atomic write, e.g. the
// engine's rating state of a card or a settlement mark. Spaces keep owners apart.
enum class RecordSpace : std::uint8_t {
  card_state = 1,   // engine: a card's rating state, key = card id bytes
  tap = 2,          // engine: a tap's context, key = encoded TapId
  settlement = 3,   // settlement: day closes, batches, acknowledgements
  operator_info = 4,// operators: id -> name, kind, accounts
  names = 5,        // well-known account names -> account id
  audit = 6,        // operator actions, key = reference; each also an audit_chain link
  engine = 7,       // engine bookkeeping (deny list version, ...)
  readers = 8,      // the reader registry: id -> registration (ledger/readers.h)
  audit_chain = 9,  // written by the ledger only: every audit record as a hash-chain link (audit_chain.h)
  approvals = 10,   // engine: refunds waiting for a second supervisor, key = the refund's reference (approvals.h)
  rule_sets = 11,   // rule set versions installed, key = version (engine/groups/rule_store.h)
  tap_records = 12, // engine: every decided tap, key = business day + tap key (engine/groups/tap_records.h)
  access = 13,      // access lists: roles, door groups, meetings, key = kind/name (engine/groups/access_codec.h)
  reprice = 14,     // the close's repricing: canonical account states, each day's corrections (engine/groups/repricing.h)
};

// What a RecordWrite does to its key: put the value, or erase the record
// (a record's owner pruning its own records, e.g. tap records past their
// retention; the audit trail is never erased).
enum class RecordChange : std::uint8_t { put, erase };

struct RecordWrite {
  RecordSpace space = RecordSpace::card_state;
  std::string key;
  std::string value;                        // unused for erase
  RecordChange change = RecordChange::put;
};

// Transfers that post together or not at all, under one idempotency key.
// Transfer i of the group has id (key, i).
struct PostingGroup {
  IdempotencyKey key;
  std::vector<Transfer> transfers;   // 0..limits::group_transfers_max
  std::vector<CardRecord> card_updates;  // written only if the group posts
  std::vector<RecordWrite> records;      // written only if the group posts
  // Stored with the key and returned to a duplicate (e.g. the encoded decision
  // the reader was given), at most 1 KiB.
  std::string outcome;
};

struct GroupOutcome {
  bool posted = false;        // false: rejected, see reason; nothing was written
  bool duplicate = false;     // the key had posted before; original outcome returned
  Status reason;              // why a group was rejected
  std::uint64_t first_sequence = 0;   // ledger sequence of transfer 0
  std::uint32_t transfer_count = 0;
  std::string outcome;        // the caller's outcome blob, as first posted
};

// A transfer as stored: its place in the ledger and its id.
struct StoredTransfer {
  std::uint64_t sequence = 0;   // global, increasing, gap-free from 1
  IdempotencyKey key;           // the group it belongs to
  std::uint32_t leg = 0;        // its index in the group
  Transfer transfer;
};

struct HistoryPage {
  std::vector<StoredTransfer> entries;  // newest first
  // Pass as `before_sequence` for the next (older) page; 0 when no more.
  std::uint64_t next_cursor = 0;
};

struct OperatorRecord {
  OperatorId id;
  std::string name;
  AccountId payable_account;
  AccountId settled_account;
};

// What a new card needs; the ledger creates its wallet and points accounts.
struct NewCard {
  CardId card;
  RiderCategory category = RiderCategory::general;
  Media media = Media::physical_card;
  std::int64_t overdraft_minor = 0;             // the wallet's floor is -overdraft
  std::int64_t wallet_ceiling_minor = 10'000;   // wallet maximum, 10 000 TWD
  // Another medium of an issued card (mobile, co-branded): shares its accounts.
  CardId linked_to;
};

struct VerifyProblem {
  std::string kind;     // "asset_sum", "balance_mismatch", "missing_account", ...
  std::string detail;   // names the account, transfer or key
};

struct VerifyReport {
  std::uint64_t accounts = 0;
  std::uint64_t transfers = 0;
  std::uint64_t idempotency_keys = 0;
  std::uint64_t cards = 0;
  std::uint64_t audit_entries = 0;      // links of the audit chain (audit_chain.h)
  std::vector<VerifyProblem> problems;  // empty when the ledger is sound
  bool ok() const { return problems.empty(); }
};

class Snapshot;

// A batch prepare() validated, waiting for its commit().
class PreparedPost {
 public:
  virtual ~PreparedPost() = default;
  // One per group, in order: final when prepare() returns, true once
  // commit() has returned ok (not before: nothing is durable until then).
  std::vector<GroupOutcome> outcomes;
};

class Ledger {
 public:
  // Opens (or with create_if_missing, creates) the ledger in `path`. Errors:
  // not_found when there is no ledger, busy when another process holds it,
  // corruption when its files are damaged or of another format.
  static Result<std::unique_ptr<Ledger>> open(const std::string& path, const Options& options);

  virtual ~Ledger() = default;

  // --- writes (serialised; each is one synced write) -----------------------

  // Posts a batch; one outcome per group, in order. A non-ok Status means the
  // write itself failed: nothing of the batch is posted. prepare + commit,
  // safe beside a pipelined writer on other threads: it waits until every
  // batch already prepared is committed and keeps later prepare() calls
  // waiting until its own write is durable.
  virtual Result<std::vector<GroupOutcome>> post(const std::vector<PostingGroup>& batch) = 0;

  // Posting in two stages, for a pipelined writer (the engine's committer):
  // prepare() validates a batch against the state left by every batch
  // prepared before it, decides each group's outcome and builds the write;
  // commit() makes that write durable (one synced WriteBatch) and visible to
  // readers. One thread may prepare batch k+1 while another commits batch k.
  // - commit() takes prepared batches in the order they were prepared
  //   (invalid_argument otherwise); at most prepared_posts_max may wait,
  //   prepare() blocks until one is committed.
  // - Readers see a batch only once its commit() returned.
  // - A failed commit voids its batch and every batch prepared after it:
  //   none was acknowledged, their commit() fails too, and every later write
  //   is refused (io_error) until the ledger is reopened (memory no longer
  //   matches disk). Reopening recovers what is on disk: the failed batch
  //   whole or not at all, none of those after it. A read that fails while
  //   a batch is prepared (a damaged idempotency entry) poisons it the same way.
  // - commit() of several prepared batches (the oldest, in prepare order)
  //   makes them durable in one synced write: all or none, each published
  //   as if committed alone. A writer that finds batches waiting behind a
  //   slow sync pays one more sync for all of them, not one each.
  static constexpr std::size_t prepared_posts_max = 8;
  virtual Result<std::unique_ptr<PreparedPost>> prepare(const std::vector<PostingGroup>& batch) = 0;
  virtual Status commit(std::span<PreparedPost* const> prepared) = 0;
  Status commit(PreparedPost& prepared) {
    PreparedPost* const one[] = {&prepared};
    return commit(one);
  }

  // After a failed write (a full disk, a failed sync), takes writes again
  // without a reopen: RocksDB resumes (DB::Resume clears its background
  // error once its cause is gone, flushing the memtables first), one synced
  // write must land, and then everything held in memory -- balances, the
  // readers' high-water marks, the audit chain's head, the last sequence --
  // is read again from disk, as open() reads it. What a failed write left is
  // what the disk says: the batch whole or not at all, none after it.
  // Reads go on meanwhile; they may wait while memory is reloaded.
  // Call only when no prepared batch waits for its commit (busy otherwise).
  // ok: writes are taken again. io_error: still failing (e.g. still no
  // space); nothing changed, call again later. unavailable: a write failed
  // inside RocksDB's log file, which this RocksDB (7.8) cannot resume from
  // in process: only a reopen (a restart) takes writes again; reads go on.
  virtual Status recover() = 0;

  virtual Result<AccountId> create_account(const AccountSpec& spec) = 0;
  // Returns the account registered under `name`, creating it with `spec` the
  // first time (system accounts: "subsidy_budget", "topup_float", ...).
  virtual Result<AccountId> ensure_named_account(std::string_view name, const AccountSpec& spec) = 0;
  // Registers an operator with a payable and a settled account.
  virtual Result<OperatorRecord> register_operator(OperatorId id, std::string_view name) = 0;
  // Issues cards with fresh wallet and points accounts, and writes `records`
  // in the same write (a card import's audit entry): all or none. The
  // records are checked as put_records() checks them.
  virtual Result<std::vector<CardRecord>> issue_cards(const std::vector<NewCard>& cards,
                                                      const std::vector<RecordWrite>& records) = 0;
  Result<std::vector<CardRecord>> issue_cards(const std::vector<NewCard>& cards) { return issue_cards(cards, {}); }
  // Fresh wallet, points and bonus points accounts for an issued card that leaves the
  // account it shared (engine/groups: unlink), indexed to the card like an
  // issued card's (card_of_account). Only the accounts are written: the
  // card's record is changed to name them by the posting group that goes
  // with it; if that group never posts, they stay unused at zero.
  // `card.overdraft_minor` and `card.wallet_ceiling_minor` as for issue_cards.
  virtual Result<CardRecord> create_card_accounts(const NewCard& card) = 0;
  // Writes records outside a posting group (no money moves), all in one
  // synced write or none. A RecordChange::erase removes its key (no error
  // when it is absent); invalid_argument for an erase in the audit trail.
  virtual Status put_records(const std::vector<RecordWrite>& records, const std::vector<CardRecord>& card_updates) = 0;

  // --- reads (any thread) --------------------------------------------------

  virtual std::optional<Account> account(AccountId id) const = 0;
  virtual std::optional<AccountId> named_account(std::string_view name) const = 0;
  virtual Result<CardRecord> card(const CardId& card) const = 0;
  // The card whose wallet or points account this is; not_found otherwise.
  virtual Result<CardRecord> card_of_account(AccountId account) const = 0;
  virtual Result<OperatorRecord> operator_record(OperatorId id) const = 0;
  virtual std::vector<OperatorRecord> operators() const = 0;
  // Transfers touching `account`, newest first, older than `before_sequence`
  // (0 = from the newest), at most `limit` (<= limits::history_page_max).
  virtual Result<HistoryPage> history(AccountId account, std::uint64_t before_sequence, std::size_t limit) const = 0;
  virtual Result<StoredTransfer> transfer_at(std::uint64_t sequence) const = 0;
  // What posted under `key` (duplicate = true, the stored outcome), or
  // nullopt when nothing did. Answered from memory for a key above its
  // source's high-water mark, i.e. for almost every new tap.
  virtual Result<std::optional<GroupOutcome>> posted(const IdempotencyKey& key) const = 0;
  // The highest sequence number posted under (origin, source), 0 if none:
  // a reader's last tap sequence, told to it at hello so a reader that lost
  // its sequence file never reuses a number.
  virtual std::uint64_t highest_sequence(Origin origin, std::uint64_t source) const = 0;
  // The transfers posted under `key`, in leg order; not_found if none.
  virtual Result<std::vector<StoredTransfer>> transfers_for(const IdempotencyKey& key) const = 0;
  virtual Result<std::string> record(RecordSpace space, std::string_view key) const = 0;
  // The last posted sequence (0 for an empty ledger).
  virtual std::uint64_t last_sequence() const = 0;
  virtual std::uint64_t account_count() const = 0;
  // The older format this open upgraded the ledger from (writable opens
  // only; "" when it was current): a build before today's can no longer open it.
  virtual const std::string& upgraded_from() const = 0;

  // A consistent point-in-time view for reports and settlement.
  virtual std::unique_ptr<Snapshot> snapshot() const = 0;

  // Checks every invariant; reads the whole ledger.
  virtual VerifyReport verify() const = 0;

  // The storage's write volume and background work so far (cheap; any thread).
  virtual StorageActivity storage_activity() const = 0;
  // Whether the flushes keep up, now (cheaper than storage_activity(); any thread).
  virtual FlushBacklog flush_backlog() const = 0;
};

class Snapshot {
 public:
  virtual ~Snapshot() = default;
  virtual std::uint64_t last_sequence() const = 0;
  // Calls `visit` for each transfer with sequence in [from, to], in order;
  // stops early when visit returns false.
  virtual Status scan_transfers(std::uint64_t from_sequence, std::uint64_t to_sequence,
                                const std::function<bool(const StoredTransfer&)>& visit) const = 0;
  // Records of one space whose key starts with `prefix`, in key order.
  virtual Status scan_records(RecordSpace space, std::string_view prefix,
                              const std::function<bool(std::string_view key, std::string_view value)>& visit) const = 0;
  // The same from the first key at or after `from` (a key of the space,
  // like those visited; at or before the prefix: from the prefix's start),
  // so that a long scan can stop and carry on in a later call.
  virtual Status scan_records_from(RecordSpace space, std::string_view prefix, std::string_view from,
                                   const std::function<bool(std::string_view key, std::string_view value)>& visit) const = 0;
  // Every issued card (primary and linked media), in card id order; stops
  // early when visit returns false. Corruption names an unreadable record.
  virtual Status scan_cards(const std::function<bool(const CardRecord&)>& visit) const = 0;
  virtual Result<Account> account(AccountId id) const = 0;
  virtual Result<std::string> record(RecordSpace space, std::string_view key) const = 0;
  // The operators registered when the snapshot was taken, by id.
  virtual std::vector<OperatorRecord> operators() const = 0;
  // The transfers posted under `key` by the snapshot, in leg order; not_found if none.
  virtual Result<std::vector<StoredTransfer>> transfers_for(const IdempotencyKey& key) const = 0;
  // The card whose wallet or points account this is; not_found otherwise.
  virtual Result<CardRecord> card_of_account(AccountId account) const = 0;
};

}  // namespace citycard::ledger
