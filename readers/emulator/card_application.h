// The citycard card application, as a card would run it: answers command
// APDUs from its own state. Used by citycard-card-emulator behind vpcd, and
// in process by unit tests of the reader session.
#pragma once

#include <cstdint>

#include "card/bytes.h"
#include "card/card_protocol.h"
#include "card/crypto.h"

namespace citycard::emulator {

struct CardProfile {
  card::Bytes uid;              // what GET UID answers (1..16 bytes)
  card::CardKey key;            // the diversified key (a clone holds a wrong one)
  card::CardData record;
  std::uint32_t atc = 0;        // transaction counter; the next authentication answers atc + 1
};

class CardApplication {
 public:
  explicit CardApplication(CardProfile profile) : profile_(std::move(profile)) {}
  CardApplication(const CardApplication&) = delete;
  CardApplication& operator=(const CardApplication&) = delete;

  // Contactless-style ATR (PC/SC part 3): T=1, no historical bytes.
  static card::Bytes atr() { return {0x3B, 0x80, 0x80, 0x01, 0x01}; }
  // Power off/on or reset: the selected application is forgotten.
  void reset() { selected_ = false; }
  // One command APDU in, one response APDU (data + SW) out.
  card::Bytes process(card::ByteView command);

  std::uint32_t atc() const noexcept { return profile_.atc; }

 private:
  card::Bytes select(const card::CommandApdu& command);
  card::Bytes read_data(const card::CommandApdu& command);
  card::Bytes authenticate(const card::CommandApdu& command);

  CardProfile profile_;
  bool selected_ = false;
  card::CmacContext cmac_;
};

}  // namespace citycard::emulator
