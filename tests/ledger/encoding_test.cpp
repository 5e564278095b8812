// The ledger's bytes on disk, pinned: every value and key encodes to the
// bytes the code wrote before the coding library (include/citycard/coding.h)
// replaced the ledger's own writers, and those bytes decode back. A ledger
// written by an older build must keep opening.
#include <catch2/catch.hpp>

#include <string>

#include "ledger/audit_chain.h"
#include "ledger/encoding.h"
#include "ledger/readers.h"

using namespace citycard;
using namespace citycard::ledger;

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::string unhex(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  return out;
}

CardId card_of(std::initializer_list<std::uint8_t> bytes) { return CardId::from_bytes(std::data(bytes), bytes.size()); }

const IdempotencyKey key{Origin::tap, 0x0102030405060708, 0x1112131415161718};

Transfer sample_transfer() {
  Transfer transfer;
  transfer.debit_account = AccountId{0x2122232425262728};
  transfer.credit_account = AccountId{7};
  transfer.asset = Asset::twd;
  transfer.amount_minor = -2;
  transfer.code = TransferCode::fare;
  transfer.flags = 0x0304;
  transfer.rule_set_version = 0x31323334;
  transfer.event_time.unix_us = 1'700'000'000'000'001;
  transfer.mode = Mode::bus_board;
  transfer.operator_id = OperatorId{101};
  transfer.route = 0x41424344;
  transfer.location = 9;
  return transfer;
}

}  // namespace

TEST_CASE("ledger keys keep their big-endian bytes") {
  CHECK(hex(encoding::account_key(AccountId{0x0102030405060708})) == "0102030405060708");
  CHECK(hex(encoding::high_water_key(Origin::tap, 0x0a0b)) == "48010000000000000a0b");
  CHECK(hex(encoding::sequence_key(258)) == "0000000000000102");
  const std::string history = encoding::history_key(AccountId{5}, 3);
  CHECK(hex(history) == "0000000000000005fffffffffffffffc");
  CHECK(encoding::history_key_block_first(history) == 3);
  CHECK(hex(encoding::group_key(key)) == "0101020304050607081112131415161718");
  CHECK(hex(encoding::card_by_account_key(AccountId{0x10})) == "410000000000000010");
  CHECK(hex(reader_key(ReaderId{0x01020304})) == "01020304");
  CHECK(hex(audit_chain_key(0x0102)) == "0000000000000102");
}

