// The delivery engine's vocabulary, between the scheduler (which takes due
// recipients from the store), the relay pools (which feed SMTP sessions) and
// the recorder (which writes outcomes back). A Delivery is one message with
// the recipients of it that are due now and routed to one relay; it carries
// no message text (loaded only when a session is about to send it).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "spool/backoff.hpp"
#include "spool/queue_types.hpp"

namespace mailqd {

struct DeliveryRecipient {
    std::int64_t id = 0;  // store recipient id
    std::string address;
    int attempts = 0;  // attempts made before this one
    RecipientDsn dsn;  // NOTIFY and ORCPT: for the relay and for our own DSNs
};

struct Delivery {
    std::string message_id;
    std::string sender;  // "" for <>
    TimePoint received_at;
    std::vector<DeliveryRecipient> recipients;
    MessageDsn dsn;  // RET and ENVID
};

// What [queue] says about retries, expiry and bounces.
struct DeliveryPolicy {
    BackoffPolicy backoff;
    std::chrono::seconds lifetime{5 * 86400};
    bool bounce = true;
    std::string hostname;  // the reporting MTA in bounces
};

}  // namespace mailqd
