// Test helper for the engine-as-a-process tests: a reader's uplink options
// from a data directory's PKI, and "every tap ever sent, again", which must
// come back decided, those decided before with their first decision flagged
// replayed (no tap lost, none charged twice).
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <vector>

#include "engine/pki/pki.h"
#include "readers/uplink/uplink.h"

namespace citycard::engine::testing {

inline uplink::UplinkOptions reader_options(const std::filesystem::path& pki_dir, ReaderId reader, std::uint16_t port) {
  pki::Paths paths{pki_dir};
  uplink::UplinkOptions options;
  options.port = port;
  options.ca_certificate = paths.ca_certificate().string();
  options.certificate = paths.reader_certificate(reader).string();
  options.private_key = paths.reader_key(reader).string();
  options.reader = reader;
  options.connect_timeout = std::chrono::milliseconds(3000);
  options.reply_timeout = std::chrono::milliseconds(3000);
  return options;
}

// Sends every tap of `sent` again; `decisions` gains those first decided now.
inline void resend_all(const std::filesystem::path& pki_dir, std::uint16_t port,
                       const std::map<TapId, protocol::TapRecord>& sent,
                       std::map<TapId, protocol::DecisionRecord>& decisions) {
  std::map<ReaderId, std::vector<protocol::TapRecord>> by_reader;
  for (const auto& [id, tap] : sent) by_reader[id.reader].push_back(tap);
  for (auto& [reader, taps] : by_reader) {
    uplink::Uplink link(reader_options(pki_dir, reader, port));
    REQUIRE(link.connect().is_ok());
    for (std::size_t first = 0; first < taps.size(); first += limits::batch_taps_max) {
      protocol::TapBatch batch;
      batch.batch_id = first + 1;
      for (std::size_t i = first; i < std::min(taps.size(), first + limits::batch_taps_max); ++i) batch.taps.push_back(taps[i]);
      auto reply = link.submit(batch);
      REQUIRE(reply);
      REQUIRE(reply->kind == uplink::BatchReply::Kind::decided);
      for (const auto& decision : reply->decisions.decisions) {
        auto earlier = decisions.find(decision.tap);
        if (earlier != decisions.end()) {
          protocol::DecisionRecord expected = earlier->second;
          expected.flags |= protocol::DecisionFlags::replayed;
          CHECK(decision == expected);
        } else {
          decisions[decision.tap] = decision;
        }
      }
    }
  }
}

}  // namespace citycard::engine::testing
