// The deny list reaching a reader over the real mutual-TLS server on
// loopback: a 100,000-card list in pages, a reader cut off mid-snapshot, and
// changes made while the pages come.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <functional>

#include "online_fixture.h"

using namespace citycard;
using namespace citycard::test;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

CardId numbered(std::uint32_t n) { return *CardId::parse(fmt::format("04{:012X}", std::uint64_t{n} * 7919)); }

// The real link, watched: every position asked from, and a hook after each
// answer (to cut the connection or change the list at a chosen page).
class WatchedLink final : public agent::EngineLink {
 public:
  explicit WatchedLink(agent::EngineLink& inner) : inner_(inner) {}
  Result<std::vector<agent::TapDecision>> submit_taps(std::span<const agent::QueuedTap> taps,
                                                      agent::Deadline deadline) override {
    return inner_.submit_taps(taps, deadline);
  }
  Result<agent::DenyListDelta> fetch_deny_list(const agent::DenyListPosition& from, agent::Deadline deadline) override {
    positions.push_back(from);
    auto answer = inner_.fetch_deny_list(from, deadline);
    if (answer) {
      ++answered;
      if (after_answer) after_answer(answered);
    }
    return answer;
  }

  std::vector<agent::DenyListPosition> positions;
  int answered = 0;
  std::function<void(int)> after_answer;

 private:
  agent::EngineLink& inner_;
};

// The reader holds exactly the engine's set at the engine's version.
void check_converged(const agent::Agent& reader, const net::MemoryDenyList& engine) {
  auto contents = engine.contents();
  REQUIRE(reader.deny_list().version() == contents.version);
  REQUIRE(reader.deny_list().size() == contents.cards.size());
  std::size_t missing = 0;
  for (const CardId& card : contents.cards) missing += reader.deny_list().contains(card) ? 0 : 1;
  CHECK(missing == 0);
}

// A generous bound so a busy machine never fails the test; speed is the bench's.
agent::Deadline patient() { return agent::Clock::now() + seconds(60); }

}  // namespace

