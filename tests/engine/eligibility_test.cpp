// The welfare office's eligibility import through the running engine (admin
// op card_eligibility): a category with a period, rated on each tap's own
// business day; a bad row changes nothing.
#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <optional>

#include "admin_api.h"
#include "engine_fixture.h"
#include "rule_set_loader.h"

namespace citycard::engine::testing {
namespace {

constexpr const char* student_card = "04E11A0B000001";
constexpr const char* senior_card = "04E11A0B000002";
constexpr std::int64_t day_us = 24LL * 3'600'000'000LL;

// The admin API as a signed-in supervisor; its answer comes from the shards.
struct Office {
  Office(Pipeline& pipeline, ledger::Ledger& ledger) : api(*pipeline.engine, ledger) {}
  nlohmann::json call(nlohmann::json request) {
    auto answer = std::make_shared<std::promise<nlohmann::json>>();
    auto future = answer->get_future();
    api.handle(request, &clerk, [answer](nlohmann::json reply) { answer->set_value(std::move(reply)); });
    REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    return future.get();
  }
  nlohmann::json eligibility(nlohmann::json rows) {
    return call({{"op", "card_eligibility"}, {"rows", std::move(rows)}, {"reason", "welfare office, March"}});
  }
  AdminApi api;
  const Clerk clerk{"lin", ClerkRole::supervisor};
};

nlohmann::json row(std::size_t line, const std::string& card, const std::string& category, const std::string& from,
                   const std::string& until) {
  return {{"line", line}, {"fields", {card, category, from, until}}};
}

nlohmann::json row(std::size_t line, const std::string& card, const std::string& category, const std::string& from,
                   const std::string& until, const std::string& district) {
  return {{"line", line}, {"fields", {card, category, from, until, district}}};
}

// A fresh ledger with one card issued (500 TWD), the pipeline and the office over it.
// The card is issued before the pipeline starts, as a card office would have it.
struct OneCard {
  OneCard(const char* name, const char* card, RiderCategory category = RiderCategory::general)
      : dir(name), ledger(make_ledger(dir.path / "ledger")) {
    issue_card(*ledger, card, 500, category);
    pipeline.emplace(*ledger);
    office.emplace(*pipeline, *ledger);
  }
  TempDir dir;
  std::unique_ptr<ledger::Ledger> ledger;
  std::optional<Pipeline> pipeline;
  std::optional<Office> office;
};

std::int32_t day_of(const char* date) {
  auto day = rules::parse_date_days(date);
  REQUIRE(day);
  return *day;
}

}  // namespace

TEST_CASE("eligibility: a student rides at the student fare to the last day of the period, as general after it") {
  OneCard setup("engine-eligibility-student", student_card, RiderCategory::student);
  auto& ledger = setup.ledger;
  Pipeline& pipeline = *setup.pipeline;
  Office& office = *setup.office;

  auto reply = office.eligibility({row(2, student_card, "student", "", "2026-03-02")});
  INFO(reply.dump());
  REQUIRE(reply["ok"] == true);
  CHECK(reply["changed"] == 1);
  auto record = ledger->card(*CardId::parse(student_card));
  REQUIRE(record);
  CHECK(record->category == RiderCategory::student);
  CHECK(record->category_until_day == day_of("2026-03-02"));

  // Monday 2026-03-02 is the period's last day; Tuesday is not in it.
  auto monday = pipeline.tap(make_tap(bus_reader, 1, student_card, Mode::bus_board, 101, monday_8am_us));
  REQUIRE(monday.outcome == protocol::Outcome::approved);
  CHECK(monday.fare_minor == 12);
  auto tuesday = pipeline.tap(make_tap(bus_reader, 2, student_card, Mode::bus_board, 101, monday_8am_us + day_us));
  REQUIRE(tuesday.outcome == protocol::Outcome::approved);
  CHECK(tuesday.fare_minor == 15);
  // Monday 02:30 belongs to Sunday's business day, inside the period too.
  auto early = pipeline.tap(make_tap(bus_reader_2, 1, student_card, Mode::bus_board, 101, monday_8am_us - 5 * 3'600'000'000LL - 30 * 60'000'000LL));
  REQUIRE(early.outcome == protocol::Outcome::approved);
  CHECK(early.fare_minor == 12);
}

TEST_CASE("eligibility: a card that becomes a senior mid-month pays the senior fare at once, and gets points from the next month") {
  OneCard setup("engine-eligibility-senior", senior_card);
  Pipeline& pipeline = *setup.pipeline;
  Office& office = *setup.office;

  auto first = pipeline.tap(make_tap(bus_reader, 1, senior_card, Mode::bus_board, 101, monday_8am_us));
  REQUIRE(first.outcome == protocol::Outcome::approved);
  CHECK(first.fare_minor == 15);
  CHECK(first.points_after == 0);

  auto reply = office.eligibility({row(2, senior_card, "senior", "2026-03-10", "")});
  INFO(reply.dump());
  REQUIRE(reply["ok"] == true);

  auto before = pipeline.tap(make_tap(bus_reader, 2, senior_card, Mode::bus_board, 101, monday_8am_us + 7 * day_us));   // 03-09
  CHECK(before.fare_minor == 15);
  auto from = pipeline.tap(make_tap(bus_reader, 3, senior_card, Mode::bus_board, 101, monday_8am_us + 9 * day_us));     // 03-11
  CHECK(from.fare_minor == 8);
  CHECK(from.points_after == 0);  // March's allotment was decided at its first tap, as general
  auto april = pipeline.tap(make_tap(bus_reader, 4, senior_card, Mode::bus_board, 101, monday_8am_us + 30 * day_us));   // 04-01
  CHECK(april.fare_minor == 0);  // the senior fare 8, paid with April's points
  CHECK(april.points_after == city_rules().points.monthly_allotment[static_cast<std::size_t>(RiderCategory::senior)] - 8);
  CHECK(april.points_after > 0);
}

TEST_CASE("eligibility: a bad row or an unknown card refuses the whole request, naming the line, and changes nothing") {
  OneCard setup("engine-eligibility-bad", student_card, RiderCategory::student);
  auto& ledger = setup.ledger;
  Pipeline& pipeline = *setup.pipeline;
  Office& office = *setup.office;
  auto error_of = [](const nlohmann::json& reply) {
    INFO(reply.dump());
    CHECK(reply["ok"] == false);
    return reply.value("error", std::string());
  };

  const std::string ends_early = error_of(office.eligibility(
      {row(2, student_card, "senior", "", ""), row(4, senior_card, "student", "2026-03-10", "2026-03-01"),
       row(5, "XYZ", "student", "", ""), row(6, student_card, "pupil", "", ""), row(7, student_card, "student", "03/10/2026", "")}));
  CHECK(ends_early.find("4 bad lines, nothing changed") != std::string::npos);
  CHECK(ends_early.find("line 4: until 2026-03-01 is before from 2026-03-10") != std::string::npos);
  CHECK(ends_early.find("line 5: 'XYZ' is not a card id") != std::string::npos);
  CHECK(ends_early.find("line 6: unknown rider category 'pupil'") != std::string::npos);
  CHECK(ends_early.find("line 7: from '03/10/2026' is not a date") != std::string::npos);

  const std::string unknown = error_of(office.eligibility({row(2, student_card, "senior", "", ""), row(3, senior_card, "senior", "", "")}));
  CHECK(unknown.find("line 3: card " + std::string(senior_card) + " is not issued") != std::string::npos);
  const std::string twice = error_of(office.eligibility({row(2, student_card, "senior", "", ""), row(3, student_card, "general", "", "")}));
  CHECK(twice.find("line 3: card " + std::string(student_card) + " is listed twice") != std::string::npos);
  CHECK(error_of(office.eligibility(nlohmann::json::array())).find("'rows' must be an array") != std::string::npos);
  CHECK(error_of(office.eligibility({row(2, student_card, "general", "2026-03-10", "")})).find("general has no eligibility period") !=
        std::string::npos);

  auto record = ledger->card(*CardId::parse(student_card));
  REQUIRE(record);
  CHECK(record->category == RiderCategory::student);  // still as issued
  CHECK(record->category_from_day == no_category_day);
  CHECK(record->category_until_day == no_category_day);
  auto ride = pipeline.tap(make_tap(bus_reader, 1, student_card, Mode::bus_board, 101, monday_8am_us));
  CHECK(ride.fare_minor == 12);
}

TEST_CASE("eligibility: a district column sets where a senior lives, and the Fuxing allotment follows from the next month") {
  OneCard setup("engine-eligibility-district", senior_card, RiderCategory::senior);
  auto& ledger = setup.ledger;
  Pipeline& pipeline = *setup.pipeline;
  Office& office = *setup.office;

  auto march = pipeline.tap(make_tap(bus_reader, 1, senior_card, Mode::bus_board, 101, monday_8am_us));  // 03-02
  REQUIRE(march.outcome == protocol::Outcome::approved);
  CHECK(march.points_after == 800 - 8);  // rules/city.toml: 800 a month outside Fuxing, less the fare

  // Fuxing's postal code 336; the old four-field line still reads and leaves the district alone.
  auto reply = office.eligibility({row(2, senior_card, "senior", "", "", "336")});
  INFO(reply.dump());
  REQUIRE(reply["ok"] == true);
  auto record = ledger->card(*CardId::parse(senior_card));
  REQUIRE(record);
  CHECK(record->district == 336);
  REQUIRE(office.eligibility({row(3, senior_card, "senior", "", "")})["ok"] == true);
  CHECK(ledger->card(*CardId::parse(senior_card))->district == 336);

  auto april = pipeline.tap(make_tap(bus_reader, 2, senior_card, Mode::bus_board, 101, monday_8am_us + 30 * day_us));  // 04-01
  CHECK(april.points_after == 1000 - 8);  // March's 792 expired, Fuxing's 1,000 arrived, less the fare

  // 0 clears it; a code that is no postal code is refused, naming the line, and changes nothing.
  const auto bad = office.eligibility({row(4, senior_card, "senior", "", "", "3360")});
  CHECK(bad["ok"] == false);
  CHECK(bad.value("error", std::string()).find("line 4: district '3360' is not a 3-digit postal code") != std::string::npos);
  CHECK(ledger->card(*CardId::parse(senior_card))->district == 336);
  REQUIRE(office.eligibility({row(5, senior_card, "senior", "", "", "0")})["ok"] == true);
  CHECK(ledger->card(*CardId::parse(senior_card))->district == no_district);
  auto may = pipeline.tap(make_tap(bus_reader, 3, senior_card, Mode::bus_board, 101, monday_8am_us + 61 * day_us));  // 05-02
  CHECK(may.points_after == 800 - 8);
}

}  // namespace citycard::engine::testing
