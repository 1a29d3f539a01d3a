// SMTP replies as the client sees them: multi-line replies parsed into
// {code, enhanced, text}, and the EHLO reply read as a capability set.
// Trusts nothing from the server: lines and line counts are bounded, the
// text is sanitised (text_sanitize.hpp: printable) before anyone logs it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailqd {

inline constexpr std::size_t max_reply_line_length = 4096;  // without CRLF
inline constexpr std::size_t max_reply_lines = 100;

struct SmtpReply {
    int code = 0;                    // 200..599
    std::string enhanced;            // "4.3.0" (RFC 3463), or empty
    std::string text;                // the lines' text joined by a space
    std::vector<std::string> lines;  // each line's text, enhanced code removed

    bool positive() const { return code / 100 == 2; }
    bool intermediate() const { return code / 100 == 3; }
    bool transient() const { return code / 100 == 4; }
    bool permanent() const { return code / 100 == 5; }

    // "451 4.3.0 try later", for logs and the store's last_reply.
    std::string to_string() const;
};

// Assembles one reply from its lines ("250-a", "250 b").
class SmtpReplyParser {
public:
    enum class Status { more, done, error };

    // One line without its line ending. After done or error, call take() or
    // error() and start again with a fresh parser (or reset()).
    Status feed(std::string_view line);
    SmtpReply take();
    const std::string& error() const { return error_; }
    void reset();

private:
    Status fail(std::string message);

    SmtpReply reply_;
    std::string error_;
};

// What the server offered in its EHLO reply. Keywords are case-insensitive.
struct EhloCapabilities {
    bool pipelining = false;
    bool starttls = false;
    bool eight_bit_mime = false;
    bool smtputf8 = false;
    bool enhanced_status_codes = false;
    bool dsn = false;                   // RFC 3461: RET, ENVID, NOTIFY and ORCPT may be sent
    std::optional<std::uint64_t> size;  // SIZE offered; 0 means no fixed limit
    std::vector<std::string> auth;      // mechanisms, upper case

    bool offers_auth(std::string_view mechanism) const;
};

// The first line is the server's name and greeting; each further line is a
// keyword with parameters. "AUTH=LOGIN PLAIN" (old syntax) counts too.
EhloCapabilities parse_ehlo(const SmtpReply& reply);

}  // namespace mailqd
