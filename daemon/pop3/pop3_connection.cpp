// One POP3 client connection (see pop3_connection.hpp).
#include "daemon/pop3/pop3_connection.hpp"

#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

constexpr std::size_t kMaxStatusLine = 4096;

TransportOptions transport_options(std::chrono::seconds timeout, std::chrono::seconds pull_limit, bool trace,
                                   const std::string& log_name, const std::string& secret)
{
    TransportOptions options;
    options.timeout = timeout;
    options.session_deadline = Transport::Clock::now() + pull_limit;
    options.trace = trace;
    options.trace_prefix = "pop3 " + log_name;
    options.secret = secret;
    return options;
}

}  // namespace

Pop3Connection::Pop3Connection(asio::any_io_executor executor, std::chrono::seconds timeout,
                               std::chrono::seconds pull_limit, bool trace, std::string log_name,
                               std::string secret)
    : timeout_(timeout),
      pull_limit_(pull_limit),
      transport_(std::move(executor), transport_options(timeout, pull_limit, trace, log_name, secret))
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
            if (transport_.session_expired())
                return make_error(ErrorKind::temporary, what + ": the pull took longer than " +
                                                            std::to_string(pull_limit_.count()) + "s");
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

// Past max_bytes the answer is still read to its end, decoded into a
// scratch buffer that is emptied each time, so the session can go on with
// the next command: a server whose LIST understated a message costs that
// message, not the pull.
awaitable<Status> Pop3Connection::read_multiline(std::string& out, std::uint64_t max_bytes)
{
    MultilineDecoder decoder(max_bytes);
    std::string dropped;
    bool over = false;
    for (;;) {
        MultilineDecoder::Step step;
        transport_.consume(decoder.feed(transport_.buffered(), over ? dropped : out, step));
        dropped.clear();
        if (step == MultilineDecoder::Step::done && over)
            co_return make_error(ErrorKind::bad_message,
                                 "answer longer than " + std::to_string(max_bytes) + " bytes, dropped");
        if (step == MultilineDecoder::Step::done) {
            transport_.trace_note("(" + std::to_string(out.size()) + " bytes of multi-line answer)");
            co_return Status{};
        }
        if (step == MultilineDecoder::Step::too_big) {
            if (!over) std::string().swap(out);
            over = true;
            continue;  // the rest of what is buffered first
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
