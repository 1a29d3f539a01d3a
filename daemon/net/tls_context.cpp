// Client TLS contexts and per-connection checks (see tls_context.hpp).
#include "daemon/net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace mailqd {
namespace {

bool is_ip_literal(const std::string& host)
{
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_client_tls_context(const TlsClientOptions& options)
{
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* native = ctx->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
        return make_error(ErrorKind::failure, "cannot set TLS 1.2 as the minimum version");
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    if (!options.verify) {
        ctx->set_verify_mode(ssl::verify_none);
        return ctx;
    }
    error_code ec;
    if (options.ca_file.empty())
        ctx->set_default_verify_paths(ec);
    else
        ctx->load_verify_file(options.ca_file, ec);
    if (ec)
        return make_error(ErrorKind::config, (options.ca_file.empty() ? std::string("system trust store")
                                                                      : "ca_file " + options.ca_file) +
                                                 ": " + ec.message());
    ctx->set_verify_mode(ssl::verify_peer);
    return ctx;
}

Status prepare_tls_client(SSL* ssl, const std::string& host, bool verify)
{
    bool ip = is_ip_literal(host);
    if (!ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1)
        return make_error(ErrorKind::failure, "cannot set SNI to " + host);
    if (!verify) return {};
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    if (ok != 1) return make_error(ErrorKind::failure, "cannot check the certificate for " + host);
    return {};
}

std::string describe_tls_failure(SSL* ssl, const error_code& ec)
{
    std::string out = "TLS handshake failed: ";
    long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (verify != X509_V_OK) {
        out += "certificate verify failed: ";
        out += X509_verify_cert_error_string(verify);
        return out;
    }
    out += ec.message();
    return out;
}

}  // namespace mailqd
