// The queue's vocabulary, shared by the store, the control protocol and the
// CLI. State names match DESIGN.md's JSON words.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spool/dsn_params.hpp"

namespace mailqd {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::seconds>;

inline TimePoint now_seconds() { return std::chrono::time_point_cast<std::chrono::seconds>(Clock::now()); }

enum class RecipientState { queued, deferred, held, sent, failed };

std::string_view to_string(RecipientState state);
std::optional<RecipientState> recipient_state_from(std::string_view word);
bool is_done(RecipientState state);  // sent or failed

// A message's state: the first of held, deferred, queued, failed, sent that
// any of its recipients is in.
RecipientState message_state(const std::vector<RecipientState>& recipients);

// "2026-11-23T08:00:00Z"
std::string format_time(TimePoint t);
std::optional<TimePoint> parse_time(std::string_view text);

// Recipients one message may have, at every door (RFC 5321 4.5.3.1.8 asks
// for at least 100): a bound on abuse, not on mailings.
inline constexpr std::size_t max_recipients = 1000;

// What an intake door hands to the daemon's Intake, and Intake to the store.
struct NewMessage {
    std::string sender;                   // "" for the null sender <>
    std::vector<std::string> recipients;  // at least one
    // As the door received it; Intake::accept prepares it once for the queue
    // (prepare_for_queue: CRLF lines, Date and Message-ID present) before the
    // store sees it.
    std::string data;
    bool remove_bcc = false;  // the envelope came from the headers: drop Bcc
    std::string submitter;    // Unix user name
    std::string door;         // socket, tcp, spool, cli
    std::string spool_key;    // spool door: identity of the file, else empty
    // RFC 3461 (the submit door's MAIL and RCPT parameters, sendmail -N -R -V).
    MessageDsn dsn;
    // One per recipient, in the same order, or empty when none was given.
    std::vector<RecipientDsn> recipient_dsn;
};

struct RecipientInfo {
    std::int64_t id = 0;
    std::string address;
    RecipientState state = RecipientState::queued;
    int attempts = 0;
    std::optional<TimePoint> next_attempt_at;  // only when deferred
    std::string last_reply;
};

struct AttemptInfo {
    TimePoint at;
    std::string relay;
    std::string recipient;
    std::string reply;
};

struct MessageInfo {
    std::string id;
    TimePoint received_at;
    std::uint64_t size = 0;
    std::string sender;
    std::string submitter;
    std::vector<RecipientInfo> recipients;
    std::vector<AttemptInfo> attempts;  // filled by Store::show only

    RecipientState state() const;
};

struct QueueCounts {
    std::uint64_t queued = 0, deferred = 0, held = 0, sent = 0, failed = 0;
    std::optional<std::int64_t> oldest_age_s;  // of messages not done
};

// Per relay since the database was created (counters survive the purge).
struct RelayTotals {
    std::string name;
    std::uint64_t sent = 0, failed = 0, deferred = 0;
    std::optional<TimePoint> last_success_at;  // last recipient sent
    std::optional<std::string> last_error;     // reply of the last deferred/failed attempt
};

// Since the daemon started: jobs of the store's writer that failed for a
// reason other than their own input (a store fault), the last such error,
// and how often the writer re-opened the database to get past one.
struct StoreFaults {
    std::uint64_t errors = 0, reopens = 0;
    // The last batch that ended in a fault had no job succeed, and none has
    // since: the queue is not taking writes now (as far as the last one knew).
    bool failing = false;
    std::optional<std::string> last_error;
    std::optional<TimePoint> last_error_at;
};

struct MailboxTotals {
    std::string name;
    std::optional<TimePoint> last_fetch_at;
    std::uint64_t fetched = 0;
    std::optional<std::string> last_error;
};

}  // namespace mailqd
