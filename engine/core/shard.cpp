// The shard's loop: accept work, stage rated groups, hand them to the
// committer one batch at a time, answer when they are durable.
#include "shard.h"

#include <algorithm>
#include <cstdlib>

#include "citycard/check.h"
#include "decision_codec.h"
#include "deny_records.h"
#include "refusals.h"
#include "tap_thread.h"

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

// The batch's answer, once its last tap is through: its decisions, or
// retry later if any tap of it could not be made durable.
void finish(Metrics& metrics, PendingSubmit& submit) {
  if (submit.storage_unavailable.load(std::memory_order_acquire)) {
    submit.done(net::SubmitResult::storage_unavailable(submit.retry_after_ms));
    return;
  }
  metrics.observe_decision_latency_seconds(std::chrono::duration<double>(Clock::now() - submit.started).count());
  submit.done(net::SubmitResult::decided_with(std::move(submit.decisions)));
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
  if (submit.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) finish(metrics, submit);
}

// A tap that is not durable and will not be while the storage fails: no
// decision; its whole batch is answered retry_later.
void deliver_retry_later(Metrics& metrics, const Waiter& waiter) {
  metrics.count_storage_unavailable_taps(1);
  PendingSubmit& submit = *waiter.submit;
  submit.storage_unavailable.store(true, std::memory_order_release);
  if (submit.remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) finish(metrics, submit);
}

AdminResult storage_unavailable_result() {
  AdminResult result;
  result.status = Status::unavailable(
      "the ledger cannot write now (storage unavailable: see the engine's log and `ping`); nothing changed, try again");
  return result;
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
  return (item.kind == Item::Kind::tap || item.kind == Item::Kind::refusal_record) && !item.deny_after;
}

// An outcome that proves the card's speculative state wrong (the ledger
// rejected the group, or already held it): the card is reloaded and its
// staged work rated again before it is handed over.
bool Shard::invalidates(const Item& item, const ledger::GroupOutcome& outcome) {
  if (item.kind == Item::Kind::reader_admin) return false;  // no card state: settle_reader_admin repairs
  if (item.kind == Item::Kind::admin_refusal) return false;  // no card state: only an audit entry
  if (!outcome.posted) return true;
  if (!outcome.duplicate) return false;
  return item.kind == Item::Kind::admin || (item.kind == Item::Kind::tap && !item.card.empty());
}

Shard::Shard(std::size_t index, ShardContext context, std::unordered_set<CardId, CardIdHash> denied,
             OfflineShares offline_shares)
    : index_(index),
      context_(std::move(context)),
      inbox_(context_.options.queue_depth),
      book_(context_.ledger, context_.log, context_.options.card_cache_max, context_.options.card_keys != nullptr,
            std::move(denied)),
      offline_(context_.readers, index, std::move(offline_shares)),
      builder_(BuildContext{context_.ledger, context_.system, context_.rules, context_.log, context_.options.card_keys,
                            context_.options.require_card_proof, &offline_, context_.options.four_eyes_minor,
                            /*serves_deny_list=*/true, context_.options.record_taps, &context_.media, context_.access},
               book_) {}

bool Shard::preload(StoredCard card) { return book_.preload(std::move(card)); }
void Shard::preload_state(const CardId& card, std::string_view state) { book_.preload_state(card, state); }
void Shard::preload_atc(const CardId& card, const AtcWindow& atc) { book_.preload_atc(card, atc); }

std::optional<ledger::RecordWrite> Shard::OfflineMoney::try_spend(ReaderId reader, std::int32_t day, std::int64_t amount,
                                                                  std::int64_t limit) {
  if (!readers_.try_spend_offline(reader, day, amount, limit)) return std::nullopt;
  const std::int64_t share = shares_[{reader.value, day}] += amount;
  return offline_spent_record(reader, day, shard_, share);
}

void Shard::OfflineMoney::give_back(ReaderId reader, std::int32_t day, std::int64_t amount) {
  readers_.give_back_offline(reader, day, amount);
  std::int64_t& share = shares_[{reader.value, day}];
  share = share > amount ? share - amount : 0;
}

void Shard::start() {
  thread_ = std::thread([this] {
    auto member = begin_tap_thread("cc-shard-" + std::to_string(index_), context_.realtime, context_.log);
    run();
  });
}

Shard::~Shard() { stop(); }

