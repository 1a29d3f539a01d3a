// Client TLS context: TLS 1.2 minimum, verification on by default, ca_file
// errors named, SNI only for host names, the expected name or IP set.
#include "daemon/net/tls_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

namespace mailqd {
namespace {

struct SslHandle {
    explicit SslHandle(ssl::context& ctx) : ssl(SSL_new(ctx.native_handle())) {}
    ~SslHandle() { SSL_free(ssl); }
    SSL* ssl;
};

TEST(TlsContext, DefaultsVerifyWithTls12Minimum)
{
    auto ctx = make_client_tls_context({});
    ASSERT_TRUE(ctx) << ctx.error().message;
    SSL_CTX* native = (*ctx)->native_handle();
    EXPECT_EQ(SSL_CTX_get_min_proto_version(native), TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_verify_mode(native) & SSL_VERIFY_PEER, SSL_VERIFY_PEER);
}

TEST(TlsContext, VerifyNo)
{
    auto ctx = make_client_tls_context({false, ""});
    ASSERT_TRUE(ctx);
    EXPECT_EQ(SSL_CTX_get_verify_mode((*ctx)->native_handle()), SSL_VERIFY_NONE);
    EXPECT_EQ(SSL_CTX_get_min_proto_version((*ctx)->native_handle()), TLS1_2_VERSION);
}

TEST(TlsContext, MissingCaFileIsAnError)
{
    auto ctx = make_client_tls_context({true, "/nonexistent/ca.pem"});
    ASSERT_FALSE(ctx);
    EXPECT_NE(ctx.error().message.find("ca_file /nonexistent/ca.pem"), std::string::npos);
}

TEST(TlsContext, SniAndHostNameForNames)
{
    auto ctx = make_client_tls_context({});
    ASSERT_TRUE(ctx);
    SslHandle h(**ctx);
    ASSERT_TRUE(prepare_tls_client(h.ssl, "smtp.example.org", true));
    const char* sni = SSL_get_servername(h.ssl, TLSEXT_NAMETYPE_host_name);
    ASSERT_NE(sni, nullptr);
    EXPECT_STREQ(sni, "smtp.example.org");
    EXPECT_STREQ(X509_VERIFY_PARAM_get0_host(SSL_get0_param(h.ssl), 0), "smtp.example.org");
}

TEST(TlsContext, NoSniForIpLiteralsButIpChecked)
{
    auto ctx = make_client_tls_context({});
    ASSERT_TRUE(ctx);
    for (const char* ip : {"127.0.0.1", "::1"}) {
        SslHandle h(**ctx);
        ASSERT_TRUE(prepare_tls_client(h.ssl, ip, true));
        EXPECT_EQ(SSL_get_servername(h.ssl, TLSEXT_NAMETYPE_host_name), nullptr) << ip;
        EXPECT_EQ(X509_VERIFY_PARAM_get0_host(SSL_get0_param(h.ssl), 0), nullptr) << ip;
        // The IP is set as the expected identity (hostname check disabled).
        char* expected = X509_VERIFY_PARAM_get1_ip_asc(SSL_get0_param(h.ssl));
        ASSERT_NE(expected, nullptr) << ip;
        OPENSSL_free(expected);
    }
}

TEST(TlsContext, DescribeFailureUsesVerifyResult)
{
    auto ctx = make_client_tls_context({});
    ASSERT_TRUE(ctx);
    SslHandle h(**ctx);
    SSL_set_verify_result(h.ssl, X509_V_ERR_HOSTNAME_MISMATCH);
    EXPECT_EQ(describe_tls_failure(h.ssl, asio::error::eof),
              "TLS handshake failed: certificate verify failed: hostname mismatch");
    SSL_set_verify_result(h.ssl, X509_V_OK);
    EXPECT_EQ(describe_tls_failure(h.ssl, asio::error::eof),
              "TLS handshake failed: " + error_code(asio::error::eof).message());
}

}  // namespace
}  // namespace mailqd
