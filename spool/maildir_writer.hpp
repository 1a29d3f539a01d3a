// Writes messages into a Maildir (https://cr.yp.to/proto/maildir.html) so
// that a crash never leaves a partial message in new/: each file is written
// to tmp/ and fsynced, renamed into new/, and new/ is fsynced once per batch.
// File names are unique per the spec (time, pid, counter, host) and carry
// ",S=size,W=vsize" as Dovecot reads them. Messages are stored as given; the
// caller hands over LF line endings, which is what Maildir readers expect.
// Trusts the caller for the message bytes; trusts nothing else in the
// directory (names are created with O_EXCL and never reused).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "spool/result.hpp"

namespace mailqd {

class MaildirWriter {
public:
    // Creates the Maildir and its cur/ new/ tmp/ (mode 0700) if missing.
    static Result<MaildirWriter> open(const std::filesystem::path& maildir);

    const std::filesystem::path& path() const { return root_; }

    // All or nothing: writes every message to tmp/ and fsyncs each, renames
    // them all into new/, then fsyncs new/ once. Returns the names in new/,
    // in the order given. On failure no file of the batch is left behind in
    // tmp/ or new/, and the error says which step failed.
    Result<std::vector<std::string>> deliver(const std::vector<std::string_view>& messages);

    // The same, with a tag per message (hex digits, or empty) put into its
    // file name ("...Q<n>X<tag>.<host>"), so a caller can find, after a
    // crash, what it had already written (tagged_in_new).
    Result<std::vector<std::string>> deliver(const std::vector<std::string_view>& messages,
                                             const std::vector<std::string>& tags);

    // Tag -> file name for every tagged file in new/ (one directory scan).
    std::unordered_map<std::string, std::string> tagged_in_new() const;

    // One message; same guarantees.
    Result<std::string> deliver_one(std::string_view message);

private:
    explicit MaildirWriter(std::filesystem::path root);
    std::string unique_name(std::string_view message, std::string_view tag) const;

    std::filesystem::path root_;
    std::string host_;  // sanitised for file names
};

// The Maildir name parts, exposed for tests: "/" and ":" (and ",", which
// would confuse the ",S=" fields) escaped as \057 \072 \054.
std::string maildir_safe_host(std::string_view host);

// Size as an RFC 5322 reader counts it: LF-only lines count as CRLF.
std::uint64_t maildir_virtual_size(std::string_view message);

}  // namespace mailqd
