#include "roster.h"

#include <algorithm>
#include <array>

#include "random.h"

namespace citycard::loadgen {

namespace {

constexpr int mix_parts = 8;

std::array<std::uint32_t*, mix_parts> parts(PopulationMix& mix) {
  return {&mix.general, &mix.employee, &mix.student, &mix.senior,
          &mix.disability, &mix.disability_companion, &mix.mobile, &mix.co_branded_credit};
}

// A bijection on [0, 2^48): odd multiply and xorshift, both invertible mod 2^48.
std::uint64_t scramble48(std::uint64_t x) {
  constexpr std::uint64_t mask = (std::uint64_t{1} << 48) - 1;
  x &= mask;
  x = (x * 0x5DEECE66Dull) & mask;
  x ^= x >> 21;
  x = (x * 0x9E3779B97F4Bull) & mask;  // odd
  x ^= x >> 17;
  return x;
}

}  // namespace

std::uint64_t PopulationMix::total() const noexcept {
  return std::uint64_t{general} + employee + student + senior + disability + disability_companion + mobile +
         co_branded_credit;
}

PopulationMix PopulationMix::scaled_to(std::uint64_t cards) const {
  PopulationMix source = *this;
  PopulationMix scaled = *this;
  auto from = parts(source);
  auto to = parts(scaled);
  const std::uint64_t whole = total();
  std::uint64_t assigned = 0;
  std::array<std::uint64_t, mix_parts> remainder{};
  for (int i = 0; i < mix_parts; ++i) {
    std::uint64_t exact = whole == 0 ? 0 : std::uint64_t{*from[i]} * cards;
    *to[i] = static_cast<std::uint32_t>(whole == 0 ? 0 : exact / whole);
    remainder[i] = whole == 0 ? 0 : exact % whole;
    assigned += *to[i];
  }
  // Largest remainders get the cards left over; bounded by mix_parts rounds.
  for (int round = 0; round < mix_parts && assigned < cards; ++round) {
    int best = 0;
    for (int i = 1; i < mix_parts; ++i) if (remainder[i] > remainder[best]) best = i;
    ++*to[best];
    remainder[best] = 0;
    ++assigned;
  }
  if (assigned < cards) scaled.general += static_cast<std::uint32_t>(cards - assigned);
  return scaled;
}

std::size_t CardIdHash::operator()(const CardId& id) const noexcept {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (std::size_t i = 0; i < id.size(); ++i) h = (h ^ id.data()[i]) * 0x100000001B3ull;
  return static_cast<std::size_t>(h);
}

CardId roster_card_id(std::uint64_t index, Media media) {
  std::uint8_t tag = media == Media::mobile ? 0x08 : media == Media::co_branded_credit ? 0x0C : 0x04;
  std::uint64_t body = scramble48(index + 1);
  std::array<std::uint8_t, 7> bytes{tag};
  for (int i = 0; i < 6; ++i) bytes[static_cast<std::size_t>(1 + i)] = static_cast<std::uint8_t>(body >> (40 - 8 * i));
  return CardId::from_bytes(bytes.data(), bytes.size());
}

Roster Roster::make(const PopulationMix& mix) {
  struct Kind {
    std::uint32_t count;
    RiderCategory category;
    Media media;
  };
  const std::array<Kind, mix_parts> kinds{{
      {mix.general, RiderCategory::general, Media::physical_card},
      {mix.employee, RiderCategory::employee, Media::physical_card},
      {mix.student, RiderCategory::student, Media::physical_card},
      {mix.senior, RiderCategory::senior, Media::physical_card},
      {mix.disability, RiderCategory::disability, Media::physical_card},
      {mix.disability_companion, RiderCategory::disability_companion, Media::physical_card},
      {mix.mobile, RiderCategory::general, Media::mobile},
      {mix.co_branded_credit, RiderCategory::general, Media::co_branded_credit},
  }};
  Roster roster;
  roster.cards_.reserve(mix.total());
  for (const Kind& kind : kinds) {
    for (std::uint32_t i = 0; i < kind.count; ++i) roster.cards_.push_back({CardId{}, kind.category, kind.media});
  }
  // Fisher-Yates with our own generator: the same order everywhere.
  Random random(roster_seed);
  for (std::size_t i = roster.cards_.size(); i > 1; --i) {
    std::size_t j = static_cast<std::size_t>(random.next() % i);
    std::swap(roster.cards_[i - 1], roster.cards_[j]);
  }
  for (std::size_t i = 0; i < roster.cards_.size(); ++i) {
    roster.cards_[i].card = roster_card_id(i, roster.cards_[i].media);
  }
  return roster;
}

Status Roster::write_csv(std::ostream& out) const {
  out << "card,category,media\n";
  for (const RosterCard& card : cards_) {
    out << card.card.to_string() << ',' << rider_category_name(card.category) << ',' << media_name(card.media) << '\n';
  }
  out.flush();
  if (!out) return Status::io_error("cannot write the card roster");
  return Status::ok();
}

}  // namespace citycard::loadgen
