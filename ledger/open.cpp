// Opening a ledger: RocksDB options per column family, error translation,
// format check, and loading the in-memory account table.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <thread>

#include <sys/statvfs.h>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iostats_context.h>
#include <rocksdb/listener.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include "files/durable_file.h"
#include "hashed_memtable.h"
#include "info_log.h"
#include "rocks_ledger.h"

namespace citycard::ledger {

namespace {

const char* const family_names[RocksLedger::family_count] = {
    "default", "accounts", "log", "idempotency", "history", "cards", "records", "card_states"};

rocksdb::CompressionType best_compression() {
  for (auto type : rocksdb::GetSupportedCompressions()) {
    if (type == rocksdb::kLZ4Compression) return type;
  }
  return rocksdb::kSnappyCompression;
}

// Chains hashed on the prefix extractor's prefix (hashed_memtable.h); its
// bucket array (4 bytes a bucket) comes out of the memtable's budget: 1/64 of
// it (64 MiB: 256k buckets).
rocksdb::MemTableRepFactory* hashed_memtable(const Options& options) {
  const std::size_t buckets = std::clamp<std::size_t>(options.write_buffer_bytes / 256, 1024, std::size_t{1} << 22);
  return new_hashed_memtable_factory(buckets);
}

rocksdb::ColumnFamilyOptions family_options(std::size_t index, const Options& options,
                                            const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions family;
  family.write_buffer_size = options.write_buffer_bytes;
  family.max_write_buffer_number = 4;
  family.compression = best_compression();
  family.bottommost_compression = rocksdb::kZSTD;
  family.disable_auto_compactions = !options.background_compactions;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  // Filters and indexes in 4 KiB partitions under a pinned top level, so a
  // lookup reads a partition. Whole, a table of small entries has a large
  // filter (the cards family: 5.2M entries, 6.5 MB), and a 1.3M-card import
  // spent 94% of its time reading and checksumming it again (bench/README.md).
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  switch (index) {
    case RocksLedger::f_idempotency:
      // Looked up only for resends and late uploads below their reader's
      // high-water mark, mostly to find nothing: a whole-key bloom filter in
      // the tables answers those cheaply (not in the memtable: it would cost
      // every insert a cache miss for a rare lookup). Keys of one reader
      // arrive in order, so inserts use the reader (origin + source) as a hint.
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      family.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(9));
      break;
    case RocksLedger::f_log:
      // Appended in key order and read in ranges: one block a batch.
      family.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));
      break;
    case RocksLedger::f_history:
      // Reads are "one account, newest first": prefix = the account id.
      family.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      table.whole_key_filtering = false;
      // Every batch adds an entry for each card it touches: random keys.
      // Hashing on the account keeps an insert at a bucket and a tiny list
      // instead of a search through a skiplist of millions.
      family.memtable_factory.reset(hashed_memtable(options));
      break;
    case RocksLedger::f_cards:
    case RocksLedger::f_records:
      // Point lookups, many for keys that are not there (a card never
      // tapped has no card_state yet): bloom filters in the tables and in
      // the memtable answer those without a search.
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      family.memtable_prefix_bloom_size_ratio = 0.02;
      family.memtable_whole_key_filtering = true;
      if (index == RocksLedger::f_records) {
        // A tap record per tap: space, day, origin, reader, then the
        // reader's sequence (engine/groups/tap_records.h), so one reader's
        // records of a day arrive in order. With space, day, origin and reader
        // (10 bytes) as the hint an insert starts where the reader's last one
        // ended, not at the top of the skiplist. Only a hint: other keys
        // are inserted as before.
        family.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1 + 4 + 1 + 4));
      }
      break;
    case RocksLedger::f_card_states:
      // One write per tap to a random card, read back by point lookup when a
      // card is loaded (or all at once, in total order, when the engine
      // starts): hashed on the whole key (a card id is at most 16 bytes),
      // so a lookup in the memtable is a bucket already, no bloom needed.
      family.prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(CardId::bytes_max));
      family.memtable_factory.reset(hashed_memtable(options));
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      break;
    case RocksLedger::f_accounts:
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      // Checkpoint passes write records in key order (so does creation):
      // each insert starts its search where the last one ended.
      family.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));
      break;
    default:
      break;
  }
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return family;
}

