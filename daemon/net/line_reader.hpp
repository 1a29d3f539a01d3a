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

namespace mailqd {

// Unix and TCP sessions share one code path through the generic socket.
using StreamSocket = asio::generic::stream_protocol::socket;
using Duration = std::chrono::steady_clock::duration;

enum class IoStatus {
    ok,
    eof,       // the peer closed (a partial last line is dropped)
    timeout,   // the deadline passed; the socket is still open
    too_long,  // the line exceeded its limit
    error,     // a socket error or the stream was closed
};

std::string_view to_string(IoStatus status);

struct LineLimit {
    std::size_t max_length = 4096;  // bytes, without the line ending
    // false: too_long as soon as the limit is passed (commands: the session
    // then hangs up). true: the rest of the line is read and dropped, so the
    // next read starts on the next line (DATA past the size limit).
    bool discard_overlong = false;
    // true: the deadline restarts whenever bytes arrive (a large DATA line
    // on a slow link); false: the whole line must arrive within the timeout.
    bool extend_on_progress = false;
};

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
