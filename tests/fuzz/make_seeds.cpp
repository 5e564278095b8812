// Writes the seed corpora in tests/fuzz/corpus/<harness>/ from real encodings: the
// same encoders, writers and card application the system runs, fixed values,
// no clock and no randomness, so the same source gives the same bytes.
//
//   fuzz_make_seeds SOURCE_DIR OUT_DIR     (scripts/fuzz.sh --seeds runs it on tests/fuzz/corpus)
//
// Each seed is named for what it holds. A harness's input layout is at the
// top of its own file (tests/fuzz/<harness>_fuzzer.cpp).
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "approvals.h"
#include "atc_window.h"
#include "audit_entry.h"
#include "card/apdu.h"
#include "card/card_protocol.h"
#include "card/cryptogram.h"
#include "card_application.h"
#include "card_state_codec.h"
#include "decision_codec.h"
#include "file_io.h"
#include "journal.h"
#include "ledger/audit_chain.h"
#include "ledger/encoding.h"
#include "ledger/readers.h"
#include "protocol/codec.h"
#include "session/reader_session.h"
#include "settlement/ack.h"
#include "settlement/batch_file.h"
#include "settlement/records.h"
#include "tap_adjustments.h"

namespace {

using namespace citycard;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

fs::path out_root;

void write(const std::string& harness, const std::string& name, const void* data, std::size_t size) {
  const fs::path dir = out_root / harness;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::fprintf(stderr, "fuzz_make_seeds: cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
}
void write(const std::string& harness, const std::string& name, const std::string& text) {
  write(harness, name, text.data(), text.size());
}
void write(const std::string& harness, const std::string& name, const Bytes& bytes) {
  write(harness, name, bytes.data(), bytes.size());
}
// kind:u8 then the value, for the harnesses that pick a decoder by the first byte.
void write_kind(const std::string& harness, const std::string& name, std::uint8_t kind, const std::string& value) {
  write(harness, name, std::string(1, static_cast<char>(kind)) + value);
}

template <typename T>
T need(Result<T> result, const char* what) {
  if (!result) {
    std::fprintf(stderr, "fuzz_make_seeds: %s: %s\n", what, result.status().message().c_str());
    std::exit(1);
  }
  return std::move(*result);
}

const CardId card_id = *CardId::parse("04A1B2C3D4E5F6");

Tap sample_tap(std::uint64_t sequence, Mode mode, bool offline) {
  Tap tap;
  tap.id = TapId{ReaderId{17}, sequence};
  tap.card = card_id;
  tap.media = Media::physical_card;
  tap.event_time = EventTime{1'795'651'200'000'000 + static_cast<std::int64_t>(sequence) * 60'000'000};
  tap.mode = mode;
  tap.operator_id = OperatorId{101};
  tap.route = 307;
  tap.location = 12;
  tap.offline = offline;
  return tap;
}

card::MasterKey master() { return card::MasterKey{*card::parse_key_hex("000102030405060708090A0B0C0D0E0F"), 1}; }

emulator::CardProfile genuine_profile() {
  emulator::CardProfile profile;
  profile.uid = *card::parse_hex("04A1B2C3D4E5F6");
  profile.record.card_id = card_id;
  profile.record.category = RiderCategory::student;
  profile.key = card::diversify_card_key(master(), card_id);
  profile.atc = 41;
  return profile;
}

const card::Challenge challenge{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

card::TapProof sample_proof(const Tap& tap) {
  const emulator::CardProfile profile = genuine_profile();
  card::TapProof proof{profile.record, profile.atc + 1, challenge, {}};
  proof.cryptogram = need(card::compute_cryptogram(profile.key, profile.record, proof.atc, challenge, tap), "cryptogram");
  return proof;
}

// ---- protocol_frame: whole frames, and type byte + payload ------------------

void protocol_frames() {
  using namespace protocol;
  std::vector<std::pair<std::string, Message>> messages;
  messages.emplace_back("hello", Hello{1, 1, ReaderId{17}, "citycard-reader/0.1"});
  messages.emplace_back("hello_ack", HelloAck{1, 15'000, 64, 4, 7, 5000});
  TapBatch batch{42, {}};
  for (bool offline : {false, true}) {
    TapRecord record{sample_tap(5000 + (offline ? 1 : 0), Mode::bus_board, offline), {}};
    const Bytes proof = card::encode_proof(sample_proof(record.tap));
    std::copy(proof.begin(), proof.end(), record.cryptogram.bytes.begin());
    record.cryptogram.size = static_cast<std::uint8_t>(proof.size());
    batch.taps.push_back(record);
  }
  messages.emplace_back("tap_batch", batch);
  Decisions decisions{42, {}};
  decisions.decisions.push_back({TapId{ReaderId{17}, 5000}, Outcome::approved, RefusalReason::none, 15, 985, 100, 0});
  decisions.decisions.push_back({TapId{ReaderId{17}, 5001}, Outcome::refused, RefusalReason::insufficient_points, 0, 985,
                                 100, DecisionFlags::deny_listed});
  messages.emplace_back("decisions", decisions);
  messages.emplace_back("retry_later", RetryLater{42, 250, RetryReason::engine_busy});
  messages.emplace_back("deny_list_request", DenyListRequest{7, 0, {}});
  messages.emplace_back("deny_list_request_continued", DenyListRequest{0, 9, card_id});
  messages.emplace_back("deny_list_delta", DenyListDelta{7, 9, 0, {card_id}, {*CardId::parse("04FFEE")}});
  messages.emplace_back("deny_list_snapshot",
                        DenyListDelta{0, 9, DenyListDelta::flag_full | DenyListDelta::flag_more, {card_id}, {}});
  messages.emplace_back("deny_list_page", DenyListDelta{0, 9, DenyListDelta::flag_page, {*CardId::parse("05AA")}, {}});
  messages.emplace_back("heartbeat", Heartbeat{0x1122334455667788});
  messages.emplace_back("error", ErrorFrame{ErrorCode::reader_mismatch, "reader 18 is not the certificate's 17"});
  for (const auto& [name, message] : messages) {
    auto encoded = encode(message);
    if (!encoded) {
      std::fprintf(stderr, "fuzz_make_seeds: %s: %s\n", name.c_str(), encoded.error().message.c_str());
      std::exit(1);
    }
    const Bytes& frame = encoded.value();
    write("protocol_frame", name + ".frame", frame);
    Bytes wrapped{static_cast<std::uint8_t>(static_cast<int>(frame_type_of(message)) - 1)};
    wrapped.insert(wrapped.end(), frame.begin() + header_bytes, frame.end());
    write("protocol_frame", name + ".payload", wrapped);
  }
}

// ---- card_state ---------------------------------------------------------------

void card_states() {
  using namespace rules;
  CardState empty;
  write("card_state", "empty.v3", encode_card_state(empty));
  CardState rider;
  rider.category = RiderCategory::student;
  rider.wallet_minor = 985;
  rider.points = 120;
  rider.points_month = 2026 * 12 + 10;
  rider.visits_month = rider.points_month;
  rider.visits = {1, 0, 3};
  rider.recent_legs[3] = LegMemory{1, 0, 0, 1'795'651'200'000'000, 1'795'652'100'000'000, 15, 15, 0, false, false};
  rider.recent_legs[2] = LegMemory{1, 1, 1, 1'795'640'000'000'000, 1'795'641'000'000'000, 20, 35, 1, true, true};
  rider.bus = OpenJourney{true, OperatorId{104}, 307, 12, 1'795'651'200'000'000, 15, 3, 15, {0, no_index, true, -5, 2}};
  rider.bike = OpenRental{true, OperatorId{301}, 88, 1'795'651'300'000'000};
  rider.cap_days[0] = CapDay{20'418, 60};
  rider.cap_months[0] = CapMonth{2026 * 12 + 10, 1'200};
  rider.auto_top_up_enabled = true;
  rider.auto_top_up_amount_minor = 500;
  rider.bus.programme_paid_minor[programme_index(Programme::category_fare)] = 3;
  write("card_state", "rider.v3", encode_card_state(rider));
  write("card_state", "rider.v2", codec::encode_card_state_v2(rider));
  write("card_state", "rider.v1", codec::encode_card_state_v1(rider));
  CardState debt = empty;
  debt.status = CardStatus::blocked;
  debt.media = Media::co_branded_credit;
  debt.wallet_minor = -480;
  debt.metro = OpenJourney{true, OperatorId{201}, 1, 4, 1'795'651'200'000'000, 65, 0, 20, {}};
  write("card_state", "debt.v3", encode_card_state(debt));
}

// ---- rule_set: the shipped rule file and a small one ----------------------------

void rule_sets(const fs::path& source) {
  std::ifstream in(source / "rules" / "city.toml", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    std::fprintf(stderr, "fuzz_make_seeds: cannot read rules/city.toml under %s\n", source.c_str());
    std::exit(1);
  }
  write("rule_set", "city.toml", text.str());
  write("rule_set", "small.toml", R"(version = 3
utc_offset = "+08:00"
effective_from = "2027-01-01"

[[operators]]
id = 101
name = "Bus"
kind = "bus"

[[networks]]
id = "bus"
kind = "bus"
operators = [101]
fare_collection = "on_board"

[[fare_products]]
id = "bus_flat"
prices = [{ amount_minor = 15 }, { category = "student", amount_minor = 12 }]

[[leg_rules]]
leg_group = "bus"
network = "bus"
fare_product = "bus_flat"
)");
}

// ---- ledger_records: kind byte + a value of that kind ------------------------------

void ledger_records() {
  namespace enc = ledger::encoding;
  const std::string h = "ledger_records";
  enc::StoredAccount account;
  account.spec.kind = AccountKind::card_wallet;
  account.spec.balance_ceiling_minor = 10'000;
  account.spec.owner = 7;
  account.balance_minor = 985;
  account.credits_posted_minor = 1'000;
  account.debits_posted_minor = 15;
  account.transfer_count = 2;
  account.applied_through = 41;
  write_kind(h, "account", 0, enc::encode_account(account));
  std::string fixed_account;  // format 1, as ledgers before format 5 hold it
  coding::put_le<std::uint8_t>(fixed_account, static_cast<std::uint8_t>(account.spec.kind));
  coding::put_le<std::uint8_t>(fixed_account, static_cast<std::uint8_t>(account.spec.asset));
  for (std::int64_t field : {account.spec.balance_floor_minor, account.spec.balance_ceiling_minor}) {
    coding::put_le<std::int64_t>(fixed_account, field);
  }
  coding::put_le<std::uint64_t>(fixed_account, account.spec.owner);
  for (std::int64_t field : {account.balance_minor, account.debits_posted_minor, account.credits_posted_minor}) {
    coding::put_le<std::int64_t>(fixed_account, field);
  }
  coding::put_le<std::uint64_t>(fixed_account, account.transfer_count);
  coding::put_le<std::uint64_t>(fixed_account, account.applied_through);
  write_kind(h, "account_fixed", 0, fixed_account);

  Transfer transfer;
  transfer.debit_account = AccountId{7};
  transfer.credit_account = AccountId{3};
  transfer.amount_minor = 15;
  transfer.code = TransferCode::fare;
  transfer.flags = transfer_flag_offline;
  transfer.rule_set_version = 1;
  transfer.event_time = EventTime{1'795'651'200'000'000};
  transfer.mode = Mode::bus_board;
  transfer.operator_id = OperatorId{101};
  transfer.route = 307;
  transfer.location = 12;
  const IdempotencyKey tap_key = IdempotencyKey::for_tap(TapId{ReaderId{17}, 5000});
  std::string one;
  enc::encode_fixed_transfer(one, tap_key, 0, transfer);
  write_kind(h, "transfer", 1, one);

  Transfer subsidy = transfer;
  subsidy.code = TransferCode::subsidy;
  subsidy.debit_account = AccountId{5};
  std::string fixed_block;
  coding::put_le<std::uint32_t>(fixed_block, 2);
  enc::encode_fixed_transfer(fixed_block, tap_key, 0, transfer);
  enc::encode_fixed_transfer(fixed_block, tap_key, 1, subsidy);
  write_kind(h, "log_block_fixed", 2, fixed_block);
  enc::BlockWriter block;
  for (std::uint32_t i = 0; i < 20; ++i) {  // past one skip stride
    const IdempotencyKey key = IdempotencyKey::for_tap(TapId{ReaderId{17}, 5000 + i / 2});
    block.add(key, i % 2, i % 2 == 0 ? transfer : subsidy);
  }
  write_kind(h, "log_block", 2, block.finish());

  const std::string decision =
      engine::encode_decision({TapId{ReaderId{17}, 5000}, protocol::Outcome::approved, RefusalReason::none, 15, 985, 100, 0});
  write_kind(h, "idempotency", 3, enc::encode_idempotency(41, 2, decision));

  CardRecord card;
  card.card = card_id;
  card.wallet_account = AccountId{7};
  card.points_account = AccountId{8};
  card.category = RiderCategory::student;
  card.linked_to = *CardId::parse("04FFEE");
  write_kind(h, "card", 4, enc::encode_card(card));
  write_kind(h, "group_key", 5, enc::group_key(IdempotencyKey{Origin::operator_action, 3, 99}));

  ReaderRecord reader;
  reader.id = ReaderId{17};
  reader.operator_id = OperatorId{101};
  reader.modes = mode_bit(Mode::bus_board) | mode_bit(Mode::bus_alight);
  reader.offline_max_minor = 2'000;
  write_kind(h, "reader", 6, ledger::encode_reader(reader));

  engine::AuditEntry entry;
  entry.ref = "op:3:99";
  entry.time = EventTime{1'795'651'200'000'000};
  entry.clerk = "mei";
  entry.role = "clerk";
  entry.action = "refund";
  entry.card = card_id.to_string();
  entry.amount_minor = 2'500;
  entry.reason = "double charge";
  entry.outcome = "pending";
  const std::string body = engine::audit_record(entry).value;
  write_kind(h, "audit_link", 7, ledger::encode_audit_link(ledger::make_audit_link(1, {}, entry.ref, body)));
  write_kind(h, "decision", 8,
             engine::encode_decision({TapId{ReaderId{17}, 5001}, protocol::Outcome::refused,
                                      RefusalReason::insufficient_points, 0, -20, 0, protocol::DecisionFlags::debt},
                                     true));
  // Format 1, as ledgers written before format 2 hold it (decision_codec.h).
  const unsigned char fixed_decision[] = {0x01, 0x11, 0x00, 0x00, 0x00, 0x89, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02,
                                          0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xec, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0x00, 0x00, 0x22, 0x7b, 0x72, 0x7f, 0x6e, 0x22, 0x0a};
  write_kind(h, "decision_fixed", 8, std::string(reinterpret_cast<const char*>(fixed_decision), sizeof fixed_decision));

  engine::Approval approval;
  approval.ref = IdempotencyKey{Origin::operator_action, 3, 99};
  approval.card = card_id;
  approval.amount_minor = 2'500;
  approval.asked_at = EventTime{1'795'651'200'000'000};
  approval.clerk = "mei";
  approval.role = "supervisor";
  approval.reason = "double charge";
  write_kind(h, "approval", 9, engine::encode_approval(approval));

  engine::AtcWindow window;
  window.accept(42);
  window.accept(40);
  window.accept(300);
  write_kind(h, "atc_window", 10, window.encode());
  write_kind(h, "atc_window_old", 10, std::string("\x2a\0\0\0", 4));
  write_kind(h, "audit_entry", 11, body);
  write_kind(h, "audit_entry_text", 11, "topped up 500 at the counter");

  settlement::CloseRecord close;
  close.day = *settlement::BusinessDay::parse("2026-11-20");
  close.created_at = EventTime{1'795'651'200'000'000};
  close.to_sequence = 41;
  close.next_from_sequence = 42;
  close.transfers_scanned = 41;
  write_kind(h, "settlement_close", 12, settlement::encode(close));
  settlement::BatchRecord batch;
  batch.day = close.day;
  batch.operator_id = OperatorId{101};
  batch.operator_name = "Capital Bus";
  batch.file_name = settlement::batch_file_name(batch.day, batch.operator_id, 1);
  batch.file_sha256 = std::string(64, 'a');
  batch.totals.lines = 2;
  batch.totals.rider_fare_minor = 27;
  batch.totals.total_minor = 27;
  write_kind(h, "settlement_batch", 13, settlement::encode(batch));
  write_kind(h, "settlement_held", 14, settlement::encode(settlement::HeldLine{"tap:17:5000", 2, "R01 unknown card"}));
  write_kind(h, "card_id_text", 15, card_id.to_string());
  write_kind(h, "reference_text", 15, "apv:3:99");
  engine::TapAdjusted adjusted;
  adjusted.of(OperatorId{101}).credited_minor = 15;
  adjusted.of(OperatorId{104}).debited_minor = 3;
  write_kind(h, "tap_adjusted", 16, engine::encode_tap_adjusted(adjusted));
  write_kind(h, "tap_reference", 16, "17:5000");
}

// ---- card_application: the reader's commands, each length:u8 bytes ------------------

Bytes length_prefixed(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const Bytes& part : parts) {
    out.push_back(static_cast<std::uint8_t>(part.size()));
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

Bytes command(const card::CommandApdu& apdu) { return need(card::encode_command(apdu), "command"); }

void card_application() {
  const Tap tap = sample_tap(5000, Mode::bus_board, false);
  const std::vector<Bytes> tap_commands = {command(card::get_uid_command()), command(card::select_command()),
                                           command(card::read_data_command()),
                                           command(card::internal_authenticate_command(challenge, tap))};
  write("card_application", "tap", length_prefixed(tap_commands));
  std::vector<Bytes> retried = tap_commands;
  retried.push_back(command(card::internal_authenticate_command(challenge, sample_tap(5000, Mode::bus_board, true))));
  write("card_application", "tap_and_offline_retry", length_prefixed(retried));
  write("card_application", "read_before_select", length_prefixed({command(card::read_data_command())}));
}

// ---- reader_session: a real card's answers to a real session, each length:u8 bytes ----

class RecordingTransport final : public card::CardTransport {
 public:
  explicit RecordingTransport(emulator::CardApplication& card) : card_(card) {}
  Result<Bytes> transmit(card::ByteView command) override {
    Bytes answer = card_.process(command);
    answers.push_back(answer);
    return answer;
  }
  std::vector<Bytes> answers;

 private:
  emulator::CardApplication& card_;
};

void reader_session() {
  card::MasterKeySource keys(master());
  emulator::CardApplication card(genuine_profile());
  RecordingTransport transport(card);
  const auto first = need(card::run_reader_session(transport, keys, sample_tap(5000, Mode::bus_board, false), challenge),
                          "reader session");
  write("reader_session", "genuine_card", length_prefixed(transport.answers));
  const card::Challenge second{16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  need(card::authenticate_again(transport, keys, first, sample_tap(5000, Mode::bus_board, true), second), "again");
  write("reader_session", "genuine_card_offline_retry", length_prefixed(transport.answers));

  emulator::CardProfile clone = genuine_profile();
  clone.key = card::CardKey{};
  emulator::CardApplication clone_card(clone);
  RecordingTransport clone_transport(clone_card);
  need(card::run_reader_session(clone_transport, keys, sample_tap(5001, Mode::bus_board, false), challenge), "clone");
  write("reader_session", "clone_card", length_prefixed(clone_transport.answers));
}

// ---- reader_journal: options:u8 then a journal the agent wrote, after its magic ---------

void reader_journal() {
  char pattern[] = "/tmp/citycard-seeds-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) {
    std::perror("fuzz_make_seeds: mkdtemp");
    std::exit(1);
  }
  const std::string path = std::string(pattern) + "/queue.ccq";
  {
    auto journal = need(agent::Journal::open(path), "journal");
    for (std::uint64_t sequence = 5000; sequence < 5003; ++sequence) {
      agent::QueuedTap queued{sample_tap(sequence, Mode::bus_board, true), {}};
      queued.proof = sample_proof(queued.tap);
      if (Status appended = journal.append(queued); !appended) need(Result<int>(appended), "append");
    }
    const std::uint64_t acknowledged[] = {5001};
    if (Status acked = journal.acknowledge(acknowledged); !acked) need(Result<int>(acked), "acknowledge");
  }
  const Bytes file = *need(agent::read_file(path), "read journal");
  fs::remove_all(pattern);
  Bytes seed{0};
  seed.insert(seed.end(), file.begin() + 4, file.end());
  write("reader_journal", "three_taps_one_acknowledged", seed);
  seed.resize(seed.size() - 7);  // torn by a crash in the middle of the last record
  write("reader_journal", "torn_tail", seed);
}

// ---- settlement_batch_file and settlement_ack: files as the writers write them ----------

void settlement_files() {
  using namespace settlement;
  const DayConfig config;
  BatchHeader header;
  header.operator_id = OperatorId{101};
  header.operator_name = "Capital Bus, \"the blue one\"";
  header.day = *BusinessDay::parse("2026-11-20");
  header.created_at = EventTime{1'795'651'200'000'000};
  header.period_start = day_start(header.day, config);
  header.period_end = day_start(header.day.next(), config);
  header.rule_set_versions = "1;2";
  header.signing_key_id = "settle-2026";
  header.token_key_id = "token-1";
  std::string file = format_header(header, config);
  BatchTotals totals;
  BatchLine fare{"tap:17:5000", std::string(32, 'C'), EventTime{1'795'651'200'000'000}, Mode::bus_board, 307, 12, 12, 3,
                 0, 0, 0, 0};
  fare.programme_minor[programme_index(Programme::category_fare)] = 3;
  BatchLine late{"tap:17:5001", "", EventTime{1'795'640'000'000'000}, Mode::metro_out, 1, 4, -5, 0, 2, 2, -1,
                 transfer_flag_late | transfer_flag_offline};
  late.programme_minor[programme_index(Programme::welfare_points)] = 2;
  std::uint64_t number = 0;
  for (const BatchLine& line : {fare, late}) {
    file += format_line(++number, line, config);
    totals.add(line);
  }
  file += format_trailer(totals);
  write("settlement_batch_file", "two_lines.csv", file);
  write("settlement_batch_file", "empty_day.csv", format_header(header, config) + format_trailer(BatchTotals{}));

  Ack accepted;
  accepted.operator_id = 101;
  accepted.day = header.day;
  accepted.sequence = 1;
  accepted.file_sha256 = std::string(64, 'a');
  accepted.accepted = true;
  accepted.acknowledged_at = EventTime{1'795'700'000'000'000};
  write("settlement_ack", "accepted.ack", format_ack(accepted, config));
  Ack rejected = accepted;
  rejected.accepted = false;
  rejected.items.push_back({false, 2, "tap:17:5001", "R07", "fare, \"late\" and unexplained"});
  rejected.items.push_back({true, 0, "", "B01", "totals differ"});
  write("settlement_ack", "rejected.ack", format_ack(rejected, config));
}

// ---- csv_import: lines of each import, and a settlement line -----------------------------

void csv_lines() {
  write("csv_import", "cards.csv",
        "card,category,media,overdraft,linked_to\n04A1B2C3D4E5F6,student,card\n04FFEE,general,mobile,100,04A1B2C3D4E5F6\n");
  write("csv_import", "transfers.csv",
        "ref,debit,credit,amount,code\nop:7:1,topup_float,card:04A1B2C3D4E5F6,500,top_up\n"
        "op:7:2,card:04A1B2C3D4E5F6:wallet,operator:101,15,fare,1795651200,bus_board,12,4\n"
        "op:7:2,subsidy_budget,operator:101:payable,3,subsidy,1795651200,bus_board,12,4\n");
  write("csv_import", "readers.csv",
        "reader,operator,kind,modes,route,location,amount_max,offline_max\n"
        "17,101,bus_validator,bus_board;bus_alight,307,,0,2000\n21,201,,metro_in,1,4,,\n");
  write("csv_import", "settlement_line.csv", "L,1,tap:17:5000,,2026-11-20T08:00:00.000000+08:00,bus_board,\"a,\"\"b\"\"\",12\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_seeds SOURCE_DIR OUT_DIR\n");
    return 2;
  }
  out_root = argv[2];
  protocol_frames();
  card_states();
  rule_sets(argv[1]);
  ledger_records();
  card_application();
  reader_session();
  reader_journal();
  settlement_files();
  csv_lines();
  return 0;
}
