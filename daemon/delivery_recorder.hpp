// Writes delivery outcomes back to the queue: each recipient's SMTP outcome
// is classified by the one classifier (smtp_classify), turned into an
// AttemptOutcome (sent; deferred with the [queue] backoff; failed), logged
// Postfix-style, and all of one message's outcomes go to the StoreWriter as
// one job (group commit), with the DSNs they call for (the bounce for the
// failed ones, the "relayed" notice of NOTIFY=SUCCESS; stored by the
// daemon's one way in, Intake::store_in) in the same transaction. Once
// durable, the recipients are handed back to the scheduler (Settled).
// Trusts the session's outcomes; sanitises server text again before logging.
// Runs on the io thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "daemon/delivery_types.hpp"
#include "daemon/intake.hpp"
#include "daemon/net/asio.hpp"
#include "daemon/smtp/smtp_client.hpp"
#include "spool/dsn_builder.hpp"
#include "spool/store.hpp"
#include "spool/store_writer.hpp"

namespace mailqd {

class DeliveryRecorder {
public:
    // Recipients whose outcome is durable (or whose recording failed, so
    // they are still due as before: still_due): the scheduler may take them
    // from the store again.
    using Settled = std::function<void(const std::vector<std::int64_t>& recipient_ids, bool still_due)>;

    DeliveryRecorder(asio::any_io_executor io, StoreWriter& writer, Intake& intake, Settled settled)
        : io_(std::move(io)), writer_(writer), intake_(intake), settled_(std::move(settled))
    {
    }

    void set_policy(DeliveryPolicy policy) { policy_ = std::move(policy); }
    const DeliveryPolicy& policy() const { return policy_; }

    // A session's outcomes for one message (peer: "host[address]:port").
    void record(const Delivery& delivery, const MessageOutcome& outcome, const std::string& relay,
                const std::string& peer);
    // Every recipient deferred for one reason (the relay could not be used).
    // One random draw for all, so a relay's mail comes back due together; the
    // next attempt is at least min_delay away.
    void defer(const Delivery& delivery, const std::string& relay, const std::string& peer,
               const std::string& reason, double random01, std::chrono::seconds min_delay);
    // Recipients past queue.lifetime: failed, reply "expired: ...", one per
    // recipient in delivery order.
    void expire(const Delivery& delivery, const std::string& relay, const std::vector<std::string>& replies);

private:
    AttemptOutcome deferred(const Delivery& delivery, const DeliveryRecipient& recipient,
                            const std::string& relay, std::string reply, std::chrono::seconds delay) const;
    // stage: where a deferral or failure happened ("rcpt"), empty when unknown.
    void log_attempt(const Delivery& delivery, const DeliveryRecipient& recipient,
                     const std::string& relay_text, const AttemptOutcome& outcome,
                     std::string_view stage = {}) const;
    void commit(const Delivery& delivery, std::vector<AttemptOutcome> outcomes, std::string remote_mta,
                bool dsn_passed_on = false);
    struct Job;  // one message's outcomes and, once stored, its DSNs
    static Status queue_dsn(Store& store, Job& job, DsnAction action, std::vector<DsnRecipient> recipients,
                            TimePoint now);
    void committed(const Job& job, const Status& status);

    asio::any_io_executor io_;
    StoreWriter& writer_;
    Intake& intake_;
    Settled settled_;
    DeliveryPolicy policy_;
};

}  // namespace mailqd
