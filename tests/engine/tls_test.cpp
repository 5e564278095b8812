// The real engine behind the real mutual-TLS server on loopback, driven by
// the reader's Uplink: a full round trip, resend after a disconnect, and the
// deny list as readers fetch it.
#include "engine_fixture.h"

#include <functional>

#include "deny_list_store.h"
#include "engine/net/server.h"
#include "engine/pki/pki.h"
#include "readers/uplink/uplink.h"

namespace citycard::engine::testing {
namespace {

const std::string card_a = "04A1B2C3D4E5F6";
constexpr ReaderId reader{17};

struct TlsEngine {
  // before_start: what the ledger holds besides card_a when the engine starts.
  explicit TlsEngine(const std::function<void(ledger::Ledger&)>& before_start = nullptr)
      : dir("engine-tls"), ledger(make_ledger(dir.path / "ledger")) {
    pki::Paths paths{dir.path / "pki"};
    REQUIRE(pki::init(paths.dir).is_ok());
    REQUIRE(pki::issue_engine(paths.dir, {"localhost", "127.0.0.1"}).is_ok());
    REQUIRE(pki::issue_reader(paths.dir, reader).is_ok());
    issue_card(*ledger, card_a, 100);
    if (before_start) before_start(*ledger);
    pipeline = std::make_unique<Pipeline>(*ledger);
    net::ServerOptions options;
    options.tls = net::TlsFiles{paths.ca_certificate().string(), paths.crl().string(),
                                paths.engine_certificate().string(), paths.engine_key().string()};
    options.handshake_timeout = std::chrono::milliseconds(3000);
    auto started = net::Server::start(options, *pipeline->engine, &pipeline->engine->deny_list());
    INFO(started.status().to_string());
    REQUIRE(started);
    server = std::move(started).value();
  }
  ~TlsEngine() {
    server->stop(std::chrono::milliseconds(2000));
    pipeline->engine->stop();
  }

  std::uint64_t engine_last_sequence() const { return pipeline->engine->last_sequence(reader); }

  uplink::UplinkOptions client() const {
    pki::Paths paths{dir.path / "pki"};
    uplink::UplinkOptions options;
    options.port = server->port();
    options.ca_certificate = paths.ca_certificate().string();
    options.certificate = paths.reader_certificate(reader).string();
    options.private_key = paths.reader_key(reader).string();
    options.reader = reader;
    options.reply_timeout = std::chrono::milliseconds(5000);
    return options;
  }

