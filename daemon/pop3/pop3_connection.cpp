#include "daemon/pop3/pop3_connection.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace mailqd {
namespace {

using tcp = asio::ip::tcp;

constexpr std::size_t kMaxStatusLine = 4096;
constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace

// Shared with the deadline handler, which may run after the connection is
// gone: it owns the socket it closes.
struct Pop3Connection::Shared {
    explicit Shared(asio::any_io_executor executor) : socket(executor), timer(executor) {}
    tcp::socket socket;
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;
    asio::steady_timer timer;
    bool timed_out = false;
};

Pop3Connection::Pop3Connection(asio::any_io_executor executor, std::chrono::seconds timeout, bool trace,
                               std::string log_name, std::string secret)
    : shared_(std::make_shared<Shared>(executor)), timeout_(timeout), trace_(trace),
      log_name_(std::move(log_name)), masker_(std::move(secret))
{
}

Pop3Connection::~Pop3Connection()
{
    close();
}

void Pop3Connection::close()
{
    error_code ignored;
    shared_->timer.cancel();
    shared_->socket.close(ignored);
    usable_ = false;
}

bool Pop3Connection::tls_active() const
{
    return shared_->tls != nullptr;
}

bool Pop3Connection::peer_is_loopback() const
{
    error_code ec;
    auto endpoint = shared_->socket.remote_endpoint(ec);
    return !ec && endpoint.address().is_loopback();
}

// The handler re-checks the expiry: a wait that completed just before the
// deadline was moved must not close the socket of the next step.
void Pop3Connection::arm_deadline()
{
    shared_->timer.expires_after(timeout_);
    shared_->timer.async_wait([shared = shared_](const error_code& ec) {
        if (ec || shared->timer.expiry() > std::chrono::steady_clock::now())
            return;
        shared->timed_out = true;
        error_code ignored;
        shared->socket.close(ignored);
    });
}

void Pop3Connection::disarm_deadline()
{
    shared_->timer.cancel();
}

Error Pop3Connection::io_failure(const std::string& what, const error_code& ec)
{
    usable_ = false;
    if (shared_->timed_out)
        return make_error(ErrorKind::temporary,
                          what + ": timeout after " + std::to_string(timeout_.count()) + "s");
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
        return make_error(ErrorKind::temporary, what + ": connection closed by server");
    return make_error(ErrorKind::temporary, what + ": " + ec.message());
}

void Pop3Connection::trace(char direction, std::string_view text)
{
    if (!trace_)
        return;
    std::string shown = direction == 'C'   ? masker_.client(text)
                        : direction == 'S' ? masker_.server(text)
                                           : std::string(text);
    spdlog::debug("pop3 {} {}: {}", log_name_, direction, shown);
}

awaitable<Status> Pop3Connection::connect(std::string host, std::uint16_t port)
{
    error_code ec;
    tcp::resolver resolver(shared_->socket.get_executor());
    arm_deadline();
    auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                     asio::redirect_error(use_awaitable, ec));
    if (!ec)
        co_await asio::async_connect(shared_->socket, endpoints, asio::redirect_error(use_awaitable, ec));
    disarm_deadline();
    if (ec)
        co_return io_failure("connect to " + host + ":" + std::to_string(port), ec);
    shared_->socket.set_option(tcp::no_delay(true), ec);
    co_return Status{};
}

awaitable<Status> Pop3Connection::start_tls(asio::ssl::context& context, std::string host, bool verify)
{
    shared_->tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(shared_->socket, context);
    SSL* ssl = shared_->tls->native_handle();
    Status prepared = prepare_tls_client(ssl, host, verify);
    if (!prepared)
        co_return prepared.error().context("TLS");
    error_code ec;
    arm_deadline();
    co_await shared_->tls->async_handshake(asio::ssl::stream_base::client,
                                           asio::redirect_error(use_awaitable, ec));
    disarm_deadline();
    if (ec) {
        if (shared_->timed_out)
            co_return io_failure("TLS handshake", ec);
        usable_ = false;
        co_return make_error(ErrorKind::temporary, describe_tls_failure(ssl, ec));
    }
    trace('-', std::string("TLS ") + SSL_get_version(ssl) + " " + SSL_get_cipher_name(ssl));
    co_return Status{};
}

awaitable<Status> Pop3Connection::read_more()
{
    if (start_ > 0 && (start_ == buffer_.size() || start_ > kReadChunk)) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    const std::size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    error_code ec;
    std::size_t n = 0;
    arm_deadline();
    auto space = asio::buffer(buffer_.data() + old, kReadChunk);
    if (shared_->tls)
        n = co_await shared_->tls->async_read_some(space, asio::redirect_error(use_awaitable, ec));
    else
        n = co_await shared_->socket.async_read_some(space, asio::redirect_error(use_awaitable, ec));
    disarm_deadline();
    buffer_.resize(old + n);
    if (ec)
        co_return io_failure("read", ec);
    co_return Status{};
}

awaitable<Result<Pop3Status>> Pop3Connection::read_status()
{
    for (;;) {
        std::string_view pending(buffer_.data() + start_, buffer_.size() - start_);
        auto nl = pending.find('\n');
        if (nl != std::string_view::npos) {
            std::string_view line = pending.substr(0, nl);
            start_ += nl + 1;
            if (!line.empty() && line.back() == '\r')
                line.remove_suffix(1);
            trace('S', line);
            auto status = parse_pop3_status(line);
            if (!status) {
                usable_ = false;
                co_return make_error(ErrorKind::temporary,
                                     "protocol error: unexpected reply \"" + sanitize_pop3_text(line, 80) + "\"");
            }
            co_return std::move(*status);
        }
        if (pending.size() > kMaxStatusLine) {
            usable_ = false;
            co_return make_error(ErrorKind::temporary, "protocol error: reply line too long");
        }
        Status more = co_await read_more();
        if (!more)
            co_return more.error();
    }
}

awaitable<Status> Pop3Connection::read_multiline(std::string& out, std::uint64_t max_bytes)
{
    MultilineDecoder decoder(max_bytes);
    for (;;) {
        MultilineDecoder::Step step;
        std::string_view pending(buffer_.data() + start_, buffer_.size() - start_);
        start_ += decoder.feed(pending, out, step);
        if (step == MultilineDecoder::Step::done) {
            trace('-', "(" + std::to_string(out.size()) + " bytes of multi-line answer)");
            co_return Status{};
        }
        if (step == MultilineDecoder::Step::too_big) {
            usable_ = false;
            co_return make_error(ErrorKind::temporary,
                                 "protocol error: answer longer than " + std::to_string(max_bytes) + " bytes");
        }
        Status more = co_await read_more();
        if (!more)
            co_return more.error();
    }
}

awaitable<Status> Pop3Connection::write(std::string commands)
{
    if (trace_)
        for_each_line(commands, [&](std::string_view line) {
            if (!line.empty() && line.back() == '\r')
                line.remove_suffix(1);
            if (!line.empty())
                trace('C', line);
        });
    error_code ec;
    arm_deadline();
    if (shared_->tls)
        co_await asio::async_write(*shared_->tls, asio::buffer(commands), asio::redirect_error(use_awaitable, ec));
    else
        co_await asio::async_write(shared_->socket, asio::buffer(commands), asio::redirect_error(use_awaitable, ec));
    disarm_deadline();
    if (ec)
        co_return io_failure("write", ec);
    co_return Status{};
}

}  // namespace mailqd
