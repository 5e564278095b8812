// A reader for the CLI process tests: sends the taps it reads on stdin to a
// running citycard-engine over mutual TLS (readers/uplink, the path every
// reader and the load generator use), one batch per tap, in order, and
// prints each decision.
//   cli_tap_client --pki DIR --reader N --port P < taps
// A tap line: SEQUENCE CARD MODE OPERATOR LOCATION UNIX_SECONDS
// (the reader's certificate is DIR/readers/reader-N.crt, as `citycard pki
// issue-reader` writes it). Output, one line per tap:
// SEQUENCE approved|refused REASON. Exit 1 when the link fails or a line
// does not parse (naming it), 2 on bad arguments.
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "engine/pki/pki.h"
#include "readers/uplink/uplink.h"

namespace {

int fail(const std::string& message, int code) {
  std::cerr << "cli_tap_client: " << message << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace citycard;
  std::string pki_dir;
  unsigned long reader = 0;
  unsigned long port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    if (name == "--pki") pki_dir = argv[i + 1];
    else if (name == "--reader") reader = std::stoul(argv[i + 1]);
    else if (name == "--port") port = std::stoul(argv[i + 1]);
    else return fail("unknown option " + name, 2);
  }
  if (pki_dir.empty() || reader == 0 || port == 0 || port > 65535) {
    return fail("usage: cli_tap_client --pki DIR --reader N --port P < taps", 2);
  }
  const pki::Paths paths{pki_dir};
  uplink::UplinkOptions options;
  options.port = static_cast<std::uint16_t>(port);
  options.ca_certificate = paths.ca_certificate().string();
  options.certificate = paths.reader_certificate(ReaderId{static_cast<std::uint32_t>(reader)}).string();
  options.private_key = paths.reader_key(ReaderId{static_cast<std::uint32_t>(reader)}).string();
  options.reader = ReaderId{static_cast<std::uint32_t>(reader)};
  options.agent = "cli_tap_client";
  uplink::Uplink link(options);
  if (Status connected = link.connect(); !connected) return fail("connect: " + connected.to_string(), 1);

  std::string line;
  std::uint64_t batch_id = 0;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::istringstream in(line);
    std::uint64_t sequence = 0;
    std::string card, mode;
    std::uint32_t operator_id = 0, location = 0;
    std::int64_t unix_seconds = 0;
    if (!(in >> sequence >> card >> mode >> operator_id >> location >> unix_seconds)) return fail("bad tap line: " + line, 1);
    auto card_id = CardId::parse(card);
    auto parsed_mode = parse_mode(mode);
    if (!card_id || !parsed_mode) return fail("bad card or mode: " + line, 1);
    protocol::TapBatch batch;
    batch.batch_id = ++batch_id;
    protocol::TapRecord record;
    record.tap.id = TapId{options.reader, sequence};
    record.tap.card = *card_id;
    record.tap.mode = *parsed_mode;
    record.tap.operator_id = OperatorId{operator_id};
    record.tap.location = location;
    record.tap.event_time = EventTime{unix_seconds * 1'000'000};
    batch.taps.push_back(record);
    auto reply = link.submit(batch);
    if (!reply) return fail("submit: " + reply.status().to_string(), 1);
    if (reply->kind != uplink::BatchReply::Kind::decided || reply->decisions.decisions.size() != 1) {
      return fail("the engine did not decide tap " + std::to_string(sequence), 1);
    }
    const auto& decision = reply->decisions.decisions.front();
    std::cout << sequence << " " << (decision.outcome == protocol::Outcome::approved ? "approved" : "refused") << " "
              << refusal_reason_name(decision.reason) << "\n";
  }
  return 0;
}