Status translate_open_error(const rocksdb::Status& status, const std::string& path) {
  const std::string& state = status.ToString();
  if (status.IsIOError() && (state.find("lock") != std::string::npos || state.find("LOCK") != std::string::npos)) {
    return Status::busy("ledger at " + path + " is locked by another process (is the engine running?)");
  }
  if (status.IsInvalidArgument() && state.find("does not exist") != std::string::npos) {
    return Status::not_found("no ledger at " + path + " (create one with `citycard --db " + path + " init`)");
  }
  if (status.IsCorruption()) return Status::corruption("ledger at " + path + " is damaged: " + state);
  if (status.IsPathNotFound() || (status.IsIOError() && state.find("No such file") != std::string::npos)) {
    return Status::not_found("no ledger at " + path);
  }
  return Status::io_error("cannot open ledger at " + path + ": " + state);
}

}  // namespace

namespace {

// Keeps RocksDB from recovering from a failed write by itself (a flush on
// its own thread, e.g. once a full disk has room): only Ledger::recover()
// resumes, when the engine asks (the simulator reopens instead).
class NoAutomaticRecovery final : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "NoAutomaticRecovery"; }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status, bool* auto_recovery) override {
    *auto_recovery = false;
  }
};

rocksdb::DBOptions db_options_for(const std::string& directory) {
  rocksdb::DBOptions db_options;
  db_options.max_background_jobs = 2;
  // One writer (the ledger serialises posts); hash-based memtables need this off.
  db_options.allow_concurrent_memtable_write = false;
  db_options.bytes_per_sync = 1u << 20;
  db_options.max_total_wal_size = 512u << 20;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 3;
  // Ours, not RocksDB's: a full disk must not turn a log line into an abort.
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  db_options.info_log = InfoLog::open(directory, db_options.info_log_level);
  // A torn last WAL record after a crash was never acknowledged: drop it.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // After a background error only Ledger::recover() resumes, when the
  // engine asks: RocksDB's own recovery thread could resume writes the
  // ledger's memory no longer matches, and after a failed log write it
  // trips an assertion in RocksDB 7.8 (its WritableFileWriter).
  db_options.listeners.push_back(std::make_shared<NoAutomaticRecovery>());
  db_options.max_bgerror_resume_count = 0;
  return db_options;
}

// Only on the real disk (no test Env given): the deletion pacer deletes on a
// thread of its own, which the deterministic simulator's Env must not have.
void pace_deletions(rocksdb::DBOptions& db_options, const Options& options, const rocksdb::Env* test_env) {
  if (options.delete_bytes_per_s == 0 || options.read_only || test_env != nullptr) return;
  // Trash may reach many times the tables' size before RocksDB deletes at
  // once again: a small ledger's WAL files alone are larger than its tables.
  db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(
      rocksdb::Env::Default(), db_options.info_log, /*trash_dir=*/"",
      static_cast<std::int64_t>(options.delete_bytes_per_s), /*delete_existing_trash=*/true,
      /*status=*/nullptr, /*max_trash_db_ratio=*/16.0, /*bytes_max_delete_chunk=*/8u << 20));
}

std::vector<rocksdb::ColumnFamilyDescriptor> descriptors_for(const Options& options) {
  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::size_t i = 0; i < RocksLedger::family_count; ++i) {
    descriptors.emplace_back(family_names[i], family_options(i, options, cache));
  }
  return descriptors;
}

