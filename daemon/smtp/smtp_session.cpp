// The SMTP client session: the set-up phases, in conversation order, and
// the run loop (see smtp_session.hpp). Messages are in smtp_transaction.cpp.
#include "daemon/smtp/smtp_session.hpp"

#include "daemon/smtp/smtp_auth.hpp"

namespace mailqd {
namespace {

TransportOptions transport_options(const SmtpClientOptions& options)
{
    TransportOptions transport;
    transport.timeout = options.timeout;
    if (options.session_limit.count() > 0)
        transport.session_deadline = Transport::Clock::now() + options.session_limit;
    transport.trace = options.protocol_trace;
    transport.trace_prefix = "relay=" + options.relay_name + " smtp";
    transport.secret = options.secret;  // masked in the trace
    return transport;
}

SmtpOutcome failed(SmtpStage stage, const WireStatus& status)
{
    return failure_outcome(stage, status.failure, status.detail);
}

// After a refusal (a server reply, or our own policy) the connection is in
// a known state and deserves a QUIT; after a lost connection, a timeout or a
// TLS failure it does not, and a 421 means the server is closing it.
bool connection_usable(const PhaseError& error)
{
    if (!error) return true;
    if (error->failure == SmtpFailure::none) return error->reply && error->reply->code != 421;
    return error->failure == SmtpFailure::policy;
}

}  // namespace

PhaseError unexpected(SmtpStage stage, const WireReply& reply, int wanted_class)
{
    if (!reply.status.ok()) return failed(stage, reply.status);
    if (reply.reply.code / 100 != wanted_class) return reply_outcome(stage, reply.reply);
    return std::nullopt;
}

SmtpSession::SmtpSession(asio::any_io_executor executor, SmtpClientOptions options,
                         std::shared_ptr<SmtpSessionControl> control)
    : options_(std::move(options)),
      control_(control ? std::move(control) : std::make_shared<SmtpSessionControl>()),
      connection_(std::make_shared<SmtpConnection>(executor, transport_options(options_)))
{
    control_->connection_ = connection_;
    if (control_->aborted()) connection_->abort();
}

awaitable<SessionResult> SmtpSession::run(MessageSource source, MessageSink sink)
{
    SessionResult result;
    result.error = co_await open();
    if (!result.error) {
        auto delivery = deliver(std::move(source), std::move(sink));  // named: see smtp_client.cpp
        result = co_await std::move(delivery);
    }
    if (connection_usable(result.error)) co_await quit();
    result.peer = connection_->peer();
    connection_->close();
    co_return result;
}

awaitable<PhaseError> SmtpSession::open()
{
    if (auto error = co_await connect()) co_return error;
    if (auto error = co_await greet()) co_return error;
    if (auto error = co_await hello()) co_return error;
    if (options_.tls == TlsMode::starttls) {
        if (auto error = co_await starttls()) co_return error;
        if (auto error = co_await hello()) co_return error;  // capabilities change under TLS
    }
    co_return co_await authenticate();
}

awaitable<WireReply> SmtpSession::command(std::string line)
{
    // (A braced list in the co_await trips GCC 12's coroutine lowering.)
    std::vector<std::string> lines(1, std::move(line));
    WireStatus sent = co_await connection_->send_lines(std::move(lines));
    if (!sent.ok()) co_return WireReply{sent, {}};
    co_return co_await connection_->read_reply();
}

Result<std::shared_ptr<ssl::context>> SmtpSession::tls_context()
{
    if (options_.tls_context) return options_.tls_context;
    return make_client_tls_context(TlsClientOptions{options_.verify, options_.ca_file});
}

awaitable<PhaseError> SmtpSession::connect()
{
    WireStatus status = co_await connection_->connect(options_.host, options_.port);
    if (!status.ok()) co_return failed(SmtpStage::connect, status);
    if (options_.tls != TlsMode::implicit) co_return std::nullopt;
    auto context = tls_context();
    if (!context) co_return failure_outcome(SmtpStage::connect, SmtpFailure::tls, context.error().message);
    auto handshake =
        connection_->start_tls(*context, options_.host, options_.verify);  // named: see smtp_client.cpp
    status = co_await std::move(handshake);
    if (!status.ok()) co_return failed(SmtpStage::connect, status);
    co_return std::nullopt;
}

awaitable<PhaseError> SmtpSession::greet()
{
    co_return unexpected(SmtpStage::greeting, co_await connection_->read_reply(), 2);
}

// EHLO; a server that does not know it (5xx) gets HELO and offers nothing.
awaitable<PhaseError> SmtpSession::hello()
{
    WireReply reply = co_await command("EHLO " + options_.helo_name);
    if (reply.status.ok() && reply.reply.permanent()) reply = co_await command("HELO " + options_.helo_name);
    if (auto error = unexpected(SmtpStage::ehlo, reply, 2)) co_return error;
    capabilities_ = parse_ehlo(reply.reply);
    co_return std::nullopt;
}

// Mandatory when configured: no STARTTLS offered is an error, not plaintext.
awaitable<PhaseError> SmtpSession::starttls()
{
    if (!capabilities_.starttls)
        co_return failure_outcome(SmtpStage::starttls, SmtpFailure::policy, "STARTTLS not offered");
    auto context = tls_context();
    if (!context) co_return failure_outcome(SmtpStage::starttls, SmtpFailure::tls, context.error().message);
    if (auto error = unexpected(SmtpStage::starttls, co_await command("STARTTLS"), 2)) co_return error;
    auto handshake =
        connection_->start_tls(*context, options_.host, options_.verify);  // named: see smtp_client.cpp
    WireStatus status = co_await std::move(handshake);
    if (!status.ok()) co_return failed(SmtpStage::starttls, status);
    co_return std::nullopt;
}

awaitable<PhaseError> SmtpSession::authenticate()
{
    if (options_.auth == RelayAuth::none) co_return std::nullopt;
    if (options_.auth == RelayAuth::automatic && options_.username.empty()) co_return std::nullopt;
    if (!connection_->encrypted() && !connection_->loopback_peer())
        co_return failure_outcome(SmtpStage::auth, SmtpFailure::policy,
                                  "AUTH refused: the connection is not encrypted and the relay "
                                  "is not on loopback (use tls = starttls or implicit)");
    auto mechanism = choose_auth_mechanism(options_.auth, capabilities_.auth);
    if (!mechanism)
        co_return failure_outcome(SmtpStage::auth, SmtpFailure::policy, mechanism.error().message);
    co_return co_await auth_exchange(*mechanism);
}

awaitable<PhaseError> SmtpSession::auth_exchange(AuthMechanism mechanism)
{
    const std::string& user = options_.username;
    const std::string& secret = options_.secret;
    WireReply reply;
    switch (mechanism) {
        case AuthMechanism::plain:
            reply = co_await command("AUTH PLAIN " + auth_plain_response(user, secret));
            break;
        case AuthMechanism::login:
            reply = co_await command("AUTH LOGIN");
            if (auto error = unexpected(SmtpStage::auth, reply, 3)) co_return error;
            reply = co_await command(sasl_base64_encode(user));
            if (auto error = unexpected(SmtpStage::auth, reply, 3)) co_return error;
            reply = co_await command(sasl_base64_encode(secret));
            break;
        case AuthMechanism::xoauth2:
            reply = co_await command("AUTH XOAUTH2 " + xoauth2_response(user, secret));
            // A 334 carries a JSON error; an empty line gets the final reply.
            if (reply.status.ok() && reply.reply.intermediate()) reply = co_await command("");
            break;
    }
    co_return unexpected(SmtpStage::auth, reply, 2);
}

// Best effort: the messages' fates are settled already.
awaitable<void> SmtpSession::quit() { co_await command("QUIT"); }

}  // namespace mailqd
