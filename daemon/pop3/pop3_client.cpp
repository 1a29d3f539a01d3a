#include "daemon/pop3/pop3_client.hpp"

#include <algorithm>
#include <map>

#include "daemon/pop3/pop3_auth.hpp"
#include "daemon/pop3/pop3_connection.hpp"
#include "daemon/pop3/pop3_reply.hpp"

namespace mailqd {
namespace {

// Listings: a UIDL line is at most ~90 bytes; 64 MB is ~700,000 messages.
constexpr std::uint64_t kMaxListing = 64ull << 20;
constexpr std::uint64_t kMaxCapa = 64 * 1024;

// A message on the server as UIDL and LIST describe it.
struct ServerMessage {
    std::uint64_t number = 0;
    std::string uidl;
    std::uint64_t size = 0;
};

Error remote_error(const std::string& what, const Pop3Status& status)
{
    std::string text = status.code.empty() ? status.text : "[" + status.code + "] " + status.text;
    return make_error(ErrorKind::temporary, what + ": -ERR " + text);
}

class Pop3Session {
public:
    Pop3Session(asio::any_io_executor executor, Pop3Options options, Pop3Callbacks callbacks,
                std::shared_ptr<asio::ssl::context> tls)
        : executor_(executor),
          options_(std::move(options)),
          callbacks_(std::move(callbacks)),
          tls_(std::move(tls)),
          conn_(executor, options_.timeout, options_.pull_limit, options_.trace, "mailbox=" + options_.name,
                options_.secret)
    {
    }

    awaitable<Pop3Result> run()
    {
        Status s = co_await open();
        if (s) s = co_await login();
        std::vector<ServerMessage> messages;
        if (s) s = co_await list(messages);
        if (s) s = co_await delete_known(messages);
        if (s) s = co_await fetch_all(messages);
        if (!s) note(s.error());
        if (conn_.usable()) co_await quit();
        conn_.close();
        co_return std::move(result_);
    }

private:
    void note(const Error& error)
    {
        if (!result_.error) result_.error = error;
    }

    // A command whose answer is a status line; -ERR becomes an error.
    awaitable<Result<Pop3Status>> command(std::string line, std::string what)
    {
        Status written = co_await conn_.write(line + "\r\n");
        if (!written) co_return written.error().context(what);
        co_return co_await expect_ok(what);
    }

    awaitable<Result<Pop3Status>> expect_ok(std::string what)
    {
        auto status = co_await conn_.read_status();
        if (!status) co_return status.error().context(what);
        if (!status->ok) co_return remote_error(what, *status);
        co_return status;
    }

    awaitable<Status> open();
    awaitable<Status> handshake();
    awaitable<Status> read_capabilities();
    awaitable<Status> login();
    awaitable<Status> list(std::vector<ServerMessage>& messages);
    awaitable<Status> read_listing(std::string verb, bool send, std::string& body);
    awaitable<Status> delete_known(const std::vector<ServerMessage>& messages);
    // A batch being made durable by store_batch while the next is retrieved.
    struct PendingStore {
        explicit PendingStore(asio::any_io_executor executor) : done(executor) {}
        std::vector<ServerMessage> messages;
        std::optional<Status> status;
        asio::steady_timer done;  // cancelled when status is set
    };
    std::vector<std::vector<ServerMessage>> plan_batches(const std::vector<ServerMessage>& messages);
    awaitable<Status> fetch_all(const std::vector<ServerMessage>& messages);
    std::shared_ptr<PendingStore> start_store(std::vector<FetchedMessage> fetched);
    awaitable<Status> finish_store(std::shared_ptr<PendingStore> pending);
    awaitable<Status> retrieve(const std::vector<ServerMessage>& batch, std::vector<FetchedMessage>& out);
    awaitable<Status> retrieve_one(const ServerMessage& message, std::vector<FetchedMessage>& out);
    awaitable<Status> delete_messages(const std::vector<ServerMessage>& messages);
    awaitable<Status> pipeline(const std::vector<std::string>& commands);
    awaitable<void> quit();

