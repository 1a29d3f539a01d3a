// The client side of one POP3 connection: TCP connect, TLS (implicit or
// after STLS) with certificate and host name verification, bounded line and
// multi-line reads, writes, and a protocol trace with secrets masked. Every
// read, write, connect and handshake has a deadline: a timer that closes the
// socket, so a stalled server costs at most `timeout` per step.
// Trusts nothing the server sends: a status line is at most 4096 bytes, a
// multi-line answer at most the caller's bound. Traces go through the
// shared ProtocolTraceMasker (PASS, APOP, AUTH and the secret are masked).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/net/asio.hpp"
#include "daemon/pop3/pop3_reply.hpp"
#include "daemon/net/protocol_trace.hpp"
#include "daemon/net/tls_context.hpp"
#include "spool/result.hpp"

namespace mailqd {

class Pop3Connection {
public:
    // log_name prefixes trace lines ("mailbox=NAME"); secret is masked in
    // the trace wherever it appears.
    Pop3Connection(asio::any_io_executor executor, std::chrono::seconds timeout, bool trace,
                   std::string log_name, std::string secret);
    ~Pop3Connection();
    Pop3Connection(const Pop3Connection&) = delete;
    Pop3Connection& operator=(const Pop3Connection&) = delete;

    awaitable<Status> connect(std::string host, std::uint16_t port);
    // Client handshake on the connected socket (tls_context.hpp: SNI for
    // names; verify: the context's chain check plus host name or IP).
    awaitable<Status> start_tls(asio::ssl::context& context, std::string host, bool verify);

    // The next status line (+OK / -ERR); anything else is a protocol error.
    awaitable<Result<Pop3Status>> read_status();
    // The body of a multi-line answer after its +OK, decoded (LF endings,
    // dots unstuffed) into out. More than max_bytes is a protocol error.
    awaitable<Status> read_multiline(std::string& out, std::uint64_t max_bytes);
    // One or more CRLF-terminated commands, written at once.
    awaitable<Status> write(std::string commands);

    bool tls_active() const;
    bool peer_is_loopback() const;
    // Bytes received but not yet read (after STLS this must be none).
    bool has_buffered_input() const { return start_ < buffer_.size(); }
    // false once an I/O error or timeout has made the conversation unusable.
    bool usable() const { return usable_; }
    void close();

private:
    struct Shared;
    void arm_deadline();
    void disarm_deadline();
    Error io_failure(const std::string& what, const error_code& ec);
    awaitable<Status> read_more();
    void trace(char direction, std::string_view text);

    std::shared_ptr<Shared> shared_;
    std::chrono::seconds timeout_;
    bool trace_;
    std::string log_name_;
    ProtocolTraceMasker masker_;
    std::string buffer_;
    std::size_t start_ = 0;  // first unread byte of buffer_
    bool usable_ = true;
};

}  // namespace mailqd