// Creates a ledger beside `path` and renames it into place, so that a crash
// during creation leaves either no ledger or a complete empty one.
Status create_ledger(const std::string& path, const Options& options, rocksdb::Env* env) {
  namespace fs = std::filesystem;
  std::error_code error;
  const std::string staging = path + ".creating";
  fs::remove_all(staging, error);
  fs::create_directories(fs::path(staging).parent_path().empty() ? fs::path(".") : fs::path(staging).parent_path(), error);
  rocksdb::DBOptions db_options = db_options_for(staging);
  if (env != nullptr) db_options.env = env;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(db_options, staging, descriptors_for(options), &handles, &raw);
  if (!status.ok()) return Status::io_error("cannot create ledger at " + path + ": " + status.ToString());
  rocksdb::WriteOptions write;
  write.sync = true;
  status = raw->Put(write, handles[RocksLedger::f_default], encoding::format_key, encoding::format_value);
  for (auto* handle : handles) raw->DestroyColumnFamilyHandle(handle);
  rocksdb::Status closed = raw->Close();
  delete raw;
  if (!status.ok() || !closed.ok()) {
    return Status::io_error("cannot create ledger at " + path + ": " + (status.ok() ? closed : status).ToString());
  }
  // rename(2) replaces an empty directory, so `mkdir var` before init is fine.
  fs::rename(staging, path, error);
  if (error) return Status::io_error("cannot create ledger at " + path + ": " + error.message());
  // Until the parent directory is synced, a crash could lose the rename and
  // with it a ledger that `citycard init` reported made.
  fs::path ledger_dir = fs::absolute(fs::path(path)).lexically_normal();
  if (!ledger_dir.has_filename()) ledger_dir = ledger_dir.parent_path();  // "var/ledger/"
  return files::sync_directory(ledger_dir.parent_path());
}

// A file the open was told of and did not find.
bool names_missing_file(const rocksdb::Status& status) {
  return (status.IsCorruption() || status.IsIOError() || status.IsPathNotFound()) &&
         status.ToString().find("No such file or directory") != std::string::npos;
}

// A read-only open of a ledger the running engine writes (the CLI's reads)
// reads the list of files, then opens them; a flush or compaction may delete
// one in between. Read the list again: a file that stays missing is damage.
constexpr int read_only_open_attempts = 50;
constexpr std::chrono::milliseconds read_only_open_retry_wait{20};

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::open(const std::string& path, const Options& options) {
  return open_with_env(path, options, nullptr);
}

Result<std::unique_ptr<Ledger>> open_with_env(const std::string& path, const Options& options, rocksdb::Env* env) {
  std::error_code error;
  bool exists = std::filesystem::exists(std::filesystem::path(path) / "CURRENT", error);
  if (!exists && (!options.create_if_missing || options.read_only)) {
    return Status::not_found("no ledger at " + path + " (create one with `citycard --db " + path + " init`)");
  }
  if (!exists) {
    if (Status created = create_ledger(path, options, env); !created) return created;
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::DBOptions db_options = db_options_for(path);
  if (env != nullptr) db_options.env = env;
  pace_deletions(db_options, options, env);
  // Compactions can wait; a tap's commit and its rating cannot. On a busy
  // machine they run niced, so they take idle time, not a decision's.
  // (Flushes keep their priority: a memtable that cannot flush stalls writes.)
  db_options.env->LowerThreadPoolCPUPriority(rocksdb::Env::LOW, rocksdb::CpuPriority::kLow).PermitUncheckedError();
  auto storage_listener = std::make_shared<StorageListener>();
  db_options.listeners.push_back(storage_listener);
  auto descriptors = descriptors_for(options);
  rocksdb::Status status;
  for (int attempt = 1;; ++attempt) {
    handles.clear();
    status = options.read_only ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw)
                               : rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
    if (status.ok() || !options.read_only || attempt == read_only_open_attempts || !names_missing_file(status)) break;
    std::this_thread::sleep_for(read_only_open_retry_wait);
  }
  if (!status.ok()) return translate_open_error(status, path);
  std::unique_ptr<rocksdb::DB> db(raw);

  std::string format;
  status = db->Get(rocksdb::ReadOptions(), handles[RocksLedger::f_default], encoding::format_key, &format);
  const bool upgradable = status.ok() && std::find(encoding::format_values_upgradable.begin(),
                                                    encoding::format_values_upgradable.end(),
                                                    format) != encoding::format_values_upgradable.end();
  if (!status.ok() || (format != encoding::format_value && !upgradable)) {
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    return Status::corruption("ledger at " + path + " has format '" + format + "', expected '" +
                              std::string(encoding::format_value) + "'");
  }
  if (upgradable && !options.read_only) {
    rocksdb::WriteOptions synced;
    synced.sync = true;
    status = db->Put(synced, handles[RocksLedger::f_default], encoding::format_key, encoding::format_value);
    if (!status.ok()) {
      for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
      return Status::io_error("cannot upgrade ledger at " + path + " to " + std::string(encoding::format_value) + ": " +
                              status.ToString());
    }
  }

  auto ledger = std::make_unique<RocksLedger>(path, std::move(db), std::move(handles), options,
                                              std::move(storage_listener));
  if (Status loaded = ledger->load(); !loaded) return loaded;
  if (upgradable && !options.read_only) ledger->set_upgraded_from(format);
  return std::unique_ptr<Ledger>(std::move(ledger));
}

