// Writes messages into a Maildir (https://cr.yp.to/proto/maildir.html) so
// that a crash never leaves a partial message in new/: each file is written
// to tmp/ and fsynced, renamed into new/, and new/ is fsynced once per batch.
// File names are unique per the spec (time, pid, counter, host) and carry
// ",S=size,W=vsize" as Dovecot reads them. Messages are stored as given; the
// caller hands over LF line endings, which is what Maildir readers expect.
//
// SECURITY: the Maildir may belong to a local user (a home Maildir), who can
// then replace anything inside it at any time. So the writer opens the Maildir
// and its cur/ new/ tmp/ once, with O_NOFOLLOW, keeps tmp/ and new/ open, and
// from then on works only relative to those descriptors (openat, renameat,
// fsync of the directory, unlinkat): a name swapped for a link after open()
// changes nothing. open() refuses (ErrorKind::config, "maildir X: new is a
// symbolic link, refusing"):
//   - a Maildir directory (the last component of the configured path) or a
//     cur/ new/ tmp/ that is a symbolic link or not a directory; links higher
//     up in the configured path are the admin's choice and are followed;
//   - a cur/ new/ tmp/ that belongs to another uid than the Maildir
//     directory: a Maildir belongs to one user, as it does when Postfix
//     local(8) or Dovecot deliver into it as that user (the mailbox's owner
//     for a home Maildir, mailqd for its own under /var/mail);
//   - a missing cur/ new/ tmp/ in a Maildir directory of another uid than
//     mailqd's euid: mailqd creates missing parts (mode 0700) only in a
//     Maildir of its own, since in anyone else's they would belong to mailqd
//     (the rule above); that Maildir's owner creates them (maildirmake, or
//     any Dovecot login).
// Who may own the Maildir directory itself is left to the file system (mailqd
// writes only where it has been given write access). Trusts the caller for
// the message bytes; trusts nothing else in the directory (names are created
// with O_EXCL|O_NOFOLLOW and never reused).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "spool/result.hpp"
#include "spool/unique_fd.hpp"

namespace mailqd {

// Move-only: it owns the descriptors of tmp/ and new/.
class MaildirWriter {
public:
    // Creates the missing directories of the path, then the Maildir and its
    // cur/ new/ tmp/ (mode 0700) if missing, under the rules above.
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

    // Tag -> file name for every tagged file in new/ (one scan of the new/
    // opened by open()).
    std::unordered_map<std::string, std::string> tagged_in_new() const;

    // One message; same guarantees.
    Result<std::string> deliver_one(std::string_view message);

private:
    MaildirWriter(std::filesystem::path root, UniqueFd tmp, UniqueFd fresh);
    std::string unique_name(std::string_view message, std::string_view tag) const;

    std::filesystem::path root_;  // for messages only: nothing is opened by path after open()
    UniqueFd tmp_, new_;          // the tmp/ and new/ that open() checked
    std::string host_;            // sanitised for file names
};

// The Maildir name parts, exposed for tests: "/" and ":" (and ",", which
// would confuse the ",S=" fields) escaped as \057 \072 \054.
std::string maildir_safe_host(std::string_view host);

// Size as an RFC 5322 reader counts it: LF-only lines count as CRLF.
std::uint64_t maildir_virtual_size(std::string_view message);

}  // namespace mailqd
