// SMTP AUTH (RFC 4954) encodings and the choice of mechanism. Pure functions;
// the secret comes from the caller as a string (this code never reads files)
// and is only ever returned base64-encoded for the wire, never logged here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spool/config.hpp"
#include "spool/result.hpp"

namespace mailqd {

enum class AuthMechanism { plain, login, xoauth2 };

std::string_view to_string(AuthMechanism mechanism);  // "PLAIN", "LOGIN", "XOAUTH2"

// SASL base64 (RFC 4648 on one line, as AUTH wants it), built on the MIME
// codec in spool/mime/mime_encoding.hpp.
std::string sasl_base64_encode(std::string_view data);
// Strict: nullopt on whitespace, a character outside the alphabet or a bad
// length, which the lenient MIME decoder would accept.
std::optional<std::string> sasl_base64_decode(std::string_view text);

// Initial response of AUTH PLAIN: base64("\0user\0secret").
std::string auth_plain_response(std::string_view user, std::string_view secret);
// Initial response of AUTH XOAUTH2: base64("user=U\x01auth=Bearer TOKEN\x01\x01").
std::string xoauth2_response(std::string_view user, std::string_view token);

// The mechanism to use: automatic picks PLAIN, else LOGIN among those offered
// (XOAUTH2 only when configured); an explicit method must be offered. Error
// text says what the server offers. Not for RelayAuth::none.
Result<AuthMechanism> choose_auth_mechanism(RelayAuth configured, const std::vector<std::string>& offered);

}  // namespace mailqd
