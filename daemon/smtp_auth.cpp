// AUTH encodings and mechanism choice (see smtp_auth.hpp).
#include "daemon/smtp_auth.hpp"

#include <algorithm>

#include <openssl/evp.h>

namespace mailqd {
namespace {

bool offered_has(const std::vector<std::string>& offered, std::string_view mechanism)
{
    return std::find(offered.begin(), offered.end(), mechanism) != offered.end();
}

std::string offered_list(const std::vector<std::string>& offered)
{
    if (offered.empty()) return "the server offers no AUTH";
    std::string out = "the server offers";
    for (const auto& m : offered) out += " " + m;
    return out;
}

}  // namespace

std::string_view to_string(AuthMechanism mechanism)
{
    switch (mechanism) {
    case AuthMechanism::plain: return "PLAIN";
    case AuthMechanism::login: return "LOGIN";
    case AuthMechanism::xoauth2: return "XOAUTH2";
    }
    return "?";
}

std::string base64_encode(std::string_view data)
{
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(data.data()),
                            static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> base64_decode(std::string_view text)
{
    if (text.size() % 4 != 0) return std::nullopt;
    if (text.empty()) return std::string();
    // EVP_DecodeBlock accepts some junk (whitespace); be strict ourselves.
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || (c == '=' && i >= text.size() - 2);
        if (!ok) return std::nullopt;
    }
    if (text[text.size() - 2] == '=' && text.back() != '=') return std::nullopt;
    std::string out(3 * text.size() / 4 + 1, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts padding as zero bytes.
    std::size_t padding = text.back() == '=' ? (text[text.size() - 2] == '=' ? 2 : 1) : 0;
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

std::string auth_plain_response(std::string_view user, std::string_view secret)
{
    std::string raw;
    raw += '\0';
    raw += user;
    raw += '\0';
    raw += secret;
    return base64_encode(raw);
}

std::string xoauth2_response(std::string_view user, std::string_view token)
{
    std::string raw = "user=" + std::string(user) + "\x01" + "auth=Bearer " + std::string(token) +
                      "\x01\x01";
    return base64_encode(raw);
}

Result<AuthMechanism> choose_auth_mechanism(RelayAuth configured,
                                            const std::vector<std::string>& offered)
{
    auto need = [&](AuthMechanism m) -> Result<AuthMechanism> {
        if (offered_has(offered, to_string(m))) return m;
        return make_error(ErrorKind::config, "AUTH " + std::string(to_string(m)) +
                                                 " is configured but " + offered_list(offered));
    };
    switch (configured) {
    case RelayAuth::plain: return need(AuthMechanism::plain);
    case RelayAuth::login: return need(AuthMechanism::login);
    case RelayAuth::xoauth2: return need(AuthMechanism::xoauth2);
    case RelayAuth::automatic:
    case RelayAuth::none:
        break;
    }
    if (offered_has(offered, "PLAIN")) return AuthMechanism::plain;
    if (offered_has(offered, "LOGIN")) return AuthMechanism::login;
    return make_error(ErrorKind::config,
                      "no usable AUTH mechanism (PLAIN, LOGIN): " + offered_list(offered));
}

}  // namespace mailqd