RocksLedger::RocksLedger(std::string path, std::unique_ptr<rocksdb::DB> db,
                         std::vector<rocksdb::ColumnFamilyHandle*> families, const Options& options,
                         std::shared_ptr<StorageListener> storage_listener)
    : path_(std::move(path)),
      db_(std::move(db)),
      families_(std::move(families)),
      options_(options),
      storage_listener_(std::move(storage_listener)) {
  if (options_.free_bytes_min == 0) options_.free_bytes_min = 4 * static_cast<std::uint64_t>(options_.write_buffer_bytes);
}

RocksLedger::~RocksLedger() {
  if (!options_.read_only) {
    auto write_lock = quiesce();
    // A clean close leaves nothing to replay; if it fails, open() replays.
    // Not after a failed commit: the writer's view holds the voided
    // batches' balances, which must never reach the disk.
    if (!poisoned_) {
      Status ignored = write_full_checkpoint();
      (void)ignored;
    }
  }
  for (auto* handle : families_) db_->DestroyColumnFamilyHandle(handle);
  if (!options_.read_only) db_->Close().PermitUncheckedError();
}

Status RocksLedger::load() {
  std::lock_guard prepare_lock(prepare_mutex_);
  std::lock_guard lock(mutex_);
  return load_locked();
}

Status RocksLedger::load_locked() {
  // Everything derived from the disk starts again from nothing: recover()
  // loads over a view that voided batches had moved ahead.
  accounts_.assign(1, AccountState{});
  names_.clear();
  high_water_.clear();
  sources_.clear();
  last_sequence_ = 0;
  audit_next_ = 1;
  audit_head_ = AuditHash{};
  checkpoint_pass_.clear();
  checkpoint_sequence_ = 0;
  transfers_since_checkpoint_ = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family(f_accounts)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 8) return Status::corruption("account key of " + std::to_string(it->key().size()) + " bytes");
    std::uint64_t id = coding::load_be<std::uint64_t>(it->key().data());
    auto stored = encoding::decode_account(it->value().ToStringView());
    if (!stored) return Status::corruption("account " + std::to_string(id) + " is unreadable");
    if (id == 0 || id > 1'000'000'000) return Status::corruption("account id " + std::to_string(id) + " out of range");
    if (accounts_.size() <= id) accounts_.resize(id + 1);
    accounts_[id].stored = *stored;
    accounts_[id].exists = true;
  }
  if (!it->status().ok()) return Status::io_error("reading accounts: " + it->status().ToString());

  std::unique_ptr<rocksdb::Iterator> names(db_->NewIterator(rocksdb::ReadOptions(), family(f_records)));
  std::string prefix = encoding::record_key(static_cast<std::uint8_t>(RecordSpace::names), "");
  for (names->Seek(prefix); names->Valid() && names->key().starts_with(prefix); names->Next()) {
    if (names->value().size() != 8) return Status::corruption("account name entry is unreadable");
    names_.emplace(names->key().ToString().substr(1), AccountId{coding::load_be<std::uint64_t>(names->value().data())});
  }

  std::unique_ptr<rocksdb::Iterator> marks(db_->NewIterator(rocksdb::ReadOptions(), family(f_default)));
  for (marks->Seek("H"); marks->Valid() && marks->key().starts_with("H"); marks->Next()) {
    if (marks->key().size() != 10 || marks->value().size() != 8) return Status::corruption("high-water mark is unreadable");
    auto origin = static_cast<Origin>(marks->key()[1]);
    high_water_[SourceKey{origin, coding::load_be<std::uint64_t>(marks->key().data() + 2)}] = coding::load_be<std::uint64_t>(marks->value().data());
  }
  if (!marks->status().ok()) return Status::io_error("reading high-water marks: " + marks->status().ToString());
  std::unordered_map<SourceKey, std::uint64_t, SourceHash> marks_written = high_water_;
  if (Status raised = raise_marks_to_idempotency_keys(); !raised) return raised;
  if (Status head = load_audit_head(); !head) return head;

  std::uint64_t replay_from = 0;
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), family(f_default), encoding::replay_from_key, &value);
  if (status.ok() && value.size() == 8) replay_from = coding::load_be<std::uint64_t>(value.data());
  else if (!status.IsNotFound()) return Status::corruption("replay mark is unreadable");

  // Replay the log after the checkpoint into memory; a record already
  // current to a transfer's sequence (applied_through) skips it.
  std::unique_ptr<rocksdb::Iterator> log(db_->NewIterator(rocksdb::ReadOptions(), family(f_log)));
  log->SeekForPrev(encoding::sequence_key(std::max<std::uint64_t>(replay_from, 1)));
  if (!log->Valid()) log->SeekToFirst();
  std::uint64_t expected = 0;
  for (; log->Valid(); log->Next()) {
    if (log->key().size() != 8) return Status::corruption("log key of unexpected size");
    const std::uint64_t first = coding::load_be<std::uint64_t>(log->key().data());
    auto block = encoding::BlockReader::open(log->value().ToStringView());
    if (!block) return Status::corruption("log block at " + std::to_string(first) + " is unreadable");
    const std::uint32_t count = block->count();
    if (expected != 0 && first != expected) {
      return Status::corruption("log jumps from " + std::to_string(expected - 1) + " to " + std::to_string(first));
    }
    expected = first + count;
    if (first + count - 1 <= replay_from) continue;
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::uint64_t sequence = first + i;
      auto decoded = block->at(i);
      if (!decoded) return Status::corruption("transfer " + std::to_string(sequence) + " is unreadable");
      const Transfer& transfer = decoded->transfer;
      for (int side = 0; side < 2; ++side) {
        const std::uint64_t id = side == 0 ? transfer.debit_account.value : transfer.credit_account.value;
        if (id >= accounts_.size() || !accounts_[id].exists) {
          return Status::corruption("transfer " + std::to_string(sequence) + " names missing account " + std::to_string(id));
        }
        auto& stored = accounts_[id].stored;
        if (sequence <= stored.applied_through) continue;
        if (side == 0) {
          stored.balance_minor -= transfer.amount_minor;
          stored.debits_posted_minor += transfer.amount_minor;
        } else {
          stored.balance_minor += transfer.amount_minor;
          stored.credits_posted_minor += transfer.amount_minor;
        }
        stored.transfer_count += 1;
        mark_changed(id);
      }
      ++transfers_since_checkpoint_;
    }
  }
  if (!log->status().ok()) return Status::io_error("reading the log: " + log->status().ToString());

  std::unique_ptr<rocksdb::Iterator> last(db_->NewIterator(rocksdb::ReadOptions(), family(f_log)));
  last->SeekToLast();
  if (last->Valid()) {
    auto count = encoding::block_count(last->value().ToStringView());
    if (last->key().size() != 8 || !count) return Status::corruption("last log block is unreadable");
    last_sequence_ = coding::load_be<std::uint64_t>(last->key().data()) + *count - 1;
  }
  // Nothing is prepared yet: the writer's view is what is on disk.
  for (AccountState& state : accounts_) state.latest = state.stored;
  for (const auto& [source, mark] : high_water_) {
    sources_[source].window = SequenceWindow(mark);
    sources_[source].mark_written = marks_written[source];
  }
  prepared_sequence_ = last_sequence_;
  return Status::ok();
}

