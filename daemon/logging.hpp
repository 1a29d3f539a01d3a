// Logging set-up: spdlog to stderr. Under systemd (JOURNAL_STREAM set)
// journald adds timestamps, so lines carry only a <N> syslog priority
// prefix that journald turns into the entry's priority.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "spool/result.hpp"

namespace mailqd {

void setup_logging();
// "trace debug info warn error"; an unknown word is an error (the config
// loader has checked it already).
Status set_log_level(const std::string& level);

// The fields of log lines, in one shape wherever they are written. Text
// from outside goes through the one sanitizer (spool/text_sanitize.hpp).

// "<a@b>" for the log; "<>" for the null sender.
std::string log_address(std::string_view address);
// Server or local text made safe for a quoted key=value field: reply="...".
std::string log_quoted(std::string_view text);
// "default[127.0.0.1]:2525" from the relay name and the session's peer
// ("host[address]:port", or "host:port" before a connection was made).
std::string log_relay(const std::string& relay, const std::string& peer);
// "5d", "90m", "3s": the largest unit that divides the duration.
std::string format_duration(std::chrono::seconds duration);

}  // namespace mailqd
