// The reader agent: everything between "a card is in the field" and "the
// rider sees a result", plus the upload of what was decided offline.
//
// State lives in config.state_dir:
//   sequence     reserved sequence numbers   (sequence.h)
//   taps.journal offline queue                (journal.h)
//   deny.list    deny list cache              (deny_list.h)
//
// Not thread-safe: one loop owns the agent (PC/SC waits happen outside it).
#pragma once

#include <memory>

#include "card/crypto.h"
#include "session/reader_session.h"
#include "citycard/time.h"
#include "config.h"
#include "deny_list.h"
#include "engine_link.h"
#include "journal.h"
#include "outcome.h"
#include "sequence.h"
#include "space_reserve.h"
#include "uploader.h"

namespace citycard::agent {

class Agent {
 public:
  // Opens (or creates) the state in config.state_dir; link must outlive the agent.
  // keys: the card keys (a token::TokenKeySource on a device); must outlive the agent.
  static Result<std::unique_ptr<Agent>> open(const AgentConfig& config, card::CardKeySource& keys, EngineLink& link);

  // One presented card, end to end: reserve a sequence number, have the card
  // sign the whole tap (offline flag 0), ask the engine (within
  // config.engine_timeout) or decide offline, and for an offline admission
  // store the tap durably before returning "approved". now: the tap's event
  // time.
  //
  // No online answer in time (the engine may still decide tap X later): the
  // card, still in the field, signs the SAME tap id X again with the offline
  // flag set (its counter moves on); X is journaled with offline = true and
  // that second proof, and the rider admitted. If the card has left the
  // field by then, the rider is told to tap again and nothing is journaled.
  // The engine, getting X again marked offline, answers an online approval
  // with its stored decision (no second charge), rates a refused one as an
  // offline tap, and an unseen one as usual (docs/card-protocol.md). With a
  // link that can never reach an engine (OfflineLink) the card signs the tap
  // as offline at once.
  TapOutcome handle_card(card::CardTransport& transport, EventTime now);

  // Uploads queued taps if due (see Uploader).
  UploadReport upload_step(Clock::time_point now) { return uploader_.step(now); }
  // Fetches and applies the deny list deltas since the cached version, or
  // the pages of a full snapshot, until the engine has no more (or the
  // deadline, which keeps what was applied and the snapshot's pages so far:
  // the next call continues it).
  Status refresh_deny_list(Deadline deadline);
  // Applies a delta that came another way (provisioning, a service tool).
  Status apply_deny_list_delta(const DenyListDelta& delta) { return deny_list_.apply(delta); }

  const Journal& queue() const noexcept { return journal_; }
  // Whether the room for admitting riders on a full disk is in place
  // (space_reserve.h); false once a full disk used it, until restore_reserve().
  bool reserve_held() const noexcept { return reserve_.held(); }
  // Puts the reserve back if the disk has room for it again (the loop calls
  // it between cards); its error otherwise.
  Status restore_reserve() { return reserve_.restore(); }
  const DenyList& deny_list() const noexcept { return deny_list_; }

  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

 private:
  Agent(const AgentConfig& config, card::CardKeySource& keys, EngineLink& link, SequenceAllocator sequences,
        Journal journal, DenyList deny_list, SpaceReserve reserve);
  // A write that admits a rider, with the reserve given up for it if the
  // disk is full; `outcome` learns that the disk is full.
  Status admitting_write(const std::function<Status()>& write, TapOutcome& outcome);

  AgentConfig config_;
  card::CardKeySource& keys_;
  EngineLink& link_;
  SequenceAllocator sequences_;
  Journal journal_;
  DenyList deny_list_;
  SpaceReserve reserve_;
  Uploader uploader_;
};

}  // namespace citycard::agent
