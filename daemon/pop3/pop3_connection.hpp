// The client side of one POP3 connection, over the shared transport
// (daemon/net/transport.hpp: TCP connect, TLS with certificate and host name
// verification, a deadline on every step, the trace with PASS, APOP, AUTH and
// the secret masked): status lines and multi-line answers read and decoded,
// commands written, failures as temporary errors.
// Trusts nothing the server sends: a status line is at most 4096 bytes, a
// multi-line answer at most the caller's bound.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/net/asio.hpp"
#include "daemon/net/tls_context.hpp"
#include "daemon/net/transport.hpp"
#include "daemon/pop3/pop3_reply.hpp"
#include "spool/result.hpp"

namespace mailqd {

class Pop3Connection {
public:
    // log_name prefixes trace lines ("mailbox=NAME"); secret is masked in
    // the trace wherever it appears. timeout: each operation; pull_limit:
    // the whole connection, however busy.
    Pop3Connection(asio::any_io_executor executor, std::chrono::seconds timeout,
                   std::chrono::seconds pull_limit, bool trace, std::string log_name, std::string secret);
    ~Pop3Connection();
    Pop3Connection(const Pop3Connection&) = delete;
    Pop3Connection& operator=(const Pop3Connection&) = delete;

    awaitable<Status> connect(std::string host, std::uint16_t port);
    // Client handshake on the connected socket (tls_context.hpp: SNI for
    // names; verify: the context's chain check plus host name or IP).
    awaitable<Status> start_tls(std::shared_ptr<asio::ssl::context> context, std::string host, bool verify);

    // The next status line (+OK / -ERR); anything else is a protocol error.
    awaitable<Result<Pop3Status>> read_status();
    // The body of a multi-line answer after its +OK, decoded (LF endings,
    // dots unstuffed) into out. More than max_bytes is a protocol error.
    awaitable<Status> read_multiline(std::string& out, std::uint64_t max_bytes);
    // One or more CRLF-terminated commands, written at once.
    awaitable<Status> write(std::string commands);

    bool tls_active() const { return transport_.encrypted(); }
    bool peer_is_loopback() const { return transport_.loopback_peer(); }
    // Bytes received but not yet read (after STLS this must be none).
    bool has_buffered_input() const { return transport_.has_buffered_input(); }
    // false once an I/O error or timeout has made the conversation unusable.
    bool usable() const { return usable_; }
    void close();

private:
    // A failed step as the error the pull reports; the connection is unusable.
    Error failure(const std::string& what, const IoResult& result);
    awaitable<Status> read_more();

    std::chrono::seconds timeout_;
    std::chrono::seconds pull_limit_;
    Transport transport_;
    bool usable_ = true;
};

}  // namespace mailqd