    asio::any_io_executor executor_;
    Pop3Options options_;
    Pop3Callbacks callbacks_;
    std::shared_ptr<asio::ssl::context> tls_;
    Pop3Connection conn_;
    Pop3Capabilities caps_;
    std::optional<std::string> timestamp_;
    Pop3Result result_;
};

awaitable<Status> Pop3Session::open()
{
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    if (options_.tls != TlsMode::none && !tls_)
        co_return make_error(ErrorKind::config, "TLS requested but no TLS context given");
    Status s = co_await conn_.connect(options_.host, options_.port);
    if (s && options_.tls == TlsMode::implicit) s = co_await handshake();
    if (!s) co_return s;
    auto greeting = co_await expect_ok("greeting from " + where);
    if (!greeting) co_return greeting.error();
    timestamp_ = apop_timestamp(greeting->text);
    s = co_await read_capabilities();
    if (!s || options_.tls != TlsMode::starttls) co_return s;
    // tls = starttls is mandatory: no STLS means an error, never plaintext.
    if (caps_.known && !caps_.stls)
        co_return make_error(ErrorKind::temporary, "STLS not offered by " + where + " (tls = starttls)");
    auto stls = co_await command("STLS", "STLS");
    if (!stls) co_return stls.error();
    // Bytes that arrived with the +OK were sent before TLS: an injection.
    if (conn_.has_buffered_input())
        co_return make_error(ErrorKind::temporary, "STLS: server sent data before the TLS handshake");
    s = co_await handshake();
    if (s) s = co_await read_capabilities();  // they may change under TLS
    co_return s;
}

awaitable<Status> Pop3Session::handshake()
{
    co_return co_await conn_.start_tls(tls_, options_.host, options_.verify);
}

awaitable<Status> Pop3Session::read_capabilities()
{
    Status written = co_await conn_.write("CAPA\r\n");
    if (!written) co_return written.error().context("CAPA");
    auto status = co_await conn_.read_status();
    if (!status) co_return status.error().context("CAPA");
    caps_ = Pop3Capabilities{};
    if (!status->ok)  // an RFC 1939 server without CAPA: assume nothing
        co_return Status{};
    std::string body;
    Status read = co_await conn_.read_multiline(body, kMaxCapa);
    if (!read) co_return read.error().context("CAPA");
    caps_ = parse_pop3_capa(body);
    co_return Status{};
}

awaitable<Status> Pop3Session::login()
{
    const bool cleartext_ok = conn_.tls_active() || conn_.peer_is_loopback();
    auto mechanism = choose_pop3_auth(options_.auth, caps_, timestamp_.has_value(), cleartext_ok);
    if (!mechanism) co_return mechanism.error().context("login");
    Result<Pop3Status> answer = Pop3Status{};
    switch (*mechanism) {
        case MailboxAuth::plain:
            answer = co_await command("AUTH PLAIN " + sasl_plain_response(options_.username, options_.secret),
                                      "login failed (AUTH PLAIN)");
            break;
        case MailboxAuth::apop:
            answer = co_await command(
                "APOP " + options_.username + " " + apop_digest(*timestamp_, options_.secret),
                "login failed (APOP)");
            break;
        default:
            answer = co_await command("USER " + options_.username, "login failed (USER)");
            if (answer) answer = co_await command("PASS " + options_.secret, "login failed (PASS)");
            break;
    }
    if (!answer) co_return answer.error();
    co_return Status{};
}

// STAT, UIDL and LIST, pipelined when the server allows it.
awaitable<Status> Pop3Session::list(std::vector<ServerMessage>& messages)
{
    const bool batch = caps_.pipelining;
    if (Status s = co_await conn_.write(batch ? "STAT\r\nUIDL\r\nLIST\r\n" : "STAT\r\n"); !s)
        co_return s.error().context("STAT");
    auto stat = co_await expect_ok("STAT");
    if (!stat) co_return stat.error();
    if (auto counts = parse_pop3_stat(stat->text)) {
        result_.server_messages = counts->first;
        result_.server_octets = counts->second;
    }
    std::string uidls, sizes;
    if (Status s = co_await read_listing("UIDL", !batch, uidls); !s) co_return s;
    if (Status s = co_await read_listing("LIST", !batch, sizes); !s) co_return s;

    std::map<std::uint64_t, std::uint64_t> size_of;
    for_each_line(sizes, [&](std::string_view line) {
        if (auto entry = parse_pop3_list_line(line)) size_of[entry->first] = entry->second;
    });
    result_.present.emplace();
    for_each_line(uidls, [&](std::string_view line) {
        auto entry = parse_pop3_uidl_line(line);
        if (!entry) return;
        result_.present->push_back(entry->second);
        if (auto it = size_of.find(entry->first); it != size_of.end())
            messages.push_back({entry->first, entry->second, it->second});
    });
    co_return Status{};
}

// The answer to UIDL or LIST (sent first unless pipelined already).
awaitable<Status> Pop3Session::read_listing(std::string verb, bool send, std::string& body)
{
    if (send) {
        if (Status s = co_await conn_.write(verb + "\r\n"); !s) co_return s.error().context(verb);
    }
    auto status = co_await expect_ok(verb);
    if (!status) co_return status.error();
    Status read = co_await conn_.read_multiline(body, kMaxListing);
    if (!read) co_return read.error().context(verb);
    co_return Status{};
}

// Known UIDLs are already safe on disk (a previous pull stored them but did
// not get to QUIT): with keep = no they are deleted now.
awaitable<Status> Pop3Session::delete_known(const std::vector<ServerMessage>& messages)
{
    if (options_.keep) co_return Status{};
    std::vector<ServerMessage> known;
    for (const auto& m : messages)
        if (callbacks_.is_known(m.uidl)) known.push_back(m);
    co_return co_await delete_messages(known);
}

// Messages not known and not too big, in batches of batch_messages and
// batch_bytes (by LIST sizes, at least one message each).
std::vector<std::vector<ServerMessage>> Pop3Session::plan_batches(const std::vector<ServerMessage>& messages)
{
    std::vector<std::vector<ServerMessage>> batches(1);
    std::uint64_t bytes = 0;
    for (const auto& m : messages) {
        if (callbacks_.is_known(m.uidl)) continue;
        if (m.size > options_.max_size) {
            result_.too_big.push_back({m.uidl, m.size});
            continue;
        }
        auto& last = batches.back();
        if (!last.empty() &&
            (last.size() >= options_.batch_messages || bytes + m.size > options_.batch_bytes)) {
            batches.emplace_back();
            bytes = 0;
        }
        batches.back().push_back(m);
        bytes += m.size;
    }
    if (batches.back().empty()) batches.pop_back();
    return batches;
}

// Batches flow through two stages at once: while batch k is made durable
// (store_batch, which the caller runs off the I/O thread), batch k+1 is
// retrieved; then batch k is DELE'd. The messages received whole are stored
// even when a batch broke off (not DELE'd then: the connection is gone; the
// next pull deletes them as known).
awaitable<Status> Pop3Session::fetch_all(const std::vector<ServerMessage>& messages)
{
    std::shared_ptr<PendingStore> pending;
    for (const auto& batch : plan_batches(messages)) {
        std::vector<FetchedMessage> fetched;
        Status retrieved = co_await retrieve(batch, fetched);
        Status previous = co_await finish_store(std::move(pending));
        if (!previous) co_return previous;
        if (!fetched.empty()) pending = start_store(std::move(fetched));
        if (!retrieved) {
            Status last = co_await finish_store(std::move(pending));
            if (!last) note(last.error());
            co_return retrieved;
        }
    }
    co_return co_await finish_store(std::move(pending));
}

std::shared_ptr<Pop3Session::PendingStore> Pop3Session::start_store(std::vector<FetchedMessage> fetched)
{
    auto pending = std::make_shared<PendingStore>(executor_);
    for (const auto& f : fetched) pending->messages.push_back({f.number, f.uidl, f.listed_size});
    pending->done.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(executor_, callbacks_.store_batch(std::move(fetched)),
                   [pending](std::exception_ptr failure, Status status) {
                       pending->status = failure ? Status(make_error(ErrorKind::failure, "store_batch threw"))
                                                 : std::move(status);
                       pending->done.cancel();
                   });
    return pending;
}

// Waits for a batch to be durable, then DELEs it (keep = no).
awaitable<Status> Pop3Session::finish_store(std::shared_ptr<PendingStore> pending)
{
    if (!pending) co_return Status{};
    if (!pending->status) {
        error_code ec;
        co_await pending->done.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    const Status& durable = *pending->status;
    if (!durable) co_return durable.error().context("storing messages");
    result_.fetched += pending->messages.size();
    if (options_.keep || !conn_.usable()) co_return Status{};
    co_return co_await delete_messages(pending->messages);
}

awaitable<Status> Pop3Session::retrieve(const std::vector<ServerMessage>& batch,
                                        std::vector<FetchedMessage>& out)
{
    if (caps_.pipelining) {
        std::vector<std::string> commands;
        for (const auto& m : batch) commands.push_back("RETR " + std::to_string(m.number));
        Status s = co_await pipeline(commands);
        if (!s) co_return s;
    }
    for (const auto& m : batch) {
        if (!caps_.pipelining) {
            Status s = co_await conn_.write("RETR " + std::to_string(m.number) + "\r\n");
            if (!s) co_return s.error().context("RETR");
        }
        Status s = co_await retrieve_one(m, out);
        if (!s) co_return s;
    }
    co_return Status{};
}

// Reads one RETR answer. -ERR skips the message (noted, the pull goes on);
// a cut-off body fails the pull: nothing of it is kept.
awaitable<Status> Pop3Session::retrieve_one(const ServerMessage& m, std::vector<FetchedMessage>& out)
{
    const std::string what = "RETR " + std::to_string(m.number) + " (uidl " + m.uidl + ")";
    auto status = co_await conn_.read_status();
    if (!status) co_return status.error().context(what);
    if (!status->ok) {
        note(remote_error(what, *status));
        co_return Status{};
    }
    FetchedMessage fetched{m.number, m.uidl, m.size, {}};
    fetched.data.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(m.size, options_.max_size)));
    // LIST sizes are the server's own count; allow some slack over it.
    const std::uint64_t bound = std::max(m.size, options_.max_size) + m.size / 8 + 64 * 1024;
    Status read = co_await conn_.read_multiline(fetched.data, bound);
    if (!read && read.error().kind == ErrorKind::bad_message) {
        // Larger than LIST said and than max_size: left on the server,
        // reported like any message too big.
        result_.too_big.push_back({m.uidl, std::max<std::uint64_t>(bound, m.size)});
        co_return Status{};
    }
    if (!read) co_return read.error().context(what);
    out.push_back(std::move(fetched));
    co_return Status{};
}

// DELE for each message; a -ERR is noted but does not stop the pull.
awaitable<Status> Pop3Session::delete_messages(const std::vector<ServerMessage>& messages)
{
    std::vector<std::string> commands;
    for (const auto& m : messages) commands.push_back("DELE " + std::to_string(m.number));
    if (caps_.pipelining) {
        Status s = co_await pipeline(commands);
        if (!s) co_return s;
    }
    for (std::size_t i = 0; i < commands.size(); ++i) {
        if (!caps_.pipelining) {
            Status s = co_await conn_.write(commands[i] + "\r\n");
            if (!s) co_return s.error().context("DELE");
        }
        auto status = co_await conn_.read_status();
        if (!status) co_return status.error().context(commands[i]);
        if (status->ok)
            ++result_.deleted;
        else
            note(remote_error(commands[i] + " (uidl " + messages[i].uidl + ")", *status));
    }
    co_return Status{};
}

// Writes pipelined commands in one go (RFC 2449 PIPELINING): the server
// answers in order while the client reads.
awaitable<Status> Pop3Session::pipeline(const std::vector<std::string>& commands)
{
    std::string all;
    for (const auto& c : commands) all += c + "\r\n";
    if (all.empty()) co_return Status{};
    co_return co_await conn_.write(std::move(all));
}

awaitable<void> Pop3Session::quit()
{
    auto bye = co_await command("QUIT", "QUIT");
    result_.quit_ok = bye.ok();
    if (!bye) note(bye.error());
}

}  // namespace

awaitable<Pop3Result> pop3_fetch(Pop3Options options, Pop3Callbacks callbacks,
                                 std::shared_ptr<asio::ssl::context> tls)
{
    auto executor = co_await asio::this_coro::executor;
    Pop3Session session(executor, std::move(options), std::move(callbacks), std::move(tls));
    co_return co_await session.run();
}

}  // namespace mailqd