Status RocksLedger::raise_marks_to_idempotency_keys() {
  // A source's keys sort by sequence under its 17-byte group key prefix, so
  // its highest posted sequence is the last key at or below (source, max).
  std::unique_ptr<rocksdb::Iterator> keys(db_->NewIterator(rocksdb::ReadOptions(), family(f_idempotency)));
  for (auto& [source, mark] : high_water_) {
    const std::string last_possible =
        encoding::group_key(IdempotencyKey{source.origin, source.source, std::numeric_limits<std::uint64_t>::max()});
    keys->SeekForPrev(last_possible);
    if (!keys->Valid()) continue;
    const rocksdb::Slice key = keys->key();
    if (key.size() != encoding::group_key_bytes || std::memcmp(key.data(), last_possible.data(), 9) != 0) continue;
    mark = std::max(mark, coding::load_be<std::uint64_t>(key.data() + 9));
  }
  if (!keys->status().ok()) return Status::io_error("reading idempotency keys: " + keys->status().ToString());
  return Status::ok();
}

Status RocksLedger::check_writable() const {
  if (options_.read_only) return Status::invalid_argument("ledger is open read-only");
  if (poisoned_) return Status::io_error("an earlier ledger write failed; reopen the ledger");
  return Status::ok();
}

Status RocksLedger::check_room() const {
  struct statvfs info {};
  if (::statvfs(path_.c_str(), &info) != 0) return Status::ok();  // cannot tell: RocksDB's write will
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
  if (free_bytes >= options_.free_bytes_min) return Status::ok();
  return Status::io_error("no space left on device for the ledger: " + std::to_string(free_bytes) + " bytes free on " +
                          path_ + "'s filesystem, less than free_bytes_min " + std::to_string(options_.free_bytes_min) +
                          " (nothing written)");
}

