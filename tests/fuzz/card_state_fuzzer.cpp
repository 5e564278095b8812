// The card state codec (engine/rules/card_state.h): the bytes a card's
// rating state is kept in, in the ledger, read back for every tap.
//
// input := bytes     given to decode_card_state (versions 1 to 5).
// Checks, whenever they decode: the state encodes (version 5) to at most
// card_state_bytes_max bytes, which decode to an equal state, and encoding
// that again gives the same bytes. The version 1 to 4 encoders (kept for
// tests) must round-trip the state too, less what they do not store
// (codec::as_stored_by: the journeys' split into programmes, the card's
// auto top-up limits and the wallet's day, the bonus points).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "card_state_codec.h"
#include "citycard/check.h"

using namespace citycard::rules;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto state = decode_card_state(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!state) {
    CITYCARD_CHECK(!state.status().message().empty());
    return 0;
  }
  const std::string encoded = encode_card_state(*state);
  CITYCARD_CHECK(!encoded.empty() && encoded.size() <= card_state_bytes_max);
  auto again = decode_card_state(encoded);
  CITYCARD_CHECK(again.has_value());
  CITYCARD_CHECK(*again == *state);
  CITYCARD_CHECK(encode_card_state(*again) == encoded);

  struct Older {
    std::string (*encode)(const CardState&);
    std::uint8_t version;
  };
  for (const Older& older : {Older{codec::encode_card_state_v1, codec::version_fixed},
                             Older{codec::encode_card_state_v2, codec::version_compact},
                             Older{codec::encode_card_state_v3, codec::version_programmes},
                             Older{codec::encode_card_state_v4, codec::version_limits}}) {
    auto back = decode_card_state(older.encode(*state));
    CITYCARD_CHECK(back.has_value());
    CITYCARD_CHECK(*back == codec::as_stored_by(older.version, *state));
  }
  return 0;
}
