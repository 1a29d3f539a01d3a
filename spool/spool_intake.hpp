// The spool directory door (DESIGN.md section 3.2): SPOOL/tmp, incoming, bad.
// Synchronous and Asio-free: the daemon's watcher calls take() for each name
// inotify reports, and scan() at start-up.
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

    // Names in incoming/ to process, oldest first; names starting with '.'
    // and the .reason files are skipped.
    std::vector<std::string> scan() const;

    // Reads incoming/NAME into a NewMessage (envelope from headers, Bcc
    // removed, Date/Message-ID added, submitter = file owner, spool_key =
    // the file's identity). On an error of kind bad_message the caller
    // quarantines the file; a vanished file is not_found.
    Result<NewMessage> read(const std::string& name, std::uint64_t max_size,
                            const std::string& hostname, TimePoint now) const;

    // After the commit.
    Status remove(const std::string& name) const;
    // Moves incoming/NAME to bad/NAME and writes bad/NAME.reason.
    Status quarantine(const std::string& name, const std::string& reason) const;

private:
    explicit SpoolDir(std::filesystem::path root) : root_(std::move(root)) {}
    std::filesystem::path root_;
};

}  // namespace mailqd
