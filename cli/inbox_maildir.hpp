// The Maildir side of `mailqctl inbox`: listing new/ and cur/, finding a
// message by its handle (file name, or the unique part before ':'), reading
// it, and writing attachments under safe names.
// Trusts nothing it reads: handles come from the command line (no '/', no
// dot names: only files directly in new/ or cur/ are ever opened), file
// names come from mail anyone can send (reduced to one safe path component,
// never followed through a symlink, never overwritten without force).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "spool/queue_types.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct MaildirEntry {
    std::string handle;  // the file name
    std::string folder;  // "new" or "cur"
    std::filesystem::path path;
    std::uint64_t size = 0;
    TimePoint received_at;  // the file's modification time
};

// new/ (and cur/ unless new_only), newest first (ties: by name, descending).
Result<std::vector<MaildirEntry>> list_maildir(const std::filesystem::path& maildir, bool new_only);

// not_found (67) when no file matches; usage (64) for a handle that is not
// a plain file name.
Result<MaildirEntry> find_in_maildir(const std::filesystem::path& maildir, std::string_view handle);

// The whole file; error over max_bytes.
Result<std::string> read_maildir_file(const MaildirEntry& entry, std::uint64_t max_bytes);

// One path component from an attachment's name: directories, control
// characters and leading dots removed, at most 200 bytes; "attachment-N"
// when nothing is left.
std::string safe_file_name(std::string_view name, std::size_t index);

// Writes data to dir/name: O_EXCL and O_NOFOLLOW; with force an existing
// file (not a directory) is replaced.
Status write_new_file(const std::filesystem::path& path, std::string_view data, bool force);

}  // namespace mailqd
