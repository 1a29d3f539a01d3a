// The one transport under the protocol sessions (DESIGN.md section 6): a
// stream socket (TCP or Unix), TLS on it when asked (client side, verified
// by tls_context.hpp), bounded line reads, writes, a deadline on every
// operation, and the protocol trace with secrets masked. The SMTP client,
// the POP3 client and the submit server speak their protocols over it and
// map its one status type into their own outcomes.
//
// Every operation ends by its deadline: the per-operation timeout ("no
// progress for"), capped by the session's deadline. The deadline cancels
// the pending operation; the socket stays open, so a server session can
// still say 421 before it hangs up. Failures come back as values.
// Trusts nothing the peer sends: a line longer than its limit is never
// buffered whole, and bytes buffered before a TLS handshake are refused.
// Used from one coroutine at a time (its session).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/net/asio.hpp"
#include "daemon/net/protocol_trace.hpp"
#include "daemon/net/tls_context.hpp"

namespace mailqd {

// Unix and TCP sessions share one code path through the generic socket.
using StreamSocket = asio::generic::stream_protocol::socket;
using Duration = std::chrono::steady_clock::duration;

enum class IoStatus {
    ok,
    eof,         // the peer closed (a partial last line is dropped)
    timeout,     // the deadline passed; the socket is still open
    too_long,    // the line exceeded its limit
    tls,         // the TLS handshake failed (detail says why)
    unresolved,  // connect: the host name did not resolve
    error,       // a socket error, a refused connect, or the transport was closed
};

std::string_view to_string(IoStatus status);

struct IoResult {
    IoStatus status = IoStatus::ok;
    std::string detail;  // for logs: "read: Connection reset by peer"; empty when ok

    bool ok() const { return status == IoStatus::ok; }
};

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

struct TransportOptions {
    Duration timeout = std::chrono::seconds(60);  // each operation
    // Caps every operation's deadline: the whole conversation's limit.
    std::chrono::steady_clock::time_point session_deadline = std::chrono::steady_clock::time_point::max();
    bool trace = false;        // log every line at debug
    std::string trace_prefix;  // "relay=NAME smtp", "pop3 mailbox=NAME"
    std::string secret;        // masked wherever it appears in the trace
};

class Transport {
public:
    using Clock = std::chrono::steady_clock;

    // A client transport, not yet connected.
    Transport(asio::any_io_executor executor, TransportOptions options);
    // A server transport on an accepted socket.
    Transport(StreamSocket socket, TransportOptions options);
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // Resolves host and tries every address in turn (TCP_NODELAY on).
    awaitable<IoResult> connect(std::string host, std::uint16_t port);
    // Client TLS handshake on the connected socket (implicit TLS, or after
    // the server agreed to STARTTLS/STLS). Refuses if the peer sent anything
    // still unread (the STARTTLS command-injection attack).
    awaitable<IoResult> start_tls(std::shared_ptr<ssl::context> context, std::string host, bool verify);

    // The next line without its ending (one CR before the LF is removed),
    // traced as the peer's. timeout: this read's own (default: the options').
    awaitable<IoResult> read_line(std::string& line, LineLimit limit);
    awaitable<IoResult> read_line(std::string& line, LineLimit limit, Duration timeout);
    // Raw access for framings that are not lines (POP3's multi-line answers):
    // what is buffered, consume() what was used, fill() to read more.
    std::string_view buffered() const;
    void consume(std::size_t n);
    awaitable<IoResult> fill();
    awaitable<IoResult> fill(Duration timeout);
    // The line read_line returned last ended in CRLF, not a bare LF.
    bool last_line_ended_crlf() const { return last_line_crlf_; }

    // Writes all of data, in chunks that each get the per-operation timeout
    // (a large message on a slow link is not cut off). Not traced: use
    // trace_sent() for the lines the trace should show.
    awaitable<IoResult> write(std::string_view data);
    awaitable<IoResult> write(std::string_view data, Duration timeout);

    // Trace lines: what we sent ('C' masked), what the peer sent ('S'), notes.
    void trace_sent(std::string_view line);
    void trace_received(std::string_view line);
    void trace_note(std::string_view text);
    bool tracing() const { return options_.trace; }

    // A complete line is already buffered: the peer pipelined commands.
    bool has_buffered_line() const;
    bool has_buffered_input() const { return begin_ < buffer_.size(); }
    bool encrypted() const;
    bool loopback_peer() const;
    // "host[address]:port" once connected, "host:port" while connecting.
    const std::string& peer() const { return peer_; }
    bool session_expired() const { return Clock::now() >= options_.session_deadline; }
    const TransportOptions& options() const { return options_; }

    // Ends every pending and future operation with IoStatus::error.
    void close();
    bool is_open() const;

private:
    struct Shared;
    Duration budget(Duration timeout) const;
    IoResult failure(const char* what, const error_code& ec) const;

    std::shared_ptr<Shared> shared_;
    TransportOptions options_;
    ProtocolTraceMasker masker_;
    std::string peer_;
    std::string buffer_;
    std::size_t begin_ = 0;  // first unread byte of buffer_ (compacted before each read)
    bool last_line_crlf_ = false;
    std::size_t scanned_ = 0;  // buffer_[begin_, scanned_) is known to hold no LF
    bool discarding_ = false;  // inside an overlong line being dropped
};

}  // namespace mailqd