void Shard::outcomes(std::vector<ledger::GroupOutcome> outcomes, std::vector<ledger::PostingGroup> spent) {
  inbox_.push_control(work::Outcomes{std::move(outcomes), std::move(spent)});
}

void Shard::durable() { inbox_.push_control(work::Durable{}); }

void Shard::voided() { inbox_.push_control(work::Voided{}); }

void Shard::quiesce(std::function<void()> done) { inbox_.push_control(work::Quiesce{std::move(done)}); }

void Shard::invalidate(const CardId& card) { inbox_.push_control(work::Invalidate{card}); }

void Shard::use_rules(std::shared_ptr<const rules::RuleBook> book) { inbox_.push_control(work::Rules{std::move(book)}); }
void Shard::use_access(std::shared_ptr<const rules::AccessBook> book) { inbox_.push_control(work::Access{std::move(book)}); }

void Shard::warm_keys(std::uint8_t key_version, std::vector<std::pair<CardId, card::CardKey>> keys) {
  inbox_.push_control(work::CardKeys{key_version, std::move(keys)});
}

void Shard::stop() {
  if (!thread_.joinable()) return;
  inbox_.push_control(work::Stop{});
  thread_.join();
}

void Shard::run() {
  std::vector<Work> work;
  const auto wait = context_.options.batch_wait;
  for (;;) {
    auto deadline = Clock::now() + std::chrono::milliseconds(100);
    if (!staged_.empty() && may_hand_over()) deadline = std::min(deadline, staged_since_ + wait);
    work.clear();
    inbox_.pop_all(work, deadline, taps_worth_waking_for());
    accept_all(work);
    maybe_hand_over(Clock::now() >= staged_since_ + wait);
    maybe_quiesced();
    if (stopping_ && staged_.empty() && !commit_in_flight_ && awaiting_.empty() && inbox_.depth() == 0) break;
  }
}

bool Shard::turn(bool window_over) {
  std::vector<Work> work;
  inbox_.pop_all(work, Clock::time_point{});
  accept_all(work);
  const bool handed = maybe_hand_over(window_over);
  maybe_quiesced();
  return handed || !work.empty();
}

void Shard::accept_all(std::vector<Work>& work) {
  auto card_at = [&work](std::size_t i) -> const CardId* {
    const auto* tap = std::get_if<work::Tap>(&work[i]);
    return tap != nullptr ? &tap->tap.tap.card : nullptr;
  };
  for (std::size_t i = 0; i < work.size(); ++i) {
    book_.prefetch_ahead(i, work.size(), card_at);
    accept(work[i]);
  }
}

bool Shard::may_hand_over() const { return !commit_in_flight_ && !blocked_ && awaiting_.empty(); }

bool Shard::maybe_hand_over(bool window_over) {
  // Nothing is handed over while the ledger cannot write: it would build
  // on batches that are being voided.
  if (!staged_.empty() && !storage_available()) {
    void_staged();
    return true;
  }
  // Overlapping a sync (awaiting_ not empty) is for batches big enough to pay for one.
  if (!commit_in_flight_ && !blocked_ && !staged_.empty() &&
      (awaiting_.empty() || staged_.size() >= context_.options.overlap_taps_min) &&
      (staged_.size() >= context_.options.batch_taps || stopping_ || window_over)) {
    hand_over();
    return true;
  }
  return false;
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
  struct Accept {
    Shard& shard;
    void operator()(work::Tap& tap) { shard.accept_tap(tap); }
    void operator()(work::Admin& admin) { shard.accept_admin(admin); }
    void operator()(work::Outcomes& told) { shard.decided(told.outcomes); }
    void operator()(work::Durable&) {
      CITYCARD_CHECK(!shard.awaiting_.empty());
      Decided batch = std::move(shard.awaiting_.front());
      shard.awaiting_.pop_front();
      shard.settle(batch);
      shard.recycle(std::move(batch.items));
    }
    void operator()(work::Voided&) {
      std::vector<Item> items;
      if (!shard.awaiting_.empty()) {
        items = std::move(shard.awaiting_.front().items);
        shard.awaiting_.pop_front();
      } else {
        // Its prepare failed: no outcomes came.
        CITYCARD_CHECK(shard.commit_in_flight_);
        items.swap(shard.committing_);
        shard.commit_in_flight_ = false;
      }
      shard.void_items(items);
    }
    void operator()(work::Quiesce& quiesce) { shard.quiesce_waiters_.push_back(std::move(quiesce.done)); }
    void operator()(work::Invalidate& invalidate) { shard.drop_if_idle(invalidate.card); }
    void operator()(work::CardKeys& warm) {
      for (auto& [card, key] : warm.keys) {
        CardEntry* found = shard.book_.cached(card);
        if (found != nullptr && found->key_version == 0) {
          found->key = key;
          found->key_version = warm.key_version;
        }
      }
    }
    void operator()(work::Rules& rules) { shard.builder_.use_rules(std::move(rules.book)); }
    void operator()(work::Access& access) { shard.builder_.use_access(std::move(access.book)); }
    void operator()(work::Stop&) { shard.stopping_ = true; }
  };
  std::visit(Accept{*this}, work);
}

