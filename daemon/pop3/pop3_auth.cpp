#include "daemon/pop3/pop3_auth.hpp"

#include <openssl/evp.h>

namespace mailqd {

Result<MailboxAuth> choose_pop3_auth(MailboxAuth wanted, const Pop3Capabilities& caps,
                                     bool has_apop_timestamp, bool cleartext_ok)
{
    const bool user_ok = caps.user || !caps.known;
    switch (wanted) {
        case MailboxAuth::automatic:
            if (cleartext_ok && caps.has_sasl("PLAIN")) return MailboxAuth::plain;
            if (cleartext_ok && user_ok) return MailboxAuth::user;
            if (has_apop_timestamp) return MailboxAuth::apop;
            if (!cleartext_ok)
                return make_error(
                    ErrorKind::config,
                    "refusing to send a password in clear text (no TLS, not loopback, no APOP)");
            return make_error(ErrorKind::failure, "no usable login method offered (USER, SASL PLAIN, APOP)");
        case MailboxAuth::user:
        case MailboxAuth::plain:
            if (!cleartext_ok)
                return make_error(ErrorKind::config,
                                  "refusing to send a password in clear text (no TLS, not loopback)");
            return wanted;
        case MailboxAuth::apop:
            if (!has_apop_timestamp)
                return make_error(ErrorKind::failure, "auth = apop but the greeting has no APOP timestamp");
            return wanted;
    }
    return make_error(ErrorKind::failure, "unknown auth mode");
}

std::string apop_digest(std::string_view timestamp, std::string_view secret)
{
    std::string input(timestamp);
    input.append(secret);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(input.data(), input.size(), digest, &length, EVP_md5(), nullptr);
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

std::string sasl_plain_response(std::string_view user, std::string_view secret)
{
    std::string raw;
    raw.push_back('\0');
    raw.append(user);
    raw.push_back('\0');
    raw.append(secret);
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

}  // namespace mailqd
