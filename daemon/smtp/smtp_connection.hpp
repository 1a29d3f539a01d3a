// The byte-level half of an SMTP client session: resolve and connect (every
// address in turn), optional TLS (implicit or after STARTTLS), line writes in
// one buffer, bounded reply reads, a deadline on every operation, and the
// protocol trace. Failures come back as values (WireStatus), never thrown.
// Held by shared_ptr: the deadline timer's handler keeps it alive.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/net/asio.hpp"
#include "daemon/net/protocol_trace.hpp"
#include "daemon/smtp/smtp_classify.hpp"
#include "spool/smtp_reply.hpp"
#include "daemon/net/tls_context.hpp"

namespace mailqd {

struct WireStatus {
    SmtpFailure failure = SmtpFailure::none;
    std::string detail;
    bool ok() const { return failure == SmtpFailure::none; }
};

struct WireReply {
    WireStatus status;
    SmtpReply reply;  // valid when status.ok()
};

struct ConnectionSettings {
    std::string relay_name;
    std::chrono::milliseconds timeout{60000};
    std::chrono::steady_clock::time_point session_deadline = std::chrono::steady_clock::time_point::max();
    bool trace = false;
    std::string secret;  // only to mask it in traces
};

class SmtpConnection : public std::enable_shared_from_this<SmtpConnection> {
public:
    using Clock = std::chrono::steady_clock;

    SmtpConnection(asio::any_io_executor executor, ConnectionSettings settings);

    awaitable<WireStatus> connect(std::string host, std::uint16_t port);
    // TLS handshake on the connected socket (implicit TLS, or after a 220 to
    // STARTTLS). Refuses if the server sent anything after that reply.
    awaitable<WireStatus> start_tls(std::shared_ptr<ssl::context> context, std::string host,
                                    bool verify);
    // Lines without CRLF, sent in one write (a pipelined group).
    awaitable<WireStatus> send_lines(std::vector<std::string> lines);
    // A DATA payload in wire form, final "." included, then the lines of
    // the next pipelined group if any (without CRLF): one write.
    awaitable<WireStatus> send_data(std::string wire, std::vector<std::string> then = {});
    awaitable<WireReply> read_reply();
    void close();
    // Ends the connection now; every later or pending operation fails.
    void abort();

    bool encrypted() const { return encrypted_; }
    bool loopback_peer() const;
    std::string peer() const { return peer_; }
    bool session_expired() const { return Clock::now() >= settings_.session_deadline; }

private:
    awaitable<WireStatus> write_raw(std::string bytes);
    awaitable<WireStatus> read_line(std::string* line);
    WireStatus io_failure(const error_code& ec, const char* what);
    void arm();
    void disarm();
    void on_deadline();
    void ack_promptly();
    void trace(char who, std::string_view line);
    // Each line and its CRLF, traced.
    void append_lines(std::string* bytes, const std::vector<std::string>& lines);

    ConnectionSettings settings_;
    asio::ip::tcp::resolver resolver_;
    asio::ip::tcp::socket socket_;
    std::shared_ptr<ssl::context> tls_context_;  // outlives tls_
    std::optional<ssl::stream<asio::ip::tcp::socket&>> tls_;
    asio::steady_timer timer_;
    std::string input_;  // received, not yet consumed
    std::string peer_;
    asio::ip::address peer_address_;
    bool encrypted_ = false;
    bool timed_out_ = false;
    bool aborted_ = false;
    ProtocolTraceMasker masker_;
};

}  // namespace mailqd
