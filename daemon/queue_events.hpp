// Hooks between the daemon core and the parts that react to the queue (the
// delivery scheduler, the POP3 fetcher, the purger). The core calls
// changed() whenever work may have become due (a message accepted, a retry
// or release) and config_changed() after a valid SIGHUP reload; listeners
// register here, so the intake and control code know none of them.
// Everything runs on the io_context thread: no locking.
#pragma once

#include <functional>
#include <vector>

#include "spool/config.hpp"

namespace mailqd {

class QueueEvents {
public:
    using ChangedFn = std::function<void()>;
    using ConfigFn = std::function<void(const Config&)>;

    // The scheduler registers "wake up and look at due()" here.
    void on_changed(ChangedFn fn) { changed_.push_back(std::move(fn)); }
    // And "look at due() from the start" here: an admin made old work due
    // again (retry, release), which a reading that goes on from where the
    // last one stopped would pass by.
    void on_rescan(ChangedFn fn) { rescan_.push_back(std::move(fn)); }
    // Relays, mailboxes and anything else that follows a reloaded config.
    void on_config(ConfigFn fn) { config_.push_back(std::move(fn)); }

    void changed() const
    {
        for (const auto& fn : changed_) fn();
    }
    void rescan() const
    {
        for (const auto& fn : rescan_) fn();
    }
    void config_changed(const Config& config) const
    {
        for (const auto& fn : config_) fn(config);
    }

private:
    std::vector<ChangedFn> changed_;
    std::vector<ChangedFn> rescan_;
    std::vector<ConfigFn> config_;
};

}  // namespace mailqd
