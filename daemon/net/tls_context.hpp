// TLS for the protocol clients (SMTP now, POP3 later): a client context with
// certificate verification against the system store or a ca_file and TLS 1.2
// as the minimum, per-connection SNI and host name (or IP address) checks,
// and failure messages that say why (OpenSSL's X509 verify result).
// This header is the daemon's one way to Boost.Asio's SSL layer, as
// daemon/net/asio.hpp is to Asio (so only TLS users pay for OpenSSL's headers).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl.hpp>
#include "daemon/net/asio.hpp"

#include "spool/result.hpp"

namespace mailqd {

namespace ssl = asio::ssl;

struct TlsClientOptions {
    bool verify = true;   // chain and host name
    std::string ca_file;  // empty: the system's default trust store
};

// A context for many connections to one server (share it: loading the system
// store costs milliseconds). Error when the ca_file cannot be loaded.
Result<std::shared_ptr<ssl::context>> make_client_tls_context(const TlsClientOptions& options);

// Before the handshake of one connection: SNI (host names only, never an IP
// literal) and, when verifying, the expected name or IP address.
Status prepare_tls_client(SSL* ssl, const std::string& host, bool verify);

// "TLS handshake failed: certificate verify failed: hostname mismatch".
std::string describe_tls_failure(SSL* ssl, const error_code& ec);

}  // namespace mailqd
