// The shard's loop: accept work, stage rated groups, hand them to the
// committer one batch at a time, answer when they are durable.
#include "shard.h"

#include <algorithm>
#include <cstdlib>

#include "check.h"
#include "decision_codec.h"
#include "deny_records.h"
#include "thread_name.h"

namespace citycard::engine {
namespace {

RefusalReason reason_for_rejection(const Status& reason) {
  if (reason.code() == StatusCode::refused) {
    return reason.message().find("ceiling") != std::string::npos ? RefusalReason::amount_over_limit
                                                                 : RefusalReason::insufficient_balance;
  }
  if (reason.code() == StatusCode::not_found) return RefusalReason::reader_not_allowed;
  return RefusalReason::amount_invalid;
}

// The one way a tap's decision leaves the engine (from a shard, or from the
// committing thread for a batch that posted as handed over).
void deliver(Metrics& metrics, const Waiter& waiter, const protocol::DecisionRecord& decision, Mode mode) {
  TapResult result = (decision.flags & protocol::DecisionFlags::replayed) ? TapResult::replayed
                     : decision.outcome == protocol::Outcome::approved  ? TapResult::approved
                                                                         : TapResult::refused;
  metrics.count_tap(mode, result);
  if (result == TapResult::refused) metrics.count_refusal(decision.reason);
  PendingSubmit& submit = *waiter.submit;
  submit.decisions[waiter.index] = decision;
  if (submit.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    metrics.observe_decision_latency_seconds(std::chrono::duration<double>(Clock::now() - submit.started).count());
    submit.done(net::SubmitResult::decided_with(std::move(submit.decisions)));
  }
}

// What the committing thread answers for a handed-over batch: each tap's
// decision, if its group posts as rated (see answerable_early).
struct EarlyAnswer {
  Waiter waiter;  // no submit: not a tap (an admin action), answered by the shard
  protocol::DecisionRecord decision;
  Mode mode = Mode::bus_board;
};

}  // namespace

// A tap (or its refusal record) is answered by the committing thread the
// moment its group is durable, if it posted as the shard built it -- unless
// it changes the deny list, which must be served before the reader hears.
bool Shard::answerable_early(const Item& item) {
  return item.kind != Item::Kind::admin && item.kind != Item::Kind::reader_admin && !item.deny_after;
}

// An outcome that proves the card's speculative state wrong (the ledger
// rejected the group, or already held it): the card is reloaded and its
// staged work rated again before it is handed over.
bool Shard::invalidates(const Item& item, const ledger::GroupOutcome& outcome) {
  if (item.kind == Item::Kind::reader_admin) return false;  // no card state: settle_reader_admin repairs
  if (!outcome.posted) return true;
  if (!outcome.duplicate) return false;
  return item.kind == Item::Kind::admin || (item.kind == Item::Kind::tap && !item.card.empty());
}

namespace {

}  // namespace

Shard::Shard(std::size_t index, ShardContext context, std::unordered_set<CardId, CardIdHash> denied,
             OfflineShares offline_shares)
    : index_(index),
      context_(std::move(context)),
      inbox_(context_.options.queue_depth),
      denied_(std::move(denied)),
      offline_shares_(std::move(offline_shares)) {}

void Shard::start() {
  thread_ = std::thread([this] {
    name_this_thread("cc-shard-" + std::to_string(index_));
    run();
  });
}

Shard::~Shard() { stop(); }

void Shard::outcomes(std::vector<ledger::GroupOutcome> outcomes) {
  Work work;
  work.kind = Work::Kind::outcomes;
  work.outcomes = std::move(outcomes);
  inbox_.push_control(std::move(work));
}

void Shard::durable() {
  Work work;
  work.kind = Work::Kind::durable;
  inbox_.push_control(std::move(work));
}

void Shard::invalidate(const CardId& card) {
  Work work;
  work.kind = Work::Kind::invalidate;
  work.card = card;
  inbox_.push_control(std::move(work));
}

void Shard::warm_keys(std::uint8_t key_version, std::vector<std::pair<CardId, card::CardKey>> keys) {
  Work work;
  work.kind = Work::Kind::card_keys;
  work.key_version = key_version;
  work.keys = std::move(keys);
  inbox_.push_control(std::move(work));
}

void Shard::stop() {
  if (!thread_.joinable()) return;
  Work work;
  work.kind = Work::Kind::stop;
  inbox_.push_control(std::move(work));
  thread_.join();
}

void Shard::run() {
  std::vector<Work> work;
  const auto wait = context_.options.batch_wait;
  for (;;) {
    auto deadline = Clock::now() + std::chrono::milliseconds(100);
    const bool can_hand_over = !commit_in_flight_ && !blocked_ && awaiting_.empty();
    if (!staged_.empty() && can_hand_over) deadline = std::min(deadline, staged_since_ + wait);
    work.clear();
    inbox_.pop_all(work, deadline, taps_worth_waking_for());
    for (auto& item : work) accept(item);
    // Overlapping a sync (awaiting_ not empty) is for batches big enough to pay for one.
    if (!commit_in_flight_ && !blocked_ && !staged_.empty() &&
        (awaiting_.empty() || staged_.size() >= context_.options.overlap_taps_min) &&
        (staged_.size() >= context_.options.batch_taps || stopping_ || Clock::now() >= staged_since_ + wait)) {
      hand_over();
    }
    if (stopping_ && staged_.empty() && !commit_in_flight_ && awaiting_.empty() && inbox_.depth() == 0) break;
  }
}

// How many queued taps would let the shard do something the clock or a
// control message would not: start a window, fill a batch, or fill one big
// enough to overlap the sync in flight.
std::size_t Shard::taps_worth_waking_for() const {
  const std::size_t staged = staged_.size();
  auto short_of = [staged](std::size_t target) { return target > staged ? target - staged : 1; };
  if (stopping_) return 1;
  if (staged == 0 && !commit_in_flight_ && awaiting_.empty() && !blocked_) return 1;
  if (!commit_in_flight_ && !blocked_ && !awaiting_.empty()) return short_of(context_.options.overlap_taps_min);
  return short_of(context_.options.batch_taps);
}

void Shard::accept(Work& work) {
  switch (work.kind) {
    case Work::Kind::tap: accept_tap(work); break;
    case Work::Kind::admin: accept_admin(work); break;
    case Work::Kind::outcomes: decided(work.outcomes); break;
    case Work::Kind::durable: {
      ENGINE_CHECK(!awaiting_.empty());
      Decided batch = std::move(awaiting_.front());
      awaiting_.pop_front();
      settle(batch);
      recycle(std::move(batch.items));
      break;
    }
    case Work::Kind::invalidate: {
      CardEntry* found = cards_.find(work.card);
      if (found != nullptr && found->pending == 0) drop_card(work.card);
      break;
    }
    case Work::Kind::card_keys:
      for (auto& [card, key] : work.keys) {
        CardEntry* found = cards_.find(card);
        if (found != nullptr && found->key_version == 0) {
          found->key = key;
          found->key_version = work.key_version;
        }
      }
      break;
    case Work::Kind::stop: stopping_ = true; break;
  }
}

void Shard::answer_internal(Work& work, const char* what, const Status& error) {
  const TapId id = work.tap.tap.id;
  context_.log.event("tap_undecidable", {{"tap", IdempotencyKey::for_tap(id).to_string()}, {"what", what},
                                         {"error", error.to_string()}});
  protocol::DecisionRecord decision;
  decision.tap = id;
  decision.outcome = protocol::Outcome::refused;
  decision.reason = RefusalReason::internal;
  answer(work.waiter, decision, work.tap.tap.mode);
}

void Shard::accept_tap(Work& work) {
  const TapId id = work.tap.tap.id;
  context_.metrics.observe_shard_wait_seconds(std::chrono::duration<double>(Clock::now() - work.waiter.submit->started).count());
  // A tap still in the pipeline waits for its first decision.
  if (auto* followers = in_flight_.find(id)) {
    followers->push_back(std::move(work.waiter));
    return;
  }
  // A tap the ledger holds (its answer was lost, or the engine restarted) is
  // not rated again: it gets the decision stored with it. A tap leaves
  // in_flight_ only once durable, i.e. once the ledger answers for it.
  IdempotencyKey key = IdempotencyKey::for_tap(id);
  auto posted = context_.ledger.posted(key);
  if (!posted) return answer_internal(work, "idempotency read", posted.status());
  if (posted->has_value()) {
    auto stored = decode_stored_decision((*posted)->outcome);
    if (!stored) return answer_internal(work, "stored decision", stored.status());
    const bool late_offline = work.tap.tap.offline && !stored->offline_submission &&
                              stored->decision.outcome == protocol::Outcome::refused;
    if (!late_offline) {
      stored->decision.flags |= protocol::DecisionFlags::replayed;
      answer(work.waiter, stored->decision, work.tap.tap.mode);
      return;
    }
    // Refused online, but the reader heard nothing in time and let the rider
    // through: the ride was given, so it is rated as the offline tap it
    // became, once, under its own key.
    key = IdempotencyKey::for_service_given(id);
    auto charged = context_.ledger.posted(key);
    if (!charged) return answer_internal(work, "idempotency read", charged.status());
    if (charged->has_value()) {
      auto again = decode_stored_decision((*charged)->outcome);
      if (!again) return answer_internal(work, "stored decision", again.status());
      again->decision.flags |= protocol::DecisionFlags::replayed;
      answer(work.waiter, again->decision, work.tap.tap.mode);
      return;
    }
  }
  in_flight_.insert(id, {});
  Item item;
  item.kind = Item::Kind::tap;
  item.key = key;
  item.tap = std::move(work.tap);
  item.admission = work.admission;
  item.waiter = std::move(work.waiter);
  rate_tap(item);
  // The window runs from the tap's arrival: it may have waited in the inbox
  // for the shard (see taps_worth_waking_for).
  if (staged_.empty()) staged_since_ = std::min(Clock::now(), item.waiter.submit->started);
  staged_.push_back(std::move(item));
}

void Shard::accept_admin(Work& work) {
  Item item;
  item.kind = Item::Kind::admin;
  item.admin = std::move(work.admin);
  item.admin_done = std::move(work.admin_done);
  if (is_reader_action(item.admin.action)) {
    item.kind = Item::Kind::reader_admin;
    build_reader_admin(item);
  } else {
    build_admin(item);
  }
  // Refused, or a retry of a reader action already done: answered now.
  if (!item.admin_result.status || item.admin_result.duplicate) {
    context_.metrics.count_admin(item.admin_result.status.is_ok());
    item.admin_done(item.admin_result);
    return;
  }
  if (staged_.empty()) staged_since_ = Clock::now();
  staged_.push_back(std::move(item));
}

void Shard::hand_over() {
  Committer::Job job;
  job.shard = index_;
  job.groups.reserve(staged_.size());
  std::vector<EarlyAnswer> answers(staged_.size());
  for (std::size_t i = 0; i < staged_.size(); ++i) {
    const Item& item = staged_[i];
    if (!answerable_early(item)) continue;
    protocol::DecisionRecord first = item.decision;
    first.flags &= static_cast<std::uint8_t>(~protocol::DecisionFlags::replayed);
    answers[i] = EarlyAnswer{item.waiter, first, item.tap.tap.mode};
  }
  job.answer = [answers = std::move(answers), &metrics = context_.metrics](const std::vector<bool>& as_handed) {
    ENGINE_CHECK(as_handed.size() == answers.size());
    for (std::size_t i = 0; i < answers.size(); ++i) {
      if (as_handed[i] && answers[i].waiter.submit) deliver(metrics, answers[i].waiter, answers[i].decision, answers[i].mode);
    }
  };
  for (auto& item : staged_) {
    if (item.kind == Item::Kind::tap || item.kind == Item::Kind::admin) {
      // The money rule, asserted where the batch is built: every transfer
      // moves a positive amount between two different accounts of one asset.
      for (const Transfer& transfer : item.group.transfers) {
        ENGINE_CHECK(transfer.amount_minor > 0 && transfer.debit_account != transfer.credit_account);
      }
    }
    job.groups.push_back(std::move(item.group));
  }
  committing_.swap(staged_);
  staged_.clear();
  if (!spare_items_.empty()) {
    staged_.swap(spare_items_.back());
    spare_items_.pop_back();
  }
  commit_in_flight_ = true;
  context_.committer.hand(std::move(job));
  evict_idle();
}

void Shard::decided(std::vector<ledger::GroupOutcome>& outcomes) {
  if (outcomes.size() != committing_.size()) {
    context_.log.event("commit_mismatch", {{"shard", std::to_string(index_)},
                                           {"groups", std::to_string(committing_.size())},
                                           {"outcomes", std::to_string(outcomes.size())}});
    std::abort();
  }
  Decided batch;
  batch.items.swap(committing_);
  batch.outcomes.swap(outcomes);
  commit_in_flight_ = false;
  for (std::size_t i = 0; i < batch.items.size() && batch.clean; ++i) {
    batch.clean = !invalidates(batch.items[i], batch.outcomes[i]);
  }
  awaiting_.push_back(std::move(batch));
  // Usually every group posted as rated: a big enough staged batch is handed
  // over at once, to be prepared while this one syncs (a small one waits for
  // the sync and grows). Otherwise the cards involved are reloaded once
  // everything before is durable (settle).
  if (!awaiting_.back().clean) blocked_ = true;
  else if (staged_.size() >= context_.options.overlap_taps_min) hand_over();
}

// A batch is durable: the changes it made are applied to what the shard
// serves (deny list), its taps and actions are answered, and if it
// invalidated cards (then it is the last one in flight) they are reloaded.
void Shard::settle(Decided& batch) {
  std::vector<Item>& done = batch.items;
  std::vector<ledger::GroupOutcome>& outcomes = batch.outcomes;
  if (!batch.clean) {
    ENGINE_CHECK(awaiting_.empty() && !commit_in_flight_);
    blocked_ = false;
  }
  std::vector<CardId> reload;
  std::vector<Item> refusals;
  for (std::size_t i = 0; i < done.size(); ++i) {
    Item& item = done[i];
    const ledger::GroupOutcome& outcome = outcomes[i];
    if (!item.card.empty()) {
      if (CardEntry* found = cards_.find(item.card); found != nullptr && found->pending > 0) --found->pending;
    }
    bool durable = outcome.posted && !outcome.duplicate;
    if (durable && item.deny_after) {
      if (*item.deny_after) {
        denied_.insert(item.card);
        context_.deny_list.add(item.card);
      } else {
        denied_.erase(item.card);
        context_.deny_list.remove(item.card);
      }
    }
    if (item.kind == Item::Kind::reader_admin) {
      settle_reader_admin(item, outcome);
      continue;
    }
    if (item.kind == Item::Kind::admin) {
      AdminResult result = item.admin_result;
      if (outcome.duplicate) {
        result.duplicate = true;
        reload.push_back(item.card);
      } else if (!outcome.posted) {
        result.status = outcome.reason;
        reload.push_back(item.card);
      }
      if (!item.refresh_elsewhere.empty() && durable) {
        CardEntry* found = cards_.find(item.refresh_elsewhere);
        if (found != nullptr) {
          if (found->pending == 0) drop_card(item.refresh_elsewhere);
        } else {
          context_.invalidate_elsewhere(item.refresh_elsewhere);
        }
      }
      context_.metrics.count_admin(result.status.is_ok());
      context_.log.event("admin", {{"action", std::to_string(static_cast<int>(item.admin.action))},
                                   {"card", item.admin.card.to_string()},
                                   {"key", item.admin.key.to_string()},
                                   {"result", result.status.is_ok() ? (result.duplicate ? "duplicate" : "ok") : result.status.to_string()}});
      item.admin_done(result);
      continue;
    }
    if (outcome.duplicate) {
      if (item.kind == Item::Kind::tap && !item.card.empty()) reload.push_back(item.card);
      give_back_offline(item);  // counted when it first posted
      protocol::DecisionRecord original;
      if (auto stored = decode_decision(outcome.outcome)) {
        original = *stored;
      } else {
        // Answered refused internal, like a stored decision read at accept.
        context_.log.event("tap_undecidable", {{"tap", item.group.key.to_string()}, {"what", "stored decision"},
                                               {"error", stored.status().to_string()}});
              original.tap = item.tap.tap.id;
        original.outcome = protocol::Outcome::refused;
        original.reason = RefusalReason::internal;
      }
      finish_tap(item, original, true, /*first_answered=*/false);
    } else if (outcome.posted) {
      finish_tap(item, item.decision, false, /*first_answered=*/answerable_early(item));
    } else {
      // The ledger disagreed with the shard's balance mirror: answer refused,
      // record that, and reload the card from the ledger.
      context_.metrics.count_ledger_rejection();
      context_.log.event("group_rejected", {{"tap", item.key.to_string()},
                                            {"card", item.tap.tap.card.to_string()},
                                            {"reason", outcome.reason.to_string()}});
      if (!item.card.empty()) reload.push_back(item.card);
      Item refusal;
      refusal.kind = Item::Kind::refusal_record;
      refusal.tap = item.tap;
      refusal.key = item.key;
      refusal.waiter = std::move(item.waiter);
      give_back_offline(item);
      refusals.push_back(std::move(refusal));
      refusals.back().group.key = item.key;
      build_refusal_record(refusals.back(), reason_for_rejection(outcome.reason));
    }
  }
  // Reload each card whose speculative state was wrong, and rate its staged
  // work again from the ledger's state.
  std::sort(reload.begin(), reload.end());
  reload.erase(std::unique(reload.begin(), reload.end()), reload.end());
  for (const CardId& card : reload) {
    drop_card(card);
    for (auto& item : staged_) {
      if (item.card != card) continue;
      if (item.kind == Item::Kind::tap) {
        item.group = {};
        item.deny_after.reset();
        rate_tap(item);
      } else if (item.kind == Item::Kind::admin) {
        item.group = {};
        item.deny_after.reset();
        build_admin(item);
      }
    }
    // An admin action that no longer applies is answered now, not posted.
    auto failed = std::stable_partition(staged_.begin(), staged_.end(), [](const Item& item) {
      return item.kind != Item::Kind::admin || item.admin_result.status.is_ok();
    });
    for (auto it = failed; it != staged_.end(); ++it) {
      context_.metrics.count_admin(false);
      it->admin_done(it->admin_result);
    }
    staged_.erase(failed, staged_.end());
  }
  if (!refusals.empty() && staged_.empty()) staged_since_ = Clock::now();
  for (auto& refusal : refusals) staged_.push_back(std::move(refusal));
}

// A settled batch's vector keeps its capacity for a later batch: growing
// staged_ from nothing each batch reallocated (and moved) it several times,
// each time into memory the kernel had to fault in.
void Shard::recycle(std::vector<Item> items) {
  items.clear();
  if (items.capacity() > 0 && spare_items_.size() < spare_items_max) spare_items_.push_back(std::move(items));
}

void Shard::finish_tap(Item& item, const protocol::DecisionRecord& decision, bool replayed, bool first_answered) {
  const TapId id = item.tap.tap.id;
  protocol::DecisionRecord stored = decision;
  stored.flags &= static_cast<std::uint8_t>(~protocol::DecisionFlags::replayed);
  protocol::DecisionRecord first = stored;
  if (replayed) first.flags |= protocol::DecisionFlags::replayed;
  if (!first_answered) answer(item.waiter, first, item.tap.tap.mode);
  if (auto* followers = in_flight_.find(id)) {
    protocol::DecisionRecord again = stored;
    again.flags |= protocol::DecisionFlags::replayed;
    for (auto& waiter : *followers) answer(waiter, again, item.tap.tap.mode);
    in_flight_.erase(id);
  }
}

void Shard::answer(const Waiter& waiter, const protocol::DecisionRecord& decision, Mode mode) {
  deliver(context_.metrics, waiter, decision, mode);
}

}  // namespace citycard::engine
