// AES-128 CMAC (RFC 4493) through OpenSSL 3 EVP_MAC, and the citycard keys.
//
// card_key := AES-CMAC(master_key, card_id || application_id)
//
// The application id is fixed-length and last, so the variable-length card id
// cannot be shifted into it. A reader (or its SAM) and the engine hold the
// master key; a card holds only its own card key.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "bytes.h"
#include "citycard/ids.h"
#include "citycard/status.h"

namespace citycard::card {

using Block = std::array<std::uint8_t, 16>;

// Distinct types so a master key can never be used where a card key belongs.
struct MasterKey {
  Block bytes{};
  std::uint8_t version = 1;   // matches CardData::key_version of cards issued under it
};
struct CardKey {
  Block bytes{};
};

// AES-128 CMAC of data under key; io_error only if OpenSSL itself fails.
Result<Block> aes_cmac(const Block& key, ByteView data);

CardKey diversify_card_key(const MasterKey& master, const CardId& card_id);

// 32 hex digits (spaces allowed) -> key bytes.
Result<Block> parse_key_hex(std::string_view hex);
// A key file holds the 32 hex digits on its first line; "version N" on an
// optional second line (default 1).
Result<MasterKey> load_master_key(const std::string& path);

// Constant-time comparison: a timing side channel must not reveal how many
// leading bytes of a forged cryptogram were right.
bool equal_in_constant_time(const Block& a, const Block& b);

}  // namespace citycard::card
