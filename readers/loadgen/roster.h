// The card population of the simulated city: who holds which card.
//
// The default mix is the real city card's (1.3M cards): general/employee
// 641k (split here 561k general + 80k employee), student 360k, senior 195k,
// disability 53k, disability companion 31k, mobile and co-branded credit
// 27k (general riders on a mobile NFC card 17k or a co-branded credit card
// 10k). scaled_to() keeps the proportions for smaller test populations.
//
// Card ids are 7 bytes: a media tag (04 card, 08 mobile, 0C co-branded)
// followed by a bijective scramble of the card's index, so ids are unique,
// stable for a given population, and do not sort by category. The order of
// categories over indexes is a seeded shuffle of its own (roster_seed), so
// any prefix of the roster has the full mix.
#pragma once

#include <cstdint>
#include <ostream>
#include <vector>

#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/tap.h"

namespace citycard::loadgen {

struct PopulationMix {
  std::uint32_t general = 561'000;
  std::uint32_t employee = 80'000;
  std::uint32_t student = 360'000;
  std::uint32_t senior = 195'000;
  std::uint32_t disability = 53'000;
  std::uint32_t disability_companion = 31'000;
  std::uint32_t mobile = 17'000;             // general riders, mobile NFC card
  std::uint32_t co_branded_credit = 10'000;  // general riders, co-branded credit card

  std::uint64_t total() const noexcept;
  // The same proportions for `cards` cards (largest remainder; exact total).
  PopulationMix scaled_to(std::uint64_t cards) const;
};

struct RosterCard {
  CardId card;
  RiderCategory category = RiderCategory::general;
  Media media = Media::physical_card;
};

class Roster {
 public:
  static constexpr std::uint64_t roster_seed = 0xC17CA4D;
  static Roster make(const PopulationMix& mix);

  std::size_t size() const noexcept { return cards_.size(); }
  const RosterCard& operator[](std::size_t index) const noexcept { return cards_[index]; }
  const std::vector<RosterCard>& cards() const noexcept { return cards_; }

  // The CSV of `citycard card import`: a header line "card,category,media"
  // then one line per card.
  Status write_csv(std::ostream& out) const;

 private:
  std::vector<RosterCard> cards_;
};

// The card id of roster index `index` on `media` (see above).
CardId roster_card_id(std::uint64_t index, Media media);

// For the generator's tables keyed by card (FNV-1a over the id's bytes).
struct CardIdHash {
  std::size_t operator()(const CardId& id) const noexcept;
};

}  // namespace citycard::loadgen
