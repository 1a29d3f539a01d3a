// The shared transport; see transport.hpp.
#include "daemon/net/transport.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace mailqd {
namespace {

using asio::ip::tcp;

constexpr std::size_t read_chunk = 64 * 1024;
// A buffer grown past this by one large line goes back to a small one once
// that line is consumed, so an idle session does not hold megabytes.
constexpr std::size_t kept_capacity = 4 * read_chunk;
constexpr std::size_t write_chunk = 256 * 1024;

std::string endpoint_text(const tcp::endpoint& endpoint)
{
    const auto& address = endpoint.address();
    std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
}

std::string duration_text(Duration d)
{
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

}  // namespace

std::string_view to_string(IoStatus status)
{
    switch (status) {
        case IoStatus::ok: return "ok";
        case IoStatus::eof: return "eof";
        case IoStatus::timeout: return "timeout";
        case IoStatus::too_long: return "line too long";
        case IoStatus::tls: return "TLS failure";
        case IoStatus::unresolved: return "unresolved";
        case IoStatus::error: return "error";
    }
    return "error";
}

// The socket, TLS stream and deadline timer live apart from the Transport so
// that a timer handler still queued when the transport is gone finds nothing
// to touch (it holds a weak_ptr).
struct Transport::Shared {
    explicit Shared(StreamSocket s)
        : socket(std::move(s)), resolver(socket.get_executor()), timer(socket.get_executor())
    {
    }

    StreamSocket socket;
    tcp::resolver resolver;
    std::shared_ptr<ssl::context> tls_context;  // outlives tls
    std::unique_ptr<ssl::stream<StreamSocket&>> tls;
    asio::steady_timer timer;
    asio::ip::address peer_address;  // unspecified unless connected over TCP
    unsigned generation = 0;         // tells a stale timer handler from the live one
    bool timed_out = false;
    bool closed = false;  // close() was called: no operation starts again

    static void arm(const std::shared_ptr<Shared>& self, Duration budget)
    {
        unsigned generation = ++self->generation;
        self->timed_out = false;
        self->timer.expires_after(budget);
        self->timer.async_wait([weak = std::weak_ptr<Shared>(self), generation](error_code ec) {
            auto s = weak.lock();
            if (!s || ec || s->generation != generation) return;
            // Cancel rather than close: a server session still says 421.
            s->timed_out = true;
            s->resolver.cancel();
            error_code ignored;
            s->socket.cancel(ignored);
        });
    }

    // Ends the wait; returns whether the deadline had passed.
    bool disarm()
    {
        ++generation;
        timer.cancel();
        return timed_out;
    }

    template <class Buffer>
    awaitable<std::size_t> read_some(Buffer buffer, error_code& ec)
    {
        if (tls) co_return co_await tls->async_read_some(buffer, asio::redirect_error(use_awaitable, ec));
        co_return co_await socket.async_read_some(buffer, asio::redirect_error(use_awaitable, ec));
    }

    template <class Buffer>
    awaitable<void> write_all(Buffer buffer, error_code& ec)
    {
        if (tls)
            co_await asio::async_write(*tls, buffer, asio::redirect_error(use_awaitable, ec));
        else
            co_await asio::async_write(socket, buffer, asio::redirect_error(use_awaitable, ec));
    }

    // A server that writes each reply of a pipelined group separately without
    // TCP_NODELAY (aiosmtpd does) holds the second reply until our ACK of the
    // first, and Linux delays that ACK by up to 40 ms. Asking for a quick ACK
    // before each read removes the stall; quick-ack mode is not sticky.
    void ack_promptly()
    {
#ifdef TCP_QUICKACK
        if (peer_address.is_unspecified()) return;
        int one = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#endif
    }
};

Transport::Transport(asio::any_io_executor executor, TransportOptions options)
    : Transport(StreamSocket(executor), std::move(options))
{
}

Transport::Transport(StreamSocket socket, TransportOptions options)
    : shared_(std::make_shared<Shared>(std::move(socket))),
      options_(std::move(options)),
      masker_(options_.secret)
{
}

Transport::~Transport() { close(); }

void Transport::close()
{
    shared_->closed = true;
    shared_->resolver.cancel();
    error_code ignored;
    shared_->socket.close(ignored);
    shared_->disarm();
}

bool Transport::is_open() const { return !shared_->closed && shared_->socket.is_open(); }

bool Transport::encrypted() const { return shared_->tls != nullptr; }

bool Transport::loopback_peer() const
{
    return !shared_->peer_address.is_unspecified() && shared_->peer_address.is_loopback();
}

bool Transport::has_buffered_line() const
{
    return !discarding_ && buffer_.find('\n', begin_) != std::string::npos;
}

// The time this operation may take: its timeout, capped by the session's.
Duration Transport::budget(Duration timeout) const
{
    auto left = options_.session_deadline - Clock::now();
    return std::max(Duration::zero(), std::min(timeout, left));
}

IoResult Transport::failure(const char* what, const error_code& ec) const
{
    if (shared_->timed_out) {
        std::string detail = session_expired() ? "session time limit reached"
                                               : "no progress for " + duration_text(options_.timeout);
        return {IoStatus::timeout, std::move(detail)};
    }
    if (shared_->closed) return {IoStatus::error, std::string(what) + ": connection closed"};
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated)
        return {IoStatus::eof, std::string(what) + ": connection closed by peer"};
    return {IoStatus::error, std::string(what) + ": " + ec.message()};
}