Status RocksLedger::write_synced(rocksdb::WriteBatch& batch) {
  if (Status room = check_room(); !room) return room;
  rocksdb::WriteOptions write;
  write.sync = true;  // acknowledged only once durable
  const std::size_t bytes = batch.GetDataSize();
  // RocksDB's own timers for this thread's write: where a slow one went.
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableTimeExceptForMutex);
  rocksdb::get_perf_context()->Reset();
  rocksdb::get_iostats_context()->Reset();
  const auto started = std::chrono::steady_clock::now();
  rocksdb::Status status = db_->Write(write, &batch);
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  count_write_time(std::chrono::steady_clock::now() - started);
  if (!status.ok()) {
    // Failed in the log itself or refused for a flush's background error:
    // RocksDB does not say which, so both are taken for the first, whose
    // cure is a reopen. check_room's margin keeps either rare.
    log_write_failed_ = true;
    return Status::io_error("ledger write failed: " + status.ToString());
  }
  synced_writes_.fetch_add(1, std::memory_order_relaxed);
  log_bytes_written_.fetch_add(bytes, std::memory_order_relaxed);
  return Status::ok();
}

void RocksLedger::count_write_time(std::chrono::steady_clock::duration elapsed) {
  const auto micros = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
  const std::uint64_t sync_micros = rocksdb::get_iostats_context()->fsync_nanos / 1000;
  write_micros_.fetch_add(micros, std::memory_order_relaxed);
  log_sync_micros_.fetch_add(sync_micros, std::memory_order_relaxed);
  if (micros < slow_write_micros) return;
  // Slow: the log's sync (the disk), or the rest (memtable inserts, a
  // stall, the CPU): the two causes ask different things of an operator.
  (sync_micros * 2 >= micros ? slow_writes_in_sync_ : slow_writes_elsewhere_).fetch_add(1, std::memory_order_relaxed);
}

}  // namespace citycard::ledger
