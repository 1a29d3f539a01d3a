// Byte-level SMTP client connection (see smtp_connection.hpp).
#include "daemon/smtp/smtp_connection.hpp"

namespace mailqd {

SmtpConnection::SmtpConnection(asio::any_io_executor executor, TransportOptions options)
    : transport_(std::move(executor), std::move(options))
{
}

void SmtpConnection::abort()
{
    aborted_ = true;
    transport_.close();
}

void SmtpConnection::close() { transport_.close(); }

WireStatus SmtpConnection::status_of(const IoResult& result) const
{
    if (result.ok()) return {};
    if (aborted_) return {SmtpFailure::connection_lost, "aborted: mailqd is stopping"};
    switch (result.status) {
        case IoStatus::timeout: return {SmtpFailure::timeout, result.detail};
        case IoStatus::too_long: return {SmtpFailure::protocol, "reply line too long"};
        case IoStatus::tls: return {SmtpFailure::tls, result.detail};
        case IoStatus::unresolved: return {SmtpFailure::dns, result.detail};
        default: return {SmtpFailure::connection_lost, result.detail};
    }
}

awaitable<WireStatus> SmtpConnection::connect(std::string host, std::uint16_t port)
{
    IoResult result = co_await transport_.connect(std::move(host), port);
    // A refused or unreachable address (not a timeout, not DNS) is "connect".
    if (result.status == IoStatus::error && !aborted_)
        co_return WireStatus{SmtpFailure::connect, result.detail};
    co_return status_of(result);
}

awaitable<WireStatus> SmtpConnection::start_tls(std::shared_ptr<ssl::context> context, std::string host,
                                                bool verify)
{
    if (transport_.has_buffered_input())
        co_return WireStatus{SmtpFailure::protocol, "server sent data before the TLS handshake"};
    auto handshake =
        transport_.start_tls(std::move(context), std::move(host), verify);  // named: see smtp_client.cpp
    co_return status_of(co_await std::move(handshake));
}

void SmtpConnection::append_lines(std::string& bytes, const std::vector<std::string>& lines)
{
    for (const auto& line : lines) {
        transport_.trace_sent(line);
        bytes += line;
        bytes += "\r\n";
    }
}

awaitable<WireStatus> SmtpConnection::send_lines(std::vector<std::string> lines)
{
    std::string bytes;
    append_lines(bytes, lines);
    co_return status_of(co_await transport_.write(bytes));
}

awaitable<WireStatus> SmtpConnection::send_data(std::string wire, std::vector<std::string> then)
{
    transport_.trace_note("C: <message, " + std::to_string(wire.size()) + " octets, ending in CRLF.CRLF>");
    append_lines(wire, then);
    co_return status_of(co_await transport_.write(wire));
}

awaitable<WireReply> SmtpConnection::read_reply()
{
    SmtpReplyParser parser;
    std::string line;
    for (;;) {
        WireStatus status = status_of(co_await transport_.read_line(line, LineLimit{max_reply_line_length}));
        if (!status.ok()) co_return WireReply{status, {}};
        switch (parser.feed(line)) {
            case SmtpReplyParser::Status::more: continue;
            case SmtpReplyParser::Status::done: co_return WireReply{{}, parser.take()};
            case SmtpReplyParser::Status::error:
                co_return WireReply{{SmtpFailure::protocol, parser.error()}, {}};
        }
    }
}

}  // namespace mailqd
