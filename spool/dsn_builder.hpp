// Delivery status notifications (RFC 3464): the bounce sent to the envelope
// sender when recipients fail for good, and the "relayed" notice for
// recipients that asked for NOTIFY=SUCCESS (RFC 3461) when the relay took
// the mail without offering DSN. Pure: builds text, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "spool/dsn_params.hpp"
#include "spool/queue_types.hpp"

namespace mailqd {

// What happened to every recipient a DSN reports (its Action: field).
enum class DsnAction { failed, relayed };

struct DsnRecipient {
    std::string address;
    std::string reply;       // server reply or local reason, e.g. "550 5.1.1 no such user"
    std::string remote_mta;  // relay host, empty when the failure was local
    std::string orcpt;       // decoded ORCPT ("rfc822;a@b"), empty when not given
};

// Past this size a RET=FULL bounce returns the header only: the bounce is
// queued and relayed like any other message.
inline constexpr std::size_t max_returned_message = 1024 * 1024;

struct DsnInput {
    std::string hostname;  // reporting MTA
    std::string queue_id;
    std::string original_sender;
    TimePoint arrival;
    TimePoint now;
    DsnAction action = DsnAction::failed;
    std::vector<DsnRecipient> recipients;
    MessageDsn dsn;  // the original's RET and ENVID
    // The stored message (CRLF). Returned whole (message/rfc822) only in a
    // failure report of a message sent with RET=FULL that is at most
    // max_returned_message; otherwise its header (text/rfc822-headers).
    std::string_view original;
};

// The DSN as a NewMessage from <> to the original sender, door "bounce".
// The caller must not report on a message whose sender is <>.
NewMessage build_dsn(const DsnInput& input);

// "5.1.1" from "550 5.1.1 text"; a class-only default ("5.0.0", "4.0.0",
// "2.0.0") when the reply has no enhanced code.
std::string status_from_reply(std::string_view reply);

}  // namespace mailqd
