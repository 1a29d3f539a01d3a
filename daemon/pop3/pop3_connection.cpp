// One POP3 client connection (see pop3_connection.hpp).
#include "daemon/pop3/pop3_connection.hpp"

#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

constexpr std::size_t kMaxStatusLine = 4096;

TransportOptions transport_options(std::chrono::seconds timeout, bool trace, const std::string& log_name,
                                   const std::string& secret)
{
    TransportOptions options;
    options.timeout = timeout;
    options.trace = trace;
    options.trace_prefix = "pop3 " + log_name;
    options.secret = secret;
    return options;
}

}  // namespace

Pop3Connection::Pop3Connection(asio::any_io_executor executor, std::chrono::seconds timeout, bool trace,
                               std::string log_name, std::string secret)
    : timeout_(timeout), transport_(std::move(executor), transport_options(timeout, trace, log_name, secret))
{
}

Pop3Connection::~Pop3Connection() { close(); }

void Pop3Connection::close()
{
    transport_.close();
    usable_ = false;
}

Error Pop3Connection::failure(const std::string& what, const IoResult& result)
{
    usable_ = false;
    switch (result.status) {
        case IoStatus::timeout:
            return make_error(ErrorKind::temporary,
                              what + ": timeout after " + std::to_string(timeout_.count()) + "s");
        case IoStatus::eof: return make_error(ErrorKind::temporary, what + ": connection closed by server");
        case IoStatus::tls: return make_error(ErrorKind::temporary, result.detail);
        default: return make_error(ErrorKind::temporary, what + ": " + result.detail);
    }
}

awaitable<Status> Pop3Connection::connect(std::string host, std::uint16_t port)
{
    const std::string what = "connect to " + host + ":" + std::to_string(port);
    IoResult result = co_await transport_.connect(std::move(host), port);
    if (result.status == IoStatus::error || result.status == IoStatus::unresolved) {
        usable_ = false;  // the transport's words name the host and each address tried
        co_return make_error(ErrorKind::temporary, result.detail);
    }
    if (!result.ok()) co_return failure(what, result);
    co_return Status{};
}

awaitable<Status> Pop3Connection::start_tls(std::shared_ptr<asio::ssl::context> context, std::string host,
                                            bool verify)
{
    auto handshake = transport_.start_tls(std::move(context), std::move(host), verify);  // named: GCC 12
    IoResult result = co_await std::move(handshake);
    if (!result.ok()) co_return failure("TLS handshake", result);
    co_return Status{};
}

awaitable<Status> Pop3Connection::read_more()
{
    IoResult result = co_await transport_.fill();
    if (!result.ok()) co_return failure("read", result);
    co_return Status{};
}

awaitable<Result<Pop3Status>> Pop3Connection::read_status()
{
    std::string line;
    IoResult result = co_await transport_.read_line(line, LineLimit{kMaxStatusLine});
    if (result.status == IoStatus::too_long) {
        usable_ = false;
        co_return make_error(ErrorKind::temporary, "protocol error: reply line too long");
    }
    if (!result.ok()) co_return failure("read", result);
    auto status = parse_pop3_status(line);
    if (!status) {
        usable_ = false;
        co_return make_error(ErrorKind::temporary,
                             "protocol error: unexpected reply \"" + printable(line, 80) + "\"");
    }
    co_return std::move(*status);
}

awaitable<Status> Pop3Connection::read_multiline(std::string& out, std::uint64_t max_bytes)
{
    MultilineDecoder decoder(max_bytes);
    for (;;) {
        MultilineDecoder::Step step;
        transport_.consume(decoder.feed(transport_.buffered(), out, step));
        if (step == MultilineDecoder::Step::done) {
            transport_.trace_note("(" + std::to_string(out.size()) + " bytes of multi-line answer)");
            co_return Status{};
        }
        if (step == MultilineDecoder::Step::too_big) {
            usable_ = false;
            co_return make_error(ErrorKind::temporary, "protocol error: answer longer than " +
                                                           std::to_string(max_bytes) + " bytes");
        }
        Status more = co_await read_more();
        if (!more) co_return more.error();
    }
}

awaitable<Status> Pop3Connection::write(std::string commands)
{
    if (transport_.tracing())
        for_each_line(commands, [&](std::string_view line) {
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (!line.empty()) transport_.trace_sent(line);
        });
    IoResult result = co_await transport_.write(commands);
    if (!result.ok()) co_return failure("write", result);
    co_return Status{};
}

}  // namespace mailqd
