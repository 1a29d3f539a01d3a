// The human views of the control socket's JSON (DESIGN.md section 5 shapes):
// the queue list, one message, the stats and fetch results. Pure functions
// of (json, now) -> text, so they are unit-tested on fixed input.
// Trusts nothing in the JSON: missing or mistyped fields print as "-", and
// every string is sanitised (reply texts come from remote servers).
#pragma once

#include <string>
#include <vector>

#include "spool/control_protocol.hpp"
#include "spool/queue_types.hpp"

namespace mailqd {

// One row per message (ID, age, size, state, sender), each recipient below
// it with its state, attempts and last reply; a summary line at the end.
std::string render_list(const Json& messages, TimePoint now);

// Envelope, per-recipient state and the attempt history.
std::string render_show(const Json& message, TimePoint now);

// Queue counts, then one block per relay and per mailbox.
std::string render_stats(const Json& stats, TimePoint now);

struct FetchView {
    std::string text;                 // "NAME: N new" lines
    std::vector<std::string> errors;  // "NAME: why", one per failed mailbox
};
// Accepts {"mailboxes":[{"name":..,"new":N,"error":..}]}, a bare array of
// those, or {"NAME":N}.
FetchView render_fetch(const Json& result);

// "3m" from an RFC 3339 time to now; "-" when it does not parse.
std::string age_since(const Json& time, TimePoint now);

}  // namespace mailqd