TEST_CASE("ledger values keep their bytes and decode from them") {
  encoding::StoredAccount account;
  account.spec.kind = AccountKind::card_wallet;
  account.spec.asset = Asset::twd;
  account.spec.balance_floor_minor = -500;
  account.spec.balance_ceiling_minor = 1'000'000;
  account.spec.owner = 0x0102;
  account.balance_minor = 42;
  account.debits_posted_minor = 8;
  account.credits_posted_minor = 50;
  account.transfer_count = 3;
  account.applied_through = 0x0a0b0c;
  // Format 1 (66 bytes, ledgers before format 5): still read.
  const std::string account_bytes =
      "01010cfeffffffffffff40420f000000000002010000000000002a000000000000000800000000000000320000000000000003000000000000000c0b0a0000000000";
  auto decoded_account = encoding::decode_account(unhex(account_bytes));
  REQUIRE(decoded_account);
  CHECK(decoded_account->balance_minor == 42);
  CHECK(decoded_account->spec.balance_floor_minor == -500);
  CHECK(decoded_account->applied_through == 0x0a0b0c);
  // Format 2, written since: a marker, then varints.
  const std::string compact_account_bytes = "820101"
                                            "e707"      // floor -500
                                            "80897a"    // ceiling
                                            "8202"      // owner
                                            "54"        // balance 42
                                            "10"        // debits 8
                                            "64"        // credits 50
                                            "03"        // count
                                            "8c9628";   // applied through
  CHECK(hex(encoding::encode_account(account)) == compact_account_bytes);
  auto compact_account = encoding::decode_account(unhex(compact_account_bytes));
  REQUIRE(compact_account);
  CHECK(encoding::encode_account(*compact_account) == encoding::encode_account(*decoded_account));
  CHECK(compact_account->spec.kind == AccountKind::card_wallet);
  CHECK(compact_account->spec.balance_ceiling_minor == 1'000'000);
  CHECK(compact_account->credits_posted_minor == 50);
  CHECK_FALSE(encoding::decode_account(unhex(compact_account_bytes).substr(0, 10)));
  CHECK_FALSE(encoding::decode_account(unhex(compact_account_bytes) + '\x01'));

  // Block format 1 (ledgers before format 5): still read.
  std::string fixed;
  coding::put_le<std::uint32_t>(fixed, 1);
  encoding::encode_fixed_transfer(fixed, key, 2, sample_transfer());
  const std::string block_bytes =
      "010000000101020304050607081112131415161718020000002827262524232221070000000000000001feffffffffffffff"
      "010004033433323101401e18240a060001650000004443424109000000";
  CHECK(hex(fixed) == block_bytes);
  const std::string fixed_block = unhex(block_bytes);  // a reader views it: kept alive
  REQUIRE(encoding::block_count(fixed_block) == std::optional<std::uint32_t>(1));
  auto fixed_reader = encoding::BlockReader::open(fixed_block);
  REQUIRE(fixed_reader);
  auto transfer = fixed_reader->at(0);
  REQUIRE(transfer);
  CHECK(transfer->leg == 2);
  CHECK(transfer->key.sequence == key.sequence);
  CHECK(transfer->transfer.amount_minor == -2);
  CHECK(transfer->transfer.location == 9);

  // Block format 2, written since: varints, and a skip table at the end.
  encoding::BlockWriter writer;
  writer.add(key, 2, sample_transfer());
  const std::string compact = writer.finish();
  const std::string compact_bytes =
      "01000080"                // count 1, compact
      "01"                      // origin
      "888e98a8c0e0808101"      // source
      "98aed8a8c1e2848911"      // sequence
      "02"                      // leg
      "a8ce98a9c2e4889121"      // debit
      "07"                      // credit
      "01"                      // asset
      "03"                      // amount -2
      "01"                      // code
      "8406"                    // flags
      "b4e6c88903"              // rule set
      "8280f28183898506"        // event time
      "01"                      // mode
      "65"                      // operator 101
      "c486898a04"              // route
      "09"                      // location
      "04000000";               // skip: transfer 0 at byte 4
  CHECK(hex(compact) == compact_bytes);
  const std::string compact_block = unhex(compact_bytes);
  auto compact_reader = encoding::BlockReader::open(compact_block);
  REQUIRE(compact_reader);
  REQUIRE(compact_reader->count() == 1);
  auto again = compact_reader->at(0);
  REQUIRE(again);
  CHECK(again->key == key);
  CHECK(again->leg == 2);
  CHECK(again->transfer == sample_transfer());

  const std::string idempotency_bytes =
      "0504030201000000030000006f6b";
  CHECK(hex(encoding::encode_idempotency(0x0102030405, 3, "ok")) == idempotency_bytes);
  auto idempotency = encoding::decode_idempotency(unhex(idempotency_bytes));
  REQUIRE(idempotency);
  CHECK(idempotency->first_sequence == 0x0102030405);
  CHECK(idempotency->outcome == "ok");

  CardRecord card;
  card.card = card_of({0x04, 0xa1, 0xb2});
  card.wallet_account = AccountId{11};
  card.points_account = AccountId{12};
  card.category = RiderCategory::student;
  card.media = Media::mobile;
  card.status = CardStatus::replaced;
  card.replaced_by = card_of({0x05});
  const std::string card_bytes =
      "0304a1b20b000000000000000c00000000000000020204000105";
  CHECK(hex(encoding::encode_card(card)) == card_bytes);
  auto decoded_card = encoding::decode_card(unhex(card_bytes));
  REQUIRE(decoded_card);
  CHECK(decoded_card->card == card.card);
  CHECK(decoded_card->replaced_by == card.replaced_by);
  CHECK(decoded_card->points_account == AccountId{12});
  CHECK(decoded_card->category_from_day == no_category_day);

  // An eligibility period appends from and until (days, i32 LE); the bytes before stay.
  card.category_from_day = 20'000;
  card.category_until_day = 20'100;
  const std::string card_period_bytes = card_bytes + "204e0000" "844e0000";
  CHECK(hex(encoding::encode_card(card)) == card_period_bytes);
  auto with_period = encoding::decode_card(unhex(card_period_bytes));
  REQUIRE(with_period);
  CHECK(with_period->category_from_day == 20'000);
  CHECK(with_period->category_until_day == 20'100);
  CHECK_FALSE(encoding::decode_card(unhex(card_bytes + "844e0000" "204e0000")));  // ends before it starts
  CHECK_FALSE(encoding::decode_card(unhex(card_bytes + "00000000" "00000000")));  // a period that says nothing
  CHECK_FALSE(encoding::decode_card(unhex(card_bytes + "204e0000")));             // half a period
  card.category_until_day = no_category_day;  // open-ended: senior from a birthday on
  auto open_ended = encoding::decode_card(encoding::encode_card(card));
  REQUIRE(open_ended);
  CHECK(category_on(*open_ended, 19'999) == RiderCategory::general);
  CHECK(category_on(*open_ended, 20'000) == RiderCategory::student);
  CHECK(category_on(*open_ended, 30'000) == RiderCategory::student);
  CHECK(category_on(*with_period, 20'100) == RiderCategory::student);
  CHECK(category_on(*with_period, 20'101) == RiderCategory::general);

  // A residence district (u16 LE postal code) follows the period; with no
  // period, an open one (zeros) stands in front of it.
  card.category_until_day = 20'100;
  card.district = 336;  // Fuxing
  const std::string card_district_bytes = card_period_bytes + "5001";
  CHECK(hex(encoding::encode_card(card)) == card_district_bytes);
  auto with_district = encoding::decode_card(unhex(card_district_bytes));
  REQUIRE(with_district);
  CHECK(with_district->district == 336);
  CHECK(with_district->category_until_day == 20'100);
  card.category_from_day = no_category_day;
  card.category_until_day = no_category_day;
  const std::string card_district_only_bytes = card_bytes + "00000000" "00000000" "5001";
  CHECK(hex(encoding::encode_card(card)) == card_district_only_bytes);
  auto district_only = encoding::decode_card(unhex(card_district_only_bytes));
  REQUIRE(district_only);
  CHECK(district_only->district == 336);
  CHECK(district_only->category_from_day == no_category_day);
  CHECK(category_on(*district_only, 20'000) == RiderCategory::student);
  CHECK_FALSE(encoding::decode_card(unhex(card_bytes + "00000000" "00000000" "0000")));  // district 0 is no district
  CHECK_FALSE(encoding::decode_card(unhex(card_bytes + "00000000" "00000000" "e803")));  // 1000: not a postal code
  CHECK_FALSE(encoding::decode_card(unhex(card_district_bytes + "00")));                 // trailing byte

  // The bonus points account (u64 LE) follows the district; with neither a
  // period nor a district, zeros stand in front of it (district 0 allowed here).
  card.bonus_points_account = AccountId{13};
  const std::string card_bonus_bytes = card_district_only_bytes + "0d00000000000000";
  CHECK(hex(encoding::encode_card(card)) == card_bonus_bytes);
  auto with_bonus = encoding::decode_card(unhex(card_bonus_bytes));
  REQUIRE(with_bonus);
  CHECK(with_bonus->bonus_points_account == AccountId{13});
  CHECK(with_bonus->district == 336);
  card.district = no_district;
  const std::string card_bonus_only_bytes = card_bytes + "00000000" "00000000" "0000" "0d00000000000000";
  CHECK(hex(encoding::encode_card(card)) == card_bonus_only_bytes);
  auto bonus_only = encoding::decode_card(unhex(card_bonus_only_bytes));
  REQUIRE(bonus_only);
  CHECK(bonus_only->bonus_points_account == AccountId{13});
  CHECK(bonus_only->district == no_district);
  CHECK(bonus_only->category_from_day == no_category_day);
  CHECK_FALSE(encoding::decode_card(unhex(card_bytes + "00000000" "00000000" "0000" "0000000000000000")));  // account 0
  CHECK_FALSE(encoding::decode_card(unhex(card_bytes + "00000000" "00000000" "e803" "0d00000000000000")));  // bad district
  CHECK_FALSE(encoding::decode_card(unhex(card_bonus_only_bytes + "00")));                                 // trailing byte
  CHECK_FALSE(encoding::decode_card(unhex(card_bytes + "00000000" "00000000" "0000" "0d000000")));          // half an id
  CHECK_FALSE(encoding::decode_card(unhex(card_period_bytes + "50")));                   // half a district

  ReaderRecord reader;
  reader.id = ReaderId{17};
  reader.operator_id = OperatorId{101};
  reader.kind = ReaderKind::metro_gate;
  reader.modes = 0x0102;
  reader.route = 3;
  reader.location = 0x01020304;
  reader.amount_max_minor = 2000;
  reader.offline_max_minor = -1;
  reader.status = ReaderStatus::suspended;
  const std::string reader_bytes =
      "01650000000202010300000004030201d007000000000000ffffffffffffffff02";
  CHECK(hex(encode_reader(reader)) == reader_bytes);
  auto decoded_reader = decode_reader(ReaderId{17}, unhex(reader_bytes));
  REQUIRE(decoded_reader);
  CHECK(*decoded_reader == reader);

  AuditHash previous{};
  for (std::size_t i = 0; i < previous.size(); ++i) previous[i] = static_cast<std::uint8_t>(i);
  const AuditLink link = make_audit_link(0x0102, previous, "key", "body");
  const std::string link_bytes =
      "0000000000000102000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f030000006b657904000000626f6479135882de9146a7bcef1d0f64c1fe13e7152dc6e01168c26b43af262488fbf839";
  CHECK(hex(encode_audit_link(link)) == link_bytes);
  auto decoded_link = decode_audit_link(unhex(link_bytes));
  REQUIRE(decoded_link);
  CHECK(decoded_link->key == "key");
  CHECK(decoded_link->body == "body");
  CHECK(decoded_link->hash == link.hash);
}
