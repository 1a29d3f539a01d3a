// Delivery status notifications (RFC 3464): the bounce sent to the envelope
// sender when recipients fail for good. Pure: builds text, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spool/queue_types.hpp"

namespace mailqd {

struct FailedRecipient {
    std::string address;
    std::string reply;       // server reply or local reason, e.g. "550 5.1.1 no such user"
    std::string remote_mta;  // relay host, empty when the failure was local
};

struct DsnInput {
    std::string hostname;  // reporting MTA
    std::string queue_id;
    std::string original_sender;
    TimePoint arrival;
    TimePoint now;
    std::vector<FailedRecipient> failed;
    std::string_view original;  // the stored message (CRLF); only its header is returned
};

// The bounce as a NewMessage from <> to the original sender, door "bounce".
// The caller must not bounce a message whose sender is <>.
NewMessage build_dsn(const DsnInput& input);

// "5.1.1" from "550 5.1.1 text"; a class-only default ("5.0.0" / "4.0.0")
// when the reply has no enhanced code.
std::string status_from_reply(std::string_view reply);

}  // namespace mailqd
