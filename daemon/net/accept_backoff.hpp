// What an accept loop does when accept fails for a reason other than being
// stopped (EMFILE, ENFILE, ENOBUFS: the listening socket stays readable, so
// trying again at once would spin at 100 % CPU): log it and pause a moment.
// Shared by every door's accept loop.
#pragma once

#include <string_view>

#include "daemon/net/asio.hpp"

namespace mailqd {

inline constexpr std::chrono::milliseconds accept_backoff{200};

// Logs "<door>: accept: <error>" at warn and waits accept_backoff.
awaitable<void> back_off_after_accept_error(const error_code& error, std::string_view door);

}  // namespace mailqd
