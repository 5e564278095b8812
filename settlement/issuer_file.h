// The co-branded card issuer's batch for one business day: the day's auto
// top-ups (TransferCode::auto_top_up, the issuer's clearing account -> a
// card's wallet), which the issuing bank owes the city. Written at the close
// beside the operators' files, signed and digested like them (same keys,
// same durable writes, same business day and late rule: assign.h), one file
// per day. The grammar is at the top of issuer_file.cpp and in
// docs/settlement-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "business_day.h"
#include "citycard/status.h"
#include "citycard/time.h"
#include "keys.h"

namespace citycard::settlement {

// One posting group's auto top-up money (a tap that needed it).
struct IssuerLine {
  std::string tap_id;            // the group's key: "tap:17:123456"
  std::string card_token;        // the topped-up card's token (as in CCSET lines)
  EventTime event_time;          // the tap's own time, also when late
  std::int64_t amount_minor = 0; // clearing -> wallet, TWD; negative if it ever went back
  std::uint16_t flags = 0;       // late, offline (citycard::TransferFlag bits)
};

struct IssuerTotals {
  std::uint64_t lines = 0;
  std::uint64_t late_lines = 0;
  std::int64_t total_minor = 0;  // what the issuer owes for the day
  void add(const IssuerLine& line);
  bool operator==(const IssuerTotals&) const = default;
};

struct IssuerHeader {
  std::string issuer_name;
  BusinessDay day;
  EventTime created_at;          // the close's time
  EventTime period_start;
  EventTime period_end;
  std::string signing_key_id;
  std::string token_key_id;
};

// "CCISS_20240305_01.csv"
std::string issuer_file_name(BusinessDay day);

struct WrittenIssuerFile {
  std::string file_name;
  std::string file_sha256;
  IssuerTotals totals;
};

// Writes the file (lines sorted by event time, then tap id, and numbered),
// its .sha256 and .sig into `dir`, the batch file last (files/durable_file.h).
Result<WrittenIssuerFile> write_issuer_file(const std::string& dir, const IssuerHeader& header,
                                            std::vector<IssuerLine> lines, const DayConfig& config,
                                            const SettlementKeys& keys);

struct IssuerFileContents {
  std::string day;   // as written
  IssuerTotals totals;
};
// Reads a file back, checking the grammar and the money rule (the trailer
// equals the lines' sums); corruption naming the problem otherwise.
Result<IssuerFileContents> read_issuer_file(const std::string& path);

}  // namespace citycard::settlement
