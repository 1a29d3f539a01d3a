// The SMTP client's vocabulary, shared by its API (smtp_client.hpp) and its
// session (smtp_session.hpp): the options a caller fills, the messages it
// feeds, the outcomes it gets back, and the handle that stops a session.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/net/asio.hpp"
#include "daemon/smtp/smtp_classify.hpp"
#include "spool/config.hpp"
#include "spool/dsn_params.hpp"

namespace boost::asio::ssl {
class context;
}

namespace mailqd {

class SmtpConnection;

struct SmtpClientOptions {
    std::string relay_name;  // for logs and traces only
    std::string host;        // name or IP literal; also the TLS name checked
    std::uint16_t port = 25;
    TlsMode tls = TlsMode::starttls;  // starttls is mandatory: no downgrade
    bool verify = true;
    std::string ca_file;  // empty: the system trust store
    // Optional shared TLS context (per relay, see make_client_tls_context);
    // when null the session builds one from verify and ca_file.
    std::shared_ptr<boost::asio::ssl::context> tls_context;
    std::string helo_name = "localhost";
    RelayAuth auth = RelayAuth::automatic;  // automatic: AUTH only if username is set
    std::string username;
    std::string secret;  // password or OAuth2 token, handed over by the caller
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};        // per read/write/connect
    std::chrono::milliseconds session_limit{std::chrono::minutes(15)};  // whole session; 0 = none
    unsigned max_messages = 100;                                        // messages_per_connection
    bool protocol_trace = false;  // log every line at debug, secrets masked
};

struct OutgoingRecipient {
    std::int64_t id = 0;  // the caller's, opaque here
    std::string address;
    RecipientDsn dsn;  // NOTIFY and ORCPT, sent when the relay offers DSN
};

struct OutgoingMessage {
    std::string id;      // queue ID, for logs
    std::string sender;  // "" for the null sender <>
    std::vector<OutgoingRecipient> recipients;
    std::string data;  // the stored message; made CRLF-clean and dot-stuffed here
    MessageDsn dsn;    // RET and ENVID, sent when the relay offers DSN
};

struct RecipientOutcome {
    std::int64_t id = 0;
    std::string address;
    SmtpOutcome outcome;  // classify(outcome) / describe(outcome)
};

struct MessageOutcome {
    std::string id;
    std::vector<RecipientOutcome> recipients;  // same order as given
    // The relay offered DSN (RFC 3461), so the DSN parameters went with the
    // envelope: reporting success is the relay's job from here on.
    bool dsn_passed_on = false;
};

struct SessionResult {
    std::string peer;  // "host[address]:port" once connected, else "host:port"
    // Messages attempted, in order. Every recipient of a message pulled from
    // the source has an outcome here.
    std::vector<MessageOutcome> messages;
    // Why the session ended early, if it did: a failure before any message
    // (connect, greeting, ehlo, starttls, auth: the relay is unusable, the
    // caller should defer everything due for it), or the loss of the
    // connection during or between messages. Absent after a clean QUIT.
    std::optional<SmtpOutcome> error;

    // The session failed before it could try any message.
    bool relay_failed() const { return error && messages.empty(); }
};

// How a session asks for its next message. `wait`: the connection is idle
// (after set-up, or after a transaction ended); the answer may wait a little
// (a rate limit's next slot), nullopt means there is none and the session
// QUITs. `ahead`: the current message's data is about to leave and, with a
// server that offers PIPELINING, the next envelope can go in the same write
// (RFC 2920 lets message content open a group): only a message ready at
// once, nullopt otherwise (the session asks again with `wait` later).
enum class Pull { wait, ahead };
// The next message for this connection. It should answer promptly; the
// server will not wait forever. A message pulled always gets an outcome for
// every recipient (the connection lost before its envelope was answered,
// for instance, is deferred at that stage).
using MessageSource = std::function<awaitable<std::optional<OutgoingMessage>>(Pull)>;
// Told each message's outcomes as soon as its transaction ends (optional).
using MessageSink = std::function<void(const MessageOutcome&)>;

// Stops a running session from outside, e.g. at daemon shutdown: the
// operation in progress fails at once ("aborted"), recipients of the message
// in flight are deferred (after the final "." was sent: "may have been
// delivered"), and no further message is pulled. Call abort() on the
// session's executor (the daemon has one I/O thread).
class SmtpSessionControl {
public:
    void abort();
    bool aborted() const { return aborted_; }
    // "host[address]:port" while the session is connected (for log lines
    // written from a MessageSink), "host:port" before, "" once it is over.
    std::string peer() const;

private:
    friend class SmtpSession;
    std::weak_ptr<SmtpConnection> connection_;
    bool aborted_ = false;
};

}  // namespace mailqd
