// The spool directory door (DESIGN.md section 3.2): SPOOL/tmp, incoming, bad.
// Synchronous and Asio-free: the daemon's watcher calls read() for each name
// inotify reports (IN_MOVED_TO, IN_CLOSE_WRITE) and for scan() at start-up,
// hands the NewMessage to the daemon's Intake (the one way into the store),
// then remove(); on bad_message it calls quarantine() with the error text.
// Reads files written by untrusted local users: sizes are bounded, the owner
// is taken from the file, names are never used as paths outside the spool.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spool/queue_types.hpp"
#include "spool/result.hpp"

namespace mailqd {

class SpoolDir {
public:
    // Creates tmp/ incoming/ bad/ if missing.
    static Result<SpoolDir> open(const std::filesystem::path& root);

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path incoming() const { return root_ / "incoming"; }

    // Names in incoming/ to process, oldest mtime first; names starting
    // with '.' and directories are skipped. Symbolic links and other
    // non-regular entries are listed so that read() refuses them and they
    // get quarantined rather than lingering unseen.
    std::vector<std::string> scan() const;

    // Reads incoming/NAME into a NewMessage (envelope from headers,
    // remove_bcc set, submitter = file owner, spool_key =
    // "NAME:dev:ino:size:mtime_ns", door "spool"). Addresses without a
    // domain get @hostname; with no From:/Sender: the sender is
    // owner@hostname. On an error of kind bad_message (unparsable header, no
    // recipients, over max_size, a link, not a regular file, unreadable) the
    // caller quarantines the file; a vanished file is not_found; other
    // errors (io) are worth a retry later.
    Result<NewMessage> read(const std::string& name, std::uint64_t max_size,
                            const std::string& hostname) const;

    // After the commit. A file already gone is not an error.
    Status remove(const std::string& name) const;
    // Moves incoming/NAME to bad/NAME (bad/NAME.1, .2... if taken) and writes
    // the reason as one line to bad/NAME.reason, then syncs both directories.
    Status quarantine(const std::string& name, const std::string& reason) const;

private:
    explicit SpoolDir(std::filesystem::path root) : root_(std::move(root)) {}
    std::filesystem::path root_;
};

}  // namespace mailqd
