// See delivery_recorder.hpp.
#include "daemon/delivery_recorder.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <memory>

#include "daemon/logging.hpp"
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

// Postfix's words in its log lines.
const char* dsn_kind(DsnAction action)
{
    return action == DsnAction::relayed ? "delivery status notification" : "non-delivery notification";
}

}  // namespace

struct DeliveryRecorder::Job {
    Delivery delivery;
    std::vector<AttemptOutcome> outcomes;
    std::string remote_mta;
    bool bounce;         // DSNs may go to the sender: bounce = yes and a sender that is not <>
    bool dsn_passed_on;  // the relay took NOTIFY: a success is its to report
    std::string dsn_hostname;
    std::string intake_hostname;
    // Filled on the writer thread, read on the io thread after the commit.
    struct StoredDsn {
        DsnAction action;
        NewMessage message;
        std::string id;
        std::size_t size = 0;
        std::size_t recipients = 0;  // reported in it (one relay's, as every outcome of a job)
    };
    std::vector<StoredDsn> dsns;
};

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
    commit(delivery, std::move(outcomes), peer_host(peer), outcome.dsn_passed_on);
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
// whatever else the writer has pending), and so do the DSNs they call for
// (the bounce for failed recipients, the "relayed" notice for NOTIFY=SUCCESS
// ones): a crash or a full disk loses both or neither. NOTIFY decides per
// recipient (RFC 3461 4.1): none given or FAILURE in it bounces, NEVER or a
// list without FAILURE does not.
void DeliveryRecorder::commit(const Delivery& delivery, std::vector<AttemptOutcome> outcomes,
                              std::string remote_mta, bool dsn_passed_on)
{
    auto shared = std::make_shared<Job>(Job{delivery,
                                            std::move(outcomes),
                                            std::move(remote_mta),
                                            policy_.bounce && !delivery.sender.empty(),
                                            dsn_passed_on,
                                            policy_.hostname,
                                            intake_.hostname(),
                                            {}});
    auto job = [shared](Store& store) -> Status {
        const TimePoint now = now_seconds();
        std::vector<DsnRecipient> failed, relayed;
        for (const auto& outcome : shared->outcomes) {
            Status s = store.record_attempt(outcome, now);
            // Deleted meanwhile, or settled by someone else: nothing to record.
            if (!s && s.error().kind != ErrorKind::not_found)
                spdlog::warn("recipient {}: attempt not recorded: {}", outcome.recipient_id,
                             s.error().message);
            const DeliveryRecipient* r = find_recipient(shared->delivery, outcome.recipient_id);
            if (!s || !shared->bounce || !r) continue;
            const DsnNotify& notify = r->dsn.notify;
            DsnRecipient reported{r->address, outcome.reply, shared->remote_mta, r->dsn.orcpt};
            if (outcome.state == RecipientState::failed && notify.wants_failure())
                failed.push_back(std::move(reported));
            else if (outcome.state == RecipientState::sent && notify.success && !shared->dsn_passed_on)
                relayed.push_back(std::move(reported));
        }
        if (!failed.empty())
            if (auto st = queue_dsn(store, *shared, DsnAction::failed, std::move(failed), now); !st)
                return st;
        if (!relayed.empty()) return queue_dsn(store, *shared, DsnAction::relayed, std::move(relayed), now);
        return {};
    };
    // On the writer thread: back to the io thread. Touches nothing of this
    // there (the writer drains its jobs after the scheduler is gone).
    auto done = [this, io = io_, shared](Status status) {
        asio::post(io, [this, shared, status = std::move(status)] { committed(*shared, status); });
    };
    writer_.post(std::move(job), std::move(done));
}

// On the writer thread, inside the job's transaction. A DSN that cannot be
// stored fails the job, so the outcome it reports is not recorded either
// and the recipients stay due (a store fault, retried as any other).
Status DeliveryRecorder::queue_dsn(Store& store, Job& job, DsnAction action,
                                   std::vector<DsnRecipient> recipients, TimePoint now)
{
    const std::size_t reported = recipients.size();
    auto data = store.message_data(job.delivery.message_id);
    if (!data) {
        if (data.error().kind == ErrorKind::not_found) return {};  // deleted meanwhile: nobody to tell
        return data.error().context("reading the message to report on");
    }
    DsnInput input{job.dsn_hostname,
                   job.delivery.message_id,
                   job.delivery.sender,
                   job.delivery.received_at,
                   now,
                   action,
                   std::move(recipients),
                   job.delivery.dsn,
                   *data};
    NewMessage dsn = build_dsn(input);
    const std::size_t size = dsn.data.size();
    auto id = Intake::store_in(store, dsn, job.intake_hostname);
    if (!id && id.error().kind == ErrorKind::bad_message) {
        // Never storable: retrying would fail the same way for ever.
        spdlog::error("{}: could not queue the {}: {}", job.delivery.message_id, dsn_kind(action),
                      id.error().message);
        return {};
    }
    if (!id) return id.error().context(std::string("queueing the ") + dsn_kind(action));
    job.dsns.push_back({action, std::move(dsn), std::move(*id), size, reported});
    return {};
}

void DeliveryRecorder::committed(const Job& job, const Status& status)
{
    std::vector<std::int64_t> ids;
    for (const auto& outcome : job.outcomes) ids.push_back(outcome.recipient_id);
    if (!status)
        spdlog::error("{}: recording delivery outcomes failed: {} (the recipients stay due)",
                      job.delivery.message_id, status.error().message);
    settled_(ids, !status);
    if (!status) return;
    Telemetry& telemetry = intake_.telemetry();
    const TimePoint now = now_seconds();
    for (const auto& outcome : job.outcomes)
        if (outcome.state == RecipientState::sent)
            telemetry.delivery_delay_seconds.observe(
                static_cast<double>(std::max<std::int64_t>(0, (now - job.delivery.received_at).count())));
    for (const auto& dsn : job.dsns) {
        if (dsn.action == DsnAction::failed && !job.outcomes.empty())
            telemetry.bounced_by_relay[job.outcomes.front().relay] += dsn.recipients;
        intake_.committed(dsn.id, dsn.message, dsn.size);
        spdlog::info("{}: sender {}: {}", job.delivery.message_id, dsn_kind(dsn.action), dsn.id);
    }
}

}  // namespace mailqd
