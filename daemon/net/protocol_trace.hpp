// The one place where protocol traces (SMTP and POP3, log.protocol_trace)
// lose their secrets before they are logged. A conversation's lines go
// through one ProtocolTraceMasker in order, because whether a line is secret
// depends on what came before (a base64 line after "AUTH LOGIN").
// Masked: the initial response of AUTH/ AUTH-like commands, every client line
// while an authentication exchange is open (until the server answers with
// something other than a 334 / "+ " continuation), POP3 PASS and APOP
// arguments, and any line that contains the literal secret.
#pragma once

#include <string>
#include <string_view>

namespace mailqd {

class ProtocolTraceMasker {
public:
    ProtocolTraceMasker() = default;
    // A secret to mask wherever it appears, as a last line of defence.
    explicit ProtocolTraceMasker(std::string secret) : secret_(std::move(secret)) {}

    // A line the client sends, without CRLF; returns what may be logged.
    std::string client(std::string_view line);
    // A line the server sends, without CRLF; returns it sanitised.
    std::string server(std::string_view line);

private:
    bool contains_secret(std::string_view line) const;

    std::string secret_;
    bool in_auth_ = false;
};

}  // namespace mailqd