TEST_CASE("online: a 100,000-card deny list converges at a new reader, every card, in 49 pages", "[online][deny]") {
  LoopbackEngine engine;
  for (std::uint32_t i = 0; i < 100'000; ++i) engine.deny_list.add(numbered(i));
  TempDir dir;
  agent::AgentConfig config = online_config(dir, engine.port());
  auto uplink = make_link(config);
  WatchedLink link(*uplink);
  auto reader = open_agent(config, link);

  Status refreshed = reader->refresh_deny_list(patient());
  INFO(refreshed.to_string());
  REQUIRE(refreshed.is_ok());
  check_converged(*reader, engine.deny_list);
  // 49 pages (48 of 2,048 and one of 1,696), then the delta from the snapshot: empty.
  REQUIRE(link.positions.size() == 50);
  CHECK(link.positions.front() == agent::DenyListPosition{});
  for (std::size_t i = 1; i < 49; ++i) {
    INFO("page " << i + 1);
    CHECK(link.positions[i].snapshot_version == engine.deny_list.current_version());
    if (i > 1) CHECK(link.positions[i - 1].after < link.positions[i].after);
  }
  CHECK(link.positions.back() == agent::DenyListPosition{engine.deny_list.current_version(), 0, CardId()});

  // Kept on disk: a reader that boots without coverage has all of it.
  auto reopened = agent::DenyList::open(config.state_dir + "/deny.list");
  REQUIRE(reopened.has_value());
  CHECK(reopened->version() == engine.deny_list.current_version());
  CHECK(reopened->size() == 100'000);
}

TEST_CASE("online: a reader cut off mid-snapshot keeps its old list whole and continues on the next connection",
          "[online][deny]") {
  LoopbackEngine engine;
  const CardId old_card = *CardId::parse("04DEAD00BEEF01");
  engine.deny_list.add(old_card);
  TempDir dir;
  agent::AgentConfig config = online_config(dir, engine.port());
  auto uplink = make_link(config);
  WatchedLink link(*uplink);
  auto reader = open_agent(config, link);
  REQUIRE(reader->refresh_deny_list(patient()).is_ok());
  const std::uint64_t old_version = reader->deny_list().version();

  // The engine's history no longer reaches the reader's version: a full
  // snapshot of 10,000 cards, 5 pages. The link is cut after the second.
  engine.deny_list.remove(old_card);
  for (std::uint32_t i = 0; i < 10'000; ++i) engine.deny_list.add(numbered(i));
  auto contents = engine.deny_list.contents();
  contents.history.clear();
  REQUIRE(engine.deny_list.restore(contents).is_ok());
  const std::uint64_t snapshot = engine.deny_list.current_version();
  const std::uint16_t port = engine.port();
  link.answered = 0;
  link.after_answer = [&](int answered) {
    if (answered == 2) engine.server->stop(milliseconds(500));
  };
  Status cut = reader->refresh_deny_list(patient());
  INFO(cut.to_string());
  CHECK(agent::is_retryable(cut));  // unavailable, or busy: the engine said it is shutting down
  CHECK(reader->deny_list().version() == old_version);
  CHECK(reader->deny_list().size() == 1);
  CHECK(reader->deny_list().contains(old_card));
  CHECK(reader->deny_list().snapshot_cards() == 2 * protocol::deny_cards_max);
  // What is on disk is the old list too.
  auto on_disk = agent::DenyList::open(config.state_dir + "/deny.list");
  REQUIRE(on_disk.has_value());
  CHECK(on_disk->version() == old_version);
  CHECK(on_disk->contains(old_card));

  // The engine comes back on the same port; the list changed meanwhile.
  link.after_answer = nullptr;
  engine.deny_list.add(numbered(20'000));
  engine.deny_list.remove(numbered(9'999));
  net::ServerOptions options = net::testing::server_options();
  options.port = port;
  auto restarted = net::Server::start(std::move(options), engine.sink, &engine.deny_list);
  INFO(restarted.status().to_string());
  REQUIRE(restarted);
  engine.server = std::move(restarted).value();
  link.positions.clear();
  Status resumed = reader->refresh_deny_list(patient());
  INFO(resumed.to_string());
  REQUIRE(resumed.is_ok());
  // It continued the snapshot where it was cut, not from the start.
  REQUIRE_FALSE(link.positions.empty());
  CHECK(link.positions.front().snapshot_version == snapshot);
  CHECK(link.positions.front().version == old_version);
  CHECK(link.positions.size() == 3 + 1);  // pages 3..5, then the delta from the snapshot
  check_converged(*reader, engine.deny_list);
  CHECK(reader->deny_list().contains(numbered(20'000)));
  CHECK_FALSE(reader->deny_list().contains(numbered(9'999)));
  CHECK_FALSE(reader->deny_list().contains(old_card));
}

TEST_CASE("online: changes made while the pages come reach the reader in the delta after the snapshot",
          "[online][deny]") {
  LoopbackEngine engine;
  for (std::uint32_t i = 0; i < 5'000; ++i) engine.deny_list.add(numbered(i));
  TempDir dir;
  agent::AgentConfig config = online_config(dir, engine.port());
  auto uplink = make_link(config);
  WatchedLink link(*uplink);
  auto reader = open_agent(config, link);
  const std::uint64_t snapshot = engine.deny_list.current_version();
  link.after_answer = [&](int answered) {
    if (answered == 1) {
      engine.deny_list.remove(numbered(4'999));  // in a page not yet sent
      engine.deny_list.remove(numbered(0));      // in the page already sent
      engine.deny_list.add(numbered(50'000));
    }
    if (answered == 2) engine.deny_list.add(numbered(60'000));
  };
  REQUIRE(reader->refresh_deny_list(patient()).is_ok());
  check_converged(*reader, engine.deny_list);
  CHECK(engine.deny_list.current_version() == snapshot + 4);
  CHECK_FALSE(reader->deny_list().contains(numbered(4'999)));
  CHECK(reader->deny_list().contains(numbered(60'000)));
  CHECK(link.positions.size() == 3 + 1);  // three pages at the snapshot's version, then its delta
}
