// See scheduler.hpp.
#include "daemon/scheduler.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <unordered_map>

#include "daemon/logging.hpp"
#include "daemon/net/spawn.hpp"

namespace mailqd {
namespace {

// Recipients taken per pass beyond those already in flight; a pass that
// fills it is followed by another at once.
constexpr std::size_t batch = 500;
// At most this many recipients in flight (queued in pools or in sessions):
// bounds memory, and the rows each pass reads (due() returns the in-flight
// ones too) while a slow relay has a backlog.
constexpr std::size_t max_in_flight = 5000;
// Passes are at least this far apart, so a burst of accepts (each one a
// changed()) costs a few passes, not one per message.
constexpr std::chrono::milliseconds min_pass_interval{25};

DeliveryPolicy delivery_policy(const Config& config)
{
    const QueueConfig& q = config.queue;
    return DeliveryPolicy{BackoffPolicy{q.retry_initial, q.retry_max, q.retry_factor, q.retry_jitter},
                          q.lifetime, q.bounce, q.hostname};
}

bool deliverable(RecipientState state)
{
    return state == RecipientState::queued || state == RecipientState::deferred;
}

// Due recipients not yet in flight, as one Delivery per message (in the
// order due() gave them).
std::vector<Delivery> group_by_message(const std::vector<DueRecipient>& due,
                                       const std::unordered_set<std::int64_t>& in_flight)
{
    std::vector<Delivery> deliveries;
    std::unordered_map<std::string, std::size_t> by_message;
    for (const auto& r : due) {
        if (in_flight.count(r.recipient_id)) continue;
        auto [it, added] = by_message.try_emplace(r.message_id, deliveries.size());
        if (added) deliveries.push_back(Delivery{r.message_id, r.sender, r.received_at, {}, r.message_dsn});
        deliveries[it->second].recipients.push_back({r.recipient_id, r.address, r.attempts, r.dsn});
    }
    return deliveries;
}

}  // namespace

Scheduler::Scheduler(asio::any_io_executor io, Store& reader, StoreWriter& writer, Intake& intake,
                     const Config& config)
    : io_(io),
      reader_(reader),
      config_(config),
      recorder_(io, writer, intake,
                [this](const auto& ids, bool still_due) {
                    if (still_due) cursor_.reset();  // behind it, maybe
                    settle(ids);
                }),
      wake_(io)
{
    apply_config(config_);
}

Scheduler::~Scheduler()
{
    if (!stopped_) stop();
}

void Scheduler::start()
{
    if (running_) return;
    running_ = true;
    spawn_logged(io_, run(), "scheduler");
}

void Scheduler::changed()
{
    woken_ = true;
    wake_.cancel();
}

void Scheduler::stop()
{
    stopped_ = true;
    wake_.cancel();
    for (auto& [name, pool] : pools_) pool->stop();
}

void Scheduler::retry_requested()
{
    for (auto& [name, pool] : pools_) pool->resume();
    rescan();
}

void Scheduler::rescan()
{
    cursor_.reset();
    changed();
}

std::uint64_t Scheduler::in_flight(const std::string& relay) const
{
    auto it = pools_.find(relay);
    return it == pools_.end() ? 0 : it->second->in_flight();
}

void Scheduler::reconfigure(const Config& config)
{
    config_ = config;
    warned_no_relays_ = false;
    apply_config(config_);
    rescan();
}

RelaySettings Scheduler::relay_settings(const RelayConfig& relay) const
{
    return RelaySettings{relay, config_.queue.hostname, config_.log.protocol_trace};
}

void Scheduler::apply_config(const Config& config)
{
    recorder_.set_policy(delivery_policy(config));
    std::map<std::string, std::shared_ptr<RelayPool>> next;
    for (const auto& relay : config.relays) {
        auto it = pools_.find(relay.name);
        if (it == pools_.end()) {
            PoolOwner& owner = *this;
            next.emplace(relay.name, std::make_shared<RelayPool>(io_, blocking_.get_executor(),
                                                                 relay_settings(relay), owner, recorder_));
            continue;
        }
        it->second->update(relay_settings(relay));
        next.emplace(relay.name, std::move(it->second));
        pools_.erase(it);
    }
    // Left over: relays no longer configured. Their sessions keep the pool
    // alive until they end; queued mail comes back here to be routed again.
    for (auto& [name, pool] : pools_) {
        spdlog::info("relay {} removed from the config: draining", name);
        pool->drain();
    }
    pools_ = std::move(next);
}

awaitable<void> Scheduler::run()
{
    while (!stopped_) {
        // (A changed() meanwhile cancels the timer: wait out the rest.)
        while (!stopped_ && std::chrono::steady_clock::now() < last_pass_ + min_pass_interval) {
            wake_.expires_at(last_pass_ + min_pass_interval);
            error_code ec;
            co_await wake_.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        if (stopped_) break;
        last_pass_ = std::chrono::steady_clock::now();
        woken_ = false;
        const TimePoint now = now_seconds();
        if (dispatch_due(now)) continue;  // there may be more
        if (woken_ || stopped_) continue;
        // Everything due by now is in flight: sleep until the next one that
        // is not, or until something changes.
        std::optional<TimePoint> next;
        if (!config_.relays.empty()) next = reader_.next_due_time(now);
        if (next)
            wake_.expires_after(*next - Clock::now());
        else
            wake_.expires_at(asio::steady_timer::time_point::max());
        error_code ec;
        co_await wake_.async_wait(asio::redirect_error(use_awaitable, ec));
    }
}

// Takes due recipients not in flight, grouped per message, and sends each
// message to its relay's pool, or fails it as expired. A pool with a full
// backlog gets nothing more now (a settled message wakes us again). True
// when there may be more to take at once: the batch was full, or the sweep
// reached the end and must look once more from the start.
bool Scheduler::dispatch_due(TimePoint now)
{
    if (config_.relays.empty()) {
        if (!warned_no_relays_) spdlog::warn("no relays configured: queued mail stays queued");
        warned_no_relays_ = true;
        return false;
    }
    const bool room =
        std::any_of(pools_.begin(), pools_.end(), [](const auto& p) { return p.second->has_room(); });
    if (!room || in_flight_.size() >= max_in_flight) return false;
    // From the start, the recipients in flight come first and are skipped.
    const bool from_start = !cursor_;
    const std::size_t limit =
        (from_start ? in_flight_.size() : 0) + std::min(batch, max_in_flight - in_flight_.size());
    auto due = reader_.due(now, limit, cursor_);
    if (!due) {
        spdlog::error("scheduler: reading due recipients: {}", due.error().message);
        return false;
    }
    for (auto& delivery : group_by_message(*due, in_flight_)) {
        const RelayConfig* relay = config_.relay_for_sender(delivery.sender);
        auto pool = pools_.find(relay->name);
        const bool expired = now >= delivery.received_at + config_.queue.lifetime;
        if (pool == pools_.end() || (!expired && !pool->second->has_room())) continue;
        for (const auto& r : delivery.recipients) in_flight_.insert(r.id);
        if (expired)
            recorder_.expire(delivery, relay->name, expiry_replies(delivery));
        else
            pool->second->enqueue(std::move(delivery));
    }
    // The next pass starts after the last row taken before the first one
    // left behind (a full pool), so nothing left behind is passed by.
    bool left_behind = false;
    for (const auto& r : *due) {
        if (!in_flight_.count(r.recipient_id)) {
            left_behind = true;
            break;
        }
        cursor_ = DueCursor{r.next_attempt_at, r.recipient_id};
    }
    if (left_behind) return false;
    if (due->size() >= limit) return true;
    cursor_.reset();  // the end: next time from the start
    return !from_start;
}

std::vector<std::string> Scheduler::expiry_replies(const Delivery& delivery)
{
    const std::string base = "expired: not delivered within " + format_duration(config_.queue.lifetime);
    auto info = reader_.show(delivery.message_id);
    std::vector<std::string> replies;
    for (const auto& recipient : delivery.recipients) {
        std::string reply = base;
        if (info)
            for (const auto& r : info->recipients)
                if (r.id == recipient.id && !r.last_reply.empty()) reply += "; last reply: " + r.last_reply;
        replies.push_back(std::move(reply));
    }
    return replies;
}

std::optional<OutgoingMessage> Scheduler::prepare(Delivery& delivery)
{
    auto sendable = reader_.sendable(delivery.message_id);
    if (!sendable && sendable.error().kind == ErrorKind::not_found) {  // deleted meanwhile
        release(delivery);
        return std::nullopt;
    }
    if (!sendable) {
        // Unreadable (a damaged page, an I/O error): deferred with the
        // backoff like any temporary failure, not handed straight back to be
        // read again on the next pass.
        spdlog::error("{}: the queued message cannot be read: {}", delivery.message_id,
                      sendable.error().message);
        recorder_.defer(delivery, "", "", "the queued message cannot be read: " + sendable.error().message,
                        0.5, std::chrono::seconds(0));
        return std::nullopt;
    }
    const auto& states = sendable->recipients;
    Delivery dropped{delivery.message_id, delivery.sender, delivery.received_at, {}, delivery.dsn};
    std::vector<DeliveryRecipient> live;
    for (auto& recipient : delivery.recipients) {
        auto it = std::find_if(states.begin(), states.end(),
                               [&](const auto& s) { return s.first == recipient.id; });
        // Held, or settled by an admin, while it waited here.
        auto& into = it != states.end() && deliverable(it->second) ? live : dropped.recipients;
        into.push_back(std::move(recipient));
    }
    if (!dropped.recipients.empty()) release(dropped);
    delivery.recipients = std::move(live);
    if (delivery.recipients.empty()) return std::nullopt;
    OutgoingMessage message{
        delivery.message_id, delivery.sender, {}, std::move(sendable->data), delivery.dsn};
    for (const auto& r : delivery.recipients) message.recipients.push_back({r.id, r.address, r.dsn});
    return message;
}

// Handed back without an attempt: still due, and maybe behind the cursor.
void Scheduler::release(const Delivery& delivery)
{
    std::vector<std::int64_t> ids;
    for (const auto& r : delivery.recipients) ids.push_back(r.id);
    cursor_.reset();
    settle(ids);
}

void Scheduler::settle(const std::vector<std::int64_t>& recipient_ids)
{
    for (auto id : recipient_ids) in_flight_.erase(id);
    if (!stopped_) changed();
}

}  // namespace mailqd
