// See delivery_recorder.hpp.
#include "daemon/delivery_recorder.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <memory>

#include "daemon/logging.hpp"
#include "daemon/net/spawn.hpp"
#include "spool/dsn_builder.hpp"

namespace mailqd {
namespace {

const DeliveryRecipient* find_recipient(const Delivery& delivery, std::int64_t id)
{
    for (const auto& r : delivery.recipients)
        if (r.id == id) return &r;
    return nullptr;
}

// "mail.example.org" from "mail.example.org[203.0.113.5]:587" or "host:port".
std::string peer_host(const std::string& peer)
{
    std::size_t end = peer.find('[');
    if (end == std::string::npos) end = peer.rfind(':');
    return peer.substr(0, end);
}

awaitable<void> accept_bounce(Intake& intake, std::string original_id, NewMessage dsn)
{
    auto op = intake.accept(std::move(dsn));  // named: see store_async.hpp
    Result<std::string> id = co_await std::move(op);
    if (id)
        spdlog::info("{}: sender non-delivery notification: {}", original_id, *id);
    else
        spdlog::error("{}: could not queue the non-delivery notification: {}", original_id,
                      id.error().message);
}

}  // namespace

AttemptOutcome DeliveryRecorder::deferred(const Delivery& delivery, const DeliveryRecipient& recipient,
                                          const std::string& relay, std::string reply,
                                          std::chrono::seconds delay) const
{
    // Never later than the end of the lifetime, so expiry happens on time.
    const TimePoint now = now_seconds();
    const TimePoint end = delivery.received_at + policy_.lifetime;
    TimePoint next = now + delay;
    if (next > end) next = std::max(end, now);
    return AttemptOutcome{recipient.id, relay, RecipientState::deferred, std::move(reply), next};
}

void DeliveryRecorder::log_attempt(const Delivery& delivery, const DeliveryRecipient& recipient,
                                   const std::string& relay_text, const AttemptOutcome& outcome,
                                   std::string_view stage) const
{
    const double delay = std::chrono::duration<double>(Clock::now() - delivery.received_at).count();
    // The stage goes last so that readers matching up to reply="..." still match.
    const std::string where = stage.empty() ? std::string() : " stage=" + std::string(stage);
    spdlog::info("{}: to={} relay={} delay={:.1f} attempt={} status={} reply=\"{}\"{}", delivery.message_id,
                 log_address(recipient.address), relay_text, std::max(0.0, delay), recipient.attempts + 1,
                 to_string(outcome.state), log_quoted(outcome.reply), where);
}

void DeliveryRecorder::record(const Delivery& delivery, const MessageOutcome& outcome,
                              const std::string& relay, const std::string& peer)
{
    std::vector<AttemptOutcome> outcomes;
    const std::string relay_text = log_relay(relay, peer);
    for (const auto& r : outcome.recipients) {
        const DeliveryRecipient* recipient = find_recipient(delivery, r.id);
        if (!recipient) continue;  // not ours: cannot happen, the pool built the message
        const RecipientState state = classify(r.outcome);
        std::string reply = describe(r.outcome);
        AttemptOutcome attempt =
            state == RecipientState::deferred
                ? deferred(delivery, *recipient, relay, std::move(reply),
                           backoff_delay(policy_.backoff, recipient->attempts + 1))
                : AttemptOutcome{recipient->id, relay, state, std::move(reply), std::nullopt};
        log_attempt(delivery, *recipient, relay_text, attempt,
                    state == RecipientState::sent ? std::string_view() : to_string(r.outcome.stage));
        outcomes.push_back(std::move(attempt));
    }
    commit(delivery, std::move(outcomes), peer_host(peer));
}

void DeliveryRecorder::defer(const Delivery& delivery, const std::string& relay, const std::string& peer,
                             const std::string& reason, double random01, std::chrono::seconds min_delay)
{
    std::vector<AttemptOutcome> outcomes;
    const std::string relay_text = log_relay(relay, peer);
    for (const auto& recipient : delivery.recipients) {
        auto delay = std::max(min_delay, backoff_delay(policy_.backoff, recipient.attempts + 1, random01));
        AttemptOutcome attempt = deferred(delivery, recipient, relay, reason, delay);
        log_attempt(delivery, recipient, relay_text, attempt);
        outcomes.push_back(std::move(attempt));
    }
    commit(delivery, std::move(outcomes), peer_host(peer));
}

void DeliveryRecorder::expire(const Delivery& delivery, const std::string& relay,
                              const std::vector<std::string>& replies)
{
    std::vector<AttemptOutcome> outcomes;
    for (std::size_t i = 0; i < delivery.recipients.size() && i < replies.size(); ++i) {
        const auto& recipient = delivery.recipients[i];
        AttemptOutcome attempt{recipient.id, relay, RecipientState::failed, replies[i], std::nullopt};
        log_attempt(delivery, recipient, "none", attempt);
        outcomes.push_back(std::move(attempt));
    }
    commit(delivery, std::move(outcomes), "");
}

// One job per message: its outcomes share a transaction (and a commit with
// whatever else the writer has pending).
void DeliveryRecorder::commit(const Delivery& delivery, std::vector<AttemptOutcome> outcomes,
                              std::string remote_mta)
{
    auto shared = std::make_shared<const std::vector<AttemptOutcome>>(std::move(outcomes));
    auto job = [shared](Store& store) -> Status {
        const TimePoint now = now_seconds();
        for (const auto& outcome : *shared) {
            Status s = store.record_attempt(outcome, now);
            // Deleted meanwhile, or settled by someone else: nothing to record.
            if (!s && s.error().kind != ErrorKind::not_found)
                spdlog::warn("recipient {}: attempt not recorded: {}", outcome.recipient_id,
                             s.error().message);
        }
        return {};
    };
    auto message = std::make_shared<const Delivery>(delivery);
    // On the writer thread: back to the io thread. Touches nothing of this
    // there (the writer drains its jobs after the scheduler is gone).
    auto done = [this, io = io_, message, shared, remote_mta = std::move(remote_mta)](Status status) {
        asio::post(io, [this, message, shared, remote_mta, status = std::move(status)] {
            committed(*message, *shared, remote_mta, status);
        });
    };
    writer_.post(std::move(job), std::move(done));
}

void DeliveryRecorder::committed(const Delivery& delivery, const std::vector<AttemptOutcome>& outcomes,
                                 const std::string& remote_mta, const Status& status)
{
    std::vector<std::int64_t> ids;
    for (const auto& outcome : outcomes) ids.push_back(outcome.recipient_id);
    if (!status)
        spdlog::error("{}: recording delivery outcomes failed: {} (the recipients stay due)",
                      delivery.message_id, status.error().message);
    settled_(ids, !status);
    if (status) bounce(delivery, outcomes, remote_mta);
}

void DeliveryRecorder::bounce(const Delivery& delivery, const std::vector<AttemptOutcome>& outcomes,
                              const std::string& remote_mta)
{
    if (!policy_.bounce || delivery.sender.empty()) return;
    std::vector<FailedRecipient> failed;
    for (const auto& outcome : outcomes) {
        if (outcome.state != RecipientState::failed) continue;
        const DeliveryRecipient* recipient = find_recipient(delivery, outcome.recipient_id);
        if (recipient) failed.push_back({recipient->address, outcome.reply, remote_mta});
    }
    if (failed.empty()) return;
    auto data = reader_.message_data(delivery.message_id);
    if (!data) {
        spdlog::error("{}: cannot bounce: {}", delivery.message_id, data.error().message);
        return;
    }
    DsnInput input{policy_.hostname,
                   delivery.message_id,
                   delivery.sender,
                   delivery.received_at,
                   now_seconds(),
                   std::move(failed),
                   *data};
    spawn_logged(io_, accept_bounce(intake_, delivery.message_id, build_dsn(input)), "bounce");
}

}  // namespace mailqd
