// The wire codec: every frame type round-trips, and every malformed input is
// an error value that names the problem.
#include <catch2/catch.hpp>

#include <cstring>

#include "protocol/codec.h"
#include "citycard/coding.h"

using namespace citycard;
using namespace citycard::protocol;

namespace {

TapRecord sample_tap(std::uint64_t sequence) {
  TapRecord record;
  record.tap.id = TapId{ReaderId{17}, sequence};
  record.tap.card = *CardId::parse("04A1B2C3D4E5F6");
  record.tap.media = Media::mobile;
  record.tap.event_time = EventTime{1'700'000'000'000'000 + static_cast<std::int64_t>(sequence)};
  record.tap.mode = Mode::metro_in;
  record.tap.operator_id = OperatorId{3};
  record.tap.route = 2;
  record.tap.location = 117;
  record.tap.amount_minor = -5;
  record.tap.offline = sequence % 2 == 0;
  record.cryptogram.size = 8;
  for (int i = 0; i < 8; ++i) record.cryptogram.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(0xA0 + i);
  return record;
}

std::vector<std::uint8_t> encoded(const Message& message) {
  auto frame = encode(message);
  REQUIRE(frame);
  return frame.value();
}

// Rewrites the header's length and crc after a payload edit, so a test
// reaches the payload parser instead of the checksum check.
void reseal(std::vector<std::uint8_t>& frame) {
  FrameHeader header = decode_header(frame).value();
  header.payload_bytes = static_cast<std::uint32_t>(frame.size() - header_bytes);
  header.payload_crc = coding::crc32(frame.data() + header_bytes, frame.size() - header_bytes);
  encode_header(header, frame.data());
}

ErrorCode decode_error(const std::vector<std::uint8_t>& frame) {
  auto message = decode(frame);
  REQUIRE_FALSE(message);
  CHECK_FALSE(message.error().message.empty());
  return message.error().code;
}

}  // namespace

TEST_CASE("every frame type round-trips") {
  DenyListDelta delta;
  delta.from_version = 4;
  delta.to_version = 9;
  delta.flags = DenyListDelta::flag_more;
  delta.added = {*CardId::parse("01"), *CardId::parse("00112233445566778899AABBCCDDEEFF")};
  delta.removed = {*CardId::parse("ABCD")};
  TapBatch batch{77, {sample_tap(1), sample_tap(2)}};
  Decisions decisions{77,
                      {DecisionRecord{TapId{ReaderId{17}, 1}, Outcome::approved, RefusalReason::none, 16, 84, 0,
                                      DecisionFlags::replayed},
                       DecisionRecord{TapId{ReaderId{17}, 2}, Outcome::refused, RefusalReason::card_blocked, 0, -3,
                                      5, DecisionFlags::deny_listed | DecisionFlags::debt}}};
  std::vector<Message> messages = {
      Hello{1, 1, ReaderId{17}, "validator 2.1"},
      HelloAck{1, 10'000, 512, 8, 42},
      batch,
      decisions,
      RetryLater{77, 250, RetryReason::connection_busy},
      DenyListRequest{4, 0, {}},
      DenyListRequest{4, 9, *CardId::parse("00112233445566778899AABBCCDDEEFF")},
      delta,
      DenyListDelta{0, 9, DenyListDelta::flag_page | DenyListDelta::flag_more, {*CardId::parse("0A")}, {}},
      Heartbeat{0xDEADBEEFCAFEull},
      ErrorFrame{ErrorCode::reader_mismatch, "tap 3 claims reader 18"},
  };
  for (const Message& message : messages) {
    auto frame = encoded(message);
    auto back = decode(frame);
    INFO(frame_type_name(frame_type_of(message)));
    REQUIRE(back);
    CHECK(back.value() == message);
  }
}

TEST_CASE("a full batch of the largest taps fits one frame") {
  TapBatch batch;
  for (std::size_t i = 0; i < limits::batch_taps_max; ++i) {
    TapRecord record = sample_tap(i);
    record.tap.card = *CardId::parse("00112233445566778899AABBCCDDEEFF");
    record.cryptogram.size = cryptogram_bytes_max;
    batch.taps.push_back(record);
  }
  auto frame = encoded(batch);
  CHECK(frame.size() <= limits::frame_bytes_max);
  auto back = decode(frame);
  REQUIRE(back);
  CHECK(std::get<TapBatch>(back.value()).taps.size() == limits::batch_taps_max);
}

TEST_CASE("a tap carries the reader's 58-byte tap proof, and up to 64 bytes") {
  for (std::uint8_t size : {std::uint8_t{0}, std::uint8_t{58}, std::uint8_t{64}}) {
    TapRecord record = sample_tap(5);
    record.cryptogram.size = size;
    for (std::uint8_t i = 0; i < size; ++i) record.cryptogram.bytes[i] = static_cast<std::uint8_t>(0x30 + i);
    auto frame = encoded(TapBatch{3, {record}});
    // batch_id, count, then the tap: the proof is its last field, after its length byte.
    CHECK(frame.size() == header_bytes + 8 + 2 + tap_bytes_max - cryptogram_bytes_max - CardId::bytes_max + 7 + size);  // 7-byte card id
    CHECK(frame[frame.size() - size - 1] == size);
    if (size > 0) CHECK(frame.back() == static_cast<std::uint8_t>(0x30 + size - 1));
    auto back = decode(frame);
    REQUIRE(back);
    CHECK(std::get<TapBatch>(back.value()).taps.front() == record);
    CHECK(std::get<TapBatch>(back.value()).taps.front().cryptogram.size == size);
  }
}

TEST_CASE("malformed headers are named errors") {
  auto frame = encoded(Heartbeat{1});
  SECTION("truncated header") {
    for (std::size_t size = 0; size < header_bytes; ++size) {
      auto header = decode_header(std::span(frame).first(size));
      REQUIRE_FALSE(header);
      CHECK(header.error().code == ErrorCode::truncated);
    }
  }
  SECTION("bad magic") {
    frame[0] ^= 0xFF;
    CHECK(decode_error(frame) == ErrorCode::bad_magic);
  }
  SECTION("bad version") {
    frame[4] = 2;
    CHECK(decode_error(frame) == ErrorCode::bad_version);
    frame[4] = 0;
    CHECK(decode_error(frame) == ErrorCode::bad_version);
  }
  SECTION("unknown frame type") {
    frame[5] = 0;
    CHECK(decode_error(frame) == ErrorCode::unknown_frame_type);
    frame[5] = 10;
    CHECK(decode_error(frame) == ErrorCode::unknown_frame_type);
  }
  SECTION("reserved flags") {
    frame[6] = 1;
    CHECK(decode_error(frame) == ErrorCode::bad_flags);
  }
  SECTION("length over the frame limit") {
    std::uint32_t length = static_cast<std::uint32_t>(payload_bytes_max + 1);
    std::memcpy(frame.data() + 8, &length, 4);  // little-endian host
    CHECK(decode_error(frame) == ErrorCode::frame_too_large);
    length = 0xFFFFFFFFu;
    std::memcpy(frame.data() + 8, &length, 4);
    CHECK(decode_error(frame) == ErrorCode::frame_too_large);
  }
  SECTION("truncated payload") {
    frame.pop_back();
    CHECK(decode_error(frame) == ErrorCode::truncated);
  }
  SECTION("trailing bytes after the frame") {
    frame.push_back(0);
    CHECK(decode_error(frame) == ErrorCode::trailing_bytes);
  }
  SECTION("checksum mismatch") {
    frame[header_bytes] ^= 0x01;
    CHECK(decode_error(frame) == ErrorCode::bad_checksum);
  }
}

TEST_CASE("malformed payloads are named errors") {
  SECTION("trailing bytes inside the payload") {
    auto frame = encoded(Heartbeat{1});
    frame.push_back(0);
    reseal(frame);
    CHECK(decode_error(frame) == ErrorCode::trailing_bytes);
  }
  SECTION("payload shorter than its grammar") {
    auto frame = encoded(TapBatch{1, {sample_tap(1)}});
    for (std::size_t cut = 1; cut < frame.size() - header_bytes; ++cut) {
      std::vector<std::uint8_t> shorter(frame.begin(), frame.end() - static_cast<std::ptrdiff_t>(cut));
      reseal(shorter);
      CHECK(decode_error(shorter) == ErrorCode::truncated);
    }
  }
  SECTION("tap count over batch_taps_max") {
    auto frame = encoded(TapBatch{1, {sample_tap(1)}});
    std::uint16_t count = static_cast<std::uint16_t>(limits::batch_taps_max + 1);
    std::memcpy(frame.data() + header_bytes + 8, &count, 2);
    reseal(frame);
    CHECK(decode_error(frame) == ErrorCode::count_over_limit);
  }
  SECTION("empty tap batch") {
    auto frame = encoded(TapBatch{1, {sample_tap(1)}});
    frame.resize(header_bytes + 10);
    frame[header_bytes + 8] = 0;
    frame[header_bytes + 9] = 0;
    reseal(frame);
    CHECK(decode_error(frame) == ErrorCode::malformed);
  }
  // Offsets inside the first tap of a batch (payload: batch_id 8, count 2).
  const std::size_t tap_at = header_bytes + 10;
  const std::size_t media_at = tap_at + 4 + 8 + 1 + 7;
  const std::size_t mode_at = media_at + 1 + 8;
  const std::size_t flags_at = mode_at + 1 + 4 + 4 + 4 + 8;
  SECTION("bad enum values in a tap") {
    auto frame = encoded(TapBatch{1, {sample_tap(1)}});
    auto bad = frame;
    bad[media_at] = 0;
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::bad_enum);
    bad = frame;
    bad[media_at] = 4;
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::bad_enum);
    bad = frame;
    bad[mode_at] = static_cast<std::uint8_t>(mode_count + 1);
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::bad_enum);
    bad = frame;
    bad[flags_at] = 0x80;
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::bad_flags);
  }
  SECTION("card id length out of range") {
    auto frame = encoded(TapBatch{1, {sample_tap(1)}});
    frame[tap_at + 12] = 0;
    reseal(frame);
    CHECK(decode_error(frame) == ErrorCode::malformed);
    frame[tap_at + 12] = 17;
    reseal(frame);
    CHECK(decode_error(frame) == ErrorCode::malformed);
  }
  SECTION("cryptogram over cryptogram_bytes_max (64) bytes") {
    auto frame = encoded(TapBatch{1, {sample_tap(1)}});
    frame[flags_at + 1] = static_cast<std::uint8_t>(cryptogram_bytes_max + 1);
    frame.resize(frame.size() + cryptogram_bytes_max + 1 - 8, 0xEE);  // the bytes are there; the length is not allowed
    reseal(frame);
    CHECK(decode_error(frame) == ErrorCode::malformed);
  }
  SECTION("decisions: approved with a reason, refused without, bad outcome") {
    DecisionRecord approved{TapId{ReaderId{1}, 1}, Outcome::approved, RefusalReason::none, 0, 0, 0, 0};
    auto frame = encoded(Decisions{5, {approved}});
    const std::size_t outcome_at = header_bytes + 10 + 12;
    auto bad = frame;
    bad[outcome_at + 1] = static_cast<std::uint8_t>(RefusalReason::card_lost);
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::malformed);
    bad = frame;
    bad[outcome_at] = 2;
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::malformed);
    bad = frame;
    bad[outcome_at] = 3;
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::bad_enum);
    bad = frame;
    bad[outcome_at + 1] = 200;
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::bad_enum);
  }
  SECTION("deny list delta over its card limit") {
    auto frame = encoded(DenyListDelta{1, 2, 0, {}, {}});
    std::uint16_t count = static_cast<std::uint16_t>(deny_cards_max + 1);
    std::memcpy(frame.data() + header_bytes + 17, &count, 2);
    reseal(frame);
    CHECK(decode_error(frame) == ErrorCode::count_over_limit);
  }
  SECTION("deny list delta: an undefined flag, and a page that is full, from a version or removes cards") {
    auto frame = encoded(DenyListDelta{0, 9, DenyListDelta::flag_page, {*CardId::parse("0A")}, {}});
    const std::size_t flags_at = header_bytes + 16;
    auto bad = frame;
    bad[flags_at] = 0x08;
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::bad_flags);
    bad = frame;
    bad[flags_at] |= DenyListDelta::flag_full;
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::malformed);
    bad = frame;
    bad[header_bytes] = 1;  // from_version 1
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::malformed);
    auto with_removal = encoded(DenyListDelta{0, 9, 0, {}, {*CardId::parse("0B")}});
    with_removal[flags_at] = DenyListDelta::flag_page;
    reseal(with_removal);
    CHECK(decode_error(with_removal) == ErrorCode::malformed);
  }
  SECTION("deny list request: a cut tail, a snapshot of version 0, a bad card") {
    auto frame = encoded(DenyListRequest{4, 9, *CardId::parse("0A0B")});
    CHECK(frame.size() == header_bytes + 8 + 8 + 1 + 2);
    for (std::size_t cut = 1; cut < 8 + 1 + 2; ++cut) {
      std::vector<std::uint8_t> shorter(frame.begin(), frame.end() - static_cast<std::ptrdiff_t>(cut));
      reseal(shorter);
      INFO("cut " << cut);
      CHECK(decode_error(shorter) == ErrorCode::truncated);
    }
    auto bad = frame;
    std::memset(bad.data() + header_bytes + 8, 0, 8);
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::malformed);
    bad = frame;
    bad[header_bytes + 16] = 0;  // card length 0
    bad.resize(header_bytes + 17);
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::malformed);
    bad = frame;
    bad.push_back(0);
    reseal(bad);
    CHECK(decode_error(bad) == ErrorCode::trailing_bytes);
  }
  SECTION("error frame with an undefined code") {
    auto frame = encoded(ErrorFrame{ErrorCode::timeout, "slow"});
    frame[header_bytes] = 0xFF;
    reseal(frame);
    CHECK(decode_error(frame) == ErrorCode::bad_enum);
  }
  SECTION("hello with an empty version range") {
    auto frame = encoded(Hello{1, 1, ReaderId{3}, ""});
    frame[header_bytes] = 2;
    reseal(frame);
    CHECK(decode_error(frame) == ErrorCode::malformed);
  }
}

