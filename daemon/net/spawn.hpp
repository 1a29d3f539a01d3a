// Starting a coroutine whose failure must not take the daemon down:
// anything that escapes it is logged with what it was, and ends only that
// coroutine (STYLE.md: caught where it was spawned).
#pragma once

#include <exception>
#include <string>

#include <spdlog/spdlog.h>

#include "daemon/net/asio.hpp"

namespace mailqd {

template <class Executor>
void spawn_logged(Executor executor, awaitable<void> work, std::string what)
{
    asio::co_spawn(executor, std::move(work), [what = std::move(what)](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            spdlog::error("{}: {}", what, ex.what());
        } catch (...) {
            spdlog::error("{}: unknown exception", what);
        }
    });
}

}  // namespace mailqd
