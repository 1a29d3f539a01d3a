// A blocking Unix stream socket with bounded line reads and deadlines, for
// the two clients of mailqctl (control and submit). POSIX only, no Asio: the
// CLI does one conversation at a time.
// Trusts nothing the peer sends: lines are bounded, reads time out.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "spool/result.hpp"

namespace mailqd {

class UnixSocket {
public:
    UnixSocket() = default;
    UnixSocket(UnixSocket&& other) noexcept;
    UnixSocket& operator=(UnixSocket&& other) noexcept;
    UnixSocket(const UnixSocket&) = delete;
    UnixSocket& operator=(const UnixSocket&) = delete;
    ~UnixSocket();

    // Errors: "cannot reach mailqd at PATH: <strerror>"; kind permission for
    // EACCES/EPERM, unavailable otherwise.
    static Result<UnixSocket> connect(const std::filesystem::path& path);

    // Writes all of data (no SIGPIPE; a closed peer is an error).
    Status write_all(std::string_view data);

    // Reads one line ending in LF, returned without CR/LF. A line longer than
    // max_length, EOF before a line, or no data within timeout is an error.
    Result<std::string> read_line(std::size_t max_length, std::chrono::seconds timeout);

    // For a caller that polls the socket itself (sendmail -bs); only valid
    // before any read_line, which may have read ahead.
    int native_handle() const { return fd_; }

private:
    explicit UnixSocket(int fd) : fd_(fd) {}
    Status wait_readable(std::chrono::seconds timeout);

    int fd_ = -1;
    std::string buffer_;  // read ahead of the current line
};

}  // namespace mailqd
