// One POP3 pull (RFC 1939) as one coroutine: greeting, CAPA, STLS or
// implicit TLS, login (USER/PASS, SASL PLAIN, APOP), STAT/UIDL/LIST, RETR in
// batches, then DELE and QUIT. Knows neither config nor store: it takes
// options and two callbacks, so it can be tested against a fake server.
//
// Exactly-once contract with the caller:
//   - a message whose UIDL is_known() is never retrieved (and, with
//     keep = false, is DELE'd: it is already safe on disk);
//   - store_batch() must make the batch durable (Maildir + UIDLs recorded)
//     before it returns ok; only then are the batch's messages DELE'd;
//   - DELE takes effect only at QUIT (RFC 1939 UPDATE state), so a dropped
//     connection deletes nothing; a message cut off mid-RETR never reaches
//     store_batch.
// Trusts nothing the server sends (see pop3_connection.hpp); never sends a
// password in clear text to a host that is not on loopback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/net/asio.hpp"
#include "spool/config.hpp"
#include "spool/result.hpp"

#include "daemon/net/tls_context.hpp"

namespace mailqd {

struct Pop3Options {
    std::string name;  // the mailbox's name, for logs and traces
    std::string host;
    std::uint16_t port = 995;
    TlsMode tls = TlsMode::implicit;
    bool verify = true;  // certificate chain (the context's trust store) and host name
    std::string username;
    std::string secret;
    MailboxAuth auth = MailboxAuth::automatic;
    std::chrono::seconds timeout{60};  // per read, write, connect, handshake
    // A whole pull, however busy (not a config key: it bounds a server that
    // trickles without end; batches already committed stay committed).
    std::chrono::seconds pull_limit{3600};
    bool keep = false;
    std::uint64_t max_size = 50ull << 20;
    bool trace = false;  // log.protocol_trace: the conversation at debug level
    // A batch is made durable with one store_batch() call.
    std::size_t batch_messages = 200;
    std::uint64_t batch_bytes = 32ull << 20;  // by LIST sizes; at least one message
};

struct FetchedMessage {
    std::uint64_t number = 0;  // message number in this session
    std::string uidl;
    std::uint64_t listed_size = 0;  // octets as LIST said
    std::string data;               // the message, LF line endings, dots unstuffed
};

struct OversizedMessage {
    std::string uidl;
    std::uint64_t size = 0;
};

// Called by the session; both run on the session's executor.
struct Pop3Callbacks {
    std::function<bool(const std::string& uidl)> is_known;
    // Makes the batch durable: Maildir (tmp/, fsync, new/, fsync new/) and
    // the UIDLs recorded. An error stops the pull; nothing of the batch is
    // deleted.
    std::function<awaitable<Status>(std::vector<FetchedMessage>)> store_batch;
};

struct Pop3Result {
    std::uint64_t fetched = 0;          // messages handed to store_batch successfully
    std::uint64_t deleted = 0;          // DELE accepted (committed if quit_ok)
    bool quit_ok = false;               // the server answered QUIT with +OK
    std::uint64_t server_messages = 0;  // STAT count
    std::uint64_t server_octets = 0;
    std::vector<OversizedMessage> too_big;  // over max_size, left on the server
    // Every UIDL the server listed; set only when the listing completed, so
    // the caller may forget the UIDLs that are no longer there.
    std::optional<std::vector<std::string>> present;
    std::optional<Error> error;  // first error; fetched messages still count
};

// Runs one pull on the calling coroutine's executor. tls may be null only
// when options.tls is none; make it with make_client_tls_context({verify,
// ca_file}) once per mailbox. The session adds SNI and the host name check
// per connection.
awaitable<Pop3Result> pop3_fetch(Pop3Options options, Pop3Callbacks callbacks,
                                 std::shared_ptr<asio::ssl::context> tls);

}  // namespace mailqd
