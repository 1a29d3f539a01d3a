// Byte-level SMTP client connection (see smtp_connection.hpp).
#include "daemon/smtp/smtp_connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

namespace mailqd {
namespace {

using asio::ip::tcp;

std::string endpoint_text(const tcp::endpoint& endpoint)
{
    const auto& address = endpoint.address();
    std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
}

std::string seconds_text(std::chrono::milliseconds d)
{
    auto ms = d.count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace

SmtpConnection::SmtpConnection(asio::any_io_executor executor, ConnectionSettings settings)
    : settings_(std::move(settings)), resolver_(executor), socket_(executor), timer_(executor),
      masker_(settings_.secret)
{
}

// The deadline of the next operation: the per-operation timeout, capped by
// the session's limit. The handler closes the socket, which ends whatever
// operation is pending with an error; timed_out_ says why.
void SmtpConnection::arm()
{
    auto deadline = settings_.session_deadline;
    auto now = Clock::now();
    if (deadline - now > settings_.timeout) deadline = now + settings_.timeout;
    timed_out_ = false;
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
        // A handler already queued when the timer was re-armed sees a later expiry.
        if (ec || self->timer_.expiry() > Clock::now()) return;
        self->on_deadline();
    });
}

void SmtpConnection::disarm()
{
    timer_.expires_at(Clock::time_point::max());
}

void SmtpConnection::on_deadline()
{
    timed_out_ = true;
    resolver_.cancel();
    error_code ignored;
    socket_.close(ignored);
}

// A server that writes each reply of a pipelined group separately without
// TCP_NODELAY (aiosmtpd does) holds the second reply until our ACK of the
// first, and Linux delays that ACK by up to 40 ms: 20 messages/s at most.
// Asking for a quick ACK before each read removes the stall. Linux only;
// quick-ack mode is not sticky, hence every time.
void SmtpConnection::ack_promptly()
{
#ifdef TCP_QUICKACK
    int one = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#endif
}

void SmtpConnection::abort()
{
    aborted_ = true;
    resolver_.cancel();
    close();
}

void SmtpConnection::close()
{
    disarm();
    error_code ignored;
    socket_.close(ignored);
}

bool SmtpConnection::loopback_peer() const
{
    return !peer_address_.is_unspecified() && peer_address_.is_loopback();
}

WireStatus SmtpConnection::io_failure(const error_code& ec, const char* what)
{
    if (aborted_) return {SmtpFailure::connection_lost, "aborted: mailqd is stopping"};
    if (timed_out_) {
        std::string detail = session_expired() ? "session time limit reached"
                                               : "no progress for " + seconds_text(settings_.timeout);
        return {SmtpFailure::timeout, detail};
    }
    if (ec == asio::error::not_found) return {SmtpFailure::protocol, "reply line too long"};
    return {SmtpFailure::connection_lost, std::string(what) + ": " + ec.message()};
}

void SmtpConnection::trace(char who, std::string_view line)
{
    if (!settings_.trace) return;
    std::string shown = who == 'C' ? masker_.client(line) : masker_.server(line);
    spdlog::debug("relay={} smtp {}: {}", settings_.relay_name, who, shown);
}

awaitable<WireStatus> SmtpConnection::connect(std::string host, std::uint16_t port)
{
    peer_ = host + ":" + std::to_string(port);
    error_code ec = asio::error::operation_aborted;
    if (aborted_) co_return io_failure(ec, "connect");
    arm();
    auto endpoints = co_await resolver_.async_resolve(host, std::to_string(port),
                                                      asio::redirect_error(use_awaitable, ec));
    disarm();
    if (ec) {
        if (timed_out_) co_return WireStatus{SmtpFailure::timeout, "DNS lookup of " + host + " timed out"};
        co_return WireStatus{SmtpFailure::dns, "DNS lookup of " + host + " failed: " + ec.message()};
    }
    std::string errors;
    for (const auto& entry : endpoints) {
        if (session_expired()) break;
        if (aborted_) co_return io_failure(ec, "connect");
        arm();
        co_await socket_.async_connect(entry.endpoint(), asio::redirect_error(use_awaitable, ec));
        disarm();
        if (!ec) {
            socket_.set_option(tcp::no_delay(true), ec);  // no 40 ms delayed-ACK stalls
            peer_address_ = entry.endpoint().address();
            peer_ = host + "[" + peer_address_.to_string() + "]:" + std::to_string(port);
            if (settings_.trace) spdlog::debug("relay={} smtp connected to {}", settings_.relay_name, peer_);
            co_return WireStatus{};
        }
        if (!errors.empty()) errors += "; ";
        errors += endpoint_text(entry.endpoint()) + ": " + (timed_out_ ? "timeout" : ec.message());
        error_code ignored;
        socket_.close(ignored);
    }
    if (errors.empty()) errors = "no address";
    co_return WireStatus{SmtpFailure::connect, "connect to " + host + " failed: " + errors};
}

awaitable<WireStatus> SmtpConnection::start_tls(std::shared_ptr<ssl::context> context,
                                                std::string host, bool verify)
{
    // Anything already buffered was sent before TLS and must not be read as
    // if it came over TLS (the STARTTLS command-injection attack).
    if (!input_.empty())
        co_return WireStatus{SmtpFailure::protocol, "server sent data before the TLS handshake"};
    tls_context_ = std::move(context);
    tls_.emplace(socket_, *tls_context_);
    if (auto st = prepare_tls_client(tls_->native_handle(), host, verify); !st)
        co_return WireStatus{SmtpFailure::tls, st.error().message};
    error_code ec;
    arm();
    co_await tls_->async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
    disarm();
    if (ec) {
        if (timed_out_) co_return io_failure(ec, "TLS handshake");
        co_return WireStatus{SmtpFailure::tls, describe_tls_failure(tls_->native_handle(), ec)};
    }
    encrypted_ = true;
    if (settings_.trace)
        spdlog::debug("relay={} smtp TLS established: {} {}", settings_.relay_name,
                      SSL_get_version(tls_->native_handle()),
                      SSL_get_cipher_name(tls_->native_handle()));
    co_return WireStatus{};
}

// In chunks, each with its own deadline, so the timeout means "no progress"
// and a large message on a slow link is not cut off. The final "." is in the
// last chunk with the end of the data, never a write of its own.
awaitable<WireStatus> SmtpConnection::write_raw(std::string bytes)
{
    constexpr std::size_t chunk = 256 * 1024;
    for (std::size_t offset = 0, length = 0; offset < bytes.size(); offset += length) {
        // The last chunk takes a short tail with it: no tiny final write.
        std::size_t rest = bytes.size() - offset;
        length = rest < chunk + chunk / 2 ? rest : chunk;
        auto buffer = asio::buffer(bytes.data() + offset, length);
        error_code ec;
        arm();
        if (encrypted_)
            co_await asio::async_write(*tls_, buffer, asio::redirect_error(use_awaitable, ec));
        else
            co_await asio::async_write(socket_, buffer, asio::redirect_error(use_awaitable, ec));
        disarm();
        if (ec) co_return io_failure(ec, "write");
    }
    co_return WireStatus{};
}

void SmtpConnection::append_lines(std::string* bytes, const std::vector<std::string>& lines)
{
    for (const auto& line : lines) {
        trace('C', line);
        *bytes += line;
        *bytes += "\r\n";
    }
}

awaitable<WireStatus> SmtpConnection::send_lines(std::vector<std::string> lines)
{
    std::string bytes;
    append_lines(&bytes, lines);
    co_return co_await write_raw(std::move(bytes));
}

awaitable<WireStatus> SmtpConnection::send_data(std::string wire, std::vector<std::string> then)
{
    if (settings_.trace)
        spdlog::debug("relay={} smtp C: <message, {} octets, ending in CRLF.CRLF>",
                      settings_.relay_name, wire.size());
    append_lines(&wire, then);
    co_return co_await write_raw(std::move(wire));
}

// One line from input_, reading more when no full line is buffered. The
// buffer's cap bounds the line: a line longer than that is a protocol error.
awaitable<WireStatus> SmtpConnection::read_line(std::string* line)
{
    std::size_t end = input_.find('\n');
    if (end == std::string::npos) {
        error_code ec;
        auto buffer = asio::dynamic_buffer(input_, max_reply_line_length + 2);
        ack_promptly();
        arm();
        if (encrypted_)
            end = co_await asio::async_read_until(*tls_, buffer, '\n', asio::redirect_error(use_awaitable, ec));
        else
            end = co_await asio::async_read_until(socket_, buffer, '\n', asio::redirect_error(use_awaitable, ec));
        disarm();
        if (ec) co_return io_failure(ec, "read");
        --end;  // async_read_until counts the delimiter
    }
    std::size_t length = end;
    if (length > 0 && input_[length - 1] == '\r') --length;
    line->assign(input_, 0, length);
    input_.erase(0, end + 1);
    co_return WireStatus{};
}

awaitable<WireReply> SmtpConnection::read_reply()
{
    SmtpReplyParser parser;
    std::string line;
    for (;;) {
        WireStatus status = co_await read_line(&line);
        if (!status.ok()) co_return WireReply{status, {}};
        trace('S', line);
        switch (parser.feed(line)) {
        case SmtpReplyParser::Status::more: continue;
        case SmtpReplyParser::Status::done: co_return WireReply{{}, parser.take()};
        case SmtpReplyParser::Status::error:
            co_return WireReply{{SmtpFailure::protocol, parser.error()}, {}};
        }
    }
}

}  // namespace mailqd