  TempDir dir;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<net::Server> server;
};

protocol::TapBatch three_taps(std::uint64_t batch_id) {
  protocol::TapBatch batch;
  batch.batch_id = batch_id;
  batch.taps.push_back(make_tap(reader.value, 1, card_a, Mode::bus_board, 101, monday_8am_us));
  // A library sign-in from a bus validator: not what reader 17 is registered for.
  batch.taps.push_back(make_tap(reader.value, 2, card_a, Mode::identify, 501, monday_8am_us + 1'000'000));
  batch.taps.push_back(make_tap(reader.value, 3, "0BADCAFE", Mode::bus_board, 101, monday_8am_us + 2'000'000));
  return batch;
}

// Pages through the whole deny list as a reader does: the first page, then
// the next after the last card, until no more follow.
std::vector<CardId> fetch_whole_list(uplink::Uplink& link, int& frames) {
  std::vector<CardId> cards;
  protocol::DenyListRequest request{0, 0, {}};
  for (;;) {
    auto page = link.deny_list(request, std::chrono::steady_clock::now() + std::chrono::seconds(30));
    INFO(page.status().to_string());
    REQUIRE(page);
    ++frames;
    REQUIRE((page->flags & (protocol::DenyListDelta::flag_full | protocol::DenyListDelta::flag_page)) != 0);
    cards.insert(cards.end(), page->added.begin(), page->added.end());
    if ((page->flags & protocol::DenyListDelta::flag_more) == 0) return cards;
    request = protocol::DenyListRequest{0, page->to_version, cards.back()};
  }
}

}  // namespace

TEST_CASE("a tap batch over mutual TLS is rated, made durable and answered") {
  TlsEngine engine;
  uplink::Uplink link(engine.client());
  REQUIRE(link.connect().is_ok());
  auto reply = link.submit(three_taps(1));
  INFO(reply.status().to_string());
  REQUIRE(reply);
  REQUIRE(reply->kind == uplink::BatchReply::Kind::decided);
  const auto& decisions = reply->decisions.decisions;
  REQUIRE(decisions.size() == 3);
  CHECK(reply->decisions.batch_id == 1);
  CHECK(decisions[0].outcome == protocol::Outcome::approved);
  CHECK(decisions[0].fare_minor == 15);
  CHECK(decisions[0].balance_after_minor == 85);
  CHECK(decisions[1].reason == RefusalReason::reader_not_allowed);
  CHECK(engine.engine_last_sequence() == 3);
  CHECK(decisions[2].reason == RefusalReason::card_unknown);
  CHECK(wallet_of(*engine.ledger, card_a) == 85);
}

TEST_CASE("a reader that reconnects and resends gets the same decisions and pays once") {
  TlsEngine engine;
  protocol::Decisions first;
  {
    uplink::Uplink link(engine.client());
    REQUIRE(link.connect().is_ok());
    auto reply = link.submit(three_taps(1));
    REQUIRE(reply);
    REQUIRE(reply->kind == uplink::BatchReply::Kind::decided);
    first = reply->decisions;
    link.close();
  }
  uplink::Uplink again(engine.client());
  REQUIRE(again.connect().is_ok());
  CHECK(again.session().last_sequence == 3);  // hello_ack: the highest sequence the engine holds
  auto reply = again.submit(three_taps(7));
  REQUIRE(reply);
  REQUIRE(reply->kind == uplink::BatchReply::Kind::decided);
  REQUIRE(reply->decisions.decisions.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    protocol::DecisionRecord expected = first.decisions[i];
    expected.flags |= protocol::DecisionFlags::replayed;
    CHECK(reply->decisions.decisions[i] == expected);
  }
  CHECK(wallet_of(*engine.ledger, card_a) == 85);
  CHECK(engine.ledger->verify().ok());
}

TEST_CASE("readers fetch the deny list the card office keeps current through the engine") {
  TlsEngine engine;
  uplink::Uplink link(engine.client());
  REQUIRE(link.connect().is_ok());
  CHECK(link.session().deny_list_version == deny_version(1, 0));  // the first epoch, empty
  AdminCommand lost;
  lost.action = AdminAction::set_status;
  lost.status = CardStatus::lost;
  lost.card = *CardId::parse(card_a);
  lost.key = IdempotencyKey{Origin::operator_action, 1, 1};
  REQUIRE(engine.pipeline->admin(lost).status.is_ok());
  auto delta = link.deny_list_since(0);
  REQUIRE(delta);
  REQUIRE(delta->added.size() == 1);
  CHECK(delta->added[0] == *CardId::parse(card_a));
  CHECK(delta->to_version == deny_version(1, 1));
  auto reply = link.submit(three_taps(2));
  REQUIRE(reply);
  REQUIRE(reply->kind == uplink::BatchReply::Kind::decided);
  CHECK(reply->decisions.decisions[0].reason == RefusalReason::card_lost);
}

}  // namespace citycard::engine::testing

namespace citycard::engine::testing {

TEST_CASE("a deny list larger than one frame, from the ledger's cards, reaches a reader through the engine in pages") {
  // 5,000 cards blocked without the engine (as the CLI does on a stopped
  // ledger): the engine lists them from the card records at start.
  constexpr int blocked = 5'000;
  std::vector<CardId> expected;
  TlsEngine engine([&](ledger::Ledger& ledger) {
    std::vector<ledger::NewCard> cards(blocked);
    for (int i = 0; i < blocked; ++i) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0E%08X", i);
      cards[static_cast<std::size_t>(i)].card = *CardId::parse(hex);
      expected.push_back(cards[static_cast<std::size_t>(i)].card);
    }
    auto issued = ledger.issue_cards(cards);
    REQUIRE(issued);
    for (auto& record : *issued) record.status = CardStatus::blocked;
    REQUIRE(ledger.put_records({}, *issued).is_ok());
  });
  uplink::Uplink link(engine.client());
  REQUIRE(link.connect().is_ok());
  int frames = 0;
  std::vector<CardId> cards = fetch_whole_list(link, frames);
  CHECK(frames == 3);
  CHECK(cards == expected);
  CHECK(engine.pipeline->engine->deny_list().current_version() == link.session().deny_list_version);
}

}  // namespace citycard::engine::testing

