#include "admission.h"

#include <string>

#include "citycard/limits.h"

namespace citycard::rules {
namespace {

constexpr ModeSet modes(std::initializer_list<Mode> list) noexcept {
  ModeSet set = 0;
  for (Mode mode : list) set |= mode_bit(mode);
  return set;
}

constexpr ModeSet all_modes = static_cast<ModeSet>((1u << mode_count) - 1);

bool carries_amount(Mode mode) noexcept { return mode == Mode::pay || mode == Mode::top_up; }

}  // namespace

ModeSet modes_for_kind(ReaderKind kind) noexcept {
  switch (kind) {
    case ReaderKind::bus_validator: return modes({Mode::bus_board, Mode::bus_alight});
    case ReaderKind::metro_gate: return modes({Mode::metro_in, Mode::metro_out});
    case ReaderKind::bike_dock: return modes({Mode::bike_rent, Mode::bike_return});
    case ReaderKind::venue_gate: return modes({Mode::entry, Mode::identify});
    case ReaderKind::identity_terminal: return modes({Mode::identify});
    case ReaderKind::shop_terminal: return modes({Mode::pay});
    case ReaderKind::parking_terminal: return modes({Mode::pay});
    case ReaderKind::top_up_machine: return modes({Mode::top_up});
    case ReaderKind::office_desk: return modes({Mode::top_up, Mode::pay, Mode::identify});
  }
  return 0;
}

std::optional<ReaderKind> default_kind_for(ModeSet wanted) noexcept {
  if (wanted == 0) return std::nullopt;
  for (int i = 1; i <= reader_kind_count; ++i) {
    auto kind = static_cast<ReaderKind>(i);
    if ((wanted & ~modes_for_kind(kind)) == 0) return kind;
  }
  return std::nullopt;
}

Status validate_registration(const ReaderRecord& reader) {
  if (reader.id.value == 0) return Status::invalid_argument("reader id: must be 1..4294967295");
  if (reader.operator_id.value == 0) return Status::invalid_argument("operator: must be given (1..4294967295)");
  if (reader.modes == 0 || (reader.modes & ~all_modes) != 0) return Status::invalid_argument("modes: at least one mode");
  if (reader.status < ReaderStatus::active || reader.status > ReaderStatus::retired) {
    return Status::invalid_argument("status: not a reader status");
  }
  const ModeSet allowed = modes_for_kind(reader.kind);
  if (allowed == 0) return Status::invalid_argument("kind: not a reader kind");
  for (int i = 1; i <= mode_count; ++i) {
    auto mode = static_cast<Mode>(i);
    if ((reader.modes & mode_bit(mode)) != 0 && (allowed & mode_bit(mode)) == 0) {
      return Status::invalid_argument("modes: a " + std::string(reader_kind_name(reader.kind)) + " may not send " +
                                      std::string(mode_name(mode)) +
                                      (mode == Mode::top_up ? " (only top_up_machine and office_desk top up)" : ""));
    }
  }
  if (reader.amount_max_minor < 0 || reader.amount_max_minor > limits::transfer_amount_minor_max) {
    return Status::invalid_argument("amount-max: must be 0.." + std::to_string(limits::transfer_amount_minor_max));
  }
  if (reader.amount_max_minor != 0 && (reader.modes & (mode_bit(Mode::pay) | mode_bit(Mode::top_up))) == 0) {
    return Status::invalid_argument("amount-max: only for readers that send pay or top_up");
  }
  if (reader.offline_max_minor < 0 || reader.offline_max_minor > limits::transfer_amount_minor_max) {
    return Status::invalid_argument("offline-max: must be 0.." + std::to_string(limits::transfer_amount_minor_max));
  }
  return Status::ok();
}

Result<ReaderChange> plan_reader_change(ReaderChangeKind kind, const ReaderRecord& requested,
                                        const std::optional<ReaderRecord>& current, bool operator_registered) {
  const std::string id = std::to_string(requested.id.value);
  ReaderChange change;
  if (kind == ReaderChangeKind::add) {
    change.after = requested;
    change.after.status = ReaderStatus::active;
    if (Status valid = validate_registration(change.after); !valid) return valid;
    if (current) {
      return Status::already_exists("reader " + id + " is already registered (" + std::string(reader_kind_name(current->kind)) +
                                    " of operator " + std::to_string(current->operator_id.value) + ", " +
                                    std::string(reader_status_name(current->status)) + ")");
    }
    if (!operator_registered) {
      return Status::not_found("operator " + std::to_string(requested.operator_id.value) + " is not registered");
    }
    change.audit = "reader " + id + " registered: " + std::string(reader_kind_name(change.after.kind)) + " of operator " +
                   std::to_string(change.after.operator_id.value);
    return change;
  }
  if (!current) return Status::not_found("reader " + id + " is not registered");
  if (current->status == ReaderStatus::retired) {
    return Status::refused("reader " + id + " is retired; register the device under a new id");
  }
  if (requested.status < ReaderStatus::active || requested.status > ReaderStatus::retired) {
    return Status::invalid_argument("status: not a reader status");
  }
  change.after = *current;
  change.after.status = requested.status;
  change.audit = "reader " + id + " " + std::string(reader_status_name(current->status)) + " -> " +
                 std::string(reader_status_name(requested.status));
  return change;
}

RefusalReason reader_refusal(const ReaderRecord* reader, const Tap& tap) noexcept {
  if (reader == nullptr || reader->status != ReaderStatus::active) return RefusalReason::reader_not_allowed;
  if ((reader->modes & mode_bit(tap.mode)) == 0) return RefusalReason::reader_not_allowed;
  // Registration rules hold for stored records too (a record from an older
  // version, or written by hand): top-ups only from machines and desks.
  if ((modes_for_kind(reader->kind) & mode_bit(tap.mode)) == 0) return RefusalReason::reader_not_allowed;
  if (tap.operator_id != reader->operator_id) return RefusalReason::reader_not_allowed;
  if (reader->route != 0 && tap.route != reader->route) return RefusalReason::reader_not_allowed;
  if (reader->location != 0 && tap.location != reader->location) return RefusalReason::reader_not_allowed;
  if (carries_amount(tap.mode) && reader->amount_max_minor != 0 && tap.amount_minor > reader->amount_max_minor) {
    return RefusalReason::reader_not_allowed;
  }
  return RefusalReason::none;
}

RefusalReason event_time_refusal(const Tap& tap, EventTime arrival, const EventTimeBounds& bounds) noexcept {
  // The arrival is the engine's clock and the bounds are at most years, so
  // these sums stay far inside int64 whatever event time a frame carries.
  if (tap.event_time.unix_us > arrival.unix_us + bounds.future_skew_us) return RefusalReason::event_time_invalid;
  if (tap.event_time.unix_us < arrival.unix_us - bounds.offline_retention_us) return RefusalReason::event_time_invalid;
  return RefusalReason::none;
}

}  // namespace citycard::rules