TEST_CASE("the encoder refuses what the decoder would refuse") {
  TapBatch too_many;
  too_many.taps.assign(limits::batch_taps_max + 1, sample_tap(1));
  auto frame = encode(too_many);
  REQUIRE_FALSE(frame);
  CHECK(frame.error().code == ErrorCode::count_over_limit);
  CHECK_FALSE(encode(TapBatch{1, {}}));
  TapRecord bad_mode = sample_tap(1);
  bad_mode.tap.mode = static_cast<Mode>(0);
  auto bad = encode(TapBatch{1, {bad_mode}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ErrorCode::bad_enum);
  CHECK_FALSE(encode(Decisions{1, {DecisionRecord{TapId{}, Outcome::refused, RefusalReason::none, 0, 0, 0, 0}}}));
  TapRecord long_proof = sample_tap(1);
  long_proof.cryptogram.size = static_cast<std::uint8_t>(cryptogram_bytes_max + 1);
  auto refused = encode(TapBatch{1, {long_proof}});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("cryptogram over 64 bytes") != std::string::npos);
  CHECK_FALSE(encode(DenyListRequest{4, 9, CardId()}));                  // a snapshot without its card
  CHECK_FALSE(encode(DenyListRequest{4, 0, *CardId::parse("0A")}));      // a card without its snapshot
  CHECK_FALSE(encode(DenyListDelta{0, 9, DenyListDelta::flag_page, {}, {*CardId::parse("0A")}}));
  CHECK_FALSE(encode(DenyListDelta{0, 9, DenyListDelta::flag_page | DenyListDelta::flag_full, {}, {}}));
  CHECK_FALSE(encode(DenyListDelta{0, 9, 0x08, {}, {}}));
}