namespace citycard::engine::testing {

// A client written from docs/protocol.md alone, holding a bus validator's
// certificate (reader 17, Capital Bus): everything it is not registered for
// is refused and moves nothing.
TEST_CASE("a rogue bus validator over mutual TLS is refused everything it is not for, and nothing moves") {
  TlsEngine engine;
  issue_card(*engine.ledger, "04CAFE0000000001", 20);
  uplink::Uplink link(engine.client());
  REQUIRE(link.connect().is_ok());
  const std::string card = "04CAFE0000000001";
  protocol::TapBatch batch;
  batch.batch_id = 1;
  std::uint64_t sequence = 100;
  auto add = [&](Mode mode, std::uint32_t operator_id, std::int64_t amount, std::int64_t event_us, bool offline) {
    auto tap = make_tap(reader.value, ++sequence, card, mode, operator_id, event_us);
    tap.tap.amount_minor = amount;
    tap.tap.offline = offline;
    batch.taps.push_back(tap);
  };
  add(Mode::top_up, 101, 5000, monday_8am_us, false);                 // money from nothing
  add(Mode::pay, 801, 900, monday_8am_us, false);                     // a car park's payment
  add(Mode::bus_board, 201, 0, monday_8am_us, false);                 // billed to another operator
  add(Mode::bus_board, 101, 0, 3'976'000'000LL * 1'000'000, false);   // dated in 2096
  for (int i = 0; i < 10; ++i) add(Mode::pay, 101, 900, monday_8am_us, true);  // "offline" shop payments
  auto reply = link.submit(batch);
  REQUIRE(reply);
  REQUIRE(reply->kind == uplink::BatchReply::Kind::decided);
  const auto& decisions = reply->decisions.decisions;
  REQUIRE(decisions.size() == batch.taps.size());
  const RefusalReason expected[] = {RefusalReason::reader_not_allowed, RefusalReason::reader_not_allowed,
                                    RefusalReason::reader_not_allowed, RefusalReason::event_time_invalid};
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    INFO("tap " << i);
    CHECK(decisions[i].outcome == protocol::Outcome::refused);
    CHECK(decisions[i].reason == (i < 4 ? expected[i] : RefusalReason::reader_not_allowed));
    auto moved = engine.ledger->transfers_for(IdempotencyKey::for_tap(decisions[i].tap));
    REQUIRE(moved);
    CHECK(moved->empty());
  }
  CHECK(wallet_of(*engine.ledger, card) == 20);
  // Offline bus rides it is for: the card's debt stops at the rule set's 500.
  protocol::TapBatch rides;
  rides.batch_id = 2;
  for (int i = 0; i < 60; ++i) {  // every 3 hours: past transfer windows, under the daily and monthly caps
    auto tap = make_tap(reader.value, ++sequence, card, Mode::bus_board, 101, monday_8am_us + i * 3 * 3'600'000'000LL);
    tap.tap.offline = true;
    rides.taps.push_back(tap);
  }
  auto ridden = link.submit(rides);
  REQUIRE(ridden);
  REQUIRE(ridden->kind == uplink::BatchReply::Kind::decided);
  std::size_t refused = 0;
  for (const auto& decision : ridden->decisions.decisions) refused += decision.reason == RefusalReason::offline_limit_exceeded;
  CHECK(refused > 0);
  CHECK(wallet_of(*engine.ledger, card) >= -500);
  CHECK(engine.ledger->verify().ok());
}

}  // namespace citycard::engine::testing
