// The byte-level half of an SMTP client session, over the shared transport
// (daemon/net/transport.hpp: connect, TLS, deadlines, bounded lines, the
// trace): replies read and parsed, pipelined lines written in one buffer,
// and the transport's status told as SMTP failures (WireStatus), never
// thrown. Held by shared_ptr: SmtpSessionControl watches it to abort it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/net/asio.hpp"
#include "daemon/net/tls_context.hpp"
#include "daemon/net/transport.hpp"
#include "daemon/smtp/smtp_classify.hpp"
#include "spool/smtp_reply.hpp"

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

class SmtpConnection {
public:
    SmtpConnection(asio::any_io_executor executor, TransportOptions options);

    awaitable<WireStatus> connect(std::string host, std::uint16_t port);
    // TLS handshake on the connected socket (implicit TLS, or after a 220 to
    // STARTTLS). Refuses if the server sent anything after that reply.
    awaitable<WireStatus> start_tls(std::shared_ptr<ssl::context> context, std::string host, bool verify);
    // Lines without CRLF, sent in one write (a pipelined group).
    awaitable<WireStatus> send_lines(std::vector<std::string> lines);
    // A DATA payload in wire form, final "." included, then the lines of
    // the next pipelined group if any (without CRLF): one write.
    awaitable<WireStatus> send_data(std::string wire, std::vector<std::string> then = {});
    awaitable<WireReply> read_reply();
    void close();
    // Ends the connection now; every later or pending operation fails.
    void abort();

    bool encrypted() const { return transport_.encrypted(); }
    bool loopback_peer() const { return transport_.loopback_peer(); }
    std::string peer() const { return transport_.peer(); }
    bool session_expired() const { return transport_.session_expired(); }

private:
    // The transport's status as this client's failure vocabulary.
    WireStatus status_of(const IoResult& result) const;
    // Each line and its CRLF, traced.
    void append_lines(std::string& bytes, const std::vector<std::string>& lines);

    Transport transport_;
    bool aborted_ = false;
};

}  // namespace mailqd