TEST_CASE("the largest deny list request and a full page fit their limits") {
  auto request = encoded(DenyListRequest{~std::uint64_t{0}, ~std::uint64_t{0}, *CardId::parse("00112233445566778899AABBCCDDEEFF")});
  CHECK(request.size() == header_bytes + deny_list_request_bytes_max);
  DenyListDelta page{0, 9, DenyListDelta::flag_page | DenyListDelta::flag_more, {}, {}};
  page.added.assign(deny_cards_max, *CardId::parse("00112233445566778899AABBCCDDEEFF"));
  auto frame = encoded(page);
  CHECK(frame.size() <= limits::frame_bytes_max);
}

TEST_CASE("random bytes never crash the decoder") {
  std::uint32_t state = 12345;
  auto next = [&state] { state = state * 1664525u + 1013904223u; return static_cast<std::uint8_t>(state >> 24); };
  auto valid = encoded(TapBatch{9, {sample_tap(1), sample_tap(2)}});
  int decoded = 0;
  for (int round = 0; round < 5000; ++round) {
    auto frame = valid;
    int edits = 1 + round % 4;
    for (int e = 0; e < edits; ++e) frame[header_bytes + next() % (frame.size() - header_bytes)] = next();
    reseal(frame);
    if (decode(frame)) ++decoded;
  }
  CHECK(decoded < 5000);  // some edits (card bytes, amounts) stay valid; enums and counts do not
}

