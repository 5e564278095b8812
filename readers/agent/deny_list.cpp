#include "deny_list.h"

#include <fmt/format.h>

#include <algorithm>

#include "card/bytes.h"
#include "citycard/coding.h"
#include "file_io.h"

namespace citycard::agent {
namespace {
constexpr std::uint8_t magic[4] = {'C', 'C', 'D', '1'};
}  // namespace

Result<DenyList> DenyList::open(const std::string& path) {
  DenyList list(path);
  auto contents = read_file(path);
  if (!contents) return contents.status();
  if (!contents->has_value()) return list;
  const card::Bytes& bytes = **contents;
  auto damaged = [&](const char* why) { return Status::corruption(fmt::format("deny list {} is damaged: {}", path, why)); };
  if (bytes.size() < 20 || !std::equal(magic, magic + 4, bytes.begin())) return damaged("bad header");
  if (coding::crc32(card::ByteView(bytes).subspan(0, bytes.size() - 4)) != coding::load_be<std::uint32_t>(&bytes[bytes.size() - 4])) {
    return damaged("checksum mismatch");
  }
  coding::Reader in(card::ByteView(bytes).subspan(4, bytes.size() - 8));
  list.version_ = in.be<std::uint64_t>();
  std::uint32_t count = in.be<std::uint32_t>();
  if (count > cards_max) return damaged("too many entries");
  for (std::uint32_t i = 0; i < count; ++i) {
    std::size_t length = in.u8();
    card::ByteView id = in.bytes(length);
    if (!in.ok() || length == 0 || length > CardId::bytes_max) return damaged("bad entry");
    list.cards_.insert(CardId::from_bytes(id.data(), id.size()));
  }
  if (!in.ok() || in.remaining() != 0) return damaged("length mismatch");
  return list;
}

DenyListPosition DenyList::position() const {
  DenyListPosition position;
  position.version = version_;
  if (!pending_cards_.empty()) {
    position.snapshot_version = pending_version_;
    position.after = pending_cards_.back();
  }
  return position;
}

Status DenyList::apply(const DenyListDelta& delta) {
  if (delta.page) return take_page(delta);
  // A full list is taken whatever its version: the engine's word on the
  // whole set (e.g. after its ledger was restored to an older state).
  if (!delta.replaces_all && (delta.to_version < version_ || delta.from_version != version_)) {
    return Status::invalid_argument(fmt::format("deny list delta {} -> {} does not apply to version {}; fetch the full list",
                                                delta.from_version, delta.to_version, version_));
  }
  for (const auto& card : delta.added) {
    if (card.empty()) return Status::invalid_argument("deny list delta names an empty card id");
  }
  if (delta.replaces_all && delta.more) {
    // The first page of a snapshot: held apart until its last page.
    if (delta.added.empty() || !std::is_sorted(delta.added.begin(), delta.added.end()) ||
        std::adjacent_find(delta.added.begin(), delta.added.end()) != delta.added.end()) {
      return Status::invalid_argument("the first page of a deny list snapshot must name cards in ascending order");
    }
    if (delta.added.size() > cards_max) {
      return Status::invalid_argument(fmt::format("deny list would hold more than {} cards", cards_max));
    }
    pending_version_ = delta.to_version;
    pending_cards_ = delta.added;
    return Status::ok();
  }
  pending_cards_.clear();
  if (delta.to_version == version_ && !delta.replaces_all) return Status::ok();   // nothing new
  std::set<CardId> next = delta.replaces_all ? std::set<CardId>{} : cards_;
  for (const auto& card : delta.removed) next.erase(card);
  next.insert(delta.added.begin(), delta.added.end());
  return replace(std::move(next), delta.to_version);
}

Status DenyList::take_page(const DenyListDelta& delta) {
  auto refuse = [&](const std::string& why) {
    pending_cards_.clear();
    return Status::invalid_argument("deny list page of version " + std::to_string(delta.to_version) + " refused: " + why);
  };
  if (pending_cards_.empty()) return refuse("no snapshot is in progress");
  if (delta.to_version != pending_version_) {
    return refuse("the snapshot in progress is version " + std::to_string(pending_version_));
  }
  if (delta.replaces_all || !delta.removed.empty()) return refuse("a page neither replaces nor removes");
  const CardId* last = &pending_cards_.back();
  for (const auto& card : delta.added) {
    if (card.empty() || !(*last < card)) return refuse("its cards do not follow the last one in ascending order");
    last = &card;
  }
  if (pending_cards_.size() + delta.added.size() > cards_max) {
    return refuse(fmt::format("the list would hold more than {} cards", cards_max));
  }
  pending_cards_.insert(pending_cards_.end(), delta.added.begin(), delta.added.end());
  if (delta.more) return Status::ok();
  std::vector<CardId> cards;
  cards.swap(pending_cards_);
  // Ascending already: each insert lands at the end.
  std::set<CardId> next;
  for (const CardId& card : cards) next.emplace_hint(next.end(), card);
  return replace(std::move(next), pending_version_);
}

Status DenyList::replace(std::set<CardId> next, std::uint64_t version) {
  if (next.size() > cards_max) {
    return Status::invalid_argument(fmt::format("deny list would hold {} cards, more than {}", next.size(), cards_max));
  }
  std::swap(cards_, next);
  std::uint64_t previous_version = version_;
  version_ = version;
  if (auto saved = save(); !saved) {
    std::swap(cards_, next);
    version_ = previous_version;
    return saved;
  }
  return Status::ok();
}

Status DenyList::save() const {
  card::Bytes out(magic, magic + 4);
  coding::put_be<std::uint64_t>(out, version_);
  coding::put_be<std::uint32_t>(out, static_cast<std::uint32_t>(cards_.size()));
  for (const auto& card : cards_) {
    out.push_back(static_cast<std::uint8_t>(card.size()));
    out.insert(out.end(), card.data(), card.data() + card.size());
  }
  coding::put_be<std::uint32_t>(out, coding::crc32(out));
  return write_file_atomically(path_, out);
}

}  // namespace citycard::agent
