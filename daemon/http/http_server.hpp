// A small HTTP/1.1 server (Boost.Beast) on the io thread, for GET requests
// to a fixed set of paths (the metrics endpoint). Trusts nothing of the
// client: the request head is bounded (header_limit; a body is refused past
// body_limit), a whole request must arrive within read_timeout (a slow
// client is cut off), answers are written within the same deadline, and at
// most max_connections clients are served at once (others get 503 and are
// closed). Methods other than GET get 405; keep-alive is honoured.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "daemon/net/asio.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct HttpServerOptions {
    std::size_t max_connections = 16;
    std::chrono::milliseconds read_timeout{10000};
    std::uint32_t header_limit = 8192;
    std::uint64_t body_limit = 1024;
};

struct HttpAnswer {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

// Called on the io thread for each GET, with the request target.
using HttpHandler = std::function<HttpAnswer(std::string_view target)>;

class HttpServer {
public:
    HttpServer(asio::any_io_executor executor, HttpHandler handler, HttpServerOptions options = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // host:port as tcp_listen.hpp reads it (port 0: any free one).
    Status listen(const std::string& address);
    std::uint16_t port() const;
    void start();
    // Closes the listener and every connection.
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace mailqd
