// Removes done messages (all recipients sent or failed) once they have been
// visible for keep_done. No polling: it runs a minute after the queue last
// changed, and again only while done messages remain, at a pace set by
// keep_done (at most hourly), so an idle, empty queue never wakes it.
#pragma once

#include <chrono>

#include "daemon/net/asio.hpp"
#include "spool/store.hpp"
#include "spool/store_writer.hpp"

namespace mailqd {

class Purger {
public:
    // settle: how long after a change the purge runs (tests shorten it).
    Purger(asio::any_io_executor executor, StoreWriter& writer, Store& reader, std::chrono::seconds keep_done,
           std::chrono::milliseconds settle = std::chrono::minutes(1))
        : timer_(executor), writer_(writer), reader_(reader), keep_done_(keep_done), settle_(settle)
    {
    }

    // Called on every queue change (QueueEvents) and at start-up.
    void changed();
    void set_keep_done(std::chrono::seconds keep_done) { keep_done_ = keep_done; }
    void stop();

private:
    void arm(std::chrono::milliseconds after);
    awaitable<void> purge();

    asio::steady_timer timer_;
    StoreWriter& writer_;
    Store& reader_;
    std::chrono::seconds keep_done_;
    std::chrono::milliseconds settle_;
    bool armed_ = false;
    bool stopped_ = false;
};

}  // namespace mailqd