void Shard::drop_if_idle(const CardId& card) {
  // The whole account: its media share the state that changed.
  book_.drop_account_if_idle(card);
}

void Shard::answer_internal(work::Tap& work, const char* what, const Status& error) {
  const TapId id = work.tap.tap.id;
  context_.log.event("tap_undecidable", {{"tap", IdempotencyKey::for_tap(id).to_string()}, {"what", what},
                                         {"error", error.to_string()}});
  protocol::DecisionRecord decision;
  decision.tap = id;
  decision.outcome = protocol::Outcome::refused;
  decision.reason = RefusalReason::internal;
  answer(work.waiter, decision, work.tap.tap.mode);
}

void Shard::accept_tap(work::Tap& work) {
  const TapId id = work.tap.tap.id;
  context_.metrics.observe_shard_wait_seconds(std::chrono::duration<double>(Clock::now() - work.waiter.submit->started).count());
  // Queued before the storage failed: rated now, it would build on state
  // that the failure voids.
  if (!storage_available()) return deliver_retry_later(context_.metrics, work.waiter);
  // A tap still in the pipeline waits for its first decision.
  if (auto* first = in_flight_.find(id)) {
    if (work.tap.tap.offline && !first->offline) first->uploads.push_back(std::move(work));
    else first->resends.push_back(std::move(work.waiter));
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
  in_flight_.insert(id, InFlight{work.tap.tap.offline, {}, {}});
  // The window runs from the tap's arrival: it may have waited in the inbox
  // for the shard (see taps_worth_waking_for).
  if (staged_.empty()) staged_since_ = std::min(Clock::now(), work.waiter.submit->started);
  // Built where it stays: moving an item (half a kilobyte) costs a copy of it.
  Item& item = staged_.emplace_back();
  item.kind = Item::Kind::tap;
  item.key = key;
  item.tap = std::move(work.tap);
  item.admission = work.admission;
  item.waiter = std::move(work.waiter);
  builder_.rate_tap(item);
}

void Shard::accept_admin(work::Admin& work) {
  if (!storage_available()) {
    context_.metrics.count_admin(false);
    work.done(storage_unavailable_result());
    return;
  }
  Item item;
  item.kind = Item::Kind::admin;
  item.admin() = std::move(work.command);
  item.admin_done = std::move(work.done);
  if (is_reader_action(item.admin().action)) {
    item.kind = Item::Kind::reader_admin;
    build_reader_admin(item);
  } else {
    builder_.card_action(item);
  }
  // Refused without a record to write, or a retry of an action already
  // done: answered now.
  mark_refusal(item);
  if (item.kind != Item::Kind::admin_refusal && (!item.admin_result().status || item.admin_result().duplicate)) {
    context_.metrics.count_admin(item.admin_result().status.is_ok());
    item.admin_done(item.admin_result());
    return;
  }
  if (staged_.empty()) staged_since_ = Clock::now();
  staged_.push_back(std::move(item));
}

void Shard::mark_refusal(Item& item) {
  if (item.kind != Item::Kind::admin || !records_refusal(item.group)) return;
  CITYCARD_CHECK(!item.admin_result().status && item.group.transfers.empty());
  item.kind = Item::Kind::admin_refusal;
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
    CITYCARD_CHECK(as_handed.size() == answers.size());
    for (std::size_t i = 0; i < answers.size(); ++i) {
      if (as_handed[i] && answers[i].waiter.submit) deliver(metrics, answers[i].waiter, answers[i].decision, answers[i].mode);
    }
  };
  for (auto& item : staged_) {
    if (item.kind == Item::Kind::tap || item.kind == Item::Kind::admin) {
      // The money rule, asserted where the batch is built: every transfer
      // moves a positive amount between two different accounts of one asset.
      for (const Transfer& transfer : item.group.transfers) {
        CITYCARD_CHECK(transfer.amount_minor > 0 && transfer.debit_account != transfer.credit_account);
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
  // The next batch is likely the size of this one: room for it now, not
  // grown on the way by copying every item it holds so far.
  if (staged_.capacity() < committing_.size()) staged_.reserve(committing_.size() + committing_.size() / 4);
  commit_in_flight_ = true;
  context_.committer.hand(std::move(job));
  book_.evict_idle();
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
  else if (staged_.size() >= context_.options.overlap_taps_min && storage_available()) hand_over();
}

// A batch is durable: the changes it made are applied to what the shard
// serves (deny list), its taps and actions are answered, and if it
// invalidated cards (then it is the last one in flight) they are reloaded.
void Shard::settle(Decided& batch) {
  std::vector<Item>& done = batch.items;
  std::vector<ledger::GroupOutcome>& outcomes = batch.outcomes;
  if (!batch.clean) {
    CITYCARD_CHECK(awaiting_.empty() && !commit_in_flight_);
    blocked_ = false;
  }
  std::vector<CardId> reload;
  std::vector<Item> refusals;
  auto card_at = [&done](std::size_t i) { return done[i].card.empty() ? nullptr : &done[i].card; };
  for (std::size_t i = 0; i < done.size(); ++i) {
    // settled() reads the card's entry and its account's slot.
    book_.prefetch_ahead(i, done.size(), card_at, CardBook::Prefetch::account);
    Item& item = done[i];
    const ledger::GroupOutcome& outcome = outcomes[i];
    if (!item.card.empty()) book_.settled(item.card);
    const bool durable = outcome.posted && !outcome.duplicate;
    if (durable && item.deny_after) {
      book_.set_listed(item.card, *item.deny_after);
      if (*item.deny_after) context_.deny_list.add(item.card);
      else context_.deny_list.remove(item.card);
    }
    if (item.kind == Item::Kind::reader_admin) {
      settle_reader_admin(item, outcome);
      continue;
    }
    if (item.kind == Item::Kind::admin) {
      settle_admin(item, outcome, reload);
      continue;
    }
    if (item.kind == Item::Kind::admin_refusal) {
      // Recorded now, or before (the same refused request again): either
      // way it is answered with its refusal.
      if (!outcome.posted) {
        context_.log.event("refusal_unrecorded", {{"key", item.group.key.to_string()}, {"error", outcome.reason.to_string()}});
      }
      answer_admin(item, item.admin_result());
      continue;
    }
    if (outcome.duplicate) {
      if (item.kind == Item::Kind::tap && !item.card.empty()) reload.push_back(item.card);
      builder_.give_back_offline(item);  // counted when it first posted
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
      refusal.admission = item.admission;
      refusal.waiter = std::move(item.waiter);
      builder_.give_back_offline(item);
      refusals.push_back(std::move(refusal));
      builder_.refuse_tap(refusals.back(), reason_for_rejection(outcome.reason));
    }
  }
  // Reload each card whose speculative state was wrong, and rate its staged
  // work again from the ledger's state.
  std::sort(reload.begin(), reload.end());
  reload.erase(std::unique(reload.begin(), reload.end()), reload.end());
  for (const CardId& card : reload) {
    // Every medium of the card's account: they rated on the one state.
    std::vector<CardId> media = book_.media_cached(card);
    if (media.empty()) media.push_back(card);
    book_.drop_account(card);
    for (auto& item : staged_) {
      if (std::find(media.begin(), media.end(), item.card) == media.end()) continue;
      if (item.kind == Item::Kind::tap) {
        builder_.rate_tap(item);
      } else if (item.kind == Item::Kind::admin) {
        builder_.card_action(item);
        mark_refusal(item);
      }
    }
    // An admin action that no longer applies (or was done meanwhile) is
    // answered now, not posted; one now refused posts its refusal's entry.
    auto answered = std::stable_partition(staged_.begin(), staged_.end(), [](const Item& item) {
      return item.kind != Item::Kind::admin || (item.admin_result().status.is_ok() && !item.admin_result().duplicate);
    });
    for (auto it = answered; it != staged_.end(); ++it) {
      context_.metrics.count_admin(it->admin_result().status.is_ok());
      it->admin_done(it->admin_result());
    }
    staged_.erase(answered, staged_.end());
  }
  if (!refusals.empty() && staged_.empty()) staged_since_ = Clock::now();
  for (auto& refusal : refusals) staged_.push_back(std::move(refusal));
  // Their first submission is in the ledger now: rated against it.
  std::vector<work::Tap> uploads;
  uploads.swap(uploads_ready_);
  for (auto& upload : uploads) accept_tap(upload);
}

void Shard::settle_admin(Item& item, const ledger::GroupOutcome& outcome, std::vector<CardId>& reload) {
  AdminResult result = item.admin_result();
  if (outcome.duplicate) {
    // Its key posted meanwhile (the same request twice in flight), or was
    // reused for another request.
    result.status = GroupBuilder::check_retry(item.admin(), outcome.outcome);
    result.duplicate = result.status.is_ok();
    reload.push_back(item.card);
  } else if (!outcome.posted) {
    result.status = outcome.reason;
    reload.push_back(item.card);
  }
  if (!item.refresh_elsewhere.empty() && outcome.posted && !outcome.duplicate) {
    if (book_.cached(item.refresh_elsewhere) != nullptr) drop_if_idle(item.refresh_elsewhere);
    else context_.invalidate_elsewhere(item.refresh_elsewhere);
  }
  if (outcome.posted && !outcome.duplicate) {
    for (const auto& [medium, account] : item.media_moved) context_.media_moved(medium, account);
  }
  answer_admin(item, result);
}

void Shard::answer_admin(Item& item, const AdminResult& result) {
  context_.metrics.count_admin(result.status.is_ok());
  context_.log.event("admin", {{"action", std::to_string(static_cast<int>(item.admin().action))},
                               {"card", item.admin().card.to_string()},
                               {"key", item.admin().key.to_string()},
                               {"result", result.status.is_ok() ? (result.duplicate ? "duplicate" : "ok") : result.status.to_string()}});
  item.admin_done(result);
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
  if (auto* first = in_flight_.find(id)) {
    protocol::DecisionRecord again = stored;
    again.flags |= protocol::DecisionFlags::replayed;
    for (auto& waiter : first->resends) answer(waiter, again, item.tap.tap.mode);
    for (auto& upload : first->uploads) uploads_ready_.push_back(std::move(upload));
    in_flight_.erase(id);
  }
}

void Shard::answer(const Waiter& waiter, const protocol::DecisionRecord& decision, Mode mode) {
  deliver(context_.metrics, waiter, decision, mode);
}

// Items that will never be durable: each tap (and every later submission of
// it waiting here) is answered retry_later, its offline money given back;
// each card-office request `unavailable`. Their cards' states are wrong
// until the shard is quiesced and forgets them.
void Shard::void_items(std::vector<Item>& items) {
  for (Item& item : items) {
    switch (item.kind) {
      case Item::Kind::tap:
      case Item::Kind::refusal_record: {
        builder_.give_back_offline(item);
        deliver_retry_later(context_.metrics, item.waiter);
        if (auto* first = in_flight_.find(item.tap.tap.id)) {
          for (const Waiter& waiter : first->resends) deliver_retry_later(context_.metrics, waiter);
          for (const work::Tap& upload : first->uploads) deliver_retry_later(context_.metrics, upload.waiter);
          in_flight_.erase(item.tap.tap.id);
        }
        break;
      }
      case Item::Kind::admin:
      case Item::Kind::reader_admin:
      case Item::Kind::admin_refusal:
        answer_admin(item, storage_unavailable_result());
        break;
    }
  }
  items.clear();
}

void Shard::void_staged() {
  void_items(staged_);
  for (work::Tap& upload : uploads_ready_) deliver_retry_later(context_.metrics, upload.waiter);
  uploads_ready_.clear();
}

void Shard::maybe_quiesced() {
  if (quiesce_waiters_.empty() || commit_in_flight_ || !awaiting_.empty()) return;
  void_staged();
  CITYCARD_CHECK_EQ(in_flight_.size(), 0u);
  book_.drop_all();
  readers_pending_.clear();
  blocked_ = false;
  for (auto& done : quiesce_waiters_) done();
  quiesce_waiters_.clear();
}

}  // namespace citycard::engine
