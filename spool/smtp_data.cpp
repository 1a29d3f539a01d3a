// Wire forms of a message (see smtp_data.hpp).
#include "spool/smtp_data.hpp"

#include <algorithm>
#include <cstring>

namespace mailqd {

namespace {

// Any mix of CR, LF and CRLF, byte by byte: each line end becomes CRLF, a
// leading "." is doubled. Returns whether the text ended at a line start.
bool append_wire_bytes(std::string& out, std::string_view text, bool line_start)
{
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            out += "\r\n";
            line_start = true;
            continue;
        }
        if (line_start && c == '.') out += '.';
        out += c;
        line_start = false;
    }
    return line_start;
}

}  // namespace

// Stored messages are CRLF already: whole lines are found with memchr and
// copied at once; from the first line holding a stray CR on, byte by byte.
std::string to_wire_data(std::string_view message)
{
    std::string out;
    out.reserve(message.size() + message.size() / 32 + 8);
    const char* base = message.data();
    std::size_t pos = 0;
    while (pos < message.size()) {
        const void* lf = std::memchr(base + pos, '\n', message.size() - pos);
        if (!lf) break;
        const std::size_t end = static_cast<const char*>(lf) - base;
        const std::size_t text_end = end > pos && base[end - 1] == '\r' ? end - 1 : end;
        if (std::memchr(base + pos, '\r', text_end - pos)) break;
        if (text_end > pos && base[pos] == '.') out += '.';
        out.append(base + pos, text_end - pos);
        out += "\r\n";
        pos = end + 1;
    }
    if (!append_wire_bytes(out, message.substr(pos), true)) out += "\r\n";
    out += ".\r\n";
    return out;
}

namespace {

// The next CR or LF at or after from, or the end: two memchr scans, which
// run many bytes per cycle (the data may be tens of megabytes per message,
// and is scanned even when dropped).
std::size_t line_text_end(std::string_view input, std::size_t from)
{
    const char* begin = input.data() + from;
    std::size_t length = input.size() - from;
    if (const void* lf = std::memchr(begin, '\n', length)) length = static_cast<const char*>(lf) - begin;
    if (const void* cr = std::memchr(begin, '\r', length)) length = static_cast<const char*>(cr) - begin;
    return from + length;
}

}  // namespace

void DataDecoder::end_line(bool proper, std::string* out)
{
    if (dot_line_ && clean_start_ && proper) {
        done_ = true;
        return;
    }
    if (dot_line_) {
        // A lone "." that does not end the data: kept, as its sender wrote it.
        if (out) out->push_back('.');
        ++line_length_;
    }
    if (in_header_ && line_length_ == 0) in_header_ = false;
    if (out) out->append("\r\n");
    line_start_ = true;
    clean_start_ = proper;
    dot_line_ = false;
    line_length_ = 0;
}

std::size_t DataDecoder::feed(std::string_view input, std::string* out)
{
    // A bare LF may end the data only for a client that sends bare LFs; a
    // bare CR never may.
    const bool lf_is_proper = !crlf_client_;
    std::size_t i = 0;
    while (i < input.size() && !done_) {
        const char c = input[i];
        if (pending_cr_) {
            pending_cr_ = false;
            if (c == '\n') {
                ++i;
                end_line(true, out);
            } else {
                end_line(false, out);  // bare CR; c starts the next line
            }
            continue;
        }
        if (c == '\r') {
            pending_cr_ = true;
            ++i;
            continue;
        }
        if (c == '\n') {
            ++i;
            end_line(lf_is_proper, out);
            continue;
        }
        if (line_start_) {
            line_start_ = false;
            if (c == '.') {
                dot_line_ = true;  // stuffed, or the end: the next byte says
                ++i;
                continue;
            }
        }
        dot_line_ = false;  // its dot was stuffing: dropped
        // The rest of the line's text at once.
        std::size_t end = line_text_end(input, i);
        line_length_ += end - i;
        if (in_header_ && line_length_ > max_header_line) header_too_long_ = true;
        if (out) out->append(input.substr(i, end - i));
        i = end;
    }
    return i;
}

bool has_8bit(std::string_view text)
{
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

bool wire_safe_address(std::string_view address)
{
    return std::none_of(address.begin(), address.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '<' || c == '>';
    });
}

std::string mail_from_command(std::string_view sender, const MailParameters& params)
{
    std::string out = "MAIL FROM:<" + std::string(sender) + ">";
    if (params.size) out += " SIZE=" + std::to_string(params.size_value);
    if (params.body_8bitmime) out += " BODY=8BITMIME";
    if (params.smtputf8) out += " SMTPUTF8";
    if (params.dsn.ret != DsnRet::unspecified) out += " RET=" + std::string(to_string(params.dsn.ret));
    if (!params.dsn.envid.empty()) out += " ENVID=" + xtext_encode(params.dsn.envid);
    return out;
}

std::string rcpt_to_command(std::string_view recipient, const RecipientDsn& dsn)
{
    std::string out = "RCPT TO:<" + std::string(recipient) + ">";
    if (dsn.notify.given) out += " NOTIFY=" + to_string(dsn.notify);
    if (!dsn.orcpt.empty()) out += " ORCPT=" + orcpt_param(dsn.orcpt);
    return out;
}

}  // namespace mailqd
