// The spool directory door's async half (DESIGN.md section 3.2): a scan of
// SPOOL/incoming at start-up, then inotify (IN_MOVED_TO, IN_CLOSE_WRITE).
// Each file: SpoolDir::read -> Intake::accept (commit) -> SpoolDir::remove.
// A file that cannot be accepted goes to bad/ with its reason; a temporary
// failure (full disk, busy database) leaves it in place for a later rescan.
// The spool_key recorded with the message makes a crash between commit and
// unlink harmless: the file is recognised and removed, not queued twice.
// Trusts SpoolDir to bound what it reads from untrusted local users.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "daemon/intake.hpp"
#include "daemon/net/asio.hpp"
#include "spool/spool_dir.hpp"
#include "spool/store.hpp"

namespace mailqd {

struct SpoolWatcherOptions {
    std::uint64_t max_message_size = 35ull << 20;
    std::string hostname;                  // for Message-ID
    std::chrono::seconds retry_after{30};  // after a temporary failure
    std::size_t max_parallel = 64;         // files read and committing at once
};

class SpoolWatcher {
public:
    SpoolWatcher(asio::any_io_executor executor, SpoolDir spool, Store& reader, Intake& intake,
                 SpoolWatcherOptions options);
    ~SpoolWatcher();

    // Starts watching, then queues what is already there.
    Status start();
    void stop();
    void set_options(SpoolWatcherOptions options);  // on SIGHUP

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace mailqd
