#include "deny_list.h"

#include <fmt/format.h>

#include <algorithm>

#include "card/bytes.h"
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
  if (crc32(card::ByteView(bytes).subspan(0, bytes.size() - 4)) != card::get_u32(&bytes[bytes.size() - 4])) {
    return damaged("checksum mismatch");
  }
  card::ByteReader in(card::ByteView(bytes).subspan(4, bytes.size() - 8));
  list.version_ = in.u64();
  std::uint32_t count = in.u32();
  if (count > cards_max) return damaged("too many entries");
  for (std::uint32_t i = 0; i < count; ++i) {
    std::size_t length = in.u8();
    card::ByteView id = in.take(length);
    if (!in.ok() || length == 0 || length > CardId::bytes_max) return damaged("bad entry");
    list.cards_.insert(CardId::from_bytes(id.data(), id.size()));
  }
  if (!in.ok() || in.remaining() != 0) return damaged("length mismatch");
  return list;
}

Status DenyList::apply(const DenyListDelta& delta) {
  if (delta.to_version < version_ || (!delta.replaces_all && delta.from_version != version_)) {
    return Status::invalid_argument(fmt::format("deny list delta {} -> {} does not apply to version {}; fetch the full list",
                                                delta.from_version, delta.to_version, version_));
  }
  if (delta.to_version == version_ && !delta.replaces_all) return Status::ok();   // nothing new
  std::set<CardId> next = delta.replaces_all ? std::set<CardId>{} : cards_;
  for (const auto& card : delta.removed) next.erase(card);
  for (const auto& card : delta.added) {
    if (card.empty()) return Status::invalid_argument("deny list delta names an empty card id");
    next.insert(card);
  }
  if (next.size() > cards_max) {
    return Status::invalid_argument(fmt::format("deny list would hold {} cards, more than {}", next.size(), cards_max));
  }
  std::swap(cards_, next);
  std::uint64_t previous_version = version_;
  version_ = delta.to_version;
  if (auto saved = save(); !saved) {
    std::swap(cards_, next);
    version_ = previous_version;
    return saved;
  }
  return Status::ok();
}

Status DenyList::save() const {
  card::Bytes out(magic, magic + 4);
  card::put_u64(out, version_);
  card::put_u32(out, static_cast<std::uint32_t>(cards_.size()));
  for (const auto& card : cards_) {
    out.push_back(static_cast<std::uint8_t>(card.size()));
    out.insert(out.end(), card.data(), card.data() + card.size());
  }
  card::put_u32(out, crc32(out));
  return write_file_atomically(path_, out);
}

}  // namespace citycard::agent
