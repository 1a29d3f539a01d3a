// Small text helpers for what mailqctl prints: terminal-safe strings, ages
// and sizes in a form an admin reads at a glance ("3m", "2.3K").
// Trusts nothing: printable() (spool/text_sanitize.hpp, the one sanitizer)
// is applied to every string that came from a remote server or a
// submitting user before it reaches a terminal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "spool/text_sanitize.hpp"

namespace mailqd {

// "45s", "3m", "2h", "3d"; negative ages (clock skew) print as "0s".
std::string format_age(std::int64_t seconds);

// "512", "2.3K", "12M", "1.0G" (powers of 1024, as the config's sizes).
std::string format_size(std::uint64_t bytes);

// The sender as the queue shows it: "<>" for the null sender.
std::string format_sender(std::string_view sender);

// Pads (or keeps) text to width columns, counting UTF-8 code points.
std::string pad_right(std::string_view text, std::size_t width);

}  // namespace mailqd
