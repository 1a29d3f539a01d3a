// See purger.hpp.
#include "daemon/purger.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>

#include "daemon/net/spawn.hpp"
#include "daemon/store_async.hpp"

namespace mailqd {
namespace {
constexpr std::chrono::milliseconds max_pace = std::chrono::hours(1);
}  // namespace

void Purger::changed()
{
    if (!armed_) arm(settle_);
}

void Purger::stop()
{
    stopped_ = true;
    timer_.cancel();
}

void Purger::arm(std::chrono::milliseconds after)
{
    if (stopped_) return;
    armed_ = true;
    timer_.expires_after(after);
    timer_.async_wait([this](error_code ec) {
        if (ec || stopped_) {
            armed_ = false;
            return;
        }
        spawn_logged(timer_.get_executor(), purge(), "purge");
    });
}

awaitable<void> Purger::purge()
{
    const TimePoint cutoff = now_seconds() - keep_done_;
    auto job = [cutoff](Store& store) { return store.purge_done(cutoff); };
    auto op = write_store(writer_, std::move(job));  // named: see store_async.hpp
    auto removed = co_await std::move(op);
    armed_ = false;
    if (!removed)
        spdlog::warn("purge of done messages: {}", removed.error().message);
    else if (*removed > 0)
        spdlog::info("removed {} done messages older than {}s", *removed, keep_done_.count());
    auto counts = reader_.counts(now_seconds());
    if (counts && counts->sent + counts->failed > 0)
        arm(std::clamp<std::chrono::milliseconds>(keep_done_, settle_, max_pace));
}

}  // namespace mailqd
