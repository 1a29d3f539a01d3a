// libFuzzer target: POP3 response parsing (daemon/pop3/pop3_reply.cpp): status
// lines, APOP timestamp, CAPA, STAT/LIST/UIDL lines, and the multi-line
// decoder fed in chunks whose sizes come from the input's first byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/pop3/pop3_reply.hpp"
#include "spool/text_sanitize.hpp"

namespace {

void parse_lines(std::string_view text)
{
    mailqd::for_each_line(text, [](std::string_view line) {
        mailqd::parse_pop3_status(line);
        mailqd::apop_timestamp(line);
        mailqd::parse_pop3_stat(line);
        mailqd::parse_pop3_list_line(line);
        if (auto uidl = mailqd::parse_pop3_uidl_line(line)) {
            if (uidl->second.empty() || uidl->second.size() > 70) std::abort();
        }
        // Cut at 50 bytes, "..." marking the cut.
        if (mailqd::printable(line, 50).size() > 53) std::abort();
    });
    mailqd::parse_pop3_capa(text).has_sasl("PLAIN");
}

// Feeds the bytes as a socket would: in chunks, the unconsumed tail kept
// in front of the next chunk.
void decode(std::string_view bytes, std::size_t chunk, std::uint64_t max_bytes)
{
    mailqd::MultilineDecoder decoder(max_bytes);
    std::string pending, out;
    auto step = mailqd::MultilineDecoder::Step::more;
    while (!bytes.empty() && step == mailqd::MultilineDecoder::Step::more) {
        std::size_t n = std::min(chunk, bytes.size());
        pending.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
        std::size_t used = decoder.feed(pending, out, step);
        if (used > pending.size()) std::abort();
        pending.erase(0, used);
        // The decoder keeps the caller's buffer bounded (one chunk and a bit).
        if (pending.size() > mailqd::MultilineDecoder::kChunk + chunk + 2) std::abort();
    }
    if (step == mailqd::MultilineDecoder::Step::done) parse_lines(out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    std::size_t chunk = 1 + data[0] % 64;
    std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
    parse_lines(bytes);
    decode(bytes, chunk, 1 << 20);
    decode(bytes, chunk, 64);
    return 0;
}
