// AUTH encodings and mechanism choice (see smtp_auth.hpp).
#include "daemon/smtp/smtp_auth.hpp"

#include <algorithm>

#include "spool/mime/mime_encoding.hpp"

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

std::string sasl_base64_encode(std::string_view data) { return base64_encode(data, 0); }

std::optional<std::string> sasl_base64_decode(std::string_view text)
{
    if (text.size() % 4 != 0) return std::nullopt;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                  c == '/' || (c == '=' && i + 2 >= text.size());
        if (!ok) return std::nullopt;
    }
    if (text.size() >= 2 && text[text.size() - 2] == '=' && text.back() != '=') return std::nullopt;
    return base64_decode(text);
}

std::string auth_plain_response(std::string_view user, std::string_view secret)
{
    std::string raw;
    raw += '\0';
    raw += user;
    raw += '\0';
    raw += secret;
    return sasl_base64_encode(raw);
}

std::string xoauth2_response(std::string_view user, std::string_view token)
{
    std::string raw = "user=" + std::string(user) + "\x01" + "auth=Bearer " + std::string(token) + "\x01\x01";
    return sasl_base64_encode(raw);
}

Result<AuthMechanism> choose_auth_mechanism(RelayAuth configured, const std::vector<std::string>& offered)
{
    auto need = [&](AuthMechanism m) -> Result<AuthMechanism> {
        if (offered_has(offered, to_string(m))) return m;
        return make_error(ErrorKind::config, "AUTH " + std::string(to_string(m)) + " is configured but " +
                                                 offered_list(offered));
    };
    switch (configured) {
        case RelayAuth::plain: return need(AuthMechanism::plain);
        case RelayAuth::login: return need(AuthMechanism::login);
        case RelayAuth::xoauth2: return need(AuthMechanism::xoauth2);
        case RelayAuth::automatic:
        case RelayAuth::none: break;
    }
    if (offered_has(offered, "PLAIN")) return AuthMechanism::plain;
    if (offered_has(offered, "LOGIN")) return AuthMechanism::login;
    return make_error(ErrorKind::config, "no usable AUTH mechanism (PLAIN, LOGIN): " + offered_list(offered));
}

}  // namespace mailqd
