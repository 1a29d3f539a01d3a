// See http_server.hpp.
#include "daemon/http/http_server.hpp"

#include <spdlog/spdlog.h>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <optional>
#include <set>

#include "daemon/net/spawn.hpp"
#include "daemon/net/tcp_listen.hpp"

namespace mailqd {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
    asio::any_io_executor executor;
    HttpHandler handler;
    HttpServerOptions options;
    std::optional<tcp::acceptor> acceptor;
    std::set<beast::tcp_stream*> live;  // io thread only
    bool stopped = false;

    static awaitable<void> accept_loop(std::shared_ptr<Impl> self);
    static awaitable<void> session(std::shared_ptr<Impl> self, tcp::socket socket);
    HttpAnswer answer(const http::request<http::string_body>& request) const;
};

namespace {

// Why a request could not be read, as a status; 0: the client went away or
// was too slow, so there is nobody to answer.
unsigned refusal_status(const error_code& ec)
{
    if (ec == http::error::header_limit) return 431;
    if (ec == http::error::body_limit || ec == http::error::buffer_overflow) return 413;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
        return 0;
    if (ec.category() == make_error_code(http::error::bad_method).category()) return 400;  // malformed
    return 0;
}

http::response<http::string_body> make_response(const HttpAnswer& answer, unsigned version, bool keep_alive)
{
    http::response<http::string_body> response{static_cast<http::status>(answer.status), version};
    response.set(http::field::server, "mailqd");
    response.set(http::field::content_type, answer.content_type);
    if (answer.status == 405) response.set(http::field::allow, "GET");
    response.keep_alive(keep_alive);
    response.body() = answer.body;
    response.prepare_payload();
    return response;
}

}  // namespace

HttpAnswer HttpServer::Impl::answer(const http::request<http::string_body>& request) const
{
    if (request.method() != http::verb::get) return {405, "text/plain; charset=utf-8", "only GET\n"};
    return handler(std::string_view(request.target().data(), request.target().size()));
}

awaitable<void> HttpServer::Impl::session(std::shared_ptr<Impl> self, tcp::socket socket)
{
    beast::tcp_stream stream(std::move(socket));
    self->live.insert(&stream);
    struct Forget {
        Impl& impl;
        beast::tcp_stream* stream;
        ~Forget() { impl.live.erase(stream); }
    } forget{*self, &stream};
    // Room for the largest request head and body allowed, no more.
    beast::flat_buffer buffer(self->options.header_limit + self->options.body_limit);
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(self->options.header_limit);
        parser.body_limit(self->options.body_limit);
        error_code ec;
        // One deadline for the whole request: a client trickling bytes is cut off.
        stream.expires_after(self->options.read_timeout);
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (const unsigned status = refusal_status(ec); status != 0 && !self->stopped) {
                auto response =
                    make_response({status, "text/plain; charset=utf-8", ec.message() + "\n"}, 11, false);
                stream.expires_after(self->options.read_timeout);
                co_await http::async_write(stream, response, asio::redirect_error(use_awaitable, ec));
            }
            break;
        }
        const auto& request = parser.get();
        auto response = make_response(self->answer(request), request.version(), request.keep_alive());
        stream.expires_after(self->options.read_timeout);
        co_await http::async_write(stream, response, asio::redirect_error(use_awaitable, ec));
        if (ec || !response.keep_alive() || self->stopped) break;
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

awaitable<void> HttpServer::Impl::accept_loop(std::shared_ptr<Impl> self)
{
    while (!self->stopped && self->acceptor) {
        error_code ec;
        tcp::socket socket = co_await self->acceptor->async_accept(asio::redirect_error(use_awaitable, ec));
        if (ec == asio::error::operation_aborted || self->stopped) break;
        if (ec) {
            // Out of descriptors and the like: wait a moment rather than spin.
            spdlog::warn("metrics: accept: {}", ec.message());
            asio::steady_timer pause(self->executor, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
            continue;
        }
        if (self->live.size() >= self->options.max_connections) {
            // Full: a short answer that needs no reading, without blocking the loop.
            static constexpr std::string_view busy =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy\n";
            socket.non_blocking(true, ec);
            socket.write_some(asio::buffer(busy.data(), busy.size()), ec);
            socket.close(ec);
            continue;
        }
        spawn_logged(self->executor, session(self, std::move(socket)), "metrics: session");
    }
}

HttpServer::HttpServer(asio::any_io_executor executor, HttpHandler handler, HttpServerOptions options)
    : impl_(std::make_shared<Impl>())
{
    impl_->executor = std::move(executor);
    impl_->handler = std::move(handler);
    impl_->options = options;
}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::listen(const std::string& address)
{
    auto acceptor = bind_tcp_socket(impl_->executor, address);
    if (!acceptor) return acceptor.error();
    impl_->acceptor.emplace(std::move(*acceptor));
    return {};
}

std::uint16_t HttpServer::port() const
{
    if (!impl_->acceptor) return 0;
    error_code ec;
    auto endpoint = impl_->acceptor->local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

void HttpServer::start()
{
    if (impl_->acceptor) spawn_logged(impl_->executor, Impl::accept_loop(impl_), "metrics: accept loop");
}

void HttpServer::stop()
{
    if (impl_->stopped) return;
    impl_->stopped = true;
    error_code ignored;
    if (impl_->acceptor) impl_->acceptor->close(ignored);
    for (beast::tcp_stream* stream : impl_->live) stream->socket().close(ignored);
}

}  // namespace mailqd
