// Tap records' retention (engine/groups/tap_retention.h): anonymised and
// deleted by business day with exact counts, in batches, resumable, a rerun
// changing nothing; the keyed token (tap_token.h); the [records] policy's
// checks; listings of anonymised days naming no card.
#include <sys/stat.h>

#include <fstream>

#include "admin_api.h"
#include "config.h"
#include "retention_fixture.h"
#include "tap_retention.h"
#include "tap_token.h"

namespace citycard::engine::testing {
namespace {

constexpr std::int32_t today = 20'500;

TapTokenKey key_of(std::uint8_t fill) {
  std::array<std::uint8_t, tap_token_key_bytes> bytes{};
  bytes.fill(fill);
  return TapTokenKey(bytes);
}

std::size_t audit_entries(const ledger::Ledger& ledger) {
  std::size_t count = 0;
  REQUIRE(ledger.snapshot()->scan_records(ledger::RecordSpace::audit, "", [&](std::string_view, std::string_view) {
    ++count;
    return true;
  }));
  return count;
}

}  // namespace

TEST_CASE("tap retention: records are anonymised and deleted by business day, with exact counts, and a rerun changes nothing") {
  TempDir dir("engine-retention");
  auto ledger = make_ledger(dir.path / "ledger");
  write_day_records(*ledger, today - 10, today);  // 11 days, 33 records
  const TapTokenKey key = key_of(0x5A);
  TapRetentionPolicy policy;
  policy.keep_days = 7;             // days before today - 7 go: today-10, -9, -8
  policy.anonymise_after_days = 3;  // days before today - 3 lose the card: today-7 .. today-4
  TapRetentionRun run;
  run.today = today;
  run.records_per_write = 5;
  OfficeActor actor;
  actor.clerk = "ann";
  actor.role = "supervisor";
  actor.key = IdempotencyKey{Origin::operator_action, 1, 1};

  auto report = apply_tap_retention(*ledger, policy, &key, run, &actor);
  INFO(report.status().to_string());
  REQUIRE(report);
  CHECK(report->delete_before_day == today - 7);
  CHECK(report->anonymise_before_day == today - 3);
  CHECK(report->deleted == 9);
  CHECK(report->anonymised == 12);
  CHECK(report->already_anonymised == 0);
  CHECK(report->records_read == 21);
  CHECK(report->writes == 5);  // 21 changes in fives, the audit entry with the last
  CHECK(report->next_key.empty());
  CHECK(audit_entries(*ledger) == 1);
  auto entry = ledger->record(ledger::RecordSpace::audit, actor.key.to_string());
  REQUIRE(entry);
  CHECK(entry->find("12 anonymised") != std::string::npos);
  CHECK(entry->find("9 deleted") != std::string::npos);

  for (std::int32_t day = today - 10; day <= today; ++day) {
    INFO("day " << today - day << " before today");
    const nlohmann::json entries = listed_day(*ledger, day);
    if (day < today - 7) {
      CHECK(entries.empty());
      continue;
    }
    REQUIRE(entries.size() == 3);
    for (const auto& listed : entries) {
      const bool anonymous = day < today - 3;
      CHECK(listed["anonymised"] == anonymous);
      CHECK(listed.contains("card") == !anonymous);
      CHECK(listed.contains("token") == anonymous);
      if (anonymous) {
        CHECK(listed["account"] == 0);
        // No card id anywhere in the entry, the token is the card's under the key.
        CHECK(listed.dump().find(retention_card_a) == std::string::npos);
        CHECK(listed.dump().find(retention_card_b) == std::string::npos);
        const std::string card = listed["tap"].get<std::string>().rfind("tap:19:", 0) == 0 ? retention_card_b : retention_card_a;
        CHECK(listed["token"] == key.token(*CardId::parse(card)).to_string());
        // What the reports need is still there.
        CHECK(listed["mode"] != "");
        CHECK(listed["operator"] != 0);
      }
    }
  }
  // A card's own listing does not find its anonymised records.
  CHECK(listed_day(*ledger, today - 5, retention_card_a).empty());
  CHECK(listed_day(*ledger, today - 2, retention_card_a).size() == 2);
  // One card keeps one token across days: its anonymous rides still count one rider.
  CHECK(listed_day(*ledger, today - 5)[0]["token"] == listed_day(*ledger, today - 6)[0]["token"]);

  // Again: nothing to do, nothing written, no audit entry.
  actor.key = IdempotencyKey{Origin::operator_action, 1, 2};
  auto again = apply_tap_retention(*ledger, policy, &key, run, &actor);
  REQUIRE(again);
  CHECK(again->deleted == 0);
  CHECK(again->anonymised == 0);
  CHECK(again->already_anonymised == 12);
  CHECK(again->writes == 0);
  CHECK(audit_entries(*ledger) == 1);

  // The next day moves each boundary by one day.
  run.today = today + 1;
  auto next_day = apply_tap_retention(*ledger, policy, &key, run, nullptr);
  REQUIRE(next_day);
  CHECK(next_day->deleted == 3);
  CHECK(next_day->anonymised == 3);
  CHECK(next_day->already_anonymised == 9);
}

TEST_CASE("tap retention: a run in bounded calls carries on where the last stopped and ends as one run does") {
  TempDir dir("engine-retention-calls");
  auto ledger = make_ledger(dir.path / "ledger");
  write_day_records(*ledger, today - 10, today);
  const TapTokenKey key = key_of(1);
  TapRetentionPolicy policy;
  policy.keep_days = 7;
  policy.anonymise_after_days = 3;
  TapRetentionRun run;
  run.today = today;
  run.records_per_call = 4;
  std::uint64_t deleted = 0, anonymised = 0;
  int calls = 0;
  for (;; ++calls) {
    REQUIRE(calls < 10);
    auto report = apply_tap_retention(*ledger, policy, &key, run, nullptr);
    INFO(report.status().to_string());
    REQUIRE(report);
    CHECK(report->records_read <= 4);
    deleted += report->deleted;
    anonymised += report->anonymised;
    if (report->next_key.empty()) break;
    auto round_trip = tap_retention_key_from_hex(tap_retention_json(*report)["next_key"]);
    REQUIRE(round_trip);
    CHECK(*round_trip == report->next_key);
    run.from = report->next_key;
  }
  CHECK(calls == 5);  // 21 records due, 4 a call
  CHECK(deleted == 9);
  CHECK(anonymised == 12);
}

TEST_CASE("tap retention: only deleting needs no key, anonymising refuses to run without one") {
  TempDir dir("engine-retention-no-key");
  auto ledger = make_ledger(dir.path / "ledger");
  write_day_records(*ledger, today - 3, today);
  TapRetentionPolicy policy;
  policy.keep_days = 1;
  TapRetentionRun run;
  run.today = today;
  auto deleted = apply_tap_retention(*ledger, policy, nullptr, run, nullptr);
  REQUIRE(deleted);
  CHECK(deleted->deleted == 6);
  CHECK(deleted->anonymise_before_day == std::nullopt);
  CHECK(listed_day(*ledger, today - 1).size() == 3);
  policy.keep_days = 0;
  policy.anonymise_after_days = 1;
  auto refused = apply_tap_retention(*ledger, policy, nullptr, run, nullptr);
  REQUIRE_FALSE(refused);
  CHECK(refused.status().message().find("token key") != std::string::npos);
  // Nothing set: nothing happens.
  auto nothing = apply_tap_retention(*ledger, TapRetentionPolicy{}, nullptr, run, nullptr);
  REQUIRE(nothing);
  CHECK(nothing->records_read == 0);
  CHECK(listed_day(*ledger, today - 1).size() == 3);
}

TEST_CASE("tap retention: the token is keyed, stable, and anonymised records decode, old ones as before") {
  const CardId card = *CardId::parse(retention_card_a);
  const CardId other = *CardId::parse(retention_card_b);
  const TapTokenKey key = key_of(7);
  CHECK(key.token(card) == key.token(card));
  CHECK(key.token(card).size() == tap_token_bytes);
  CHECK(key.token(card) != key.token(other));
  CHECK(key_of(8).token(card) != key.token(card));
  CHECK(key.token(card) != card);

  RecordedTap record;
  record.business_day = today;
  record.tap.id = TapId{ReaderId{bus_reader}, 9};
  record.tap.card = key.token(card);
  record.tap.media = Media::physical_card;
  record.tap.mode = Mode::bus_board;
  record.outcome = protocol::Outcome::approved;
  record.anonymised = true;
  const ledger::RecordWrite write = tap_record_write(record);
  auto decoded = decode_recorded_tap(write.key, write.value);
  INFO(decoded.status().to_string());
  REQUIRE(decoded);
  CHECK(*decoded == record);
  // An anonymised record with an account would still name the card.
  record.account = AccountId{5};
  auto with_account = decode_recorded_tap(write.key, tap_record_write(record).value);
  REQUIRE_FALSE(with_account);
  CHECK(with_account.status().message().find("anonymised") != std::string::npos);
  // A record without the flag reads as it always did.
  record.account = AccountId{5};
  record.anonymised = false;
  record.tap.card = card;
  auto plain = decode_recorded_tap(write.key, tap_record_write(record).value);
  REQUIRE(plain);
  CHECK_FALSE(plain->anonymised);
  CHECK(plain->tap.card == card);
}

TEST_CASE("tap retention: the token key file is made once, mode 0600, and a bad one is refused without showing it") {
  TempDir dir("engine-retention-key");
  const std::string path = (dir.path / "records-token.key").string();
  auto missing = load_tap_token_key(path);
  REQUIRE_FALSE(missing);
  CHECK(missing.status().code() == StatusCode::not_found);
  CHECK(missing.status().message().find("citycard records token-key --create") != std::string::npos);

  REQUIRE(create_tap_token_key(path));
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  auto loaded = load_tap_token_key(path);
  REQUIRE(loaded);
  auto again = load_tap_token_key(path);
  REQUIRE(again);
  const CardId card = *CardId::parse(retention_card_a);
  CHECK(loaded->token(card) == again->token(card));
  auto replaced = create_tap_token_key(path);
  REQUIRE_FALSE(replaced);
  CHECK(replaced.code() == StatusCode::already_exists);
  CHECK(load_tap_token_key(path)->token(card) == loaded->token(card));

  ::chmod(path.c_str(), 0644);
  auto readable = load_tap_token_key(path);
  REQUIRE_FALSE(readable);
  CHECK(readable.status().message().find("chmod 600") != std::string::npos);

  const std::string bad = (dir.path / "bad.key").string();
  {
    std::ofstream out(bad);
    out << "secret-not-hex\n";
  }
  ::chmod(bad.c_str(), 0600);
  auto malformed = load_tap_token_key(bad);
  REQUIRE_FALSE(malformed);
  CHECK(malformed.status().message().find("is not 64 hex digits") != std::string::npos);
  CHECK(malformed.status().message().find("secret") == std::string::npos);
}

TEST_CASE("tap retention: the [records] configuration is read, and a bad one refused naming the key") {
  auto parsed = parse_config("data_dir = \"/srv/city\"\n[records]\nkeep_days = 365\nanonymise_after_days = 90\n", "engine.toml");
  INFO(parsed.status().to_string());
  REQUIRE(parsed);
  CHECK(parsed->records_retention.keep_days == 365);
  CHECK(parsed->records_retention.anonymise_after_days == 90);
  CHECK(parsed->records_token_key_file == "/srv/city/records-token.key");
  auto defaults = parse_config("", "engine.toml");
  REQUIRE(defaults);
  CHECK_FALSE(defaults->records_retention.any());

  auto refused = [](const std::string& text, const std::string& words) {
    auto config = parse_config(text, "engine.toml");
    REQUIRE_FALSE(config);
    INFO(config.status().message());
    CHECK(config.status().code() == StatusCode::invalid_argument);
    CHECK(config.status().message().find(words) != std::string::npos);
  };
  refused("[records]\nkeep_days = 30\nanonymise_after_days = 30\n",
          "engine.toml: records.anonymise_after_days (30) must be less than records.keep_days (30)");
  refused("[records]\nkeep_days = 30\nanonymise_after_days = 60\n", "must be less than records.keep_days");
  refused("[records]\nkeep_days = 0\n", "records.keep_days must be an integer in 1..36600");
  refused("[records]\nanonymise_after_days = -1\n", "records.anonymise_after_days must be an integer in 1..36600");
  refused("[records]\nkeep_days = \"a year\"\n", "records.keep_days must be an integer");
  refused("[records]\nkeep = 30\n", "records.keep is not a known key");
  // Anonymising without deleting is a policy of its own.
  auto anonymise_only = parse_config("[records]\nanonymise_after_days = 30\n", "engine.toml");
  REQUIRE(anonymise_only);
  CHECK(check_tap_retention_policy(anonymise_only->records_retention));
}

TEST_CASE("tap retention: the admin op records_retain applies the engine's policy while the pipeline decides taps") {
  TempDir dir("engine-retention-admin");
  auto ledger = make_ledger(dir.path / "ledger");
  issue_card(*ledger, retention_card_a, 500);
  Pipeline pipeline(*ledger);
  const std::int32_t day = rules::LocalCalendar(city_rules().utc_offset_minutes, city_rules().business_day_start_minutes)
                               .business_day(EventTime{monday_8am_us});
  write_day_records(*ledger, day - 10, day);
  REQUIRE(pipeline.tap(make_tap(bus_reader, 900, retention_card_a, Mode::bus_board, 101, monday_8am_us)).outcome ==
          protocol::Outcome::approved);
  AdminApi api(*pipeline.engine, *ledger);
  const Clerk clerk{"sam", ClerkRole::settlement};
  auto call = [&](nlohmann::json request) {
    nlohmann::json reply;
    api.handle(request, &clerk, [&reply](nlohmann::json answer) { reply = std::move(answer); });
    REQUIRE(reply.is_object());  // answered on the calling thread
    return reply;
  };
  const nlohmann::json request = {{"op", "records_retain"}, {"as_of", rules::format_date_days(day)}, {"reason", "daily"}};

  CHECK(call(request)["error"].get<std::string>().find("keeps tap records for ever") != std::string::npos);
  const std::string key_file = (dir.path / "records-token.key").string();
  TapRetentionPolicy policy;
  policy.keep_days = 7;
  policy.anonymise_after_days = 3;
  api.set_records_retention(policy, key_file);
  auto no_key = call(request);
  CHECK(no_key["ok"] == false);
  CHECK(no_key["error"].get<std::string>().find(key_file) != std::string::npos);
  REQUIRE(create_tap_token_key(key_file));
  CHECK(call({{"op", "records_retain"}, {"as_of", "2999-01-01"}})["error"].get<std::string>().find("is after today") !=
        std::string::npos);

  auto done = call(request);
  INFO(done.dump());
  CHECK(done["ok"] == true);
  CHECK(done["deleted"] == 9);
  CHECK(done["anonymised"] == 12);
  CHECK(done["next_key"] == "");
  CHECK(done["anonymise_before"] == rules::format_date_days(day - 3));
  CHECK(done["delete_before"] == rules::format_date_days(day - 7));
  // The pipeline's own record of the day keeps its card, and the engine goes on deciding.
  CHECK(listed_day(*ledger, day, retention_card_a).size() == 3);
  CHECK(listed_day(*ledger, day - 4, retention_card_a).empty());
  REQUIRE(pipeline.tap(make_tap(bus_reader, 901, retention_card_a, Mode::bus_board, 101, monday_8am_us + 60'000'000)).outcome ==
          protocol::Outcome::approved);
  auto again = call(request);
  CHECK(again["deleted"] == 0);
  CHECK(again["anonymised"] == 0);
  CHECK(again["already_anonymised"] == 12);
  CHECK(audit_entries(*ledger) == 1);
}

}  // namespace citycard::engine::testing
