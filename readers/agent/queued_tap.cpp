#include "queued_tap.h"

#include <fmt/format.h>

#include "citycard/coding.h"

namespace citycard::agent {

card::Bytes encode_queued_tap(const QueuedTap& queued) {
  const Tap& tap = queued.tap;
  card::Bytes out;
  out.reserve(queued_tap_bytes);
  coding::put_be<std::uint32_t>(out, tap.id.reader.value);
  coding::put_be<std::uint64_t>(out, tap.id.sequence);
  out.push_back(static_cast<std::uint8_t>(tap.card.size()));
  for (std::size_t i = 0; i < CardId::bytes_max; ++i) out.push_back(i < tap.card.size() ? tap.card.data()[i] : 0);
  out.push_back(static_cast<std::uint8_t>(tap.media));
  coding::put_be<std::uint64_t>(out, static_cast<std::uint64_t>(tap.event_time.unix_us));
  out.push_back(static_cast<std::uint8_t>(tap.mode));
  coding::put_be<std::uint32_t>(out, tap.operator_id.value);
  coding::put_be<std::uint32_t>(out, tap.route);
  coding::put_be<std::uint32_t>(out, tap.location);
  coding::put_be<std::uint64_t>(out, static_cast<std::uint64_t>(tap.amount_minor));
  out.push_back(tap.offline ? 1 : 0);
  card::Bytes proof = card::encode_proof(queued.proof);
  out.insert(out.end(), proof.begin(), proof.end());
  return out;
}

Result<QueuedTap> decode_queued_tap(card::ByteView bytes) {
  if (bytes.size() != queued_tap_bytes) {
    return Status::corruption(fmt::format("queued tap has {} bytes, expected {}", bytes.size(), queued_tap_bytes));
  }
  coding::Reader in(bytes);
  QueuedTap queued;
  Tap& tap = queued.tap;
  tap.id.reader.value = in.be<std::uint32_t>();
  tap.id.sequence = in.be<std::uint64_t>();
  std::size_t card_length = in.u8();
  card::ByteView card = in.bytes(CardId::bytes_max);
  if (card_length < 1 || card_length > CardId::bytes_max) return Status::corruption("queued tap: card id length out of range");
  tap.card = CardId::from_bytes(card.data(), card_length);
  std::uint8_t media = in.u8();
  if (media < 1 || media > 3) return Status::corruption("queued tap: unknown media");
  tap.media = static_cast<Media>(media);
  tap.event_time.unix_us = static_cast<std::int64_t>(in.be<std::uint64_t>());
  std::uint8_t mode = in.u8();
  if (mode < 1 || mode > mode_count) return Status::corruption("queued tap: unknown mode");
  tap.mode = static_cast<Mode>(mode);
  tap.operator_id.value = in.be<std::uint32_t>();
  tap.route = in.be<std::uint32_t>();
  tap.location = in.be<std::uint32_t>();
  tap.amount_minor = static_cast<std::int64_t>(in.be<std::uint64_t>());
  std::uint8_t offline = in.u8();
  if (offline > 1) return Status::corruption("queued tap: offline flag is not 0 or 1");
  tap.offline = offline == 1;
  auto proof = card::decode_proof(in.bytes(card::proof_bytes));
  if (!proof) return Status::corruption("queued tap: " + proof.status().message());
  queued.proof = *proof;
  return queued;
}

}  // namespace citycard::agent
