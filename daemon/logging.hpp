// Logging set-up: spdlog to stderr. Under systemd (JOURNAL_STREAM set)
// journald adds timestamps, so lines carry only a <N> syslog priority
// prefix that journald turns into the entry's priority.
#pragma once

#include <string>

#include "spool/result.hpp"

namespace mailqd {

void setup_logging();
// "trace debug info warn error"; an unknown word is an error (the config
// loader has checked it already).
Status set_log_level(const std::string& level);

}  // namespace mailqd