void Transport::trace_sent(std::string_view line)
{
    if (options_.trace) spdlog::debug("{} C: {}", options_.trace_prefix, masker_.client(line));
}

void Transport::trace_received(std::string_view line)
{
    if (options_.trace) spdlog::debug("{} S: {}", options_.trace_prefix, masker_.server(line));
}

void Transport::trace_note(std::string_view text)
{
    if (options_.trace) spdlog::debug("{} {}", options_.trace_prefix, text);
}

awaitable<IoResult> Transport::connect(std::string host, std::uint16_t port)
{
    peer_ = host + ":" + std::to_string(port);
    if (shared_->closed) co_return IoResult{IoStatus::error, "connect: connection closed"};
    error_code ec;
    Shared::arm(shared_, budget(options_.timeout));
    auto endpoints = co_await shared_->resolver.async_resolve(host, std::to_string(port),
                                                              asio::redirect_error(use_awaitable, ec));
    const bool resolve_timed_out = shared_->disarm();
    if (ec && resolve_timed_out)
        co_return IoResult{IoStatus::timeout, "DNS lookup of " + host + " timed out"};
    if (ec) co_return IoResult{IoStatus::unresolved, "DNS lookup of " + host + " failed: " + ec.message()};
    std::string errors;
    for (const auto& entry : endpoints) {
        if (session_expired()) break;
        if (shared_->closed) co_return IoResult{IoStatus::error, "connect: connection closed"};
        Shared::arm(shared_, budget(options_.timeout));
        co_await shared_->socket.async_connect(asio::generic::stream_protocol::endpoint(entry.endpoint()),
                                               asio::redirect_error(use_awaitable, ec));
        const bool timed_out = shared_->disarm();
        if (!ec) {
            int one = 1;  // no 40 ms delayed-ACK stalls on our small writes
            ::setsockopt(shared_->socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            shared_->peer_address = entry.endpoint().address();
            peer_ = host + "[" + shared_->peer_address.to_string() + "]:" + std::to_string(port);
            trace_note("connected to " + peer_);
            co_return IoResult{};
        }
        if (!errors.empty()) errors += "; ";
        errors += endpoint_text(entry.endpoint()) + ": " + (timed_out ? "timeout" : ec.message());
        error_code ignored;
        shared_->socket.close(ignored);
    }
    if (errors.empty()) errors = session_expired() ? "session time limit reached" : "no address";
    co_return IoResult{IoStatus::error, "connect to " + host + " failed: " + errors};
}

awaitable<IoResult> Transport::start_tls(std::shared_ptr<ssl::context> context, std::string host, bool verify)
{
    // Bytes read before the handshake did not come over TLS: reading them
    // as if they had is the STARTTLS command-injection attack.
    if (has_buffered_input()) co_return IoResult{IoStatus::tls, "peer sent data before the TLS handshake"};
    if (!is_open()) co_return IoResult{IoStatus::error, "TLS handshake: connection closed"};
    shared_->tls_context = std::move(context);
    shared_->tls = std::make_unique<ssl::stream<StreamSocket&>>(shared_->socket, *shared_->tls_context);
    SSL* native = shared_->tls->native_handle();
    if (auto prepared = prepare_tls_client(native, host, verify); !prepared)
        co_return IoResult{IoStatus::tls, prepared.error().message};
    error_code ec;
    Shared::arm(shared_, budget(options_.timeout));
    co_await shared_->tls->async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
    shared_->disarm();
    if (ec) {
        if (shared_->timed_out || shared_->closed) co_return failure("TLS handshake", ec);
        co_return IoResult{IoStatus::tls, describe_tls_failure(native, ec)};
    }
    trace_note(std::string("TLS established: ") + SSL_get_version(native) + " " +
               SSL_get_cipher_name(native));
    co_return IoResult{};
}

std::string_view Transport::buffered() const { return std::string_view(buffer_).substr(begin_); }

void Transport::consume(std::size_t n)
{
    begin_ = std::min(buffer_.size(), begin_ + n);
    scanned_ = std::max(scanned_, begin_);
}

awaitable<IoResult> Transport::fill() { co_return co_await fill(options_.timeout); }

awaitable<IoResult> Transport::fill(Duration timeout)
{
    if (!is_open()) co_return IoResult{IoStatus::error, "read: connection closed"};
    Duration allowed = budget(timeout);
    if (allowed <= Duration::zero()) {
        shared_->timed_out = true;
        co_return failure("read", {});
    }
    // One move per read, not one per line: pipelined input stays linear.
    if (begin_ > 0) {
        buffer_.erase(0, begin_);
        scanned_ -= begin_;
        begin_ = 0;
    }
    if (buffer_.capacity() > kept_capacity && buffer_.size() < read_chunk) buffer_.shrink_to_fit();
    const std::size_t old_size = buffer_.size();
    buffer_.resize(old_size + read_chunk);
    error_code ec;
    shared_->ack_promptly();
    Shared::arm(shared_, allowed);
    auto read = shared_->read_some(asio::buffer(buffer_.data() + old_size, read_chunk), ec);
    std::size_t n = co_await std::move(read);
    shared_->disarm();
    buffer_.resize(old_size + n);
    if (n > 0) co_return IoResult{};
    co_return failure("read", ec ? ec : asio::error::eof);
}

awaitable<IoResult> Transport::read_line(std::string& line, LineLimit limit)
{
    co_return co_await read_line(line, limit, options_.timeout);
}

awaitable<IoResult> Transport::read_line(std::string& line, LineLimit limit, Duration timeout)
{
    auto deadline = Clock::now() + timeout;
    while (true) {
        auto lf = buffer_.find('\n', std::max(begin_, scanned_));
        if (lf != std::string::npos) {
            last_line_crlf_ = lf > begin_ && buffer_[lf - 1] == '\r';
            std::size_t end = last_line_crlf_ ? lf - 1 : lf;
            bool overlong = discarding_ || end - begin_ > limit.max_length;
            if (!overlong) line.assign(buffer_, begin_, end - begin_);
            begin_ = scanned_ = lf + 1;
            discarding_ = false;
            if (overlong)
                co_return IoResult{IoStatus::too_long,
                                   "line longer than " + std::to_string(limit.max_length)};
            if (options_.trace) trace_received(line);
            co_return IoResult{};
        }
        scanned_ = buffer_.size();
        // +1: the CR of a CRLF may be all that is missing.
        if (buffer_.size() - begin_ > limit.max_length + 1 || discarding_) {
            if (!limit.discard_overlong)
                co_return IoResult{IoStatus::too_long,
                                   "line longer than " + std::to_string(limit.max_length)};
            discarding_ = true;
            buffer_.clear();
            begin_ = scanned_ = 0;
        }
        if (limit.extend_on_progress) deadline = Clock::now() + timeout;
        IoResult more = co_await fill(deadline - Clock::now());
        if (!more.ok()) co_return more;
    }
}

awaitable<IoResult> Transport::write(std::string_view data)
{
    co_return co_await write(data, options_.timeout);
}

// In chunks, each with its own deadline, so the timeout means "no progress"
// and a large message on a slow link is not cut off. A short tail goes with
// the last chunk: no tiny final write (an SMTP "." never leaves alone).
awaitable<IoResult> Transport::write(std::string_view data, Duration timeout)
{
    for (std::size_t offset = 0, length = 0; offset < data.size(); offset += length) {
        if (!is_open()) co_return IoResult{IoStatus::error, "write: connection closed"};
        const std::size_t rest = data.size() - offset;
        length = rest < write_chunk + write_chunk / 2 ? rest : write_chunk;
        error_code ec;
        Shared::arm(shared_, budget(timeout));
        auto written = shared_->write_all(asio::buffer(data.data() + offset, length), ec);
        co_await std::move(written);
        shared_->disarm();
        if (ec) co_return failure("write", ec);
    }
    co_return IoResult{};
}

}  // namespace mailqd