// The bytes on the wire, pinned: each frame type encodes to the bytes the
// codec wrote before the coding library replaced its own writers (readers in
// the field speak this), and decodes from them to the same message.
TEST_CASE("every frame type keeps its bytes on the wire") {
  auto hex = [](const std::vector<std::uint8_t>& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) out += {digits[b >> 4], digits[b & 15]};
    return out;
  };
  Hello hello;
  hello.version_min = 1;
  hello.version_max = 2;
  hello.reader = ReaderId{0x01020304};
  hello.agent = "bus";
  HelloAck ack;
  ack.version = 2;
  ack.heartbeat_interval_ms = 5000;
  ack.batch_taps_max = 64;
  ack.inflight_batches_max = 4;
  ack.deny_list_version = 0x0102030405060708;
  ack.last_sequence = 9;
  TapBatch batch;
  batch.batch_id = 0x1122;
  batch.taps = {sample_tap(2)};
  Decisions decisions;
  decisions.batch_id = 0x1122;
  DecisionRecord refused;
  refused.tap = TapId{ReaderId{17}, 2};
  refused.outcome = Outcome::refused;
  refused.reason = RefusalReason::insufficient_balance;
  refused.fare_minor = 25;
  refused.balance_after_minor = -3;
  refused.points_after = 7;
  decisions.decisions = {refused};
  RetryLater retry;
  retry.batch_id = 5;
  retry.retry_after_ms = 250;
  retry.why = RetryReason::engine_busy;
  DenyListRequest continuing;
  continuing.from_version = 3;
  continuing.snapshot_version = 4;
  continuing.after = *CardId::parse("04A1");
  DenyListDelta delta;
  delta.from_version = 1;
  delta.to_version = 2;
  delta.added = {*CardId::parse("04A1B2")};
  delta.removed = {*CardId::parse("05")};
  ErrorFrame error_frame;
  error_frame.code = ErrorCode::bad_checksum;
  error_frame.message = "crc";

  const std::vector<std::pair<Message, std::string>> frames = {
      {hello, "43435450010100000a00000087aa162501020403020103627573"},
      {ack, "434354500102000019000000bcc3003402881300004000040008070605040302010900000000000000"},
      {batch, "43435450010300004600000026bc77fb221100000000000001001100000002000000000000000704a1b2c3d4e5f60202401e18240a060003030000000200000075000000fbffffffffffffff0108a0a1a2a3a4a5a6a7"},
      {decisions, "43435450010400003100000055beb24b2211000000000000010011000000020000000000000002051900000000000000fdffffffffffffff070000000000000000"},
      {retry, "43435450010500000d00000041dcd1fe0500000000000000fa00000002"},
      {DenyListRequest{}, "43435450010600000800000069df22650000000000000000"},
      {continuing, "43435450010600001300000050bebe0f030000000000000004000000000000000204a1"},
      {delta, "43435450010700001b000000593ccafc010000000000000002000000000000000001000304a1b201000105"},
      {Heartbeat{0x0102030405060708}, "43435450010800000800000025edcca50807060504030201"},
      {error_frame, "4343545001090000070000007bce3f3a06000300637263"},
  };
  for (const auto& [message, bytes] : frames) {
    const std::vector<std::uint8_t> frame = encoded(message);
    INFO(frame_type_name(frame_type_of(message)));
    CHECK(hex(frame) == bytes);
    auto decoded = decode(frame);
    REQUIRE(decoded);
    CHECK(decoded.value() == message);
  }
}
