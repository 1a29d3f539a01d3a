// POP3 response parsing (RFC 1939, 2449, 2595, 5034): status lines, the
// greeting's APOP timestamp, CAPA, STAT/LIST/UIDL lines, and the multi-line
// decoder (dot-unstuffing, CRLF -> LF) used for RETR bodies and listings.
// Pure functions, no I/O: trusts nothing the server sends; every parser
// rejects what it does not understand and the decoder is bounded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailqd {

// A server's "+OK text" or "-ERR [CODE] text".
struct Pop3Status {
    bool ok = false;
    std::string code;  // RFC 2449 response code without brackets ("AUTH", "SYS/TEMP"), or empty
    std::string text;  // after the status word (and the code), sanitised
};

// nullopt for anything that is neither +OK nor -ERR (a SASL "+ " challenge
// included). line has no line ending.
std::optional<Pop3Status> parse_pop3_status(std::string_view line);

// The "<...@...>" timestamp of an APOP-capable greeting, brackets included.
std::optional<std::string> apop_timestamp(std::string_view greeting);

// What CAPA said. Unknown capabilities are ignored.
struct Pop3Capabilities {
    bool known = false;  // CAPA answered +OK
    bool stls = false;
    bool user = false;
    bool uidl = false;
    bool pipelining = false;
    bool resp_codes = false;
    std::vector<std::string> sasl;  // upper case
    bool has_sasl(std::string_view mechanism) const;
};

// body: the decoded multi-line answer (LF-separated lines).
Pop3Capabilities parse_pop3_capa(std::string_view body);

// "+OK 3 1200" text after +OK -> {count, octets}.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_pop3_stat(std::string_view text);
// A LIST line "3 1200" -> {number, octets}.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_pop3_list_line(std::string_view line);
// A UIDL line "3 whqtswO00WBw418f9t5JxYwZ" -> {number, uidl}. The UIDL is
// 1..70 characters in 0x21..0x7E (RFC 1939 section 7).
std::optional<std::pair<std::uint64_t, std::string>> parse_pop3_uidl_line(std::string_view line);

// Calls f(line) for each LF-terminated line of a decoded body.
template <class F>
void for_each_line(std::string_view body, F&& f)
{
    while (!body.empty()) {
        auto nl = body.find('\n');
        f(body.substr(0, nl));
        if (nl == std::string_view::npos) break;
        body.remove_prefix(nl + 1);
    }
}

// Decodes a multi-line response as it arrives: removes the leading dot of
// dot-stuffed lines, turns each line ending (CRLF, or a bare LF from a sloppy
// server) into LF, and stops after the terminating "." line. Any byte is
// content, NULs and bare CRs included. A line may be of any length: once
// more than kChunk bytes of a line are buffered, their front is decoded so
// the caller's buffer stays bounded.
class MultilineDecoder {
public:
    static constexpr std::size_t kChunk = 16 * 1024;
    enum class Step { more, done, too_big };

    explicit MultilineDecoder(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}

    // Decodes from the front of data into out; returns how many bytes of data
    // were consumed (the rest, an incomplete line, must be fed again with
    // more bytes after it). step tells whether the terminator was seen or the
    // body passed max_bytes (out then holds a truncated body).
    std::size_t feed(std::string_view data, std::string& out, Step& step);

private:
    std::uint64_t max_bytes_;
    bool at_line_start_ = true;
};

}  // namespace mailqd
