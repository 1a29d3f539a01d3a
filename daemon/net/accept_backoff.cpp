// See accept_backoff.hpp.
#include "daemon/net/accept_backoff.hpp"

#include <spdlog/spdlog.h>

namespace mailqd {

awaitable<void> back_off_after_accept_error(const error_code& error, std::string_view door)
{
    spdlog::warn("{}: accept: {}", door, error.message());
    asio::steady_timer pause(co_await asio::this_coro::executor);
    pause.expires_after(accept_backoff);
    error_code ignored;
    co_await pause.async_wait(asio::redirect_error(use_awaitable, ignored));
}

}  // namespace mailqd
