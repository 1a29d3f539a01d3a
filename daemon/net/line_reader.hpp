// A line-oriented stream socket for server sessions: bounded line reads
// (LF or CRLF endings) and writes, each with a deadline. The deadline is a
// timer that cancels the socket's pending operation (STYLE.md: Boost 1.74
// has no awaitable operators), so a stalled peer costs at most `timeout`.
// Trusts nothing the peer sends: a line longer than its limit is never
// buffered whole. Used from one coroutine at a time (its session).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/net/asio.hpp"
#include "daemon/net/transport.hpp"

namespace mailqd {

// IoStatus, LineLimit and StreamSocket are the transport's (transport.hpp).
class LineStream {
public:
    explicit LineStream(StreamSocket socket);
    ~LineStream();
    LineStream(const LineStream&) = delete;
    LineStream& operator=(const LineStream&) = delete;

    // The next line without its ending (one CR before the LF is removed).
    awaitable<IoStatus> read_line(std::string& line, LineLimit limit, Duration timeout);
    awaitable<IoStatus> write(std::string_view data, Duration timeout);

    // A complete line is already buffered: the peer pipelined commands, so
    // replies can wait to be flushed together.
    bool has_buffered_line() const;

    // Ends every pending and future operation with IoStatus::error.
    void close();
    bool is_open() const;

private:
    struct Shared;
    awaitable<IoStatus> fill(Duration timeout);
    std::shared_ptr<Shared> shared_;
    std::string buffer_;
    std::size_t begin_ = 0;    // first unread byte of buffer_ (compacted before each read)
    std::size_t scanned_ = 0;  // buffer_[begin_, scanned_) is known to hold no LF
    bool discarding_ = false;  // inside an overlong line being dropped
};

}  // namespace mailqd
